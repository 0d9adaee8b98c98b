/*
 * SafeMap map page, module 5 of 10: the feature popup (one for the whole map).
 *
 * SafeMap.popups.html(lyr)           popup HTML of an embedded feature
 * SafeMap.popups.listen(group)       clicks on a group's features open their popup
 * SafeMap.popups.pickTiled(e)        map click -> the tiled feature under it, from the API
 * SafeMap.popups.remote(name, id, latlng)  popup of a feature the page does not embed
 * SafeMap.popups.show(name, lyr)     bring an embedded feature into view and open its popup
 * SafeMap.popups.setLive(lyr, label, text)  a value changed live (team 状态, road 通行状态)
 * Clicks fire the "featureclick" hook first (see core.js); a handler may consume them.
 */
(function (SafeMap) {
  "use strict";

  var esc = SafeMap.esc;

  function html(lyr) {
    var ld = lyr.smLayer, f = lyr.smFeature, values = f[5] || [], live = lyr.smLive || {};
    var rows = [], meta = [esc(ld.idLabel) + " " + f[0]];
    ld.cols.forEach(function (col, i) {
      var k = values[i];
      // A value the server changed since the page was built (live events): the live one.
      var v = live[col[0]] !== undefined ? live[col[0]] : k === null || k === undefined ? "" : ld.words[i][k];
      if (v === "" || v === null || v === undefined) return;
      if (col[1]) {
        meta.push(esc(col[0]) + " " + esc(v));
      } else {
        rows.push("<tr><th>" + esc(col[0]) + "</th><td>" + esc(v) + "</td></tr>");
      }
    });
    return '<div class="sm-popup">' +
      '<div class="sm-popup-layer">' + SafeMap.draw.dot(ld, f) + esc(ld.label) + "</div>" +
      '<div class="sm-popup-name">' + esc(f[1]) + "</div>" +
      (rows.length ? '<table class="sm-popup-table">' + rows.join("") + "</table>" : "") +
      (meta.length ? '<div class="sm-popup-meta">' + meta.join(" · ") + "</div>" : "") +
      "</div>";
  }

  function anchor(lyr, latlng) {
    if (lyr.getLatLng) return lyr.getLatLng();
    return latlng || lyr.getCenter();
  }

  function open(lyr, latlng) {
    var state = SafeMap.state;
    state.map.closeTooltip(state.tooltip);
    // Which feature the popup shows (js/edit.js adds 编辑/删除/复制坐标 to it).
    state.popup.smAbout = { layer: lyr.smLayer.name, id: lyr.smFeature[0], target: lyr, latlng: anchor(lyr, latlng) };
    state.popup.smTarget = lyr;
    state.popup.setLatLng(anchor(lyr, latlng)).setContent(html(lyr)).openOn(state.map);
  }

  function listen(group) {
    group.on("click", function (e) {
      var lyr = e.propagatedFrom || e.layer;
      if (!lyr || !lyr.smFeature) return;
      var consumed = SafeMap.hooks.fire("featureclick", {
        layer: lyr.smLayer.name, id: lyr.smFeature[0], latlng: e.latlng, target: lyr
      });
      if (!consumed) open(lyr, e.latlng);
    });
  }

  function remote(name, id, latlng) {
    var state = SafeMap.state;
    return SafeMap.api("map/popup/" + name + "/" + id).then(function (r) { return r.text(); }).then(function (text) {
      state.popup.smAbout = { layer: name, id: id, target: null, latlng: latlng };
      state.popup.smTarget = null;
      state.popup.setLatLng(latlng).setContent(text).openOn(state.map);
    });
  }

  /** The tiled feature under a map click (topmost visible tiled layer first), as a popup. */
  function pickTiled(e) {
    var state = SafeMap.state, map = state.map;
    var names = Object.keys(state.tiles || {}).filter(function (n) {
      return map.hasLayer(state.layers[n]);
    }).reverse();
    if (!names.length) return;
    var p = map.latLngToContainerPoint(e.latlng), r = 5;
    var sw = map.containerPointToLatLng([p.x - r, p.y + r]), ne = map.containerPointToLatLng([p.x + r, p.y - r]);
    var box = [sw.lng, sw.lat, ne.lng, ne.lat].map(function (v) { return v.toFixed(7); }).join(",");
    (function next(i) {
      if (i >= names.length) return;
      SafeMap.api("api/layers/" + names[i] + "?limit=1&bbox=" + box)
        .then(null, function () { return { features: [] }; })
        .then(function (fc) {
          if (!fc.features.length) return next(i + 1);
          var id = fc.features[0].id;
          if (SafeMap.hooks.fire("featureclick", { layer: names[i], id: id, latlng: e.latlng, target: null })) return;
          return remote(names[i], id, e.latlng);
        });
    })(0);
  }

  function show(name, lyr) {
    var state = SafeMap.state, map = state.map, group = state.layers[name], ld = lyr.smLayer;
    if (!map.hasLayer(group)) map.addLayer(group);
    map.closePopup();
    if (ld.cluster) {
      // Not group.zoomToShowLayer: it waits for a marker _icon, which circle markers
      // lack, and can wait forever. Clustering stops at disableClusteringAtZoom, so
      // zoom there and open the popup once markercluster has put the marker back.
      var zoom = Math.max(map.getZoom(), group.options.disableClusteringAtZoom || map.getMaxZoom());
      // Clustered layers may hold areas too (protected targets: compounds and schools).
      map.setView(lyr.getLatLng ? lyr.getLatLng() : lyr.getBounds().getCenter(), zoom);
      var tries = 0;
      var attempt = function () {
        if (map.hasLayer(lyr)) {
          open(lyr);
        } else if (++tries < 60) {
          setTimeout(attempt, 50);
        }
      };
      attempt();
    } else if (lyr.getLatLng) {
      map.setView(lyr.getLatLng(), Math.max(map.getZoom(), 16));
      open(lyr);
    } else {
      map.fitBounds(lyr.getBounds(), { maxZoom: 16, padding: [60, 60] });
      open(lyr);
    }
  }

  /**
   * A live value for the popup column ``label`` of an embedded feature (a team's 状态 after a
   * dispatch, a road's 通行状态 after a closure): the popup says what the map shows, and an
   * open popup of that feature is redrawn at once.
   */
  function setLive(lyr, label, text) {
    var state = SafeMap.state;
    lyr.smLive = lyr.smLive || {};
    lyr.smLive[label] = text;
    if (state.popup && state.map.hasLayer(state.popup) && state.popup.smTarget === lyr) state.popup.setContent(html(lyr));
  }

  SafeMap.popups = { html: html, open: open, listen: listen, remote: remote, pickTiled: pickTiled, show: show, setLive: setLive };
})(window.SafeMap);

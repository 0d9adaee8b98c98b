/*
 * SafeMap map page, module 4 of 10: the catalogue layers drawn from the page's data block.
 *
 * SafeMap.draw.layer(ld)   embedded features -> [L.Layer], each with .smLayer (the layer's
 *                          data entry) and .smFeature ([id, name, paint, code, coords, values])
 * SafeMap.draw.tiles(ld)   a layer too large to embed, as vector tiles (drawn only)
 * SafeMap.draw.hover(group)  the shared name tooltip on hover
 * SafeMap.draw.keepOrder(map, layers)  groups switched on again return to their drawing order
 * SafeMap.draw.setClosed(lyr, closed)   the one style of closed roads (red dashed), or back to open
 * SafeMap.clusterIcon      markercluster's icon (named by webmap/page.py)
 */
(function (SafeMap) {
  "use strict";

  var esc = SafeMap.esc;

  function pathOptions(ld, paint) {
    var state = SafeMap.state;
    var dash = paint.d ? "8 6" : null;
    var line = {
      renderer: state.canvas, color: paint.c, weight: paint.w, opacity: 0.9,
      dashArray: dash, lineCap: "round", lineJoin: "round"
    };
    var area = ld.kind === "line"
      ? L.extend({}, line, { fill: false })
      : L.extend({}, line, { fillColor: paint.c, fillOpacity: ld.fillOpacity });
    var point = {
      renderer: state.svg, pane: "smPoints", radius: ld.radius,
      // Near-opaque: at the catalogue's 0.6 a risk-red dot reads as pink on a light map.
      fillColor: paint.c, fillOpacity: Math.max(ld.fillOpacity, 0.85),
      // A white rim keeps small coloured dots readable on any basemap.
      color: "#ffffff", weight: 1.5, opacity: 1
    };
    return { line: line, area: area, point: point };
  }

  function layer(ld) {
    var styles = ld.paints.map(function (p) { return pathOptions(ld, p); });
    return ld.f.map(function (f) {
      var s = styles[f[2]], code = f[3], lyr;
      if (code === "P") {
        lyr = L.circleMarker(f[4], s.point);
      } else {
        lyr = code === "L" ? L.polyline(f[4], s.line) : L.polygon(f[4], s.area);
      }
      lyr.smLayer = ld;
      lyr.smFeature = f;
      if (ld.named && code === "A") {
        lyr.bindTooltip(esc(f[1]), {
          permanent: true, direction: "center", className: "sm-label", pane: "smLabels"
        });
      }
      return lyr;
    });
  }

  /*
   * Layers too large to embed come as vector tiles (Leaflet.VectorGrid), drawn only:
   * each tile layer is its own canvas stack under the overlay pane, so it cannot take
   * clicks reliably; SafeMap.popups.pickTiled asks the API what lies under a click.
   */
  function tiles(ld) {
    var st = ld.tileStyle, styles = ld.paints.map(function (p) { return pathOptions(ld, p); });
    function pick(props) {
      var dashed = st.dash && props[st.dash[0]] === st.dash[1] ? 1 : 0;
      var i = st.index[(props[st.by] || "") + "|" + dashed];
      return styles[i === undefined ? st.fallback : i];
    }
    var byLayer = {};
    byLayer[ld.name] = function (props, zoom, dim) {
      var s = pick(props);
      if (dim === 1) {
        return { radius: ld.radius, fill: true, fillColor: s.point.fillColor, fillOpacity: s.point.fillOpacity,
                 color: "#ffffff", weight: 1.5, opacity: 1 };
      }
      return dim === 2 ? L.extend({}, s.line, { renderer: undefined }) : L.extend({}, s.area, { renderer: undefined, fill: true });
    };
    var grid = L.vectorGrid.protobuf(SafeMap.url(ld.tiles), {
      rendererFactory: L.canvas.tile, vectorTileLayerStyles: byLayer, interactive: false, maxNativeZoom: 18
    });
    grid.smLayer = ld;
    return grid;
  }

  /*
   * One tooltip for the whole map, opened from events the groups pass up from their
   * features: binding one to each of thousands of road segments costs more start-up
   * time than drawing the segments.
   */
  function hover(group) {
    var state = SafeMap.state;
    group.on("mouseover mousemove", function (e) {
      var lyr = e.propagatedFrom || e.layer;
      if (!lyr || !lyr.smFeature || (lyr.smLayer.named && !lyr.getLatLng)) return;
      if (e.type === "mouseover") {
        state.tooltip.setContent(esc(lyr.smFeature[1]));
        if (!lyr.getLatLng) lyr.setStyle({ weight: lyr.smLayer.paints[lyr.smFeature[2]].w + 3 });
      }
      // Points: above the dot; lines and areas: following the pointer.
      state.tooltip.options.offset = lyr.getLatLng ? [0, -lyr.options.radius - 2] : [0, -8];
      state.tooltip.setLatLng(lyr.getLatLng ? lyr.getLatLng() : e.latlng);
      if (!state.map.hasLayer(state.tooltip) && !state.map.hasLayer(state.popup)) {
        state.map.openTooltip(state.tooltip);
      }
    });
    group.on("mouseout", function (e) {
      var lyr = e.propagatedFrom || e.layer;
      if (lyr && lyr.smFeature && !lyr.getLatLng) lyr.setStyle({ weight: lyr.smLayer.paints[lyr.smFeature[2]].w });
      state.map.closeTooltip(state.tooltip);
    });
  }

  /** Which groups draw in the shared canvas, in catalogue (drawing) order. */
  function keepOrder(map, layers) {
    var groups = SafeMap.state.layers;
    var order = layers.filter(function (ld) { return !ld.cluster; }).map(function (ld) { return ld.name; });
    order.forEach(function (name, i) {
      // A group switched on again is drawn last; lift the groups that belong above it.
      groups[name].on("add", function () {
        order.slice(i + 1).forEach(function (above) {
          var g = groups[above];
          if (map.hasLayer(g)) g.bringToFront();
        });
      });
    });
  }

  /** A dot in the feature's own colour (its risk level, kind …). */
  function dot(ld, f) {
    return '<i class="sm-sw sm-sw-pt" style="background:' + esc(ld.paints[f[2]].c) + '"></i>';
  }

  /**
   * One rule for a closed road (and an obstructed fire lane), wherever it is drawn: at load
   * (the server paints it so), on closure and on every open map (live events): the
   * catalogue's 封闭 red, dashed. Reopened, it gets its own colour back, solid.
   */
  function closedStyle() {
    return { color: SafeMap.enumColor("road_status", "closed", "#d50000"), dashArray: "8 6" };
  }
  function openStyle(lyr) {
    var p = lyr.smLayer.paints[lyr.smFeature[2]];
    return { color: p.b || p.c, dashArray: null };
  }
  /** Restyle embedded feature ``lyr`` as closed or open. */
  function setClosed(lyr, closed) {
    if (!lyr || !lyr.setStyle) return;
    lyr.setStyle(closed ? closedStyle() : openStyle(lyr));
    lyr.smClosed = !!closed;
    // Above routes and 调度记录 drawn along it, so the closure is seen.
    if (closed && lyr.bringToFront && lyr._map) lyr.bringToFront();
  }

  SafeMap.draw = {
    layer: layer, tiles: tiles, hover: hover, keepOrder: keepOrder, dot: dot,
    closedStyle: closedStyle, openStyle: openStyle, setClosed: setClosed
  };

  SafeMap.clusterIcon = function (cluster) {
    var markers = cluster.getAllChildMarkers(), counts = {}, colors = [];
    markers.forEach(function (m) {
      var c = m.options.fillColor;
      if (!counts[c]) { counts[c] = 0; colors.push(c); }
      counts[c] += 1;
    });
    var ld = markers[0].smLayer, rank = {};
    ld.paints.forEach(function (p, i) { if (!(p.c in rank)) rank[p.c] = i; });
    colors.sort(function (a, b) { return rank[a] - rank[b]; });
    var n = markers.length, acc = 0;
    var stops = colors.map(function (c) {
      var from = acc;
      acc += counts[c] / n * 100;
      return c + " " + from.toFixed(1) + "% " + acc.toFixed(1) + "%";
    });
    // Scaled with the layer's marker size, so clusters of small dots stay small.
    var scale = 0.6 + 0.4 * Math.min(ld.radius, 7) / 7;
    var size = Math.round((n < 10 ? 26 : n < 100 ? 32 : 40) * scale);
    return L.divIcon({
      html: '<div class="sm-cluster-ring" title="' + esc(ld.label) + " " + n + ' 个，点击放大"' +
        ' style="background:conic-gradient(' + stops.join(",") + ')"><span>' + n + "</span></div>",
      className: "sm-cluster",
      iconSize: L.point(size, size)
    });
  };
})(window.SafeMap);

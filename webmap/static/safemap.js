/*
 * SafeMap map page: draws the embedded features into the folium-made groups and adds
 * the page's own controls (search, legend, coordinates). Written for the older
 * Chromium cores still found on government PCs: ES2015, no optional chaining.
 *
 * window.safemap = {map, layers: {name: L.Layer}, features: {name: [L.Layer]}, ready}
 * is the handle the browser tests and the benchmark use.
 */
/* global L */
(function () {
  "use strict";

  var ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) { return ESCAPES[c]; });
  }

  // markercluster calls clusterHide()/clusterShow() (defined for L.Marker only) on
  // markers it animates. Most calls are guarded, but it re-shows only markers with an
  // _icon, so real hiding would leave circle markers invisible: make them no-ops.
  L.CircleMarker.include({
    clusterHide: function () { return this; },
    clusterShow: function () { return this; }
  });

  // Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop, which Leaflet 1.8 removed
  // (Leaflet.VectorGrid PR #288); its old meaning: the map must not see this click.
  if (!L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }

  // leaflet.fullscreen 5 only exports the class; folium's template calls the factory.
  if (!L.control.fullscreen) {
    L.control.fullscreen = function (options) { return new L.Control.FullScreen(options); };
  }

  var state = null;

  /* ------------------------------------------------------------------ controls */

  var SearchControl = L.Control.extend({
    options: { position: "topleft", limit: 12 },

    onAdd: function (map) {
      var div = L.DomUtil.create("div", "sm-search leaflet-bar");
      div.innerHTML =
        '<input type="search" class="sm-search-input" autocomplete="off" spellcheck="false"' +
        ' placeholder="搜索名称：企业、学校、道路…" aria-label="按名称搜索要素" title="按名称搜索所有图层">' +
        '<ul class="sm-search-results" role="listbox" hidden></ul>';
      this._input = div.querySelector("input");
      this._list = div.querySelector("ul");
      this._hits = [];
      this._active = -1;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(this._input, "input", this._onInput, this);
      L.DomEvent.on(this._input, "keydown", this._onKey, this);
      L.DomEvent.on(this._list, "click", this._onClick, this);
      this._map = map;
      return div;
    },

    search: function (text) {
      var q = text.trim().toLowerCase();
      if (!q || !state) return [];
      var hits = [];
      state.index.forEach(function (entry) {
        var at = entry.key.indexOf(q);
        if (at >= 0) hits.push({ entry: entry, rank: at === 0 ? 0 : 1 });
      });
      hits.sort(function (a, b) {
        return a.rank - b.rank || a.entry.key.length - b.entry.key.length ||
          a.entry.order - b.entry.order;
      });
      return hits.map(function (h) { return h.entry; });
    },

    /** Tiled layers are not in the page: ask the API for their names (debounced). */
    _remote: function (text) {
      var self = this, names = Object.keys(state.tiles || {});
      clearTimeout(this._timer);
      if (!names.length || !text.trim()) return;
      this._timer = setTimeout(function () {
        Promise.all(names.map(function (name) {
          return fetch("api/layers/" + name + "?limit=5&q=" + encodeURIComponent(text.trim()))
            .then(function (r) { return r.ok ? r.json() : { features: [] }; })
            .then(function (fc) {
              return fc.features.map(function (f) {
                return { remote: true, name: f.properties.name, id: f.id, geometry: f.geometry, ld: state.tiles[name].smLayer };
              });
            });
        })).then(function (lists) {
          if (self._input.value !== text) return;
          var extra = [].concat.apply([], lists);
          if (extra.length) self._render(text, self._local.concat(extra));
        });
      }, 250);
    },

    _onInput: function () {
      var text = this._input.value;
      this._local = this.search(text);
      this._render(text, this._local);
      this._remote(text);
    },

    _render: function (text, all) {
      this._hits = all.slice(0, this.options.limit);
      this._active = this._hits.length ? 0 : -1;
      if (!text.trim()) {
        this._list.hidden = true;
        return;
      }
      var html = this._hits.map(function (e, i) {
        var sw = e.remote ? '<i class="sm-sw sm-sw-pt" style="background:' + esc(e.ld.paints[e.ld.tileStyle.fallback].c) + '"></i>'
          : dot(e.ld, e.lyr.smFeature);
        return '<li role="option" data-i="' + i + '"' + (i === 0 ? ' class="sm-active"' : "") + ">" +
          sw + '<span class="sm-hit-name">' + esc(e.name) + "</span>" +
          '<span class="sm-hit-layer">' + esc(e.ld.label) + "</span></li>";
      }).join("");
      if (!all.length) {
        html = '<li class="sm-none">未找到“' + esc(text.trim()) + "”</li>";
      } else if (all.length > this._hits.length) {
        html += '<li class="sm-more">共 ' + all.length + " 条，请输入更完整的名称</li>";
      }
      this._list.innerHTML = html;
      this._list.hidden = false;
    },

    _onKey: function (e) {
      var n = this._hits.length;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!n) return;
        this._active = (this._active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        var items = this._list.querySelectorAll("li[data-i]");
        for (var i = 0; i < items.length; i++) {
          items[i].classList.toggle("sm-active", i === this._active);
        }
        L.DomEvent.preventDefault(e);
      } else if (e.key === "Enter" && this._active >= 0) {
        this.go(this._hits[this._active]);
        L.DomEvent.preventDefault(e);
      } else if (e.key === "Escape") {
        this._input.value = "";
        this._list.hidden = true;
      }
    },

    _onClick: function (e) {
      var li = e.target.closest ? e.target.closest("li[data-i]") : null;
      if (li) this.go(this._hits[Number(li.getAttribute("data-i"))]);
    },

    go: function (entry) {
      this._list.hidden = true;
      this._input.value = entry.name;
      if (entry.remote) {
        var shape = L.geoJSON(entry.geometry), map = state.map, group = state.layers[entry.ld.name];
        if (!map.hasLayer(group)) map.addLayer(group);
        map.fitBounds(shape.getBounds(), { maxZoom: 17, animate: false });
        var at = shape.getBounds().getCenter();
        fetch("map/popup/" + entry.ld.name + "/" + entry.id).then(function (r) { return r.text(); }).then(function (html) {
          state.popup.setLatLng(at).setContent(html).openOn(map);
        });
        return;
      }
      showFeature(entry.ld.name, entry.lyr);
    }
  });

  var MouseControl = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function (map) {
      var div = L.DomUtil.create("div", "sm-mousepos");
      div.textContent = "经度 —  纬度 —";
      map.on("mousemove", function (e) {
        div.textContent = "经度 " + e.latlng.lng.toFixed(5) + "°  纬度 " + e.latlng.lat.toFixed(5) + "°";
      });
      return div;
    }
  });

  var LegendControl = L.Control.extend({
    options: { position: "bottomright" },
    initialize: function (html, options) {
      L.setOptions(this, options);
      this._html = html;
    },
    onAdd: function (map) {
      var div = L.DomUtil.create("div", "sm-legend");
      div.innerHTML =
        '<button type="button" class="sm-legend-toggle" title="展开/收起图例">' +
        '<span>图例</span><i class="sm-caret"></i></button>' +
        '<div class="sm-legend-body">' + this._html + "</div>";
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(div.querySelector("button"), "click", function () {
        var now = !div.classList.contains("sm-collapsed");
        div.classList.toggle("sm-collapsed", now);
        try { window.localStorage.setItem("safemap.legend", now ? "collapsed" : "open"); } catch (err) { /* private mode */ }
        this.fit();
      }, this);
      map.on("resize", this.fit, this);
      return div;
    },

    /** Keep the legend clear of the layer control above it (both sit on the right). */
    fit: function () {
      var div = this.getContainer(), map = this._map;
      var body = div.querySelector(".sm-legend-body"), button = div.querySelector("button");
      var above = map.getContainer().querySelector(".leaflet-top.leaflet-right");
      var top = above ? above.getBoundingClientRect().bottom : map.getContainer().getBoundingClientRect().top;
      var room = div.getBoundingClientRect().bottom - top - button.offsetHeight - 24;
      body.style.maxHeight = Math.max(room, 90) + "px";
      return room;
    },

    /** Open unless the user closed it before or there is no room (1366×768 screens). */
    initialState: function () {
      var stored = null;
      try { stored = window.localStorage.getItem("safemap.legend"); } catch (err) { stored = null; }
      var room = this.fit();
      this.getContainer().classList.toggle("sm-collapsed", stored ? stored === "collapsed" : room < 150);
    }
  });

  /* ------------------------------------------------------------------ features */

  /** A dot in the feature's own colour (its risk level, kind …). */
  function dot(ld, f) {
    return '<i class="sm-sw sm-sw-pt" style="background:' + esc(ld.paints[f[2]].c) + '"></i>';
  }

  function popupHtml(lyr) {
    var ld = lyr.smLayer, f = lyr.smFeature, values = f[5] || [];
    var rows = [], meta = [esc(ld.idLabel) + " " + f[0]];
    ld.cols.forEach(function (col, i) {
      var k = values[i];
      if (k === null || k === undefined) return;
      var v = ld.words[i][k];
      if (v === "") return;
      if (col[1]) {
        meta.push(esc(col[0]) + " " + esc(v));
      } else {
        rows.push("<tr><th>" + esc(col[0]) + "</th><td>" + esc(v) + "</td></tr>");
      }
    });
    return '<div class="sm-popup">' +
      '<div class="sm-popup-layer">' + dot(ld, f) + esc(ld.label) + "</div>" +
      '<div class="sm-popup-name">' + esc(f[1]) + "</div>" +
      (rows.length ? '<table class="sm-popup-table">' + rows.join("") + "</table>" : "") +
      (meta.length ? '<div class="sm-popup-meta">' + meta.join(" · ") + "</div>" : "") +
      "</div>";
  }

  function pathOptions(ld, paint) {
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

  function buildLayer(ld) {
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
   * clicks reliably. A click on the map that hits no embedded feature asks the API
   * which tiled feature lies under the pointer and opens its popup.
   */
  function buildTiles(ld) {
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
    var grid = L.vectorGrid.protobuf(ld.tiles, {
      rendererFactory: L.canvas.tile, vectorTileLayerStyles: byLayer, interactive: false, maxNativeZoom: 18
    });
    grid.smLayer = ld;
    return grid;
  }

  /** The tiled feature under a map click (topmost visible tiled layer first), as a popup. */
  function pickTiled(e) {
    var map = state.map, names = Object.keys(state.tiles || {}).filter(function (n) {
      return map.hasLayer(state.layers[n]);
    }).reverse();
    if (!names.length) return;
    var p = map.latLngToContainerPoint(e.latlng), r = 5;
    var sw = map.containerPointToLatLng([p.x - r, p.y + r]), ne = map.containerPointToLatLng([p.x + r, p.y - r]);
    var box = [sw.lng, sw.lat, ne.lng, ne.lat].map(function (v) { return v.toFixed(7); }).join(",");
    (function next(i) {
      if (i >= names.length) return;
      fetch("api/layers/" + names[i] + "?limit=1&bbox=" + box)
        .then(function (resp) { return resp.ok ? resp.json() : { features: [] }; })
        .then(function (fc) {
          if (!fc.features.length) return next(i + 1);
          return fetch("map/popup/" + names[i] + "/" + fc.features[0].id).then(function (resp) { return resp.text(); })
            .then(function (html) { state.popup.setLatLng(e.latlng).setContent(html).openOn(map); });
        });
    })(0);
  }

  /*
   * One popup and one tooltip for the whole map, opened from events the groups pass
   * up from their features: binding them to each of thousands of road segments costs
   * more start-up time than drawing the segments.
   */
  function featureAnchor(lyr, latlng) {
    if (lyr.getLatLng) return lyr.getLatLng();
    return latlng || lyr.getCenter();
  }

  function openFeaturePopup(lyr, latlng) {
    state.map.closeTooltip(state.tooltip);
    state.popup.setLatLng(featureAnchor(lyr, latlng)).setContent(popupHtml(lyr)).openOn(state.map);
  }

  function listen(group) {
    group.on("click", function (e) {
      var lyr = e.propagatedFrom || e.layer;
      if (lyr && lyr.smFeature) openFeaturePopup(lyr, e.latlng);
    });
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

  function showFeature(name, lyr) {
    var map = state.map, group = state.layers[name], ld = lyr.smLayer;
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
      var open = function () {
        if (map.hasLayer(lyr)) {
          openFeaturePopup(lyr);
        } else if (++tries < 60) {
          setTimeout(open, 50);
        }
      };
      open();
    } else if (lyr.getLatLng) {
      map.setView(lyr.getLatLng(), Math.max(map.getZoom(), 16));
      openFeaturePopup(lyr);
    } else {
      map.fitBounds(lyr.getBounds(), { maxZoom: 16, padding: [60, 60] });
      openFeaturePopup(lyr);
    }
  }

  /** Which groups draw in the shared canvas, in catalogue (drawing) order. */
  function keepDrawingOrder(map, layers) {
    var order = layers.filter(function (ld) { return !ld.cluster; }).map(function (ld) { return ld.name; });
    order.forEach(function (name, i) {
      // A group switched on again is drawn last; lift the groups that belong above it.
      state.layers[name].on("add", function () {
        order.slice(i + 1).forEach(function (above) {
          var g = state.layers[above];
          if (map.hasLayer(g)) g.bringToFront();
        });
      });
    });
  }

  function syncLegend(map, layers, legendEl) {
    layers.forEach(function (ld) {
      var group = state.layers[ld.name];
      var entry = legendEl.querySelector('[data-layer="' + ld.name + '"]');
      if (!entry) return;
      var sync = function () { entry.classList.toggle("sm-off", !map.hasLayer(group)); };
      group.on("add remove", sync);
      sync();
    });
  }

  function fail(err) {
    var box = document.getElementById("sm-fail");
    if (box) {
      box.textContent = "地图数据加载失败：" + (err && err.message ? err.message : err);
      box.hidden = false;
    }
  }

  /* ------------------------------------------------------------------ tool panels, token, API */

  var panelBuilders = {};
  var TOKEN_KEY = "safemap.token";

  function token() {
    try { return window.localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }

  function setToken(value) {
    try {
      if (value) window.localStorage.setItem(TOKEN_KEY, value);
      else window.localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* private mode: the token lasts for this page only */ }
    state.token = value;
  }

  /** fetch() against the API with the user's token; resolves to parsed JSON (or the Response
   *  for non-JSON bodies), rejects with an Error whose message is the API's Chinese message. */
  function api(path, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    var body = options.body;
    if (body !== undefined && !(body instanceof FormData) && typeof body !== "string") {
      body = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    var secret = state.token || token();
    if (secret) headers["Authorization"] = "Bearer " + secret;
    var extra = options.headers || {};
    Object.keys(extra).forEach(function (k) { headers[k] = extra[k]; });
    return fetch(path, { method: options.method || "GET", headers: headers, body: body }).then(function (r) {
      var type = r.headers.get("content-type") || "";
      if (!r.ok) {
        var parse = type.indexOf("json") >= 0 ? r.json() : r.text().then(function (t) { return { message: t }; });
        return parse.then(function (err) {
          var e = new Error((err && err.message) || ("请求失败（" + r.status + "）"));
          e.status = r.status;
          e.problems = err && err.problems;
          throw e;
        });
      }
      if (r.status === 204) return null;
      return type.indexOf("json") >= 0 ? r.json() : r;
    });
  }

  var Dock = L.Control.extend({
    options: { position: "topleft" },

    onAdd: function () {
      var div = L.DomUtil.create("div", "sm-dock leaflet-bar");
      div.innerHTML =
        '<div class="sm-dock-tabs" role="tablist"></div>' +
        '<div class="sm-dock-user"><button type="button" class="sm-token-btn" title="输入令牌后可编辑、调度">令牌</button>' +
        '<span class="sm-user"></span></div>' +
        '<div class="sm-dock-body" hidden></div>';
      this._tabs = div.querySelector(".sm-dock-tabs");
      this._body = div.querySelector(".sm-dock-body");
      this._user = div.querySelector(".sm-user");
      this._panels = {};
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(div.querySelector(".sm-token-btn"), "click", this._askToken, this);
      this.showUser();
      return div;
    },

    add: function (name, title, build) {
      var tab = L.DomUtil.create("button", "sm-dock-tab", this._tabs);
      tab.type = "button";
      tab.textContent = title;
      tab.setAttribute("data-panel", name);
      var pane = L.DomUtil.create("div", "sm-panel sm-panel-" + name, this._body);
      pane.hidden = true;
      var heading = L.DomUtil.create("div", "sm-panel-title", pane);
      heading.textContent = title;
      var content = L.DomUtil.create("div", "sm-panel-body", pane);
      this._panels[name] = { tab: tab, pane: pane, built: false, build: build, content: content };
      L.DomEvent.on(tab, "click", function () { this.toggle(name); }, this);
    },

    toggle: function (name, open) {
      var self = this;
      Object.keys(this._panels).forEach(function (key) {
        var p = self._panels[key];
        var show = key === name ? (open === undefined ? p.pane.hidden : open) : false;
        p.pane.hidden = !show;
        p.tab.classList.toggle("sm-active", show);
        if (show && !p.built) {
          p.built = true;
          try { p.build(p.content, state); } catch (err) { p.content.textContent = "面板加载失败：" + err.message; throw err; }
        }
      });
      this._body.hidden = !Object.keys(this._panels).some(function (k) { return !self._panels[k].pane.hidden; });
      return this._panels[name] ? this._panels[name].content : null;
    },

    showUser: function () {
      var el = this._user;
      if (!token()) { el.textContent = "只读"; return; }
      api("/api/me").then(function (me) {
        el.textContent = me.name + "（" + me.role + "）";
      }, function () { el.textContent = "令牌无效"; });
    },

    _askToken: function () {
      var value = window.prompt("请输入管理员发放的令牌（留空则退出登录）：", "");
      if (value === null) return;
      setToken(value.trim());
      this.showUser();
    }
  });

  /* ------------------------------------------------------------------ entry points */

  window.SafeMap = {
    esc: esc,
    api: api,
    token: token,
    setToken: setToken,

    /** Called by each panel script: ``build(container, safemap)`` fills the panel when first opened. */
    registerPanel: function (name, build) {
      panelBuilders[name] = build;
    },

    /** Open (or close with ``open=false``) a tool panel; returns its content element. */
    openPanel: function (name, open) {
      return state && state.dock ? state.dock.toggle(name, open === undefined ? true : open) : null;
    },

    setup: function (map, config) {
      state = window.safemap = {
        map: map, config: config, layers: {}, features: {}, index: [], ready: false,
        setupMs: performance.now()
      };
      map.createPane("smLabels").style.zIndex = 430;
      map.createPane("smPoints").style.zIndex = 450;
      state.canvas = L.canvas({ padding: 0.5, tolerance: 4 });
      state.svg = L.svg({ pane: "smPoints", padding: 0.5 });
      map.attributionControl.setPrefix("Leaflet");
      if (config.attribution) map.attributionControl.addAttribution(esc(config.attribution));
      map.getContainer().classList.add("sm-basemap-" + config.basemap);
      state.search = new SearchControl().addTo(map);
      L.control.zoom({ position: "topleft", zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
      L.control.scale({ imperial: false, position: "bottomleft", maxWidth: 160 }).addTo(map);
      new MouseControl().addTo(map);
      state.popup = L.popup({ maxWidth: 380, minWidth: 240, autoPanPadding: [48, 48], className: "sm-popup-wrap" });
      state.tooltip = L.tooltip({ direction: "top", className: "sm-tip" });
      // Not animated: folium already gave the map a view, and a zoom animation still
      // running after "ready" would undo any view set meanwhile (search, links, tests).
      if (config.bounds) map.fitBounds(config.bounds, { padding: [8, 8], animate: false });
      return state;
    },

    populate: function (map, groups, data) {
      var t0 = performance.now();
      try {
        data.layers.forEach(function (ld, order) {
          var group = groups[ld.name];
          if (ld.tiles) {
            state.layers[ld.name] = group;
            state.features[ld.name] = [];
            state.tiles = state.tiles || {};
            state.tiles[ld.name] = buildTiles(ld);
            group.addLayer(state.tiles[ld.name]);
            return;
          }
          var built = buildLayer(ld);
          listen(group);
          state.layers[ld.name] = group;
          state.features[ld.name] = built;
          if (ld.cluster) {
            group.addLayers(built);
          } else {
            for (var i = 0; i < built.length; i++) group.addLayer(built[i]);
          }
          built.forEach(function (lyr) {
            state.index.push({ key: lyr.smFeature[1].toLowerCase(), name: lyr.smFeature[1], ld: ld, lyr: lyr, order: order });
          });
        });
        keepDrawingOrder(map, data.layers);
        if (state.tiles) map.on("click", pickTiled);
        state.legend = new LegendControl(data.legend).addTo(map);
        state.legend.initialState();
        var tree = map.getContainer().querySelector(".leaflet-control-layers");
        // Opening or closing a group in the layer control changes the room left for the legend.
        if (tree) L.DomEvent.on(tree, "click", function () { setTimeout(function () { state.legend.fit(); }, 0); });
        syncLegend(map, data.layers, state.legend.getContainer());
        var panels = (data.panels || []).filter(function (p) { return panelBuilders[p.name]; });
        if (panels.length) {
          state.dock = new Dock().addTo(map);
          panels.forEach(function (p) { state.dock.add(p.name, p.title, panelBuilders[p.name]); });
        }
      } catch (err) {
        fail(err);
        throw err;
      }
      state.populateMs = performance.now() - t0;
      // Two frames: the first paints the canvas, the second runs after that paint.
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          state.readyMs = performance.now();
          state.ready = true;
          document.documentElement.setAttribute("data-safemap-ready", "1");
        });
      });
    },

    /** The Leaflet layer drawing feature ``id`` of layer ``name`` (tests, links). */
    find: function (name, id) {
      var list = state.features[name] || [];
      for (var i = 0; i < list.length; i++) {
        if (list[i].smFeature[0] === id) return list[i];
      }
      return null;
    },

    show: function (name, id) {
      var lyr = window.SafeMap.find(name, id);
      if (lyr) showFeature(name, lyr);
      return lyr;
    },

    clusterIcon: function (cluster) {
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
    }
  };
})();

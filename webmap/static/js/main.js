/*
 * SafeMap map page, module 10 of 10: the entry points the folium page calls.
 *
 *   SafeMap.setup(map, config)          right after the map: panes, controls that come first
 *   SafeMap.populate(map, groups, data) after the groups: features, legend, dock; then ready
 *   SafeMap.find(name, id) / SafeMap.show(name, id)   an embedded feature (tests, links)
 */
(function (SafeMap) {
  "use strict";

  SafeMap.setup = function (map, config) {
    SafeMap.config = config;
    var state = SafeMap.state = {
      map: map, config: config, layers: {}, features: {}, info: {}, index: [], ready: false,
      setupMs: performance.now()
    };
    // Township names sit above cluster bubbles (markerPane 600), below tooltips and popups; they take no clicks.
    var labels = map.createPane("smLabels");
    labels.style.zIndex = 640;
    labels.style.pointerEvents = "none";
    map.createPane("smPoints").style.zIndex = 450;
    state.canvas = L.canvas({ padding: 0.5, tolerance: 4 });
    state.svg = L.svg({ pane: "smPoints", padding: 0.5 });
    map.attributionControl.setPrefix("Leaflet");
    if (config.attribution) map.attributionControl.addAttribution(SafeMap.esc(config.attribution));
    map.getContainer().classList.add("sm-basemap-" + config.basemap);
    state.search = new SafeMap.SearchControl().addTo(map);
    L.control.zoom({ position: "topleft", zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
    L.control.scale({ imperial: false, position: "bottomleft", maxWidth: 160 }).addTo(map);
    new SafeMap.MouseControl().addTo(map);
    if (SafeMap.PrintControl) state.printControl = new SafeMap.PrintControl().addTo(map);
    state.popup = L.popup({ maxWidth: 380, minWidth: 240, autoPanPadding: [48, 48], className: "sm-popup-wrap" });
    state.tooltip = L.tooltip({ direction: "top", className: "sm-tip" });
    // Not animated: folium already gave the map a view, and a zoom animation still
    // running after "ready" would undo any view set meanwhile (search, links, tests).
    if (config.bounds) map.fitBounds(config.bounds, { padding: [8, 8], animate: false });
    return state;
  };

  SafeMap.populate = function (map, groups, data) {
    var state = SafeMap.state, t0 = performance.now();
    try {
      data.layers.forEach(function (ld, order) {
        var group = groups[ld.name];
        state.layers[ld.name] = group;
        state.info[ld.name] = ld;
        if (ld.tiles) {
          state.features[ld.name] = [];
          state.tiles = state.tiles || {};
          state.tiles[ld.name] = SafeMap.draw.tiles(ld);
          group.addLayer(state.tiles[ld.name]);
          return;
        }
        var built = SafeMap.draw.layer(ld);
        SafeMap.popups.listen(group);
        SafeMap.draw.hover(group);
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
      SafeMap.draw.keepOrder(map, data.layers);
      if (state.tiles) map.on("click", SafeMap.popups.pickTiled);
      state.legend = new SafeMap.LegendControl(data.legend).addTo(map);
      state.legend.initialState();
      var tree = map.getContainer().querySelector(".leaflet-control-layers");
      // Opening or closing a group in the layer control changes the room left for the legend.
      if (tree) L.DomEvent.on(tree, "click", function () { setTimeout(function () { state.legend.fit(); }, 0); });
      if (tree) SafeMap.foldOnPhones(map, tree);
      state.legend.follow(map, data.layers, state.layers);
      SafeMap.table.setup(map);
      var builders = SafeMap.panelBuilders();
      var panels = (data.panels || []).filter(function (p) { return builders[p.name]; });
      if (panels.length) {
        state.dock = new SafeMap.Dock().addTo(map);
        panels.forEach(function (p) { state.dock.add(p.name, p.title, builders[p.name]); });
      }
    } catch (err) {
      SafeMap.fail(err);
      throw err;
    }
    state.populateMs = performance.now() - t0;
    // Two frames: the first paints the canvas, the second runs after that paint.
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        state.readyMs = performance.now();
        state.ready = true;
        document.documentElement.setAttribute("data-safemap-ready", "1");
        SafeMap.hooks.fire("ready", state);
      });
    });
  };

  /** The Leaflet layer drawing feature ``id`` of layer ``name`` (tests, links). */
  SafeMap.find = function (name, id) {
    var list = (SafeMap.state && SafeMap.state.features[name]) || [];
    for (var i = 0; i < list.length; i++) {
      if (list[i].smFeature[0] === id) return list[i];
    }
    return null;
  };

  SafeMap.show = function (name, id) {
    var lyr = SafeMap.find(name, id);
    if (lyr) SafeMap.popups.show(name, lyr);
    return lyr;
  };
})(window.SafeMap);

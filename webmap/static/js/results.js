/*
 * SafeMap map page: 分析结果 — what the tool panels draw (a site check, a dispatch plan,
 * service areas, coverage, the risk overlays …) as named entries of the layer control, in
 * their own group "分析结果", each with a legend entry and a 清除 button. Closing a panel
 * leaves its result on the map until it is cleared here (or by the panel).
 *
 *   SafeMap.results.add(key, label, layer, {legend: html, onClear: fn})
 *        show ``layer`` (an L.Layer, usually a layerGroup) as the entry ``label``;
 *        the same key again replaces the entry's label and legend (the layer is kept)
 *   SafeMap.results.remove(key)   清除: off the map, out of the layer control and legend;
 *                                 onClear() lets the panel forget it (and clearLayers)
 *   SafeMap.results.clear()       清除 every result
 *   SafeMap.results.keys()        the keys shown now (tests)
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var entries = {}, order = [], tree = null, baseOverlays = null;
  var GROUP = "分析结果";

  // The layer control (L.Control.Layers.Tree, vendored) keeps its tree: remember the
  // instance so the 分析结果 group can be appended to the catalogue's groups.
  if (L.Control.Layers && L.Control.Layers.Tree) {
    var onAdd = L.Control.Layers.Tree.prototype.onAdd;
    L.Control.Layers.Tree.prototype.onAdd = function (map) {
      tree = this;
      return onAdd.call(this, map);
    };
  }

  function esc(s) { return SafeMap.esc(s); }

  function swatch(e) {
    return '<i class="sm-sw sm-res-sw" style="border-color:' + esc(e.color || "#6a1b9a") + '"></i>';
  }

  function syncTree() {
    if (!tree) return;
    if (baseOverlays === null) {
      var t = tree._overlaysTree || { children: [] };
      baseOverlays = (t.children || []).slice();
    }
    var children = baseOverlays.slice();
    // First in the tree: what was just computed is what the user looks for.
    if (order.length) {
      children.unshift({
        label: '<span class="sm-tree-group sm-res-group">' + GROUP + "</span>" +
          '<button type="button" class="sm-res-clear sm-res-clearall" data-key="" title="清除全部分析结果">全部清除</button>',
        children: order.map(function (key) {
          var e = entries[key];
          return {
            label: swatch(e) + '<span class="sm-tree-name sm-res-name" data-key="' + esc(key) + '">' + esc(e.label) + "</span>" +
              '<button type="button" class="sm-res-clear" data-key="' + esc(key) + '" title="清除该结果">清除</button>',
            layer: e.layer
          };
        })
      });
    }
    tree.setOverlayTree(children);
  }

  function syncLegend() {
    var state = SafeMap.state, legend = state && state.legend;
    if (!legend || !legend.getContainer()) return;
    var body = legend.getContainer().querySelector(".sm-legend-body");
    var box = body.querySelector(".sm-res-legend");
    if (!order.length) { if (box) box.remove(); return; }
    if (!box) {
      box = L.DomUtil.create("div", "sm-res-legend");
      body.insertBefore(box, body.firstChild);
    }
    box.innerHTML = '<div class="sm-legend-group sm-res-legtitle">' + GROUP +
      '<button type="button" class="sm-res-clear sm-res-clearall" data-key="" title="清除全部分析结果">全部清除</button></div>' +
      order.map(function (key) {
        var e = entries[key];
        return '<div class="sm-res-entry" data-result="' + esc(key) + '"><div class="sm-res-head">' + swatch(e) +
          "<b>" + esc(e.label) + "</b>" +
          '<button type="button" class="sm-res-clear" data-key="' + esc(key) + '" title="清除该结果">清除</button></div>' +
          (e.legend ? '<div class="sm-res-body">' + e.legend + "</div>" : "") + "</div>";
      }).join("");
  }

  function sync() {
    syncTree();
    syncLegend();
    // The layer control grew or shrank: the legend below it keeps clear of it.
    var legend = SafeMap.state && SafeMap.state.legend;
    if (legend && legend.fit) legend.fit();
  }

  /** Clicks on any 清除 button (layer control or legend), delegated once. */
  function listen() {
    document.addEventListener("click", function (ev) {
      var btn = ev.target && ev.target.closest ? ev.target.closest(".sm-res-clear") : null;
      if (!btn) return;
      ev.preventDefault();
      ev.stopPropagation();
      var key = btn.getAttribute("data-key");
      if (key) remove(key); else clear();
    }, true);
  }
  listen();

  function add(key, label, layer, opts) {
    opts = opts || {};
    var map = SafeMap.state.map, e = entries[key];
    if (!e) {
      order.push(key);
      e = entries[key] = { layer: layer };
    } else if (e.layer !== layer) {
      // Redone for the new view (risk raster, contours): the new drawing replaces the old.
      map.removeLayer(e.layer);
      e.layer = layer;
    }
    e.label = label;
    e.legend = opts.legend || "";
    e.color = opts.color || e.color;
    e.onClear = opts.onClear || e.onClear || null;
    if (!map.hasLayer(layer)) layer.addTo(map);
    sync();
    return layer;
  }

  function remove(key) {
    var e = entries[key];
    if (!e) return;
    delete entries[key];
    order.splice(order.indexOf(key), 1);
    SafeMap.state.map.removeLayer(e.layer);
    if (e.layer.clearLayers) e.layer.clearLayers();
    if (e.onClear) e.onClear();
    sync();
  }

  function clear() {
    order.slice().forEach(remove);
  }

  SafeMap.results = {
    add: add, remove: remove, clear: clear,
    keys: function () { return order.slice(); },
    has: function (key) { return !!entries[key]; }
  };
})(window.SafeMap);

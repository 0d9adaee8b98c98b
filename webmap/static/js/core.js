/*
 * SafeMap map page, module 1 of 10: the one global namespace and what every module shares.
 *
 * The page's scripts are plain ES2015 scripts loaded in order (see webmap/assets.py,
 * PAGE_SCRIPTS); each adds its part to ``window.SafeMap`` and nothing else to ``window``.
 * Written for the older Chromium cores still found on government PCs: ES2015, no
 * optional chaining, no modules.
 *
 *   SafeMap.state    the running page: {map, config, layers: {name: L.Layer (its group)},
 *                    features: {name: [L.Layer]}, info: {name: the layer's data entry
 *                    (label, paints …)}, tiles, index, popup, tooltip, ready …}
 *                    (the handle the browser tests and the benchmark use)
 *   SafeMap.config   the page's configuration block (#safemap-config, written by
 *                    webmap/page.py from the catalogue): bounds, attribution, basemap,
 *                    apiBase, enums {name: [[code, label, colour|null], …]}, roles {code: label}
 *   SafeMap.hooks    documented extension points (below)
 */
(function () {
  "use strict";

  var SafeMap = window.SafeMap = window.SafeMap || {};

  var ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

  /** HTML-escape ``text`` (``null``/``undefined`` become ""). */
  SafeMap.esc = function (text) {
    if (text === null || text === undefined) return "";
    return String(text).replace(/[&<>"']/g, function (c) { return ESCAPES[c]; });
  };

  /**
   * A box over the map (a drawer, a dialog) whose clicks, wheel, double clicks, right clicks
   * and keys stay in it: the map must not pan, zoom or place a point through it.
   */
  SafeMap.isolate = function (el) {
    L.DomEvent.disableClickPropagation(el);
    L.DomEvent.disableScrollPropagation(el);
    ["dblclick", "contextmenu", "keydown"].forEach(function (type) {
      L.DomEvent.on(el, type, L.DomEvent.stopPropagation);
    });
    return el;
  };

  SafeMap.state = null;
  SafeMap.config = { enums: {}, roles: {}, apiBase: "" };

  /* ------------------------------------------------------------------ catalogue */

  /** Members of catalogue enumeration ``name`` as [code, label, colour|null] (display order). */
  SafeMap.enumMembers = function (name) {
    return (SafeMap.config.enums || {})[name] || [];
  };

  function member(name, code) {
    var list = SafeMap.enumMembers(name);
    for (var i = 0; i < list.length; i++) if (list[i][0] === code) return list[i];
    return null;
  }

  /** Chinese label of ``code`` in enumeration ``name`` (the code itself when unknown). */
  SafeMap.enumLabel = function (name, code) {
    var m = member(name, code);
    return m ? m[1] : code;
  };

  /** Map colour of ``code`` in enumeration ``name``, or ``fallback``. */
  SafeMap.enumColor = function (name, code, fallback) {
    var m = member(name, code);
    return m && m[2] ? m[2] : fallback;
  };

  /** Chinese name of a role (viewer, dispatcher …). */
  SafeMap.roleLabel = function (code) {
    return (SafeMap.config.roles || {})[code] || code;
  };

  /* ------------------------------------------------------------------ hooks */

  /*
   * SafeMap.hooks: extension points for panels, instead of patching Leaflet objects.
   *
   *   var off = SafeMap.hooks.on(name, fn)   register; call off() (or hooks.off(name, fn)) to stop
   *   SafeMap.hooks.fire(name, event)        call the handlers, newest first; returns true as
   *                                          soon as one returns true (the event is consumed)
   *
   * Hooks fired by the page:
   *
   *   "featureclick"  a click on the map is about to open a feature's popup: an embedded
   *                   feature was clicked, or the feature drawn from vector tiles under the
   *                   pointer was found. event = {layer: layer name, id: feature id,
   *                   latlng: L.LatLng, target: the L.Layer (embedded features only)}.
   *                   Return true to consume the click: no popup opens. Used by the 选址核查
   *                   panel while a site is placed, and by 应急调度 while closing roads.
   *                   Popups opened from search results or lists are not clicks: no hook.
   *
   *   "ready"         the features are drawn (SafeMap.state.ready is true); event = state.
   *                   A handler registered after that is called at once (see whenReady).
   *
   *   "redrawn"       a feature was drawn anew after a write (this user's edit, or anybody's,
   *                   from the event stream: js/sync.js); event = {layer, lyr: the new
   *                   L.Layer, feature: GeoJSON}. Panels that decorate features (the team
   *                   status rings of 应急调度) decorate the new drawing.
   */
  var handlers = {};

  SafeMap.hooks = {
    on: function (name, fn) {
      (handlers[name] = handlers[name] || []).push(fn);
      return function () { SafeMap.hooks.off(name, fn); };
    },
    off: function (name, fn) {
      var list = handlers[name] || [], at = list.indexOf(fn);
      if (at >= 0) list.splice(at, 1);
    },
    fire: function (name, event) {
      var list = (handlers[name] || []).slice().reverse();
      for (var i = 0; i < list.length; i++) {
        if (list[i](event) === true) return true;
      }
      return false;
    }
  };

  /** Call ``fn(state)`` once the features are drawn (at once when they already are). */
  SafeMap.whenReady = function (fn) {
    if (SafeMap.state && SafeMap.state.ready) {
      fn(SafeMap.state);
      return;
    }
    var off = SafeMap.hooks.on("ready", function (state) { off(); fn(state); });
  };

  /** Show the page's failure banner (data that could not be drawn). */
  SafeMap.fail = function (err) {
    var box = document.getElementById("sm-fail");
    if (box) {
      box.textContent = "地图数据加载失败：" + (err && err.message ? err.message : err);
      box.hidden = false;
    }
  };
})();

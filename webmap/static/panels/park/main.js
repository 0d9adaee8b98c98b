/*
 * 园区与矿山 (park) panel: domino chains, the park's area-wide assessment, the tailings dam breach path.
 * Loaded last of panels/park/*.js (webmap/panels.py gives the order). Every part before it puts one
 * function into SafeMap.parkParts: parkParts.<name> = function (pane, ctx) { … } that fills its pane
 * the first time its tab is opened. ctx = {state, map, layer(name), clearLayer(name), api, common}:
 * layer(name) is the part's own L.featureGroup on the panel's map pane "sm-park" (created on first use),
 * so a part clears and redraws only what it drew.
 * build() returns the handle {showTab, ctx}: SafeMap.panel("park").
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc;
  var parts = SafeMap.parkParts = SafeMap.parkParts || {};
  // Tab key, Chinese title, part name in SafeMap.parkParts.
  var TABS = [["domino", "多米诺效应"], ["assess", "园区整体评估"], ["tailings", "尾矿库溃坝"]];

  SafeMap.registerPanel("park", function (container, state) {
    var map = state.map;
    if (!map.getPane("sm-park")) map.createPane("sm-park").style.zIndex = 620;
    var group = L.layerGroup().addTo(map);
    var own = {};
    var ctx = {
      state: state, map: map, api: SafeMap.api, common: C,
      layer: function (name) {
        if (!own[name]) own[name] = L.featureGroup([], { pane: "sm-park" }).addTo(group);
        return own[name];
      },
      clearLayer: function (name) { if (own[name]) own[name].clearLayers(); }
    };
    var opened = {};
    var available = TABS.filter(function (t) { return typeof parts[t[0]] === "function"; });
    container.innerHTML = '<div class="sm-park-tabs" role="tablist">' + available.map(function (t) {
      return '<button type="button" class="sm-park-tabbtn" role="tab" data-tab="' + t[0] + '">' + esc(t[1]) + "</button>";
    }).join("") + "</div>" + available.map(function (t) {
      return '<div class="sm-park-pane" data-tab="' + t[0] + '" hidden></div>';
    }).join("");

    function showTab(name) {
      container.querySelectorAll(".sm-park-tabbtn").forEach(function (b) {
        var on = b.getAttribute("data-tab") === name;
        b.classList.toggle("sm-park-on", on);
        b.setAttribute("aria-selected", on ? "true" : "false");
      });
      container.querySelectorAll(".sm-park-pane").forEach(function (p) { p.hidden = p.getAttribute("data-tab") !== name; });
      if (opened[name]) return;
      opened[name] = true;
      var pane = container.querySelector('.sm-park-pane[data-tab="' + name + '"]');
      try { parts[name](pane, ctx); } catch (e) { pane.innerHTML = '<div class="sm-park-error">' + esc(String(e)) + "</div>"; }
    }
    container.querySelectorAll(".sm-park-tabbtn").forEach(function (b) {
      b.onclick = function () { showTab(b.getAttribute("data-tab")); };
    });
    if (available.length) showTab(available[0][0]);
    return { showTab: showTab, ctx: ctx };
  });
})(window.SafeMap);

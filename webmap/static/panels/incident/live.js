/*
 * 事件处置 panel, part 6 of 7: live from the event stream (incidents, incident_zones, incident_events,
 * warnings, warning_deliveries): the 实时 badge, the list, the selected incident's card, zones,
 * timeline and warnings reloaded (bunched, 250 ms), the elapsed times ticking on.
 * SafeMap.incidentParts.live(ctx) subscribes at once; main.js calls it last in build().
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.incidentParts = SafeMap.incidentParts || {};
  parts.live = function (ctx) {
    var container = ctx.container, st = ctx.st, $ = ctx.$;

    /* ------------------------------------------------------------ live */
    var pending = {}, timer = null;
    function soon(what) {
      pending[what] = true;
      if (timer) return;
      timer = setTimeout(function () {
        var todo = pending;
        pending = {};
        timer = null;
        if (todo.list) ctx.loadList();
        if (st.selected === null) return;
        if (todo.detail) ctx.loadDetail();
        if (todo.zones) ctx.loadZones();
        if (todo.timeline) ctx.loadTimeline();
        if (todo.warnings) ctx.loadWarnings();
      }, 250);
    }
    function liveBadge(on) {
      var badge = $(".sm-in-live");
      badge.textContent = on ? "● 实时" : "● 连接中断，自动重连…";
      badge.classList.toggle("sm-in-off", !on);
    }
    SafeMap.events.on("error", function () { liveBadge(false); });
    SafeMap.events.on("open", function () { liveBadge(true); });
    SafeMap.events.on("snapshot", function () { liveBadge(true); });
    SafeMap.events.on("incidents", function (d) {
      liveBadge(true);
      soon("list");
      if (d.id === st.selected) soon("detail");
    });
    SafeMap.events.on("incident_zones", function (d) { if (d.incident_id === st.selected) soon("zones"); });
    SafeMap.events.on("incident_events", function (d) {
      if (d.incident_id !== st.selected) return;
      soon("timeline");
      if (d.kind === "warning") soon("warnings");
    });
    SafeMap.events.on("warnings", function (d) { if (d.incident_id === st.selected) soon("warnings"); });
    SafeMap.events.on("warning_deliveries", function (d) { if (d.incident_id === st.selected) soon("warnings"); });
    if (SafeMap.events.connected()) liveBadge(true);
    // The elapsed times in the list tick on.
    setInterval(function () { if (!container.closest("[hidden]")) ctx.showList(true); }, 30000);
  };
})(window.SafeMap);

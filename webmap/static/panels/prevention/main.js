/*
 * 双重预防 (prevention) panel: hidden dangers (隐患) from finding to 销号, and the risk picture.
 * Part 10 of 10, loaded last: the panels/prevention/*.js files before it (shared, queue, list, form,
 * detail, stats, enterprise, indicators, inspections) each put one part into SafeMap.preventionParts (queue.js:
 * SafeMap.preventionQueue, running from page load); build() calls them with one ctx {state, map,
 * container, layers, st, $, …} to which each part adds its functions, so the parts call each other
 * through ctx. This file: the panel's tabs (隐患, 登记, 检查任务, 统计, 企业, 指标), its map panes and layers,
 * and the 待发送 line of the offline queue above the tabs.
 * The four-colour risk map itself (risk_zones, risk_points, accidents, hidden_dangers) is ordinary
 * catalogue layers; the panel adds the workflow.
 * build() returns the handle {state, layers, select, reload, showTab, showEnterprise, ready},
 * SafeMap.panel("prevention").
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc, parts = SafeMap.preventionParts, S = parts.shared;
  var TABS = [["list", "隐患"], ["new", "登记隐患"], ["tasks", "检查任务"], ["stats", "统计"], ["ent", "企业一张图"], ["ind", "指标"]];

  SafeMap.registerPanel("prevention", function (container, state) {
    var map = state.map;
    if (!map.getPane("sm-prevention")) map.createPane("sm-prevention").style.zIndex = 625;
    if (!map.getPane("sm-prevention-density")) {
      var dp = map.createPane("sm-prevention-density");
      dp.style.zIndex = 390;  // over the basemap, under the features
      dp.style.pointerEvents = "none";
    }
    var group = L.layerGroup().addTo(map);
    var layers = { group: group, density: L.layerGroup().addTo(group), enterprise: L.featureGroup().addTo(group),
      dangers: L.featureGroup().addTo(group), pick: L.layerGroup().addTo(group) };
    var st = { selected: null, detail: null, picked: null, picking: false, tab: "list", loaded: {} };
    var ctx = { state: state, map: map, container: container, layers: layers, st: st, $: C.finder(container) };
    var $ = ctx.$;

    container.innerHTML = '<div class="sm-pv-queue" hidden></div><div class="sm-pv-main"><div class="sm-pv-hint">加载中…</div></div>';

    function showTab(name) {
      st.tab = name;
      container.querySelectorAll(".sm-pv-tabbtn").forEach(function (b) { b.classList.toggle("sm-pv-on", b.getAttribute("data-tab") === name); });
      container.querySelectorAll(".sm-pv-pane").forEach(function (p) { p.hidden = p.getAttribute("data-tab") !== name; });
      if (name !== "new" && ctx.stopPicking) ctx.stopPicking();
      if (name === "tasks" && st.loaded.tasks) ctx.loadTasks();  // again: states and counts may have moved
      if (st.loaded[name]) return;
      st.loaded[name] = true;
      if (name === "stats") ctx.loadStats();
      else if (name === "ent") ctx.fillEnterprises();
      else if (name === "ind") ctx.loadIndicators();
    }
    ctx.showTab = showTab;

    parts.list(ctx);
    parts.form(ctx);
    parts.detail(ctx);
    parts.stats(ctx);
    parts.enterprise(ctx);
    parts.indicators(ctx);
    parts.inspections(ctx);

    function build(catErr) {
      $(".sm-pv-main").innerHTML = (catErr ? S.problemsHtml(catErr) : "") +
        '<div class="sm-pv-tabs" role="tablist">' + TABS.map(function (t) {
          return '<button type="button" class="sm-pv-tabbtn" data-tab="' + t[0] + '">' + esc(t[1]) + "</button>";
        }).join("") + "</div>" +
        '<div class="sm-pv-pane" data-tab="list"><div class="sm-pv-listview">' + ctx.listHtml() + '</div><div class="sm-pv-detail" hidden></div></div>' +
        '<div class="sm-pv-pane" data-tab="new" hidden>' + ctx.formHtml() + "</div>" +
        '<div class="sm-pv-pane" data-tab="tasks" hidden>' + ctx.tasksHtml() + "</div>" +
        '<div class="sm-pv-pane" data-tab="stats" hidden>' + ctx.statsHtml() + "</div>" +
        '<div class="sm-pv-pane" data-tab="ent" hidden>' + ctx.entHtml() + "</div>" +
        '<div class="sm-pv-pane" data-tab="ind" hidden>' + ctx.indHtml() + "</div>";
      container.querySelectorAll(".sm-pv-tabbtn").forEach(function (b) {
        b.onclick = function () { showTab(b.getAttribute("data-tab")); };
      });
      ctx.setupList();
      ctx.setupForm();
      ctx.setupStats();
      ctx.setupEnterprise();
      ctx.setupIndicators();
      ctx.setupTasks();
      showTab("list");
      SafeMap.preventionQueue.onChange(ctx.showQueue);
      SafeMap.preventionQueue.reload();
      ctx.loadTasks();  // the open ones are also the 检查任务 choices of 登记隐患
      return ctx.loadList();
    }

    var ready = S.catalogue().then(function () { return build(null); }, function (err) { return build(err); });
    SafeMap.hooks.on("user", function () { if ($(".sm-pv-list")) { ctx.loadList(); ctx.loadTasks(); } });
    window.addEventListener("online", function () { ctx.showQueue(SafeMap.preventionQueue.list()); });
    window.addEventListener("offline", function () { ctx.showQueue(SafeMap.preventionQueue.list()); });

    return {
      state: st, layers: layers, ready: ready, showTab: showTab,
      chooseTask: function (id) { return ctx.chooseTask(id); }, reloadTasks: function () { return ctx.loadTasks(); },
      select: function (id) { return ctx.select(id, true); },
      reload: function () { return ctx.loadList(); },
      showEnterprise: function (id) { showTab("ent"); var sel = $(".sm-pv-ent"); if (sel) sel.value = String(id); return ctx.showEnterprise(id); }
    };
  });
})(window.SafeMap);

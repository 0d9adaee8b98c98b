/*
 * 事件处置 (incident) panel: the command centre runs an incident from the map.
 * Part 7 of 7, loaded last: the panels/incident/*.js files before it (shared, list, zone, warn,
 * evacuate, live) each put one part into SafeMap.incidentParts; build() calls them with one ctx
 * {state, map, container, layers, st, $, …} to which each part adds its functions, so the parts
 * call each other through ctx. This file: the early markers, the selected incident's card
 * (status steps, report, dispatch), the timeline and notes.
 *   事件列表   active incidents, newest first (GET /api/incidents?status=active), live
 *   接警       kind (catalogue enum incident_kind), location by map click, typed coordinates
 *              (decimal or 度分秒, WGS84/CGCS2000) or a named place; POST /api/incidents
 *   状态与记录 the next allowed statuses as buttons, notes, the timeline, the printable record
 *   危险区     a consequence model at the incident (POST …/zone), bands drawn and labelled,
 *              the history of re-models (current one bold)
 *   区内对象   exposure per band (GET …/exposure), CSV/XLSX
 *   预警发布   template, bands, channels, placeholder values, preview, send; delivery states
 *   疏散安置   routes to shelters (GET …/evacuation)
 *   调度       opens 应急调度 with this incident (SafeMap.panel("dispatch").setIncident)
 * Live from the event stream (incidents, incident_zones, incident_events, warnings); a map where
 * the panel was never opened still shows a newly registered incident (a click opens the panel).
 * build() returns the handle {state, layers, select, reload}, SafeMap.panel("incident").
 * Times are shown in the county's zone (SAFEMAP_TIMEZONE: the API's local ISO times).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc, options = C.options, parts = SafeMap.incidentParts, S = parts.shared;
  var CLOUD = S.CLOUD, missing = S.missing, dur = S.dur, problemsHtml = S.problemsHtml, kindLabel = S.kindLabel,
    statusChip = S.statusChip;
  // The parts build() puts together, in this order (each only defines functions).
  var PARTS = ["list", "zone", "warn", "evacuate"];

  /* ------------------------------------------------------------ every open map, before the panel is opened */
  // A newly registered incident appears on every open map at once (the page's own incident layer
  // is drawn at load); a click opens this panel on it. Once the panel is built it draws them itself.
  var early = { layer: null, built: false };
  SafeMap.events.on("incidents", function (d) {
    if (early.built || d.action !== "create" || !d.geometry) return;
    SafeMap.whenReady(function (state) {
      if (early.built) return;
      if (!early.layer) early.layer = L.layerGroup().addTo(state.map);
      var c = d.geometry.coordinates;
      var marker = L.circleMarker([c[1], c[0]], { radius: 10, color: "#ffea00", weight: 4, fillOpacity: 0.95,
        fillColor: SafeMap.enumColor("incident_kind", d.kind, "#d50000"), className: "sm-in-livemarker" })
        .bindTooltip("新接警：" + esc(d.name) + "（点击处置）", { permanent: true, direction: "top", offset: [0, -10] })
        .on("click", function () {
          SafeMap.openPanel("incident");
          var h = SafeMap.panel("incident");
          if (h) h.select(d.id);
        }).addTo(early.layer);
      // Events can arrive out of creation order (a late commit found by the stream's look-back): the marker says whose it is.
      if (marker.getElement()) marker.getElement().setAttribute("data-id", String(d.id));
    });
  });

  SafeMap.registerPanel("incident", function (container, state) {
    var map = state.map;
    early.built = true;
    if (early.layer) map.removeLayer(early.layer);
    // Incident markers above every layer's features (a new incident must not hide under a cluster).
    if (!map.getPane("sm-incidents")) map.createPane("sm-incidents").style.zIndex = 640;
    var layers = {
      markers: L.layerGroup().addTo(map),
      zone: L.layerGroup().addTo(map),
      evac: L.layerGroup().addTo(map),
      pick: L.layerGroup().addTo(map)
    };
    var st = {
      incidents: [], selected: null, detail: null, zones: [], exposure: null, templates: null, channels: {},
      warnings: [], evacuation: null, wind: null, typed: {}, offsetMin: null, picking: false, picked: null, closeArmed: false
    };
    var ctx = { state: state, map: map, container: container, layers: layers, st: st, $: C.finder(container) };
    var $ = ctx.$;

    /* ------------------------------------------------------------ times */
    function learnOffset(iso) {
      var m = /([+-])(\d\d):(\d\d)$/.exec(iso || "");
      if (m && st.offsetMin === null) st.offsetMin = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    }
    /** "12-01 22:32" in the county's zone (the API's local times; UTC ones shifted). */
    function when(iso, withDate) {
      if (!iso) return "—";
      var ms = Date.parse(iso), text = String(iso);
      if (!isNaN(ms) && st.offsetMin !== null) text = new Date(ms + st.offsetMin * 60000).toISOString();
      return withDate === false ? text.slice(11, 19) : text.slice(5, 16).replace("T", " ");
    }
    function since(iso) {
      var ms = Date.parse(iso || "");
      return isNaN(ms) ? null : (Date.now() - ms) / 1000;
    }
    ctx.learnOffset = learnOffset;
    ctx.when = when;
    ctx.since = since;
    ctx.select = select;
    ctx.loadDetail = loadDetail;
    ctx.loadTimeline = loadTimeline;
    PARTS.forEach(function (name) { parts[name](ctx); });

    container.innerHTML =
      '<div class="sm-in-bar"><b>进行中的事件</b> <span class="sm-in-live sm-in-off">● 未连接</span>' +
      '<button type="button" class="sm-in-primary sm-in-newbtn">＋ 接警登记</button></div>' +
      '<div class="sm-in-list"><div class="sm-in-hint">加载中…</div></div>' +
      '<form class="sm-in-new" hidden autocomplete="off">' + ctx.newForm() + "</form>" +
      '<div class="sm-in-detail"></div>';
    ctx.setupForm();

    /* ------------------------------------------------------------ the selected incident */
    function select(id, message) {
      st.selected = id;
      st.exposure = null;
      st.evacuation = null;
      st.closeArmed = false;
      st.typed = {};
      st.zones = [];
      st.warnings = [];
      layers.evac.clearLayers();
      layers.zone.clearLayers();
      ctx.showList();
      $(".sm-in-detail").innerHTML = '<div class="sm-in-hint">加载中…</div>';
      // The zone's labels are placed from the incident's location: the incident first.
      return loadDetail().then(function () {
        if (message && $(".sm-in-statusmsg")) $(".sm-in-statusmsg").innerHTML = '<div class="sm-in-ok">' + esc(message) + "</div>";
        return Promise.all([ctx.loadZones(), loadTimeline(), ctx.loadWarnings()]);
      }).then(function () {
        // Show the incident: its zone when it has one, else the place itself.
        var f = st.detail;
        if (id !== st.selected || !f) return;
        if (ctx.currentZone()) ctx.fitZone();
        else map.setView([f.geometry.coordinates[1], f.geometry.coordinates[0]], Math.max(map.getZoom(), 13), { animate: false });
      });
    }

    function detailSkeleton() {
      var f = st.detail, p = f.properties;
      var models = C.enumList("consequence_model");
      var plume = p.kind === "leak" || p.kind === "poisoning";
      var firstModel = plume ? "gaussian_plume" : p.kind === "explosion" ? "vce" : p.kind === "fire" ? "pool_fire" : "gaussian_plume";
      var winds = [["", st.wind && st.wind.prevailing ? "主导风 " + st.wind.prevailing.label : "县域主导风向"]];
      if (st.wind) st.wind.rose.forEach(function (r) { winds.push([String(r.from_deg), r.name + "（" + r.from_deg + "°）"]); });
      $(".sm-in-detail").innerHTML =
        '<div class="sm-in-card"><div class="sm-in-title">' + esc(p.name) + ' <span class="sm-in-id">#' + f.id + "</span></div>" +
        '<div class="sm-in-facts"></div>' +
        '<div class="sm-in-steps"></div><input class="sm-in-stepnote" placeholder="状态变更说明（可选）">' +
        '<div class="sm-in-statusmsg"></div>' +
        '<div class="sm-in-row"><button type="button" class="sm-in-dispatch sm-in-primary">应急调度：派出队伍和物资</button>' +
        '<a class="sm-in-report" target="_blank" rel="noopener" href="' + esc(SafeMap.url("api/incidents/" + f.id + "/report")) + '">打印处置记录</a></div></div>' +
        '<details class="sm-in-sec sm-in-zonesec" open><summary>危险区建模</summary>' +
        '<div class="sm-in-grid"><label class="sm-in-wide">模型<select class="sm-in-model">' + options(models, firstModel) + "</select></label>" +
        '<label>物质<input class="sm-in-subst" value="' + esc(p.substance || "") + '"></label></div>' +
        '<div class="sm-in-grid sm-in-modelfields"></div>' +
        '<div class="sm-in-grid sm-in-weather"><label>风速 m/s<input class="sm-in-wspeed" type="number" min="0.5" max="30" step="0.1" value="' +
        (st.wind && st.wind.prevailing && st.wind.prevailing.mean_speed_m_s ? st.wind.prevailing.mean_speed_m_s : 3) + '"></label>' +
        '<label>风向（来向）<select class="sm-in-wdir">' + options(winds, "") + "</select></label>" +
        '<label>天空状况<select class="sm-in-cloud">' + options(CLOUD.concat([["", "直接给稳定度"]]), "晴") + "</select></label>" +
        '<label class="sm-in-stabwrap" hidden>稳定度<select class="sm-in-stab">' + options(C.enumList("stability_class"), "D") + "</select></label></div>" +
        '<button type="button" class="sm-in-primary sm-in-model-run">计算危险区</button><div class="sm-in-zonemsg"></div>' +
        '<div class="sm-in-zonehist"></div></details>' +
        '<details class="sm-in-sec sm-in-expsec" open><summary>区内对象（靶向）</summary><div class="sm-in-exposure"><div class="sm-in-hint">尚未计算危险区</div></div></details>' +
        '<details class="sm-in-sec sm-in-warnsec"><summary>预警发布</summary><div class="sm-in-warnform"></div><div class="sm-in-warnlist"></div></details>' +
        '<details class="sm-in-sec sm-in-evacsec"><summary>疏散安置</summary>' +
        '<button type="button" class="sm-in-evac-run">计算疏散方案（到危险区外的避难场所）</button><div class="sm-in-evac"></div></details>' +
        '<details class="sm-in-sec sm-in-logsec"><summary>处置记录与时间线</summary>' +
        '<textarea class="sm-in-note" rows="2" placeholder="记录现场情况、会商结论…"></textarea>' +
        '<button type="button" class="sm-in-addnote">添加记录</button><div class="sm-in-notemsg"></div><div class="sm-in-timeline"></div></details>';
      var d = $(".sm-in-detail");
      var sel = d.querySelector(".sm-in-model");
      sel.onchange = ctx.modelFields;
      ctx.modelFields();
      d.querySelector(".sm-in-cloud").onchange = function () {
        d.querySelector(".sm-in-stabwrap").hidden = this.value !== "";
      };
      d.querySelector(".sm-in-model-run").onclick = ctx.runModel;
      d.querySelector(".sm-in-evac-run").onclick = ctx.runEvacuation;
      d.querySelector(".sm-in-addnote").onclick = addNote;
      d.querySelector(".sm-in-dispatch").onclick = openDispatch;
      d.querySelector(".sm-in-warnsec").addEventListener("toggle", function () { if (this.open) ctx.showWarnForm(); });
    }

    function showFacts() {
      var f = st.detail, p = f.properties, c = f.geometry.coordinates;
      var rows = [
        ["类型", kindLabel(p.kind)], ["状态", null], ["接报", when(p.reported_at) + "（已 " + dur(since(p.reported_at)) + "）"],
        ["位置", c[0].toFixed(5) + ", " + c[1].toFixed(5) + (p.township ? "（" + p.township + "）" : "")]
      ];
      if (p.substance) rows.push(["物质", p.substance + (missing(p.quantity_t) ? "" : "，约 " + p.quantity_t + " t")]);
      if (p.reporter || p.phone) rows.push(["报警人", (p.reporter || "") + " " + (p.phone || "")]);
      if (p.description) rows.push(["描述", p.description]);
      $(".sm-in-facts").innerHTML = rows.map(function (r) {
        return "<div><span>" + esc(r[0]) + "</span>" + (r[1] === null ? statusChip(p.status) : esc(r[1])) + "</div>";
      }).join("");
      // The next allowed statuses: every later one in the lifecycle (the backend allows skipping forward).
      // Rebuilt only when the status changed, so a live refresh does not undo an armed 结束.
      if (st.stepsFor === p.status + "#" + f.id) return;
      st.stepsFor = p.status + "#" + f.id;
      st.closeArmed = false;
      var order = C.enumList("incident_status"), at = -1;
      order.forEach(function (m, i) { if (m[0] === p.status) at = i; });
      var next = order.slice(at + 1);
      var steps = $(".sm-in-steps");
      steps.innerHTML = next.length ? "推进到：" + next.map(function (m, i) {
        return '<button type="button" class="sm-in-step' + (i === 0 ? " sm-in-next" : "") + (m[0] === "closed" ? " sm-in-close" : "") +
          '" data-status="' + esc(m[0]) + '">' + esc(m[1]) + "</button>";
      }).join("") : '<span class="sm-in-hint">事件已结束（记录可继续补充）</span>';
      $(".sm-in-stepnote").hidden = !next.length;
      steps.querySelectorAll(".sm-in-step").forEach(function (b) { b.onclick = function () { setStatus(b); }; });
      $(".sm-in-dispatch").disabled = p.status === "closed";
      $(".sm-in-evac-run").disabled = p.status === "closed";
      $(".sm-in-model-run").disabled = p.status === "closed";
    }

    function loadDetail() {
      var id = st.selected;
      var wind = st.wind ? Promise.resolve(st.wind) : SafeMap.api("api/safety/wind").then(null, function () { return null; });
      return Promise.all([SafeMap.api("api/incidents/" + id), wind]).then(function (res) {
        if (id !== st.selected) return;
        var fresh = !st.detail || st.detail.id !== id;
        st.detail = res[0];
        st.wind = res[1];
        learnOffset(st.detail.properties.reported_at);
        if (fresh || !$(".sm-in-facts")) { detailSkeleton(); st.stepsFor = null; }
        showFacts();
        ctx.drawMarkers();
      }, function (err) { $(".sm-in-detail").innerHTML = problemsHtml(err); });
    }

    function setStatus(btn) {
      var code = btn.getAttribute("data-status"), msg = $(".sm-in-statusmsg");
      if (code === "closed" && !st.closeArmed) {
        st.closeArmed = true;
        btn.textContent = "确认结束？再点一次";
        btn.classList.add("sm-in-armed");
        return;
      }
      var body = { status: code, version: st.detail.properties.version };
      var note = $(".sm-in-stepnote").value.trim();
      if (note) body.note = note;
      C.run(btn, SafeMap.api("api/incidents/" + st.selected + "/status", { method: "POST", body: body }), {
        done: function (f) {
          st.detail.properties = f.properties;
          st.closeArmed = false;
          $(".sm-in-stepnote").value = "";
          msg.innerHTML = '<div class="sm-in-ok">状态已改为“' + esc(SafeMap.enumLabel("incident_status", f.properties.status)) + "”</div>";
          showFacts();
          ctx.loadList();
          loadTimeline();
        },
        fail: function (err) { st.stepsFor = null; msg.innerHTML = problemsHtml(err); loadDetail(); }
      });
    }

    /* ------------------------------------------------------------ timeline and notes */
    function loadTimeline() {
      var id = st.selected;
      return SafeMap.api("api/incidents/" + id + "/timeline").then(function (list) {
        if (id !== st.selected || !$(".sm-in-timeline")) return;
        var t0 = st.detail ? Date.parse(st.detail.properties.reported_at) : NaN;
        $(".sm-in-timeline").innerHTML = '<ol class="sm-in-tl">' + list.slice().reverse().map(function (e) {
          var after = isNaN(t0) ? "" : " +" + dur((Date.parse(e.at) - t0) / 1000);
          return '<li><div class="sm-in-tlhead"><b>' + esc(when(e.at, false)) + "</b>" + esc(after) + " · " + esc(e.kind_label) +
            " · " + esc(e.actor) + "</div><div>" + esc(e.text) + "</div></li>";
        }).join("") + "</ol>";
      }, function () { /* keep the old one */ });
    }
    function addNote() {
      var text = $(".sm-in-note").value.trim(), msg = $(".sm-in-notemsg");
      if (!text) { msg.innerHTML = '<div class="sm-in-error">请先填写记录内容</div>'; return; }
      C.run(this, SafeMap.api("api/incidents/" + st.selected + "/notes", { method: "POST", body: { text: text } }), {
        done: function () { $(".sm-in-note").value = ""; msg.innerHTML = ""; loadTimeline(); },
        fail: function (err) { msg.innerHTML = problemsHtml(err); }
      });
    }

    /* ------------------------------------------------------------ dispatch */
    function openDispatch() {
      var f = st.detail, c = f.geometry.coordinates;
      SafeMap.openPanel("dispatch");
      var dp = SafeMap.panel("dispatch");
      if (dp && dp.setIncident) dp.setIncident(L.latLng(c[1], c[0]), f.id, f.properties.name, f.properties.kind);
    }

    parts.live(ctx);

    ctx.loadList();
    return {
      state: st, layers: layers, select: select, reload: ctx.loadList, fitZone: ctx.fitZone,
      pick: ctx.setPicked
    };
  });
})(window.SafeMap);

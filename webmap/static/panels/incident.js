/*
 * 事件处置 (incident) panel: the command centre runs an incident from the map.
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

  var C = SafeMap.common, esc = C.esc, options = C.options, km = C.km;
  // Band colours, innermost (most severe) first: not catalogue colours, just a severity ramp.
  var BANDS = ["#b71c1c", "#ef6c00", "#f9a825", "#7cb342", "#0288d1"];
  var ROUTES = ["#1565c0", "#00897b", "#6a1b9a", "#ef6c00", "#c51162", "#2e7d32", "#5d4037", "#00838f"];
  var CLOUD = [["晴", "晴（云量 0–2 成）"], ["少云", "少云（3–4 成）"], ["多云", "多云（5–7 成）"], ["阴", "阴（8 成）"]];
  var COMPASS = ["北", "东北", "东", "东南", "南", "西南", "西", "西北"];
  var PLACE_LAYERS = ["enterprises", "hazard_sources", "townships", "settlements", "protected_targets", "roads"];
  // Chinese names of the request fields the API may name in its problems.
  var FIELDS = {
    kind: "事件类型", location: "位置", location_text: "坐标", crs: "坐标系", place: "地点", "place.name": "地点名称",
    "place.layer": "图层", substance: "物质", quantity_t: "估计量", reporter: "报警人", phone: "报警电话",
    description: "情况描述", rate_kg_s: "泄漏速率", wind_m_s: "风速", wind_from_deg: "风向", stability: "稳定度",
    cloud_cover: "云量", fuel_mass_kg: "可燃物质量", capacity_kg: "储罐物质质量", area_m2: "液池面积",
    model: "模型", template: "预警模板", bands: "预警范围", channels: "发布渠道", values: "占位符", text: "记录内容",
    status: "处置状态", heat_of_combustion_kj_kg: "燃烧热"
  };
  var MODEL_FIELDS = {
    gaussian_plume: [["rate_kg_s", "泄漏速率 kg/s", "1"]],
    vce: [["fuel_mass_kg", "参与爆炸的可燃物质量 kg", "1000"]],
    bleve: [["capacity_kg", "储罐内物质总质量 kg", "10000"]],
    pool_fire: [["area_m2", "液池面积 m²", "100"]]
  };

  function missing(v) { return v === null || v === undefined || v === ""; }
  function num(v) { return missing(v) ? null : Number(v); }

  /** A duration as 时分秒: "1小时02分05秒", "12分30秒", "45秒". */
  function dur(seconds) {
    if (missing(seconds) || !isFinite(seconds)) return "—";
    var s = Math.max(0, Math.round(seconds)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    function two(x) { return (x < 10 ? "0" : "") + x; }
    if (h >= 48) return Math.floor(h / 24) + "天" + (h % 24) + "小时";
    if (h) return h + "小时" + two(m) + "分" + two(s) + "秒";
    if (m) return m + "分" + two(s) + "秒";
    return s + "秒";
  }

  function compass(deg) { return COMPASS[Math.round((((deg % 360) + 360) % 360) / 45) % 8]; }

  /** Messages of an API error: each problem in Chinese with its field's name, never a code. */
  function problemsHtml(err) {
    var list = (err && err.problems) || [];
    if (err && (err.status === 401 || err.status === 403)) {  // the API names roles by code: say it in words
      return '<div class="sm-in-error">此操作需要' + esc(SafeMap.roleLabel("dispatcher")) + "或" + esc(SafeMap.roleLabel("admin")) +
        "的令牌：请点击“令牌”按钮输入" + (SafeMap.token() ? "（当前令牌无此权限）" : "") + "</div>";
    }
    if (!list.length) return '<div class="sm-in-error">' + esc(err && err.message ? err.message : "请求失败") + "</div>";
    return '<div class="sm-in-error">' + list.map(function (p) {
      var key = String(p.field || ""), name = FIELDS[key] || FIELDS[key.split(".")[0]] || "";
      if (key.indexOf("values.") === 0 || String(p.message).indexOf(name) >= 0) name = "";  // already said
      return "<div>" + (name ? "<b>" + esc(name) + "</b>：" : "") + esc(p.message) + "</div>";
    }).join("") + "</div>";
  }

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
      L.circleMarker([c[1], c[0]], { radius: 10, color: "#ffea00", weight: 4, fillOpacity: 0.95,
        fillColor: SafeMap.enumColor("incident_kind", d.kind, "#d50000"), className: "sm-in-livemarker" })
        .bindTooltip("新接警：" + esc(d.name) + "（点击处置）", { permanent: true, direction: "top", offset: [0, -10] })
        .on("click", function () {
          SafeMap.openPanel("incident");
          var h = SafeMap.panel("incident");
          if (h) h.select(d.id);
        }).addTo(early.layer);
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

    container.innerHTML =
      '<div class="sm-in-bar"><b>进行中的事件</b> <span class="sm-in-live sm-in-off">● 未连接</span>' +
      '<button type="button" class="sm-in-primary sm-in-newbtn">＋ 接警登记</button></div>' +
      '<div class="sm-in-list"><div class="sm-in-hint">加载中…</div></div>' +
      '<form class="sm-in-new" hidden autocomplete="off">' + newForm() + "</form>" +
      '<div class="sm-in-detail"></div>';
    var $ = C.finder(container);

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

    /* ------------------------------------------------------------ incident list and markers */
    function kindLabel(code) { return SafeMap.enumLabel("incident_kind", code); }
    function statusChip(code) {
      return '<span class="sm-in-chip" style="background:' + SafeMap.enumColor("incident_status", code, "#757575") + '">' +
        esc(SafeMap.enumLabel("incident_status", code)) + "</span>";
    }

    function loadList() {
      return SafeMap.api("api/incidents?status=active").then(function (fc) {
        st.incidents = fc.features;
        fc.features.forEach(function (f) { learnOffset(f.properties.reported_at); });
        showList();
      }, function (err) { $(".sm-in-list").innerHTML = problemsHtml(err); });
    }

    function showList(keepMarkers) {
      var el = $(".sm-in-list");
      if (!st.incidents.length) el.innerHTML = '<div class="sm-in-hint">当前没有未结束的事件</div>';
      else {
        el.innerHTML = st.incidents.map(function (f) {
          var p = f.properties;
          return '<button type="button" class="sm-in-item' + (f.id === st.selected ? " sm-in-on" : "") + '" data-id="' + f.id + '">' +
            '<span class="sm-in-dot" style="background:' + SafeMap.enumColor("incident_kind", p.kind, "#d50000") + '"></span>' +
            '<span class="sm-in-name">' + esc(p.name) + '</span><span class="sm-in-meta">' + esc(kindLabel(p.kind)) + " " +
            statusChip(p.status) + " " + esc(when(p.reported_at)) + " · 已 " + esc(dur(since(p.reported_at))) + "</span></button>";
        }).join("");
        el.querySelectorAll(".sm-in-item").forEach(function (b) {
          b.onclick = function () { select(Number(b.getAttribute("data-id"))); };
        });
      }
      if (!keepMarkers) drawMarkers();
    }

    function drawMarkers() {
      layers.markers.clearLayers();
      var shown = st.incidents.slice();
      if (st.detail && !st.incidents.some(function (f) { return f.id === st.detail.id; })) shown.push(st.detail);
      shown.forEach(function (f) {
        var c = f.geometry.coordinates, ll = L.latLng(c[1], c[0]), on = f.id === st.selected;
        if (on) {
          L.circleMarker(ll, { radius: 20, color: "#ffea00", weight: 5, fill: false, interactive: false, className: "sm-in-ring", pane: "sm-incidents" })
            .addTo(layers.markers);
        }
        var m = L.circleMarker(ll, {
          radius: on ? 11 : 8, color: on ? "#000" : "#fff", weight: on ? 3 : 2, fillOpacity: 0.95,
          fillColor: SafeMap.enumColor("incident_kind", f.properties.kind, "#d50000"), className: "sm-in-marker", pane: "sm-incidents"
        }).addTo(layers.markers);
        m.bindTooltip(esc(f.properties.name) + "（" + esc(SafeMap.enumLabel("incident_status", f.properties.status)) + "）");
        m.on("click", function (e) { L.DomEvent.stop(e); select(f.id); });
      });
    }

    /* ------------------------------------------------------------ 接警 form */
    function newForm() {
      var places = PLACE_LAYERS.map(function (n) {
        var info = state.info && state.info[n];
        return [n, info && info.label ? info.label : n];
      });
      return '<fieldset><legend>接警登记</legend>' +
        '<label>事件类型</label><select name="kind">' + options(C.enumList("incident_kind"), "leak") + "</select>" +
        '<label>事发位置</label><div class="sm-in-tabs">' +
        '<button type="button" class="sm-in-mode sm-in-on" data-mode="map">地图点选</button>' +
        '<button type="button" class="sm-in-mode" data-mode="text">输入坐标</button>' +
        '<button type="button" class="sm-in-mode" data-mode="place">按名称</button></div>' +
        '<div class="sm-in-where" data-mode="map"><button type="button" class="sm-in-pick">在地图上点击事发地</button>' +
        '<div class="sm-in-hint sm-in-picked">尚未选择</div></div>' +
        '<div class="sm-in-where" data-mode="text" hidden><input name="location_text" placeholder="如 82°59′06″E 46°12′18″N 或 82.985, 46.205">' +
        '<select name="crs"><option value="WGS84">WGS 84</option><option value="CGCS2000">CGCS2000</option></select>' +
        '<div class="sm-in-hint">十进制或度分秒均可，经度在前</div></div>' +
        '<div class="sm-in-where" data-mode="place" hidden><select name="place_layer">' + options(places, "enterprises") + "</select>" +
        '<input name="place_name" list="sm-in-names" placeholder="名称（全名或唯一的一部分）"><datalist id="sm-in-names"></datalist></div>' +
        '<div class="sm-in-grid"><label>物质<input name="substance" placeholder="如 液氯"></label>' +
        '<label>估计量 t<input name="quantity_t" type="number" min="0" step="any"></label>' +
        '<label>报警人<input name="reporter"></label><label>报警电话<input name="phone" inputmode="tel"></label></div>' +
        '<label>情况描述</label><textarea name="description" rows="2"></textarea>' +
        '<div class="sm-in-row"><button type="submit" class="sm-in-primary sm-in-create">登记接警</button>' +
        '<button type="button" class="sm-in-cancel">取消</button></div><div class="sm-in-formmsg"></div></fieldset>';
    }

    var form = $(".sm-in-new");
    var mode = "map";
    function setMode(m) {
      mode = m;
      form.querySelectorAll(".sm-in-mode").forEach(function (b) { b.classList.toggle("sm-in-on", b.getAttribute("data-mode") === m); });
      form.querySelectorAll(".sm-in-where").forEach(function (d) { d.hidden = d.getAttribute("data-mode") !== m; });
      if (m !== "map") stopPicking();
    }
    form.querySelectorAll(".sm-in-mode").forEach(function (b) {
      b.onclick = function () { setMode(b.getAttribute("data-mode")); };
    });
    function fillNames() {
      var feats = (state.features && state.features[form.place_layer.value]) || [];
      $("#sm-in-names").innerHTML = feats.slice(0, 2000).map(function (l) {
        return '<option value="' + esc(l.smFeature[1]) + '">';
      }).join("");
    }
    form.place_layer.onchange = fillNames;
    fillNames();

    function setPicked(ll) {
      st.picked = [ll.lng, ll.lat];
      layers.pick.clearLayers();
      L.marker(ll, { title: "事发地（待登记）" }).addTo(layers.pick);
      form.querySelector(".sm-in-picked").textContent = "经度 " + ll.lng.toFixed(5) + "，纬度 " + ll.lat.toFixed(5);
    }
    function onMapClick(e) { if (st.picking) { setPicked(e.latlng); stopPicking(); } }
    function stopPicking() {
      st.picking = false;
      map.getContainer().classList.remove("sm-in-crosshair");
      map.off("click", onMapClick);
    }
    SafeMap.hooks.on("featureclick", function (e) {
      if (!st.picking) return false;
      setPicked(e.latlng);
      stopPicking();
      return true;
    });
    form.querySelector(".sm-in-pick").onclick = function () {
      st.picking = true;
      map.getContainer().classList.add("sm-in-crosshair");
      form.querySelector(".sm-in-picked").textContent = "请在地图上点击事发地…";
      map.on("click", onMapClick);
    };
    $(".sm-in-newbtn").onclick = function () {
      form.hidden = !form.hidden;
      if (!form.hidden) form.scrollIntoView({ block: "nearest" });
    };
    form.querySelector(".sm-in-cancel").onclick = function () {
      form.hidden = true;
      stopPicking();
      layers.pick.clearLayers();
    };

    function newBody() {
      var b = { kind: form.kind.value };
      if (mode === "map") { if (st.picked) b.location = st.picked; }
      else if (mode === "text") { b.location_text = form.location_text.value.trim(); b.crs = form.crs.value; }
      else b.place = { layer: form.place_layer.value, name: form.place_name.value.trim() };
      ["substance", "reporter", "phone", "description"].forEach(function (k) {
        var v = form[k].value.trim();
        if (v) b[k] = v;
      });
      if (form.quantity_t.value !== "") b.quantity_t = Number(form.quantity_t.value);
      return b;
    }
    form.onsubmit = function (ev) {
      ev.preventDefault();
      var msg = form.querySelector(".sm-in-formmsg"), body = newBody();
      if (mode === "map" && !body.location) { msg.innerHTML = '<div class="sm-in-error">请先在地图上点击事发地</div>'; return; }
      if (mode === "text" && !body.location_text) { msg.innerHTML = '<div class="sm-in-error">请输入坐标</div>'; return; }
      if (mode === "place" && !body.place.name) { msg.innerHTML = '<div class="sm-in-error">请输入地点名称</div>'; return; }
      if (!SafeMap.token()) { msg.innerHTML = '<div class="sm-in-error">接警登记需要调度员令牌：请点击“令牌”按钮输入</div>'; return; }
      msg.innerHTML = "";
      C.run(form.querySelector(".sm-in-create"), SafeMap.api("api/incidents", { method: "POST", body: body }), {
        busy: "登记中…",
        done: function (f) {
          var notes = (f.notes || []).join("；");
          form.reset();
          setMode("map");
          st.picked = null;
          layers.pick.clearLayers();
          form.querySelector(".sm-in-picked").textContent = "尚未选择";
          form.hidden = true;
          learnOffset(f.properties.reported_at);
          loadList().then(function () { select(f.id, notes ? "已登记。" + notes : "已登记"); });
        },
        fail: function (err) { msg.innerHTML = problemsHtml(err); }
      });
    };

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
      showList();
      $(".sm-in-detail").innerHTML = '<div class="sm-in-hint">加载中…</div>';
      // The zone's labels are placed from the incident's location: the incident first.
      return loadDetail().then(function () {
        if (message && $(".sm-in-statusmsg")) $(".sm-in-statusmsg").innerHTML = '<div class="sm-in-ok">' + esc(message) + "</div>";
        return Promise.all([loadZones(), loadTimeline(), loadWarnings()]);
      }).then(function () {
        // Show the incident: its zone when it has one, else the place itself.
        var f = st.detail;
        if (id !== st.selected || !f) return;
        if (currentZone()) fitZone();
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
      sel.onchange = modelFields;
      modelFields();
      d.querySelector(".sm-in-cloud").onchange = function () {
        d.querySelector(".sm-in-stabwrap").hidden = this.value !== "";
      };
      d.querySelector(".sm-in-model-run").onclick = runModel;
      d.querySelector(".sm-in-evac-run").onclick = runEvacuation;
      d.querySelector(".sm-in-addnote").onclick = addNote;
      d.querySelector(".sm-in-dispatch").onclick = openDispatch;
      d.querySelector(".sm-in-warnsec").addEventListener("toggle", function () { if (this.open) showWarnForm(); });
    }

    function modelFields() {
      var d = $(".sm-in-detail"), model = d.querySelector(".sm-in-model").value;
      d.querySelector(".sm-in-modelfields").innerHTML = MODEL_FIELDS[model].map(function (f) {
        return "<label>" + esc(f[1]) + '<input type="number" min="0" step="any" data-field="' + f[0] + '" value="' + f[2] + '"></label>';
      }).join("");
      d.querySelector(".sm-in-weather").hidden = model !== "gaussian_plume";
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
        drawMarkers();
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
          loadList();
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

    /* ------------------------------------------------------------ hazard zone */
    function loadZones() {
      var id = st.selected;
      return SafeMap.api("api/incidents/" + id + "/zones").then(function (zones) {
        if (id !== st.selected) return;
        st.zones = zones;
        drawZones();
        showZoneHistory();
        if (zones.length) loadExposure();
        else if ($(".sm-in-exposure")) $(".sm-in-exposure").innerHTML = '<div class="sm-in-hint">尚未计算危险区</div>';
      }, function () { st.zones = []; drawZones(); });
    }

    /** Show ``bounds`` in the part of the map the dock does not cover (on wide screens). */
    function fit(bounds) {
      var box = map.getContainer().getBoundingClientRect(), dock = container.closest(".sm-dock");
      var left = 30, right = 30, tree = map.getContainer().querySelector(".leaflet-top.leaflet-right");
      if (dock && box.width > 700) left = dock.getBoundingClientRect().right - box.left + 140;  // room for a band's label
      if (tree && box.width > 1000) right = Math.min(box.width / 3, tree.getBoundingClientRect().width + 20);
      map.fitBounds(bounds, { paddingTopLeft: [left, 30], paddingBottomRight: [right, 30], maxZoom: 15, animate: false });
    }
    function fitZone() {
      var z = currentZone();
      if (z) fit(L.geoJSON(z.outline).getBounds());
    }

    function bandColor(i) { return BANDS[Math.min(i, BANDS.length - 1)]; }

    function drawZones() {
      layers.zone.clearLayers();
      var n = st.zones.length;
      st.zones.forEach(function (z, k) {
        if (k === n - 1) return;
        L.geoJSON(z.outline, { interactive: false, style: { color: "#616161", weight: 1.5, dashArray: "4 4", fill: false } }).addTo(layers.zone);
      });
      if (!n) return;
      var cur = st.zones[n - 1], origin = st.detail ? st.detail.geometry.coordinates : null;
      // Outermost first so the inner bands are drawn (and clicked) on top.
      cur.bands.slice().reverse().forEach(function (b, r) {
        var i = cur.bands.length - 1 - r, color = bandColor(i);
        var g = L.geoJSON(b.geometry, { style: { color: color, weight: 2, fillColor: color, fillOpacity: 0.18 + 0.07 * (cur.bands.length - i) } });
        g.bindTooltip(esc(b.label), { sticky: true });
        g.addTo(layers.zone);
        var far = farthest(b.geometry, origin);
        if (far) {  // at the band's far tip, pointing away from the incident
          // Stacked a line apart (innermost on top) so nested bands' labels never cover each other.
          L.tooltip({ permanent: true, direction: far.lng < origin[0] ? "left" : "right", className: "sm-in-bandlabel", interactive: false,
            offset: [0, (i - (cur.bands.length - 1) / 2) * 22] })
            .setLatLng(far).setContent('<span style="border-color:' + color + '">' + esc(b.label) + "</span>").addTo(layers.zone);
        }
      });
    }

    /** The vertex of a (Multi)Polygon farthest from ``origin`` [lon, lat], as a Leaflet latlng. */
    function farthest(geometry, origin) {
      if (!origin) return null;
      var polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
      var best = null, dmax = -1, k = Math.cos(origin[1] * Math.PI / 180);
      polys.forEach(function (poly) {
        poly[0].forEach(function (c) {
          var dx = (c[0] - origin[0]) * k, dy = c[1] - origin[1], d = dx * dx + dy * dy;
          if (d > dmax) { dmax = d; best = c; }
        });
      });
      return best ? L.latLng(best[1], best[0]) : null;
    }

    function showZoneHistory() {
      var el = $(".sm-in-zonehist");
      if (!el) return;
      if (!st.zones.length) { el.innerHTML = ""; return; }
      var cur = st.zones[st.zones.length - 1];
      var legend = '<div class="sm-in-legend">' + cur.bands.map(function (b, i) {
        return '<div><span class="sm-in-sw" style="background:' + bandColor(i) + '"></span>' + esc(b.label) + "</div>";
      }).join("") + "</div>";
      var derived = cur.inputs && cur.inputs.stability_derived ? '<div class="sm-in-hint">' + esc(cur.inputs.stability_derived.explanation) + "</div>" : "";
      el.innerHTML = legend + derived + '<div class="sm-in-subhead">建模历次（最新为当前，地图上历次外廓为灰色虚线）</div><ol class="sm-in-hist">' +
        st.zones.slice().reverse().map(function (z, r) {
          var wind = missing(z.wind_from_deg) ? "" : "，风自" + compass(z.wind_from_deg) + "（" + Math.round(z.wind_from_deg) + "°）" +
            (missing(z.wind_m_s) ? "" : " " + z.wind_m_s + " m/s") + (z.stability ? " 稳定度 " + z.stability : "");
          return "<li" + (r === 0 ? ' class="sm-in-current"' : "") + ">第" + z.seq + "版 " + esc(when(z.created_at)) + " " +
            esc(z.model_label) + esc(wind) + " · " + esc(z.created_by || "") + (r === 0 ? "（当前）" : "") + "</li>";
        }).join("") + "</ol>";
    }

    function zoneBody() {
      var d = $(".sm-in-detail"), model = d.querySelector(".sm-in-model").value, body = { model: model };
      var subst = d.querySelector(".sm-in-subst").value.trim();
      if (subst) body.substance = subst;
      d.querySelectorAll(".sm-in-modelfields input").forEach(function (i) {
        if (i.value !== "") body[i.getAttribute("data-field")] = Number(i.value);
      });
      if (model === "gaussian_plume") {
        body.wind_m_s = num(d.querySelector(".sm-in-wspeed").value);
        var dir = d.querySelector(".sm-in-wdir").value;
        if (dir !== "") body.wind_from_deg = Number(dir);
        var cloud = d.querySelector(".sm-in-cloud").value;
        if (cloud) body.cloud_cover = cloud;
        else body.stability = d.querySelector(".sm-in-stab").value;
      }
      return body;
    }

    function runModel() {
      var msg = $(".sm-in-zonemsg");
      msg.innerHTML = '<div class="sm-in-hint">正在计算…</div>';
      C.run(this, SafeMap.api("api/incidents/" + st.selected + "/zone", { method: "POST", body: zoneBody() }), {
        busy: "计算中…",
        done: function (z) {
          msg.innerHTML = '<div class="sm-in-ok">已生成危险区第' + z.seq + "版" + (z.wind && z.wind.description ? "（" + esc(z.wind.description) + "）" : "") + "</div>";
          loadZones().then(fitZone);
          loadTimeline();
        },
        fail: function (err) { msg.innerHTML = problemsHtml(err); }
      });
    }

    /* ------------------------------------------------------------ who is inside */
    function loadExposure() {
      var id = st.selected;
      return SafeMap.api("api/incidents/" + id + "/exposure").then(function (ex) {
        if (id !== st.selected) return;
        st.exposure = ex;
        showExposure();
        if ($(".sm-in-warnsec") && $(".sm-in-warnsec").open) showWarnForm();
      }, function (err) { $(".sm-in-exposure").innerHTML = problemsHtml(err); });
    }

    function showExposure() {
      var ex = st.exposure, el = $(".sm-in-exposure");
      if (!ex || !el) return;
      var t = ex.totals, base = "api/incidents/" + st.selected + "/exposure?format=";
      var html = '<div class="sm-in-total">区内防护目标人数 <b>' + t.population + "</b> 人" +
        (t.settlement_population ? "，居民点人口 " + t.settlement_population + " 人" : "") +
        "；学校/医院等 <b>" + t.schools_hospitals + "</b> 处；企业 " + t.counts.enterprises + " 家</div>" +
        '<div class="sm-in-row">下载名单：<a class="sm-in-csv" href="' + esc(SafeMap.url(base + "csv")) + '" download>CSV</a>' +
        '<a class="sm-in-xlsx" href="' + esc(SafeMap.url(base + "xlsx")) + '" download>Excel</a></div>';
      ex.bands.forEach(function (b, i) {
        html += '<div class="sm-in-band"><div class="sm-in-bandhead"><span class="sm-in-sw" style="background:' + bandColor(i) + '"></span><b>' +
          esc(b.label) + "</b>：<b class=\"sm-in-people\">" + b.population + "</b> 人" +
          (b.schools_hospitals ? '，<span class="sm-in-warnword">学校/医院等 ' + b.schools_hospitals + " 处</span>" : "") + "</div>";
        var rows = [];
        b.protected_targets.forEach(function (x) { rows.push([x.category_label, x.name, missing(x.population) ? "" : x.population + " 人", x.address || ""]); });
        b.settlements.forEach(function (x) { rows.push([x.kind_label || "居民点", x.name, missing(x.population) ? "" : x.population + " 人", ""]); });
        b.enterprises.forEach(function (x) { rows.push([x.industry_label || "企业", x.name, (x.contact || "") + " " + (x.phone || ""), x.risk_level_label || ""]); });
        b.rescue_teams.forEach(function (x) { rows.push(["⚠ 救援队伍在区内", x.name, x.phone || "", x.status_label || ""]); });
        b.material_depots.forEach(function (x) { rows.push(["⚠ 储备库在区内", x.name, (x.manager || "") + " " + (x.phone || ""), ""]); });
        if (b.townships.length) rows.push(["涉及乡镇", b.townships.map(function (x) { return x.name; }).join("、"), "", ""]);
        function table(part) {
          return '<table class="sm-in-table"><tr><th>类别</th><th>名称</th><th>人数/联系人</th><th>地址/等级</th></tr>' + part.map(function (r) {
            return "<tr><td>" + esc(r[0]) + "</td><td>" + esc(r[1]) + "</td><td>" + esc(r[2]) + '</td><td class="sm-in-dim">' + esc(r[3]) + "</td></tr>";
          }).join("") + "</table>";
        }
        // Schools and hospitals come first (the API sorts them); a long band folds after the first rows.
        if (!rows.length) html += '<div class="sm-in-hint">无</div>';
        else if (rows.length <= 12) html += table(rows);
        else html += table(rows.slice(0, 10)) + "<details><summary>其余 " + (rows.length - 10) + " 项</summary>" + table(rows.slice(10)) + "</details>";
        html += "</div>";
      });
      el.innerHTML = html + '<div class="sm-in-hint">' + esc(ex.note || "") + "</div>";
    }

    /* ------------------------------------------------------------ warnings */
    function currentZone() { return st.zones.length ? st.zones[st.zones.length - 1] : null; }

    function suggested(name) {
      var p = st.detail.properties, z = currentZone();
      if (name === "物质") return p.substance || "";
      if (z && !missing(z.wind_from_deg)) {
        if (name === "方向") return compass(z.wind_from_deg + 180);
        if (name === "撤离方向") return compass(z.wind_from_deg) + "（上风向）";
      }
      return "";
    }

    function showWarnForm() {
      var el = $(".sm-in-warnform");
      if (!el) return;
      if (!currentZone()) { el.innerHTML = '<div class="sm-in-hint">请先计算危险区，再向区内对象发布预警</div>'; return; }
      if (!st.templates) {
        el.innerHTML = '<div class="sm-in-hint">加载模板…</div>';
        SafeMap.api("api/warning-templates").then(function (r) {
          st.templates = r.templates;
          st.channels = r.channels || {};
          showWarnForm();
        }, function (err) { el.innerHTML = problemsHtml(err); });
        return;
      }
      // A re-render (the zone re-modelled, here or elsewhere) keeps what the dispatcher typed.
      // (A suggestion left as it was is made afresh: the wind may have turned.)
      el.querySelectorAll(".sm-in-wvalues input").forEach(function (i) {
        if (i.value !== i.getAttribute("data-sug")) st.typed[i.getAttribute("data-ph")] = i.value;
      });
      var plume = currentZone().model === "gaussian_plume";
      var first = plume ? "shelter_in_place" : "stay_away";
      var tpls = st.templates.map(function (t) { return [t.code, t.name]; });
      var chosen = st.warnTemplate || (tpls.some(function (t) { return t[0] === first; }) ? first : (tpls[0] || [""])[0]);
      var bands = currentZone().bands.map(function (b, i) {
        return '<label class="sm-in-check"><input type="checkbox" class="sm-in-wband" value="' + esc(b.label) + '" checked>' +
          '<span><span class="sm-in-sw" style="background:' + bandColor(i) + '"></span>' + esc(b.label) + "</span></label>";
      }).join("");
      var chans = C.enumList("warning_channel").map(function (c) {
        var s = st.channels[c[0]] || {}, ok = s.configured !== false;
        return '<label class="sm-in-check"><input type="checkbox" class="sm-in-wchan" value="' + esc(c[0]) + '"' + (c[0] === "call_list" ? " checked" : "") + ">" +
          "<span>" + esc(c[1]) + (ok ? "" : ' <span class="sm-in-dim">（未配置：' + esc(s.reason || "") + "，仅记录）</span>") + "</span></label>";
      }).join("");
      el.innerHTML = '<label>模板<select class="sm-in-wtpl">' + options(tpls, chosen) + '</select></label><div class="sm-in-hint sm-in-whint"></div>' +
        '<div class="sm-in-subhead">预警范围</div>' + bands + '<div class="sm-in-subhead">发布渠道</div>' + chans +
        '<div class="sm-in-grid sm-in-wvalues"></div>' +
        '<div class="sm-in-row"><button type="button" class="sm-in-wpreview">预览</button>' +
        '<button type="button" class="sm-in-primary sm-in-wsend" disabled>发送预警</button></div><div class="sm-in-wmsg"></div>';
      var tplSel = el.querySelector(".sm-in-wtpl");
      tplSel.onchange = function () { st.warnTemplate = tplSel.value; warnValues(); };
      warnValues();
      el.querySelector(".sm-in-wpreview").onclick = function () { sendWarning(true, this); };
      el.querySelector(".sm-in-wsend").onclick = function () { sendWarning(false, this); };
      el.querySelectorAll("input").forEach(function (i) { i.addEventListener("change", function () { el.querySelector(".sm-in-wsend").disabled = true; }); });
    }

    function warnValues() {
      var el = $(".sm-in-warnform"), code = el.querySelector(".sm-in-wtpl").value, tpl = null;
      st.templates.forEach(function (t) { if (t.code === code) tpl = t; });
      if (!tpl) return;
      el.querySelector(".sm-in-whint").textContent = (tpl.bands_hint ? "适用：" + tpl.bands_hint : "") + (tpl.note ? "。" + tpl.note : "");
      el.querySelector(".sm-in-wvalues").innerHTML = tpl.placeholders.map(function (name) {
        var auto = name === "时间" || name === "事件";
        var sug = auto ? "" : suggested(name), value = st.typed[name] !== undefined ? st.typed[name] : sug;
        return "<label>" + esc(name) + '<input data-ph="' + esc(name) + '" data-sug="' + esc(sug) + '" value="' + esc(value) + '"' +
          (auto ? ' placeholder="自动（' + (name === "时间" ? "当前时间" : "事件名称") + '）"' : "") + "></label>";
      }).join("");
      el.querySelector(".sm-in-wsend").disabled = true;
      el.querySelectorAll(".sm-in-wvalues input").forEach(function (i) {
        i.addEventListener("input", function () { el.querySelector(".sm-in-wsend").disabled = true; });
      });
    }

    function warnBody(preview) {
      var el = $(".sm-in-warnform"), values = {};
      el.querySelectorAll(".sm-in-wvalues input").forEach(function (i) {
        if (i.value.trim()) values[i.getAttribute("data-ph")] = i.value.trim();
      });
      function checked(cls) {
        return Array.prototype.map.call(el.querySelectorAll(cls + ":checked"), function (i) { return i.value; });
      }
      return { template: el.querySelector(".sm-in-wtpl").value, bands: checked(".sm-in-wband"), channels: checked(".sm-in-wchan"),
        values: values, preview: preview };
    }

    function sendWarning(preview, btn) {
      var el = $(".sm-in-warnform"), msg = el.querySelector(".sm-in-wmsg"), body = warnBody(preview);
      if (!body.bands.length) { msg.innerHTML = '<div class="sm-in-error">请至少选择一个预警范围</div>'; return; }
      if (!body.channels.length) { msg.innerHTML = '<div class="sm-in-error">请至少选择一个发布渠道</div>'; return; }
      C.run(btn, SafeMap.api("api/incidents/" + st.selected + "/warnings", { method: "POST", body: body }), {
        busy: preview ? "生成中…" : "发送中…",
        done: function (r) {
          var un = r.uncovered_targets || {};
          var head = '<div class="sm-in-preview"><div class="sm-in-ptitle">' + esc(r.title) + "</div><div>" + esc(r.message) + "</div>" +
            '<div class="sm-in-hint">接收对象 <b>' + r.recipients + "</b> 个" + (r.unreachable ? "（其中 " + r.unreachable + " 个无联系方式）" : "") +
            (un.count ? "；另有 " + un.count + " 处一般防护目标（约 " + un.population + " 人）" + esc(un.note ? "：" + un.note : "") : "") + "</div>";
          if (preview) {
            msg.innerHTML = head + '<table class="sm-in-table"><tr><th>接收对象</th><th>电话</th><th>分区</th></tr>' +
              (r.recipient_list || []).map(function (x) {
                return "<tr><td>" + esc((x.organisation ? x.organisation + " " : "") + x.name) + "<div class=\"sm-in-dim\">" + esc(x.role_label || "") + "</div></td><td>" +
                  esc(x.phone || "—") + "</td><td>" + esc(x.band) + "</td></tr>";
              }).join("") + "</table></div>";
            el.querySelector(".sm-in-wsend").disabled = false;
          } else {
            msg.innerHTML = '<div class="sm-in-ok">' + (r.replayed ? "此预警已发送过（未重复发送）" : "预警已发出：" + r.recipients + " 个接收对象") + "</div>";
            el.querySelector(".sm-in-wsend").disabled = true;
            loadWarnings();
            loadTimeline();
          }
        },
        fail: function (err) { msg.innerHTML = problemsHtml(err); }
      });
    }

    var warnTimer = null;
    function loadWarnings() {
      var id = st.selected;
      return SafeMap.api("api/incidents/" + id + "/warnings").then(function (r) {
        if (id !== st.selected) return;
        st.warnings = r.warnings;
        showWarnings();
        // Delivery states changed by the delivery worker arrive as warning_deliveries events (below);
        // the poll is the fallback while the stream is down and a delivery is still pending.
        if (warnTimer) clearTimeout(warnTimer);
        var pending = r.warnings.some(function (w) {
          return w.deliveries.some(function (d) { return d.state === "queued" && d.channel !== "call_list"; });
        });
        if (pending && !SafeMap.events.connected()) {
          warnTimer = setTimeout(function () { warnTimer = null; if (id === st.selected) loadWarnings(); }, 5000);
        }
      }, function () { /* keep the old list */ });
    }

    function showWarnings() {
      var el = $(".sm-in-warnlist");
      if (!el) return;
      if (!st.warnings.length) { el.innerHTML = '<div class="sm-in-hint">尚未发布预警</div>'; return; }
      var open = {};  // a live refresh keeps the delivery lists the dispatcher has unfolded
      el.querySelectorAll(".sm-in-warning").forEach(function (w) { if (w.querySelector("details").open) open[w.getAttribute("data-id")] = true; });
      el.innerHTML = '<div class="sm-in-subhead">已发布的预警</div>' + st.warnings.map(function (r) {
        var w = r.warning, counts = Object.keys(r.counts).filter(function (k) { return r.counts[k]; }).map(function (k) { return k + " " + r.counts[k]; }).join("，");
        return '<div class="sm-in-warning" data-id="' + w.id + '"><div><b>' + esc(when(w.created_at)) + "</b> " + esc(w.title) + "</div>" +
          '<div class="sm-in-hint">' + esc(w.bands.join("、")) + " · " + w.recipients + " 个接收对象 · " + esc(counts) +
          ' · <a target="_blank" rel="noopener" class="sm-in-calllist" href="' + esc(SafeMap.url("api/incidents/" + st.selected + "/warnings/" + w.id + "/call-list")) + '">打印电话通知清单</a></div>' +
          "<details" + (open[w.id] ? " open" : "") + '><summary>送达状态（' + r.deliveries.length + " 条）</summary>" +
          '<table class="sm-in-table"><tr><th>接收对象</th><th>渠道</th><th>状态</th><th></th></tr>' + r.deliveries.map(function (d) {
            var ack = d.state === "queued" || d.state === "sent" || d.state === "failed";
            return "<tr><td>" + esc((d.organisation ? d.organisation + " " : "") + d.name) + '<div class="sm-in-dim">' + esc(d.phone || d.email || "") + "</div></td><td>" +
              esc(d.channel_label) + '</td><td><span class="sm-in-state" data-state="' + esc(d.state) + '" style="color:' +
              SafeMap.enumColor("delivery_state", d.state, "#555") + '">' + esc(d.state_label) + "</span>" +
              (d.last_error && d.state !== "unconfigured" ? '<div class="sm-in-dim">' + esc(d.last_error) + "</div>" : "") + "</td><td>" +
              (ack ? '<button type="button" class="sm-in-ack" data-id="' + d.id + '">已确认</button>' : "") + "</td></tr>";
          }).join("") + "</table></details></div>";
      }).join("");
      el.querySelectorAll(".sm-in-ack").forEach(function (b) {
        b.onclick = function () {
          C.run(b, SafeMap.api("api/warning-deliveries/" + b.getAttribute("data-id") + "/ack", { method: "POST", body: {} }), {
            done: function () { loadWarnings(); },
            fail: function (err) { window.alert(err.message); }
          });
        };
      });
    }

    /* ------------------------------------------------------------ evacuation */
    function runEvacuation() {
      var el = $(".sm-in-evac"), id = st.selected;
      el.innerHTML = '<div class="sm-in-hint">正在按道路计算…</div>';
      C.run(this, SafeMap.api("api/incidents/" + id + "/evacuation"), {
        busy: "计算中…",
        done: function (r) { if (id === st.selected) { st.evacuation = r; showEvacuation(); } },
        fail: function (err) { el.innerHTML = problemsHtml(err); }
      });
    }

    function showEvacuation() {
      var r = st.evacuation, el = $(".sm-in-evac"), colors = {}, k = 0, bounds = [];
      layers.evac.clearLayers();
      r.assignments.forEach(function (a) {
        if (!(a.shelter.id in colors)) colors[a.shelter.id] = ROUTES[k++ % ROUTES.length];
        if (a.route && a.route.coordinates && a.route.coordinates.length > 1) {
          var line = L.polyline(C.latlngs(a.route), { color: colors[a.shelter.id], weight: 4, opacity: 0.85, dashArray: "10 5" }).addTo(layers.evac);
          line.bindTooltip(esc(a.origin.name + " → " + a.shelter.name + "：" + a.people + " 人，" + dur(num(a.duration_s))), { sticky: true });
          bounds = bounds.concat(line.getLatLngs());
          var end = a.route.coordinates[a.route.coordinates.length - 1];
          L.circleMarker([end[1], end[0]], { radius: 7, color: "#fff", weight: 2, fillColor: colors[a.shelter.id], fillOpacity: 1 })
            .bindTooltip(esc(a.shelter.name)).addTo(layers.evac);
        }
      });
      var html = '<div class="sm-in-total">区内 <b>' + r.people + "</b> 人，已安置 <b>" + r.assigned + "</b> 人" +
        (r.unassigned_people ? '，<span class="sm-in-warnword">未安置 ' + r.unassigned_people + " 人</span>" : "") + "</div>" +
        '<table class="sm-in-table"><tr><th>从</th><th>到避难场所</th><th>人数</th><th>路程</th><th>用时</th></tr>' +
        r.assignments.map(function (a) {
          return '<tr><td><span class="sm-in-sw" style="background:' + colors[a.shelter.id] + '"></span>' + esc(a.origin.name) + "</td><td>" + esc(a.shelter.name) +
            '</td><td class="sm-in-num">' + a.people + '</td><td class="sm-in-num">' + km(num(a.distance_m)) + '</td><td class="sm-in-num">' + dur(num(a.duration_s)) + "</td></tr>";
        }).join("") + "</table>";
      if (r.unassigned.length) {
        html += '<div class="sm-in-subhead">未能安置</div><table class="sm-in-table">' + r.unassigned.map(function (u) {
          return "<tr><td>" + esc(u.origin.name) + '</td><td class="sm-in-num">' + u.people + ' 人</td><td class="sm-in-why">' + esc(u.reason) + "</td></tr>";
        }).join("") + "</table>";
      }
      if (r.excluded_shelters && r.excluded_shelters.length) {
        html += '<div class="sm-in-hint">不可用的避难场所：' + esc(r.excluded_shelters.map(function (s) { return s.name + "（" + s.reason + "）"; }).join("；")) + "</div>";
      }
      el.innerHTML = html + '<div class="sm-in-hint">' + esc(r.method || "") + "</div>";
      if (bounds.length) fit(L.latLngBounds(bounds));
    }

    /* ------------------------------------------------------------ dispatch */
    function openDispatch() {
      var f = st.detail, c = f.geometry.coordinates;
      SafeMap.openPanel("dispatch");
      var dp = SafeMap.panel("dispatch");
      if (dp && dp.setIncident) dp.setIncident(L.latLng(c[1], c[0]), f.id, f.properties.name);
    }

    /* ------------------------------------------------------------ live */
    var pending = {}, timer = null;
    function soon(what) {
      pending[what] = true;
      if (timer) return;
      timer = setTimeout(function () {
        var todo = pending;
        pending = {};
        timer = null;
        if (todo.list) loadList();
        if (st.selected === null) return;
        if (todo.detail) loadDetail();
        if (todo.zones) loadZones();
        if (todo.timeline) loadTimeline();
        if (todo.warnings) loadWarnings();
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
    setInterval(function () { if (!container.closest("[hidden]")) showList(true); }, 30000);

    loadList();
    return {
      state: st, layers: layers, select: select, reload: loadList, fitZone: fitZone,
      pick: setPicked
    };
  });
})(window.SafeMap);

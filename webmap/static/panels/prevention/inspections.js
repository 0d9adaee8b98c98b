/*
 * 双重预防 panel, part 9 of 10: 检查任务 (the catalogue layer ``inspections``, an attribute table
 * written through the generic layer API). The list: open tasks first (GET /api/layers/inspections
 * ?status=planned,in_progress&sort=planned_on), then the latest done ones; each with its 范围,
 * 乡镇/行业/企业, 检查表, 计划日期, 检查人, 状态 and the number of findings recorded from it (the
 * inspection_id of GET /api/dangers). 新建任务 (POST /api/layers/inspections), 开始检查 and 完成
 * (PATCH with the version: 409 when someone else changed it), 登记隐患 (the 登记隐患 tab with the
 * task chosen: form.js). The server's refusals (403/409/422) are shown in place, in Chinese.
 * SafeMap.preventionParts.inspections(ctx) adds tasksHtml, setupTasks, loadTasks, chooseTask, and
 * st.tasks (the open ones feed the 检查任务 select of the 登记隐患 form: ctx.fillTaskSelect).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.preventionParts = SafeMap.preventionParts || {};
  var C = SafeMap.common, esc = C.esc, S = parts.shared;
  var STATUS_COLORS = { planned: "#1e88e5", in_progress: "#fb8c00", done: "#43a047" };
  var STATUS_FALLBACK = { planned: "待检查", in_progress: "检查中", done: "已完成" };
  var SCOPE_FALLBACK = { township: "按乡镇网格", industry: "按行业", enterprise: "按企业" };
  var EDITORS = ["inspector", "planner", "admin"];
  var DONE_SHOWN = 30;

  parts.inspections = function (ctx) {
    var st = ctx.st, $ = ctx.$;
    st.tasks = [];
    st.taskFindings = null;  // {inspection id: number of findings}, null when the findings say nothing
    st.taskMsg = null;       // {id, html}: the answer to the last action on a task, kept across reloads
    var form = null, offset = null, named = "", inspectorDefault = "";

    function scopeLabel(code) { var l = S.label("inspection_scope", code); return l === code ? (SCOPE_FALLBACK[code] || "—") : l; }
    function statusLabel(code) { var l = S.label("inspection_status", code); return l === code ? (STATUS_FALLBACK[code] || "—") : l; }
    function statusChip(code) { return S.chip(statusLabel(code), S.color("inspection_status", code, STATUS_COLORS[code] || "#757575")); }
    function enterprise(id) {
      var list = (S.cat() || {}).enterprises || [];
      for (var i = 0; i < list.length; i++) if (String(list[i].id) === String(id)) return list[i];
      return null;
    }
    function isOpen(p) { return p.status !== "done"; }
    function user() { return SafeMap.user || null; }
    function canEdit() { var u = user(); return !!(u && EDITORS.indexOf(u.role) >= 0); }

    /** A time of the server (UTC) in the county's offset, learnt from the findings' local times. */
    function local(iso) {
      if (!iso) return "—";
      var t = Date.parse(iso);
      if (isNaN(t)) return S.when(iso);
      var off = offset === null ? -new Date().getTimezoneOffset() : offset;
      return new Date(t + off * 60000).toISOString().slice(0, 16).replace("T", " ");
    }
    function learnOffset(iso) {
      var m = /([+-])(\d\d):?(\d\d)$/.exec(iso || "");
      if (m && offset === null) offset = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    }

    function townships() {
      var seen = {}, out = [];
      function add(t) { if (t && !seen[t]) { seen[t] = 1; out.push(t); } }
      ((S.cat() || {}).enterprises || []).forEach(function (e) { add(e.township); });
      st.tasks.forEach(function (f) { add(f.properties.township); });
      return out.sort(function (a, b) { return a.localeCompare(b, "zh-CN"); });
    }

    /* ------------------------------------------------------------ html */
    function tasksHtml() {
      var cat = S.cat() || {}, lists = Object.keys(cat.checklists || {});
      var ents = (cat.enterprises || []).map(function (e) { return [String(e.id), e.name + (e.township ? "（" + e.township + "）" : "")]; });
      return '<div class="sm-pv-listhead"><span class="sm-pv-tcount"></span><button type="button" class="sm-pv-treload">刷新</button></div>' +
        '<div class="sm-pv-tasks"><div class="sm-pv-hint">加载中…</div></div>' +
        '<details class="sm-pv-sec sm-pv-tnewsec"><summary>新建任务</summary>' +
        '<form class="sm-pv-tnew" novalidate>' +
        '<label>检查范围<select name="scope">' + C.options(S.enumOptions("inspection_scope").map(function (o) { return [o[0], scopeLabel(o[0])]; }), "enterprise") + "</select></label>" +
        '<label class="sm-pv-tfor" data-scope="township">乡镇<input name="township" list="sm-pv-townships" placeholder="选择或输入乡镇" autocomplete="off"></label>' +
        '<datalist id="sm-pv-townships"></datalist>' +
        '<label class="sm-pv-tfor" data-scope="industry" hidden>行业<select name="industry">' +
        C.options([["", "（选择行业）"]].concat(S.enumOptions("industry")), "") + "</select></label>" +
        '<label class="sm-pv-tfor" data-scope="enterprise" hidden>企业<select name="enterprise_id">' +
        C.options([["", ents.length ? "（选择企业）" : "（没有可选的企业）"]].concat(ents), "") + "</select></label>" +
        '<label>检查表<select name="checklist">' + C.options([["", lists.length ? "（不指定检查表）" : "（没有检查表）"]]
          .concat(lists.map(function (n) { return [n, n]; })), "") + "</select></label>" +
        '<div class="sm-pv-grid"><label>计划日期<input type="date" name="planned_on" value="' + esc(S.today()) + '"></label>' +
        '<label>检查人<input name="inspector" autocomplete="name"></label></div>' +
        '<label>任务名称<input name="name" maxlength="200" placeholder="如 12月吉也克镇工贸企业网格排查"></label>' +
        '<button type="submit" class="sm-pv-primary sm-pv-submit sm-pv-tsubmit">新建任务</button><div class="sm-pv-tformmsg"></div>' +
        "</form></details>";
    }

    function taskHtml(f) {
      var p = f.properties, open = isOpen(p), where = [];
      if (p.scope === "enterprise" || (p.enterprise_id !== null && p.enterprise_id !== undefined)) {
        var e = enterprise(p.enterprise_id);
        where.push(["企业", e ? e.name : (S.missing(p.enterprise_id) ? "—" : "企业编号 " + p.enterprise_id)]);
      }
      if (p.scope === "industry" || p.industry) where.push(["行业", S.label("industry", p.industry)]);
      if (p.township && p.scope !== "enterprise") where.push(["乡镇", p.township]);
      var facts = [["范围", scopeLabel(p.scope)]].concat(where).concat([
        ["检查表", p.checklist || "未指定"], ["计划日期", p.planned_on || "—"], ["检查人", p.inspector || "—"]
      ]);
      if (p.status === "done") facts.push(["完成时间", local(p.finished_at)]);
      if (st.taskFindings) facts.push(["发现隐患", (st.taskFindings[f.id] || 0) + " 条"]);
      var msg = st.taskMsg && st.taskMsg.id === f.id ? st.taskMsg.html : "";
      return '<div class="sm-pv-task' + (open ? "" : " sm-pv-tdone") + '" data-id="' + f.id + '" data-status="' + esc(p.status) + '">' +
        '<div class="sm-pv-thead"><span class="sm-pv-iname">' + esc(p.name) + "</span>" + statusChip(p.status) + "</div>" +
        '<div class="sm-pv-tfacts">' + facts.map(function (x) {
          return "<span><i>" + esc(x[0]) + "</i>" + esc(x[1]) + "</span>";
        }).join("") + "</div>" +
        (open ? '<div class="sm-pv-actions">' +
          (p.status === "planned" ? '<button type="button" class="sm-pv-tact" data-do="start">开始检查</button>' : "") +
          '<button type="button" class="sm-pv-tact sm-pv-act-pass" data-do="done">完成</button>' +
          '<button type="button" class="sm-pv-tact" data-do="record">登记隐患</button></div>' : "") +
        '<div class="sm-pv-tmsg">' + msg + "</div></div>";
    }

    /* ------------------------------------------------------------ list */
    function loadTasks() {
      var seq = st.taskSeq = (st.taskSeq || 0) + 1;
      var open = SafeMap.api("api/layers/inspections?" + S.query({ status: "planned,in_progress", sort: "planned_on" }));
      var done = SafeMap.api("api/layers/inspections?" + S.query({ status: "done", sort: "-finished_at", limit: DONE_SHOWN }));
      var found = SafeMap.api("api/dangers").then(null, function () { return null; });
      return Promise.all([open, done, found]).then(function (r) {
        if (seq !== st.taskSeq) return;
        var feats = (r[0].features || []).concat(r[1].features || []);
        var counts = null;
        ((r[2] && r[2].features) || []).forEach(function (d) {
          learnOffset(d.properties.found_at);
          if (!("inspection_id" in d.properties)) return;
          counts = counts || {};
          var id = d.properties.inspection_id;
          if (!S.missing(id)) counts[id] = (counts[id] || 0) + 1;
        });
        st.taskFindings = counts;
        st.tasks = feats.sort(function (a, b) {
          var pa = a.properties, pb = b.properties;
          if (isOpen(pa) !== isOpen(pb)) return isOpen(pa) ? -1 : 1;
          if (isOpen(pa)) {
            if (pa.status !== pb.status) return pa.status === "in_progress" ? -1 : 1;
            return String(pa.planned_on || "9999").localeCompare(String(pb.planned_on || "9999"));
          }
          return String(pb.finished_at || "").localeCompare(String(pa.finished_at || ""));
        });
        st.tasksLoaded = true;
        showTasks();
        if (ctx.fillTaskSelect) ctx.fillTaskSelect();
      }, function (err) {
        if (seq !== st.taskSeq) return;
        st.tasks = [];
        var el = $(".sm-pv-tasks");
        if (el) el.innerHTML = S.problemsHtml(err);
        var n = $(".sm-pv-tcount");
        if (n) n.textContent = "";
        if (ctx.fillTaskSelect) ctx.fillTaskSelect();
      });
    }

    function showTasks() {
      var el = $(".sm-pv-tasks");
      if (!el) return;
      var open = st.tasks.filter(function (f) { return isOpen(f.properties); }).length;
      $(".sm-pv-tcount").textContent = "未完成 " + open + " 项" + (st.tasks.length > open ? "，最近完成 " + (st.tasks.length - open) + " 项" : "");
      el.innerHTML = st.tasks.length ? st.tasks.map(taskHtml).join("") : '<div class="sm-pv-hint">还没有检查任务</div>';
      el.querySelectorAll(".sm-pv-tact").forEach(function (b) {
        b.onclick = function () {
          var box = b.closest(".sm-pv-task"), id = Number(box.getAttribute("data-id")), what = b.getAttribute("data-do");
          if (what === "record") chooseTask(id);
          else act(b, id, what);
        };
      });
      fillTownships();
    }

    function task(id) {
      for (var i = 0; i < st.tasks.length; i++) if (st.tasks[i].id === id) return st.tasks[i];
      return null;
    }

    /** 开始检查 or 完成: PATCH with the version read; a 409 reloads and says so in place. */
    function act(button, id, what) {
      var f = task(id);
      if (!f) return;
      var props = what === "start" ? { status: "in_progress" } : { status: "done", finished_at: new Date().toISOString() };
      props.version = f.properties.version;
      st.taskMsg = null;
      var box = button.closest(".sm-pv-task"), msg = box.querySelector(".sm-pv-tmsg");
      msg.innerHTML = "";
      C.run(button, SafeMap.api("api/layers/inspections/" + id, { method: "PATCH", body: { properties: props } }), {
        busy: "提交中…",
        done: function () {
          st.taskMsg = { id: id, html: S.okHtml(what === "start" ? "已开始检查" : "检查任务已完成") };
          loadTasks();
        },
        fail: function (err) {
          st.taskMsg = { id: id, html: S.problemsHtml(err) };
          msg.innerHTML = st.taskMsg.html;
          if (err && err.status === 409) loadTasks();
        }
      });
    }

    /** 登记隐患 from a task: the form with the task chosen (its enterprise and checklist filled in). */
    function chooseTask(id) {
      ctx.showTab("new");
      if (ctx.pickTask) ctx.pickTask(id);
    }

    /* ------------------------------------------------------------ new task */
    function fillTownships() {
      var dl = $("#sm-pv-townships");
      if (dl) dl.innerHTML = townships().map(function (t) { return '<option value="' + esc(t) + '"></option>'; }).join("");
    }
    function showScope() {
      var scope = form.scope.value;
      form.querySelectorAll(".sm-pv-tfor").forEach(function (l) { l.hidden = l.getAttribute("data-scope") !== scope; });
      suggestName();
    }
    function suggestion() {
      var scope = form.scope.value, what = "";
      if (scope === "township") what = form.township.value.trim() + (form.township.value.trim() ? "网格排查" : "");
      else if (scope === "industry") what = form.industry.value ? S.label("industry", form.industry.value) + "专项检查" : "";
      else if (scope === "enterprise") {
        var e = enterprise(form.enterprise_id.value);
        what = e ? e.name + "安全检查" : "";
      }
      if (!what) return "";
      var day = form.planned_on.value || S.today();
      return Number(day.slice(5, 7)) + "月" + Number(day.slice(8, 10)) + "日" + what;
    }
    /** The name follows the choices until the user types one of their own. */
    function suggestName() {
      var now = form.name.value.trim();
      if (now && now !== named) return;
      named = suggestion();
      form.name.value = named;
    }
    function fillInspector() {
      if (!form) return;
      var u = user(), name = u ? (u.display_name || u.name || "") : "";
      if (!form.inspector.value.trim() || form.inspector.value === inspectorDefault) form.inspector.value = name;
      inspectorDefault = name;
      var sec = $(".sm-pv-tnewsec");
      if (sec && !sec.getAttribute("data-touched")) sec.open = canEdit();
    }

    function taskBody() {
      var scope = form.scope.value, p = {
        name: form.name.value.trim(), scope: scope, status: "planned",
        checklist: form.checklist.value || null, planned_on: form.planned_on.value || null,
        inspector: form.inspector.value.trim() || null
      };
      if (scope === "township") p.township = form.township.value.trim() || null;
      if (scope === "industry") p.industry = form.industry.value || null;
      if (scope === "enterprise") {
        var e = enterprise(form.enterprise_id.value);
        p.enterprise_id = form.enterprise_id.value ? Number(form.enterprise_id.value) : null;
        if (e && e.township) p.township = e.township;
      }
      return p;
    }
    function taskCheck(p) {
      if (p.scope === "township" && !p.township) return "请选择或填写乡镇";
      if (p.scope === "industry" && !p.industry) return "请选择行业";
      if (p.scope === "enterprise" && !p.enterprise_id) return "请选择企业";
      if (!p.name) return "请填写任务名称";
      return null;
    }
    function createTask(ev) {
      ev.preventDefault();
      var msg = form.querySelector(".sm-pv-tformmsg"), p = taskBody(), why = taskCheck(p);
      if (why) { msg.innerHTML = S.problemsHtml({ status: 422, message: why }); return; }
      msg.innerHTML = "";
      var req = SafeMap.api("api/layers/inspections", { method: "POST", body: { type: "Feature", geometry: null, properties: p } });
      C.run(form.querySelector(".sm-pv-tsubmit"), req, {
        busy: "提交中…",
        done: function (f) {
          msg.innerHTML = S.okHtml("已新建检查任务“" + f.properties.name + "”");
          var scope = form.scope.value, keep = form.inspector.value;
          form.reset();
          form.scope.value = scope;
          form.inspector.value = keep;
          form.planned_on.value = S.today();
          named = "";
          showScope();
          loadTasks();
        },
        fail: function (err) { msg.innerHTML = S.problemsHtml(err); }
      });
    }

    function setupTasks() {
      form = $(".sm-pv-tnew");
      form.onsubmit = createTask;
      form.scope.onchange = showScope;
      form.township.oninput = suggestName;
      form.industry.onchange = suggestName;
      form.enterprise_id.onchange = suggestName;
      form.planned_on.onchange = suggestName;
      var sec = $(".sm-pv-tnewsec");
      sec.querySelector("summary").onclick = function () { sec.setAttribute("data-touched", "1"); };
      $(".sm-pv-treload").onclick = function () { var b = this; C.run(b, loadTasks(), { busy: "刷新中…" }); };
      showScope();
      fillInspector();
      SafeMap.hooks.on("user", function () { fillInspector(); });
    }

    ctx.tasksHtml = tasksHtml;
    ctx.setupTasks = setupTasks;
    ctx.loadTasks = loadTasks;
    ctx.chooseTask = chooseTask;
    ctx.taskScopeLabel = scopeLabel;
  };
})(window.SafeMap);

/*
 * 监测预警 (live) panel, part 5 of 6: the alarm list. SafeMap.liveParts.alarms(ctx) adds ctx.loadAlarms()
 * (GET /api/alarms?state=active,acknowledged, newest first; reloaded on the alarms event) and
 * ctx.focusAlarm(id). Each alarm: its kind and state, the sensor's name or the vehicle's plate, the
 * value against its threshold, the time as the API gives it (the county's clock), coloured by level
 * (二级 red, 一级 orange, vehicle rules amber); buttons 确认 (asks for a note), 关闭 (click twice),
 * 转为事件 (opens the 事件处置 panel on the new incident). A click on the alarm zooms to it and flashes
 * its marker; with 声音提示 on, a newly raised alarm beeps.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.liveParts = SafeMap.liveParts || {}, S = parts.shared, esc = SafeMap.esc;
  var NEED_TOKEN = "此操作需要调度员令牌：请点击上方“令牌”按钮输入";

  parts.alarms = function (ctx) {
    var map = ctx.map, st = ctx.st, $ = ctx.$;
    st.alarms = [];
    st.seenAlarms = null;  // ids seen so far (null before the first load: nothing beeps then)
    st.armed = null;

    function objectName(p) {
      var s = p.sensor_id ? st.sensors[p.sensor_id] : null, v = p.vehicle_id ? st.vehicles[p.vehicle_id] : null;
      if (s) return s.item.name || s.item.code;
      if (v) return v.item.plate;
      return p.sensor_name || p.plate || p.name || "—";
    }
    function levelClass(p) {
      return p.level === 2 ? "sm-lv-l2" : p.level === 1 ? "sm-lv-l1" : "sm-lv-l0";
    }
    function valueLine(p) {
      if (S.missing(p.value)) return "";
      return esc(S.valueText(p.value, p.unit)) + (S.missing(p.threshold) ? "" : '<span class="sm-lv-thr">（报警值 ' +
        esc(S.valueText(p.threshold, p.unit)) + "）</span>");
    }

    function render() {
      var box = $(".sm-lv-alarms");
      $(".sm-lv-acount").textContent = st.alarms.length ? "（" + st.alarms.length + "）" : "";
      if (!st.alarms.length) { box.innerHTML = '<div class="sm-lv-hint sm-lv-empty">当前无报警</div>'; return; }
      box.innerHTML = st.alarms.map(function (f) {
        var p = f.properties, acked = p.state === "acknowledged";
        var btns = (p.state === "active" ? '<button type="button" class="sm-lv-ack">确认</button>' : "") +
          '<button type="button" class="sm-lv-close' + (st.armed === f.id ? " sm-lv-armed" : "") + '">' +
          (st.armed === f.id ? "确认关闭？" : "关闭") + "</button>" +
          (p.incident_id ? '<button type="button" class="sm-lv-openinc">查看事件 #' + esc(p.incident_id) + "</button>" :
            '<button type="button" class="sm-lv-toinc">转为事件</button>');
        return '<div class="sm-lv-alarm ' + levelClass(p) + (acked ? " sm-lv-acked" : "") +
          (st.fresh && st.fresh[f.id] ? " sm-lv-new" : "") + '" data-id="' + f.id + '" data-state="' + esc(p.state) + '">' +
          '<div class="sm-lv-ahead"><b class="sm-lv-akind">' + esc(p.kind_label || "报警") + "</b>" +
          '<span class="sm-lv-astate">' + esc(p.state_label || "") + "</span></div>" +
          '<div class="sm-lv-aobj">' + esc(objectName(p)) + (valueLine(p) ? "　" + valueLine(p) : "") + "</div>" +
          (p.message && !valueLine(p) ? '<div class="sm-lv-amsg">' + esc(p.message) + "</div>" : "") +
          '<div class="sm-lv-ameta">' + esc(S.when(p.raised_at)) + (acked && p.acknowledged_by ? " · " + esc(p.acknowledged_by) + " 已确认" : "") +
          (p.ack_note ? "：" + esc(p.ack_note) : "") + "</div>" +
          '<div class="sm-lv-abtns">' + btns + "</div></div>";
      }).join("");
    }

    ctx.loadAlarms = function () {
      return SafeMap.api("api/alarms?state=active,acknowledged").then(function (fc) {
        var list = (fc && fc.features) || [];
        list.sort(function (a, b) {
          var d = Date.parse(b.properties.raised_at || "") - Date.parse(a.properties.raised_at || "");
          return isNaN(d) || d === 0 ? b.id - a.id : d;
        });
        var first = st.seenAlarms === null, seen = st.seenAlarms || {}, fresh = {}, any = false;
        list.forEach(function (f) {
          S.learn(f.properties.raised_at);
          if (!first && !seen[f.id] && f.properties.state === "active") { fresh[f.id] = true; any = true; }
          seen[f.id] = true;
        });
        st.seenAlarms = seen;
        st.fresh = fresh;
        st.alarms = list;
        render();
        if (any && st.sound) S.beep();
      }, function (err) {
        $(".sm-lv-alarms").innerHTML = '<div class="sm-lv-error">报警列表加载失败：' + esc(err.message) + "</div>";
      });
    };

    function find(id) {
      for (var i = 0; i < st.alarms.length; i++) if (st.alarms[i].id === id) return st.alarms[i];
      return null;
    }
    function say(html, ok) {
      $(".sm-lv-amsgbox").innerHTML = html ? '<div class="' + (ok ? "sm-lv-ok" : "sm-lv-error") + '">' + html + "</div>" : "";
    }

    ctx.focusAlarm = function (id) {
      var f = find(id);
      if (!f) return;
      var p = f.properties, marker = p.sensor_id ? ctx.markerOf("sensor", p.sensor_id) : p.vehicle_id ? ctx.markerOf("vehicle", p.vehicle_id) : null;
      var ll = marker ? marker.getLatLng() : f.geometry ? L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]) : null;
      if (!ll) return;
      container().querySelectorAll(".sm-lv-alarm.sm-lv-on").forEach(function (el) { el.classList.remove("sm-lv-on"); });
      var row = container().querySelector('.sm-lv-alarm[data-id="' + id + '"]');
      if (row) row.classList.add("sm-lv-on");
      map.setView(ll, Math.max(map.getZoom(), Math.min(map.getMaxZoom(), 18)), { animate: false });
      ctx.foldOnPhone();
      ctx.flash(ll, marker);
    };
    function container() { return ctx.container; }

    function post(btn, id, what, body, done) {
      if (!SafeMap.token()) { say(esc(NEED_TOKEN)); return; }
      SafeMap.common.run(btn, SafeMap.api("api/alarms/" + id + "/" + what, { method: "POST", body: body || {} }), {
        done: done,
        fail: function (err) { say(esc(err.message)); }
      });
    }
    function openIncident(id) {
      SafeMap.openPanel("incident");
      var h = SafeMap.panel("incident");
      if (h && h.select) h.select(id);
    }

    ctx.container.addEventListener("click", function (e) {
      var row = e.target.closest(".sm-lv-alarm");
      if (!row) return;
      var id = Number(row.getAttribute("data-id")), f = find(id), btn = e.target.closest("button");
      if (!f) return;
      if (!btn) { ctx.focusAlarm(id); return; }
      if (!btn.classList.contains("sm-lv-close") && st.armed !== null) { st.armed = null; render(); }
      if (btn.classList.contains("sm-lv-ack")) {
        var note = window.prompt("确认报警“" + (f.properties.kind_label || "") + " " + objectName(f.properties) + "”：请填写处置说明", "");
        if (note === null) return;
        post(btn, id, "ack", note.trim() ? { note: note.trim() } : {}, function () { say("已确认报警", true); ctx.loadAlarms(); });
      } else if (btn.classList.contains("sm-lv-close")) {
        if (st.armed !== id) { st.armed = id; render(); return; }
        st.armed = null;
        post(btn, id, "close", {}, function () { say("报警已关闭", true); ctx.loadAlarms(); });
      } else if (btn.classList.contains("sm-lv-toinc")) {
        post(btn, id, "incident", {}, function (inc) {
          say("已转为事件 #" + esc(inc.id) + (inc.properties && inc.properties.name ? "（" + esc(inc.properties.name) + "）" : ""), true);
          ctx.loadAlarms();
          openIncident(inc.id);
        });
      } else if (btn.classList.contains("sm-lv-openinc")) {
        openIncident(f.properties.incident_id);
      }
    });
  };
})(window.SafeMap);

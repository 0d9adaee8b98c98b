/*
 * 双重预防 panel, part 3 of 9: 隐患 list (GET /api/dangers with the filters 状态, 等级, 乡镇, 仅逾期)
 * and its markers: filled by grade (catalogue danger_grade colours), larger as the finding ages,
 * a red ring when overdue, grey when closed (销号); a click opens the detail.
 * SafeMap.preventionParts.list(ctx) adds loadList, showList, drawMarkers, listHtml to ctx.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.preventionParts = SafeMap.preventionParts || {};
  var C = SafeMap.common, esc = C.esc, S = parts.shared;

  parts.list = function (ctx) {
    var st = ctx.st, layers = ctx.layers, $ = ctx.$;
    st.dangers = [];

    function statusChip(p) {
      var bg = p.overdue ? "#c62828" : S.color("danger_status", p.status, "#757575");
      return S.chip(p.status_label || S.label("danger_status", p.status), bg, p.overdue ? "sm-pv-overdue" : "");
    }
    function gradeChip(p) { return S.chip(p.grade_label || S.label("danger_grade", p.grade), gradeColor(p.grade)); }
    function gradeColor(code) { return S.color("danger_grade", code, code === "major" ? "#b71c1c" : "#ef6c00"); }
    ctx.statusChip = statusChip;
    ctx.gradeChip = gradeChip;

    function listHtml() {
      return '<div class="sm-pv-filters">' +
        '<label>状态<select class="sm-pv-fstatus">' + C.options([["", "全部"], ["open", "未销号"]].concat(S.enumOptions("danger_status")), "open") + "</select></label>" +
        '<label>等级<select class="sm-pv-fgrade">' + C.options([["", "全部"]].concat(S.enumOptions("danger_grade")), "") + "</select></label>" +
        '<label>乡镇<select class="sm-pv-ftownship"><option value="">全部</option></select></label>' +
        '<label class="sm-pv-check"><input type="checkbox" class="sm-pv-foverdue"> 仅逾期</label></div>' +
        '<div class="sm-pv-listhead"><span class="sm-pv-lcount"></span><button type="button" class="sm-pv-fit">全部显示在地图上</button></div>' +
        '<div class="sm-pv-list"><div class="sm-pv-hint">加载中…</div></div>' +
        '<div class="sm-pv-legend"><span><i class="sm-pv-ldot" style="background:' + esc(gradeColor("major")) + '"></i>重大隐患</span>' +
        '<span><i class="sm-pv-ldot" style="background:' + esc(gradeColor("general")) + '"></i>一般隐患</span>' +
        '<span><i class="sm-pv-ldot sm-pv-lring"></i>逾期</span><span><i class="sm-pv-ldot" style="background:#9e9e9e"></i>已销号</span>' +
        '<span class="sm-pv-dim">点越大，发现越久</span></div>';
    }

    function townships() {
      var seen = {}, out = [];
      var cat = S.cat();
      ((cat && cat.enterprises) || []).forEach(function (e) { if (e.township && !seen[e.township]) { seen[e.township] = 1; out.push(e.township); } });
      st.dangers.forEach(function (f) { var t = f.properties.township; if (t && !seen[t]) { seen[t] = 1; out.push(t); } });
      return out.sort(function (a, b) { return a.localeCompare(b, "zh-CN"); });
    }
    function fillTownships() {
      var sel = $(".sm-pv-ftownship"), chosen = sel.value;
      sel.innerHTML = C.options([["", "全部"]].concat(townships().map(function (t) { return [t, t]; })), chosen);
    }

    function params() {
      var status = $(".sm-pv-fstatus").value;
      return {
        status: status === "open" ? "found,rectifying,review" : status, grade: $(".sm-pv-fgrade").value, township: $(".sm-pv-ftownship").value,
        overdue: $(".sm-pv-foverdue").checked ? "true" : ""
      };
    }

    function loadList() {
      var q = S.query(params());
      var seq = st.listSeq = (st.listSeq || 0) + 1;
      return SafeMap.api("api/dangers" + (q ? "?" + q : "")).then(function (fc) {
        if (seq !== st.listSeq) return;
        var feats = fc.features || [];
        feats.forEach(function (f) { S.learn(f.properties.found_at); });
        st.dangers = feats.sort(function (a, b) {
          var pa = a.properties, pb = b.properties;
          if (pa.overdue !== pb.overdue) return pa.overdue ? -1 : 1;
          if (pa.grade !== pb.grade) return pa.grade === "major" ? -1 : 1;
          return String(pb.found_at || "").localeCompare(String(pa.found_at || ""));
        });
        st.listed = true;
        fillTownships();
        showList();
      }, function (err) { $(".sm-pv-list").innerHTML = S.problemsHtml(err); });
    }

    function showList() {
      var el = $(".sm-pv-list");
      if (!el) return;
      var overdue = st.dangers.filter(function (f) { return f.properties.overdue; }).length;
      $(".sm-pv-lcount").innerHTML = "共 " + st.dangers.length + " 条" + (overdue ? "，<b class='sm-pv-red'>逾期 " + overdue + " 条</b>" : "");
      if (!st.dangers.length) el.innerHTML = '<div class="sm-pv-hint">没有符合条件的隐患</div>';
      else {
        el.innerHTML = st.dangers.map(function (f) {
          var p = f.properties;
          return '<button type="button" class="sm-pv-item' + (f.id === st.selected ? " sm-pv-on" : "") + (p.overdue ? " sm-pv-late" : "") +
            '" data-id="' + f.id + '"><span class="sm-pv-iname">' + esc(p.name || p.description) + "</span>" +
            '<span class="sm-pv-imeta">' + gradeChip(p) + " " + statusChip(p) + " " +
            esc([p.enterprise_name || p.township, "已 " + (S.missing(p.age_days) ? "—" : p.age_days) + " 天", "期限 " + (p.deadline || "—")]
              .filter(function (x) { return x; }).join(" · ")) + "</span></button>";
        }).join("");
        el.querySelectorAll(".sm-pv-item").forEach(function (b) {
          b.onclick = function () { ctx.select(Number(b.getAttribute("data-id")), true); };
        });
      }
      drawMarkers();
    }

    function drawMarkers() {
      layers.dangers.clearLayers();
      var shown = st.dangers.slice();
      if (st.detail && !shown.some(function (f) { return f.id === st.detail.id; })) shown.push(st.detail);
      shown.forEach(function (f) {
        if (!f.geometry || !f.geometry.coordinates) return;
        var p = f.properties, c = f.geometry.coordinates, ll = L.latLng(c[1], c[0]), on = f.id === st.selected;
        var closed = p.status === "closed", age = Math.max(0, Number(p.age_days) || 0);
        var r = 6 + Math.min(6, Math.round(Math.sqrt(age)));
        if (on) {
          L.circleMarker(ll, { pane: "sm-prevention", radius: r + 9, color: "#ffea00", weight: 5, fill: false, interactive: false })
            .addTo(layers.dangers);
        }
        if (p.overdue) {
          L.circleMarker(ll, { pane: "sm-prevention", radius: r + 4, color: "#d50000", weight: 3, fill: false, interactive: false,
            className: "sm-pv-ring" }).addTo(layers.dangers);
        }
        var m = L.circleMarker(ll, {
          pane: "sm-prevention", radius: r, color: on ? "#000" : "#fff", weight: on ? 3 : 2, fillOpacity: closed ? 0.6 : 0.95,
          fillColor: closed ? "#9e9e9e" : gradeColor(p.grade), className: "sm-pv-marker"
        }).addTo(layers.dangers);
        m.bindTooltip(esc(p.name || p.description) + "<br>" + esc(p.grade_label || "") + " · " + esc(p.status_label || "") +
          " · 已 " + esc(S.missing(p.age_days) ? "—" : p.age_days) + " 天");
        m.on("click", function (e) { L.DomEvent.stop(e); ctx.select(f.id, false); });
      });
    }

    function fit() {
      var b = L.latLngBounds([]);
      st.dangers.forEach(function (f) { if (f.geometry && f.geometry.coordinates) b.extend([f.geometry.coordinates[1], f.geometry.coordinates[0]]); });
      if (b.isValid()) ctx.map.fitBounds(b, { padding: [30, 30], maxZoom: 15 });
    }

    function setupList() {
      [".sm-pv-fstatus", ".sm-pv-fgrade", ".sm-pv-ftownship", ".sm-pv-foverdue"].forEach(function (sel) {
        $(sel).onchange = loadList;
      });
      $(".sm-pv-fit").onclick = fit;
    }

    ctx.listHtml = listHtml;
    ctx.setupList = setupList;
    ctx.loadList = loadList;
    ctx.showList = showList;
    ctx.drawMarkers = drawMarkers;
    ctx.gradeColor = gradeColor;
  };
})(window.SafeMap);

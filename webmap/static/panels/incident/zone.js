/*
 * 事件处置 panel, part 3 of 7: 危险区 (a consequence model at the incident, POST …/zone; the bands
 * drawn and labelled, the history of re-models, the current one bold) and 区内对象 (exposure per
 * band, GET …/exposure, CSV/XLSX). SafeMap.incidentParts.zone(ctx) adds loadZones, fit, fitZone,
 * modelFields, runModel, loadExposure and currentZone to the panel's shared ctx (see main.js).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.incidentParts = SafeMap.incidentParts || {};
  var C = SafeMap.common, esc = C.esc, S = parts.shared;
  var MODEL_FIELDS = S.MODEL_FIELDS, missing = S.missing, num = S.num, compass = S.compass, problemsHtml = S.problemsHtml,
    bandColor = S.bandColor;

  parts.zone = function (ctx) {
    var map = ctx.map, container = ctx.container, layers = ctx.layers, st = ctx.st, $ = ctx.$, when = ctx.when;

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

    function modelFields() {
      var d = $(".sm-in-detail"), model = d.querySelector(".sm-in-model").value;
      d.querySelector(".sm-in-modelfields").innerHTML = MODEL_FIELDS[model].map(function (f) {
        return "<label>" + esc(f[1]) + '<input type="number" min="0" step="any" data-field="' + f[0] + '" value="' + f[2] + '"></label>';
      }).join("");
      d.querySelector(".sm-in-weather").hidden = model !== "gaussian_plume";
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
          ctx.loadTimeline();
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
        if ($(".sm-in-warnsec") && $(".sm-in-warnsec").open) ctx.showWarnForm();
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

    function currentZone() { return st.zones.length ? st.zones[st.zones.length - 1] : null; }

    ctx.loadZones = loadZones;
    ctx.fit = fit;
    ctx.fitZone = fitZone;
    ctx.modelFields = modelFields;
    ctx.runModel = runModel;
    ctx.loadExposure = loadExposure;
    ctx.currentZone = currentZone;
  };
})(window.SafeMap);

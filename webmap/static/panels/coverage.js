/*
 * 覆盖与通道 (coverage) panel: service areas of teams and depots as bands (POST
 * /api/coverage/service-areas), the coverage report with uncovered sites and CSV tables
 * (GET /api/coverage/report), new-station location with before/after areas (POST
 * /api/coverage/locate) and the fire-access review with deficient lanes, hydrant gaps and
 * late sites drawn on the map (GET /api/access/review, printable report).
 * ES2015 only, Chinese UI, nothing loaded from outside the app.
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc, pct = C.pct, minutes = C.minutes;
  var UNCOVERED_SHOWN = 30;  // the list shows this many (the longest times); the CSV has them all
  var BAND_COLOURS = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#a50026", "#67001f", "#40004b"];
  // Rescue forces: [code, layer, team kinds, vehicle]. Named from the catalogue: the team
  // kinds' labels, the vehicle's where it is the point (ladder), the layer's for depots.
  var FORCES = [
    ["fire", "rescue_teams", "fire_station,professional_fire", "fire_engine"],
    ["ladder", "rescue_teams", "fire_station,professional_fire", "aerial_ladder"],
    ["hazmat", "rescue_teams", "hazmat", "hazmat"],
    ["medical", "rescue_teams", "medical", "ambulance"],
    ["mine", "rescue_teams", "mine_rescue", "mine_rescue"],
    ["depots", "material_depots", "", "materials_truck"]
  ];
  function forceLabel(f, page) {
    if (f[0] === "ladder") return SafeMap.enumLabel("vehicle_profile", f[3]);
    if (!f[2]) return page.info[f[1]] ? page.info[f[1]].label : f[1];
    return f[2].split(",").map(function (k) { return SafeMap.enumLabel("team_kind", k); }).join("、");
  }
  var RULE_STYLE = {
    lane_width: "#d50000", lane_clear_height: "#d50000", lane_slope: "#d50000", lane_obstructed: "#6a1b9a",
    lane_load: "#ff6d00", turnaround: "#d50000", turnaround_high_rise: "#d50000", turnaround_heavy: "#d50000",
    hydrant_spacing: "#1565c0", hydrant_cover: "#0277bd", hydrant_status: "#37474f", response_time: "#c2185b"
  };

  function build(container, page) {
    var map = page.map;
    var state = {
      bands: L.layerGroup().addTo(map), locate: L.layerGroup().addTo(map), review: L.layerGroup().addTo(map),
      last: {}, busy: false
    };
    var forceOptions = C.options(FORCES.map(function (f) { return [f[0], forceLabel(f, page)]; }), "fire");
    container.innerHTML =
      '<div class="sm-cv-tabs">' +
      '<button type="button" data-tab="areas" class="sm-active">服务范围</button>' +
      '<button type="button" data-tab="report">覆盖率</button>' +
      '<button type="button" data-tab="locate">新站选址</button>' +
      '<button type="button" data-tab="review">通道核查</button></div>' +
      '<label class="sm-cv-forcebox">救援力量<select class="sm-cv-force">' + forceOptions + "</select></label>" +
      '<section data-tab="areas">' +
      '<label>时间阈值（分钟）<input class="sm-cv-thresholds" value="5,10,15,30"></label>' +
      '<button type="button" class="sm-cv-areas sm-cv-primary">计算服务范围</button>' +
      '<div class="sm-cv-legend"></div></section>' +
      '<section data-tab="report" hidden>' +
      '<label>标准到场时间（分钟）<input class="sm-cv-standard" type="number" min="1" max="180" value="5"></label>' +
      '<button type="button" class="sm-cv-report sm-cv-primary">生成覆盖率报告</button>' +
      '<div class="sm-cv-report-out"></div></section>' +
      '<section data-tab="locate" hidden>' +
      '<label>目标<select class="sm-cv-problem"><option value="mclp">最大覆盖（MCLP）</option>' +
      '<option value="pcenter">最长到场时间最短（p-center）</option></select></label>' +
      '<div class="sm-cv-row"><label>新增数量<input class="sm-cv-k" type="number" min="1" max="10" value="2"></label>' +
      '<label>需求<select class="sm-cv-demand"><option value="population">防护目标人口</option>' +
      '<option value="hazard_sources">危险源</option><option value="enterprises">企业</option></select></label></div>' +
      '<label>候选点<select class="sm-cv-candidates"><option value="nodes">道路交叉口（每 1 km 一个）</option>' +
      '<option value="grid">1 km 网格</option></select></label>' +
      '<button type="button" class="sm-cv-locate sm-cv-primary">计算选址</button>' +
      '<div class="sm-cv-locate-out"></div></section>' +
      '<section data-tab="review" hidden>' +
      '<div class="sm-cv-note">逐条核查消防车道净宽、净高、坡度、回车场、占用、承载，消火栓保护半径与间距，' +
      '以及水罐消防车、登高消防车能否在标准时间内到达每个企业和防护目标。</div>' +
      '<button type="button" class="sm-cv-review sm-cv-primary">核查消防车道与消火栓</button>' +
      '<div class="sm-cv-review-out"></div></section>' +
      '<div class="sm-panel-error" hidden></div>';
    var $ = C.finder(container);
    var errorBox = $(".sm-panel-error");
    var groups = { areas: state.bands, locate: state.locate, review: state.review };

    function showTab(tab) {
      Array.prototype.forEach.call(container.querySelectorAll(".sm-cv-tabs button"), function (b) {
        b.classList.toggle("sm-active", b.getAttribute("data-tab") === tab);
      });
      Array.prototype.forEach.call(container.querySelectorAll("section[data-tab]"), function (sec) {
        sec.hidden = sec.getAttribute("data-tab") !== tab;
      });
      $(".sm-cv-forcebox").hidden = tab === "review";
      // One analysis on the map at a time: the others' drawings come back when their tab does.
      Object.keys(groups).forEach(function (k) {
        if (k === tab) { if (!map.hasLayer(groups[k])) groups[k].addTo(map); } else { map.removeLayer(groups[k]); }
      });
      state.tab = tab;
    }
    Array.prototype.forEach.call(container.querySelectorAll(".sm-cv-tabs button"), function (b) {
      b.addEventListener("click", function () { showTab(b.getAttribute("data-tab")); });
    });

    function force() {
      var code = $(".sm-cv-force").value;
      for (var i = 0; i < FORCES.length; i++) if (FORCES[i][0] === code) return FORCES[i];
      return FORCES[0];
    }

    function run(button, promise, done) {
      errorBox.hidden = true;
      return C.run(button, promise, {
        busy: "计算中…",
        done: done,
        fail: function (err) {
          errorBox.textContent = "计算失败：" + err.message;
          errorBox.hidden = false;
        }
      });
    }

    /* ---------------------------------------------------------------- service areas */
    function drawBands(fc, group, legendEl) {
      group.clearLayers();
      var feats = fc.features.slice().reverse();  // outer bands first, inner on top
      feats.forEach(function (f) {
        if (!f.geometry) return;
        var c = BAND_COLOURS[f.properties.band % BAND_COLOURS.length];
        // A thick outline keeps 200 m wide strips along rural roads visible at county scale.
        L.geoJSON(f, { style: { color: c, weight: 4, opacity: 0.75, fillColor: c, fillOpacity: 0.45 }, interactive: false }).addTo(group);
      });
      if (legendEl) {
        legendEl.innerHTML = fc.features.map(function (f) {
          var c = BAND_COLOURS[f.properties.band % BAND_COLOURS.length];
          return '<div><i style="background:' + c + '"></i>' + esc(f.properties.label) + "　" +
            f.properties.band_km2.toFixed(1) + " km²（累计 " + f.properties.area_km2.toFixed(1) + " km²）</div>";
        }).join("") + '<div class="sm-cv-note">' + esc(fc.facilities.length) + " 个队站/储备库参与计算（" +
          esc(SafeMap.enumLabel("vehicle_profile", fc.vehicle)) + "）；范围由到达的路段（含部分到达）两侧 100 m 构成，非凸包。</div>";
      }
    }

    $(".sm-cv-areas").addEventListener("click", function () {
      var f = force();
      var parts = $(".sm-cv-thresholds").value.split(/[,，\s]+/).filter(function (s) { return s !== ""; });
      var body = { layer: f[1], vehicle: f[3], thresholds_min: parts.map(Number) };
      body.kinds = f[2] ? f[2].split(",") : null;
      run(this, SafeMap.api("api/coverage/service-areas", { method: "POST", body: body }), function (fc) {
        state.last.areas = fc;
        drawBands(fc, state.bands, $(".sm-cv-legend"));
        // 分析结果: a named layer-control entry with its legend and 清除; kept when the panel closes.
        SafeMap.results.add("coverage-areas", "服务范围（" + forceLabel(force(), page) + "）", state.bands, {
          legend: $(".sm-cv-legend").innerHTML, color: BAND_COLOURS[0],
          onClear: function () { $(".sm-cv-legend").innerHTML = ""; delete state.last.areas; }
        });
      });
    });

    /* ---------------------------------------------------------------- coverage report */
    $(".sm-cv-report").addEventListener("click", function () {
      var std = Number($(".sm-cv-standard").value) || 5;
      run(this, SafeMap.api("api/coverage/report?standard_min=" + std), function (rep) {
        state.last.report = rep;
        var out = $(".sm-cv-report-out");
        var html = '<div class="sm-cv-note">标准：' + rep.standard.minutes + " 分钟（" + esc(rep.standard.clause) +
          "，含出动准备 " + C.mmss(rep.standard.turnout_s) + "），" + rep.teams.length + " 个队站</div>" +
          '<table class="sm-cv-table"><tr><th>对象</th><th>覆盖</th><th>比例</th><th>人口比例</th></tr>';
        rep.summary.forEach(function (s) {
          html += "<tr><td>" + esc(s.label) + '</td><td class="sm-cv-num">' + s.covered + "/" + s.count +
            '</td><td class="sm-cv-num">' + pct(s.share) + '</td><td class="sm-cv-num">' +
            (s.population ? pct(s.population_share) : "") + "</td></tr>";
        });
        rep.by_grade.forEach(function (g) {
          html += "<tr><td>危险源 " + esc(g.grade) + '</td><td class="sm-cv-num">' + g.covered + "/" + g.count +
            '</td><td class="sm-cv-num">' + pct(g.share) + "</td><td></td></tr>";
        });
        html += "</table><details><summary>各乡镇（" + rep.by_township.length + "）</summary>" +
          '<table class="sm-cv-table"><tr><th>乡镇</th><th>防护目标</th><th>人口</th><th>危险源</th></tr>';
        rep.by_township.forEach(function (t) {
          html += "<tr><td>" + esc(t.township) + '</td><td class="sm-cv-num">' + pct(t.protected_targets_share) +
            '</td><td class="sm-cv-num">' + pct(t.population_share) + '</td><td class="sm-cv-num">' +
            (t.hazard_sources_count ? pct(t.hazard_sources_share) : "—") + "</td></tr>";
        });
        var shown = Math.min(rep.uncovered.length, UNCOVERED_SHOWN);
        html += "</table></details><div class=\"sm-cv-subtitle\">未覆盖 " + rep.uncovered.length + " 个" +
          (shown < rep.uncovered.length ? "（显示前 " + shown + " 个，共 " + rep.uncovered.length + " 个；全部见导出的“未覆盖对象”表）" : "") +
          "，点击定位</div>" + '<ol class="sm-cv-list">';
        rep.uncovered.slice(0, shown).forEach(function (u) {
          html += '<li data-layer="' + esc(u.layer) + '" data-id="' + u.id + '">' + esc(u.name) + "　<b>" +
            esc(minutes(u.response_min)) + "</b>" + (u.nearest_team ? "（" + esc(u.nearest_team) + "）" : "（" + esc(u.reason) + "）") + "</li>";
        });
        html += "</ol>";
        var lacking = rep.depots.townships_without_depot;
        html += '<div class="sm-cv-note">' + rep.depots.limit_min + " 分钟内无物资储备库可达的乡镇：" +
          (lacking.length ? esc(lacking.map(function (t) { return t.township; }).join("、")) : "无") + "</div>";
        html += '<div class="sm-cv-links">导出 CSV：' + ["summary", "by_township", "uncovered", "depots"].map(function (t) {
          var name = { summary: "覆盖统计", by_township: "乡镇覆盖统计", uncovered: "未覆盖对象", depots: "储备库可达" }[t];
          return '<a href="' + esc(SafeMap.url("api/coverage/report?format=csv&standard_min=" + std + "&table=" + t)) + '" download>' + name + "</a>";
        }).join(" ") + "</div>";
        out.innerHTML = html;
      });
    });

    container.addEventListener("click", function (ev) {
      var li = ev.target.closest ? ev.target.closest("li[data-layer]") : null;
      if (!li) return;
      var layer = li.getAttribute("data-layer"), id = Number(li.getAttribute("data-id"));
      var lyr = SafeMap.find(layer, id);
      if (lyr && !lyr.getLatLng) {
        // An area (a compound, a village outline): SafeMap.show expects a point in clustered layers.
        var centre = lyr.getBounds().getCenter();
        map.fitBounds(lyr.getBounds(), { maxZoom: 16, padding: [60, 60], animate: false });
        lyr.fire("click", { latlng: centre }, true);
      } else if (!SafeMap.show(layer, id)) {
        var f = state.findingsById && state.findingsById[layer + ":" + id];
        if (f) map.fitBounds(f.getBounds ? f.getBounds() : L.latLngBounds([f.getLatLng()]), { maxZoom: 17 });
      }
    });

    /* ---------------------------------------------------------------- location-allocation */
    $(".sm-cv-locate").addEventListener("click", function () {
      var f = force();
      var body = {
        problem: $(".sm-cv-problem").value, k: Number($(".sm-cv-k").value) || 1, layer: f[1], vehicle: f[3],
        demand: $(".sm-cv-demand").value, candidates: { source: $(".sm-cv-candidates").value }
      };
      body.kinds = f[2] ? f[2].split(",") : null;
      run(this, SafeMap.api("api/coverage/locate", { method: "POST", body: body }), function (res) {
        state.last.locate = res;
        state.locate.clearLayers();
        var before = res.areas.features[0], after = res.areas.features[1];
        if (after.geometry) L.geoJSON(after, { style: { color: "#2e7d32", weight: 1, fillColor: "#66bb6a", fillOpacity: 0.35 }, interactive: false }).addTo(state.locate);
        if (before.geometry) L.geoJSON(before, { style: { color: "#455a64", weight: 2, dashArray: "5 4", fill: false }, interactive: false }).addTo(state.locate);
        res.sites.forEach(function (s) {
          L.marker([s.lat, s.lon], {
            icon: L.divIcon({ className: "sm-cv-site", html: "<span>新址" + s.rank + "</span>", iconSize: [52, 30], iconAnchor: [26, 30] }),
            title: "新址" + s.rank + "：" + s.road, zIndexOffset: 1000
          }).addTo(state.locate);
        });
        if (res.sites.length) {
          map.fitBounds(L.latLngBounds(res.sites.map(function (s) { return [s.lat, s.lon]; })).pad(0.5),
            { maxZoom: 13, animate: false });
        }
        var isMclp = res.problem === "mclp";
        var gap = res.optimal ? "已证明最优" : "与最优差距 ≤ " + ((res.gap || 0) * 100).toFixed(2) + "%";
        $(".sm-cv-locate-out").innerHTML =
          '<div class="sm-cv-note" title="' + esc("求解器：" + res.solver + "，用时 " + res.seconds + " 秒") + '">' +
          esc(res.method_label || "最优选址") + "：候选点 " + res.candidates.count + " 个；" + esc(gap) + "</div>" +
          '<table class="sm-cv-table"><tr><th></th><th>选址前</th><th>选址后</th></tr>' +
          "<tr><td>" + esc(minutes(res.radius_min)) + " 内覆盖" + esc(res.demand_label) + '</td><td class="sm-cv-num">' + pct(res.before.covered_share) +
          '</td><td class="sm-cv-num"><b>' + pct(res.after.covered_share) + "</b></td></tr>" +
          '<tr><td>最长行车时间</td><td class="sm-cv-num">' + minutes(res.before.worst_travel_min) + '</td><td class="sm-cv-num"><b>' +
          minutes(res.after.worst_travel_min) + "</b></td></tr></table>" +
          '<ol class="sm-cv-list">' + res.sites.map(function (s) {
            return '<li><span class="sm-cv-pin">新址' + s.rank + "</span> " + esc(s.road) + "（" + s.lon.toFixed(5) + ", " + s.lat.toFixed(5) + "）" +
              (isMclp ? "，单独新增覆盖 " + esc(C.count(Math.round(s.alone_adds_weight), res.demand_unit || "个")) : "") + "</li>";
          }).join("") + "</ol>" +
          '<div class="sm-cv-legend"><div><i style="background:#66bb6a"></i>选址后 ' + after.properties.area_km2.toFixed(1) +
          ' km²</div><div><i class="sm-cv-dash"></i>选址前 ' + before.properties.area_km2.toFixed(1) + " km²</div></div>";
        SafeMap.results.add("coverage-locate", "新站选址（" + res.sites.length + " 处）", state.locate, {
          legend: '<div><i style="background:#66bb6a"></i>选址后覆盖范围</div>' +
            '<div><i style="border:2px dashed #455a64"></i>选址前覆盖范围</div><div><span class="sm-cv-pin">新址1</span> 拟建站址（编号）</div>',
          color: "#2e7d32", onClear: function () { $(".sm-cv-locate-out").innerHTML = ""; delete state.last.locate; }
        });
      });
    });

    /* ---------------------------------------------------------------- fire-access review */
    $(".sm-cv-review").addEventListener("click", function () {
      run(this, SafeMap.api("api/access/review"), function (rev) {
        state.last.review = rev;
        state.review.clearLayers();
        state.findingsById = {};
        var drawn = L.geoJSON(rev.findings, {
          style: function (f) {
            var p = f.properties, c = RULE_STYLE[p.rule] || "#d50000";
            if (p.layer === "roads") return { color: c, weight: 6, opacity: 0.85, dashArray: "8 6" };
            return { color: c, weight: p.layer === "fire_lanes" ? 7 : 2, opacity: 0.9, fillOpacity: 0.2 };
          },
          pointToLayer: function (f, ll) {
            var c = RULE_STYLE[f.properties.rule] || "#d50000";
            return L.circleMarker(ll, { radius: 7, color: "#fff", weight: 2, fillColor: c, fillOpacity: 0.95 });
          },
          onEachFeature: function (f, lyr) {
            var p = f.properties;
            lyr.bindPopup('<div class="sm-cv-popup"><b>' + esc(p.label) + "</b><br>" + esc(p.message) +
              "<br>实测：" + (p.measured === null ? "—" : esc(p.measured) + " " + esc(p.unit)) + "　限值：" + esc(p.comparison) + " " +
              esc(p.required) + " " + esc(p.unit) + "<br>条款：" + esc(p.clause) + "</div>");
            state.findingsById[p.layer + ":" + p.feature_id] = lyr;
          }
        }).addTo(state.review);
        state.reviewLayer = drawn;
        SafeMap.results.add("coverage-review", "消防通道核查（" + rev.findings.features.length + " 处问题）", state.review, {
          legend: rev.summary.map(function (s) {
            return '<div><i style="background:' + (RULE_STYLE[s.rule] || "#d50000") + '"></i>' + esc(s.label) + " " + s.count + "</div>";
          }).join(""),
          color: "#d50000", onClear: function () { $(".sm-cv-review-out").innerHTML = ""; state.reviewLayer = null; }
        });
        var html = '<table class="sm-cv-table"><tr><th>规则</th><th>条款</th><th>数量</th></tr>';
        rev.summary.forEach(function (s) {
          html += '<tr><td><i class="sm-cv-swatch" style="background:' + (RULE_STYLE[s.rule] || "#d50000") + '"></i>' +
            esc(s.label) + "</td><td>" + esc(s.clause) + '</td><td class="sm-cv-num">' + s.count + "</td></tr>";
        });
        html += "</table>";
        var lanes = rev.findings.features.filter(function (f) { return f.properties.layer === "fire_lanes"; });
        html += '<div class="sm-cv-subtitle">消防车道问题（' + lanes.length + "，点击定位）</div><ol class=\"sm-cv-list\">" +
          lanes.map(function (f) {
            var p = f.properties;
            return '<li data-layer="fire_lanes" data-id="' + p.feature_id + '">' + esc(p.message) + "</li>";
          }).join("") + "</ol>";
        if (rev.dem && rev.dem.used) html += '<div class="sm-cv-note">未填坡度的车道按 DEM 计算' + (rev.dem.synthetic ? "（演示用合成 DEM）" : "") + "</div>";
        html += '<div class="sm-cv-links"><a href="' + esc(SafeMap.url("api/access/review?format=html")) + '" target="_blank" rel="noopener">打印报告</a> ' +
          '<a href="' + esc(SafeMap.url("api/access/review?format=csv")) + '" download>导出 CSV</a></div>';
        $(".sm-cv-review-out").innerHTML = html;
      });
    });
    return state;
  }

  SafeMap.registerPanel("coverage", build);
})(window.SafeMap);

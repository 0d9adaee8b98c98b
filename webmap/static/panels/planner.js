/*
 * 选址核查 (planner) panel: place or draw a proposed site, choose its kind, run the site
 * check (POST /api/safety/site-check) and draw every rule check with its distances, the
 * consequence zones and the failing targets; export the report (HTML, CSV, GeoJSON).
 * Overlays: individual-risk raster and contours (GB 36894), major-hazard grades
 * (GB 18218), the four-colour enterprise risk map, and the separation violations.
 * ES2015 only, Chinese UI, nothing loaded from outside the app.
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc, fmt = C.fmt;

  var KINDS = [
    ["school", "新建学校"], ["kindergarten", "幼儿园"], ["hospital", "医院"], ["nursing_home", "养老院"],
    ["residential", "居民住宅"], ["market", "商场/集贸市场"], ["office", "办公楼"], ["fire_station", "消防站"],
    ["fuel_station", "加油站"], ["lpg_depot", "液化石油气储配站"], ["chemical_warehouse", "化学品仓库"],
    ["tank_farm", "易燃液体储罐区"], ["explosives_store", "爆炸物品库"]
  ];
  // Inputs shown per kind: [property, label, default, type].
  var FIELDS = {
    target: [["population", "人数（人）", "", "number"], ["gb50156_class", "GB 50156 保护物类别", "", "enum:gb50156_class"]],
    fuel_station: [["gasoline_m3", "汽油罐总容积（m³）", 60, "number"], ["diesel_m3", "柴油罐总容积（m³，折半计）", 60, "number"],
      ["max_tank_m3", "单罐最大容积（m³）", 30, "number"],
      ["vapour_recovery", "油气回收", "full", "select:none=无油气回收,unloading=卸油油气回收,full=卸油和加油油气回收"]],
    lpg_depot: [["volume_m3", "储罐总容积（m³）", 150, "number"], ["single_tank_m3", "单罐容积（m³）", 50, "number"]],
    tank_farm: [["volume_m3", "储罐总容积（m³）", 2000, "number"], ["single_tank_m3", "单罐容积（m³）", 1000, "number"],
      ["liquid", "液体", "汽油", "select:汽油=汽油,甲醇=甲醇,柴油=柴油（丙类）,柴油（-35号）=-35号柴油（乙类）"]],
    explosives_store: [["tnt_kg", "炸药量（TNT当量，kg）", 1000, "number"]],
    chemical_warehouse: [["substances", "储存物质（每行：名称 吨数，如 氯 3）", "氯 3", "textarea"]]
  };
  // Major-hazard grades 1–4 (GB 18218) are drawn in the four risk colours, red to blue
  // (catalogue enum risk_level).
  function gradeColour(grade) {
    var risk = SafeMap.enumMembers("risk_level")[grade - 1];
    return risk ? risk[2] : "#757575";
  }
  var GRADE_LABELS = { 1: "一级", 2: "二级", 3: "三级", 4: "四级" };
  // Three-valued verdicts (catalogue enum verdict_status): colour and mark per status code.
  var STATUS_COLOURS = { pass: "#2e7d32", fail: "#d50000", cannot_check: "#b26a00" };
  var STATUS_MARKS = { pass: "✓", fail: "✗", cannot_check: "?" };
  var STATUS_CSS = { pass: "sm-pl-good", fail: "sm-pl-bad", cannot_check: "sm-pl-unknown" };
  function statusLabel(code) {
    var m = SafeMap.enumMembers("verdict_status").filter(function (x) { return x[0] === code; })[0];
    return m ? m[1] : code;
  }
  function enumLabel(name, code) {
    var m = SafeMap.enumMembers(name).filter(function (x) { return x[0] === code; })[0];
    return m ? m[1] : code;
  }
  var ZONE_COLOURS = ["#b71c1c", "#e65100", "#f9a825", "#1565c0", "#6a1b9a", "#00838f"];
  // Existing separation violations: dashed magenta (fire lanes and closed roads are red).
  var VIOLATION_STYLE = {
    fail: { color: "#d500f9", weight: 4, dash: "10 6" },
    cannot_check: { color: "#8e24aa", weight: 3, dash: "2 6" }
  };
  var OVERLAY_COLOURS = { risk: "#d32f2f", contours: "#f57c00", grades: "#000000", fourcolour: "#1565c0", violations: "#d500f9" };
  function contourColour(lv) {
    return lv >= 3e-5 ? "#7f0000" : lv >= 1e-5 ? "#d32f2f" : lv >= 3e-6 ? "#f57c00" : "#fbc02d";
  }

  function build(container, page) {
    var map = page.map;
    var state = { geometry: null, drawing: null, result: null, layers: L.layerGroup().addTo(map), overlays: {} };
    container.innerHTML =
      '<fieldset class="sm-pl-layers"><legend>专题图层</legend>' +
      '<label><input type="checkbox" data-overlay="risk"> 个人风险栅格（GB 36894）</label>' +
      '<label><input type="checkbox" data-overlay="contours"> 个人风险等值线</label>' +
      '<label><input type="checkbox" data-overlay="grades"> 重大危险源分级（GB 18218）</label>' +
      '<label><input type="checkbox" data-overlay="fourcolour"> 企业安全风险四色图</label>' +
      '<label><input type="checkbox" data-overlay="violations"> 现有安全间距违规</label>' +
      '<div class="sm-pl-legend"></div></fieldset>' +
      '<div class="sm-pl-row"><label>拟建场所类型<select class="sm-pl-kind"></select></label></div>' +
      '<label>名称<input class="sm-pl-name" placeholder="如：城东新建小学"></label>' +
      '<div class="sm-pl-fields"></div>' +
      '<div class="sm-pl-buttons"><button type="button" class="sm-pl-click" title="在地图上单击一个位置">点选位置</button>' +
      '<button type="button" class="sm-pl-draw" title="单击添加顶点，双击结束">绘制范围</button>' +
      '<button type="button" class="sm-pl-clear">清除</button></div>' +
      '<div class="sm-pl-hint"></div>' +
      '<button type="button" class="sm-pl-run sm-pl-primary" disabled>开始核查</button>' +
      '<div class="sm-panel-error" hidden></div>' +
      '<div class="sm-pl-export" hidden><span>导出报告：</span>' +
      '<button type="button" data-fmt="html">HTML</button><button type="button" data-fmt="csv">CSV</button>' +
      '<button type="button" data-fmt="geojson">GeoJSON</button></div>' +
      '<div class="sm-pl-result"></div>';
    var $ = C.finder(container);
    var kindSel = $(".sm-pl-kind");
    KINDS.forEach(function (k) {
      var o = document.createElement("option");
      o.value = k[0];
      o.textContent = k[1];
      kindSel.appendChild(o);
    });
    var hint = $(".sm-pl-hint"), errorBox = $(".sm-panel-error"), runBtn = $(".sm-pl-run");

    function kindRole(code) {
      return ["fuel_station", "lpg_depot", "chemical_warehouse", "tank_farm", "explosives_store"].indexOf(code) >= 0 ? code : "target";
    }

    function renderFields() {
      var box = $(".sm-pl-fields");
      box.innerHTML = "";
      (FIELDS[kindRole(kindSel.value)] || []).forEach(function (f) {
        var label = document.createElement("label");
        label.textContent = f[1];
        var input;
        if (f[3].indexOf("enum:") === 0) {
          // Options from the catalogue enum; empty: the class is derived from the kind (按类别推定).
          input = document.createElement("select");
          [["", enumLabel("class_basis", "derived")]].concat(SafeMap.enumMembers(f[3].slice(5))).forEach(function (m) {
            var o = document.createElement("option");
            o.value = m[0];
            o.textContent = m[1];
            input.appendChild(o);
          });
        } else if (f[3].indexOf("select:") === 0) {
          input = document.createElement("select");
          f[3].slice(7).split(",").forEach(function (pair) {
            var kv = pair.split("="), o = document.createElement("option");
            o.value = kv[0];
            o.textContent = kv[1];
            input.appendChild(o);
          });
        } else if (f[3] === "textarea") {
          input = document.createElement("textarea");
          input.rows = 3;
        } else {
          input = document.createElement("input");
          input.type = "number";
          input.min = "0";
          input.step = "any";
        }
        input.value = f[2];
        input.setAttribute("data-prop", f[0]);
        label.appendChild(input);
        box.appendChild(label);
      });
    }

    function properties() {
      var props = {};
      var inputs = $(".sm-pl-fields").querySelectorAll("[data-prop]");
      for (var i = 0; i < inputs.length; i++) {
        var el = inputs[i], key = el.getAttribute("data-prop"), v = el.value.trim();
        if (v === "") continue;
        if (key === "substances") {
          props.substances = v.split(/\n+/).filter(function (l) { return l.trim(); }).map(function (line) {
            var parts = line.trim().split(/[\s,，:：]+/);
            return { name: parts[0], quantity_t: parseFloat(parts[1] || "0") };
          });
        } else if (el.type === "number") {
          props[key] = parseFloat(v);
        } else {
          props[key] = v;
        }
      }
      return props;
    }

    function body() {
      return { geometry: state.geometry, kind: kindSel.value, name: $(".sm-pl-name").value.trim() || null, properties: properties() };
    }

    /* ------------------------------------------------------------ placing and drawing */

    // A click that places a site is not a click on the feature underneath: while placing
    // (and shortly after, for features found by the server under the click), the click
    // opens no popup.
    state.quietUntil = 0;
    SafeMap.hooks.on("featureclick", function () {
      return !!state.drawing || Date.now() < state.quietUntil;
    });
    function swallowPopup() {
      state.quietUntil = Date.now() + 1500;
      map.closePopup();
    }

    function stopDrawing() {
      if (!state.drawing) return;
      map.off("click", state.drawing.onClick);
      map.off("dblclick", state.drawing.onDbl);
      map.doubleClickZoom.enable();
      map.getContainer().classList.remove("sm-pl-crosshair");
      if (state.drawing.preview) map.removeLayer(state.drawing.preview);
      state.drawing = null;
    }

    function setSite(geometry) {
      state.geometry = geometry;
      state.layers.clearLayers();
      L.geoJSON(geometry, {
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, { radius: 8, color: "#0d47a1", weight: 3, fillColor: "#1565c0", fillOpacity: 0.7 });
        },
        style: { color: "#0d47a1", weight: 3, fillColor: "#1565c0", fillOpacity: 0.3 }
      }).addTo(state.layers);
      runBtn.disabled = false;
      hint.textContent = geometry.type === "Point" ? "已选位置：" + geometry.coordinates[1].toFixed(5) + "°N, " +
        geometry.coordinates[0].toFixed(5) + "°E" : "已绘制范围（" + (geometry.coordinates[0].length - 1) + " 个顶点）";
    }

    function startClick() {
      stopDrawing();
      hint.textContent = "请在地图上单击拟建场所的位置";
      map.getContainer().classList.add("sm-pl-crosshair");
      var onClick = function (e) {
        swallowPopup();
        stopDrawing();
        setSite({ type: "Point", coordinates: [e.latlng.lng, e.latlng.lat] });
      };
      state.drawing = { onClick: onClick, onDbl: function () {} };
      map.on("click", onClick);
    }

    function startDraw() {
      stopDrawing();
      hint.textContent = "单击添加顶点，双击结束（至少3个顶点）";
      map.getContainer().classList.add("sm-pl-crosshair");
      map.doubleClickZoom.disable();
      var pts = [];
      var d = { preview: L.polygon([], { color: "#0d47a1", dashArray: "4 4", weight: 2, fillOpacity: 0.1 }).addTo(map) };
      d.onClick = function (e) {
        swallowPopup();
        // A double click also sends two clicks: ignore a vertex on top of the last one.
        var last = pts[pts.length - 1];
        if (last && map.latLngToContainerPoint(last).distanceTo(map.latLngToContainerPoint(e.latlng)) < 4) return;
        pts.push(e.latlng);
        d.preview.setLatLngs(pts);
      };
      d.onDbl = function () {
        swallowPopup();
        if (pts.length < 3) { hint.textContent = "至少需要3个顶点"; return; }
        var ring = pts.map(function (p) { return [p.lng, p.lat]; });
        ring.push(ring[0]);
        stopDrawing();
        setSite({ type: "Polygon", coordinates: [ring] });
      };
      state.drawing = d;
      map.on("click", d.onClick);
      map.on("dblclick", d.onDbl);
    }

    /** Test hook and keyboard-free entry: place a site from GeoJSON. */
    state.setSite = setSite;

    /* ------------------------------------------------------------ results */

    function draw(result) {
      state.layers.clearLayers();
      var zones = result.zones.features.slice().reverse();
      zones.forEach(function (z, i) {
        var colour = ZONE_COLOURS[(zones.length - 1 - i) % ZONE_COLOURS.length];
        L.geoJSON(z, { style: { color: colour, weight: 1.5, fillColor: colour, fillOpacity: 0.12 }, interactive: true })
          .bindTooltip(esc(z.properties.label) + "：区内 " + z.properties.population + " 人", { sticky: true })
          .addTo(state.layers);
      });
      result.checks.features.forEach(function (f) {
        var p = f.properties, colour = STATUS_COLOURS[p.status], passed = p.status === "pass";
        var line = L.geoJSON(f, { style: { color: colour, weight: passed ? 2 : 3, dashArray: "6 4" } }).addTo(state.layers);
        line.bindPopup("<b>" + esc(p.status_label) + "：" + esc(p.rule) + "</b><br>" + esc(p.standard) + " " + esc(p.clause) + "<br>要求 " +
          p.required_m + " m，实际 " + fmt(p.actual_m, 1) + " m" + (p.status === "fail" ? "，不足 " + fmt(p.shortfall_m, 1) + " m" : "") +
          (p.reason ? "<br>" + esc(p.reason) : ""));
        var coords = f.geometry.coordinates;
        if (!passed || result.checks.features.length <= 12) {
          var cls = p.status === "fail" ? " sm-pl-fail" : p.status === "cannot_check" ? " sm-pl-unsure" : "";
          L.tooltip({ permanent: true, direction: "top", offset: [0, -6], className: "sm-pl-dist" + cls })
            .setLatLng([(coords[0][1] + coords[coords.length - 1][1]) / 2, (coords[0][0] + coords[coords.length - 1][0]) / 2])
            .setContent(fmt(p.actual_m, 0) + "/" + p.required_m + " m" + (p.status === "cannot_check" ? " ?" : "")).addTo(state.layers);
        }
        if (!passed) {
          var end = result.site.properties.role === "target" ? coords[0] : coords[coords.length - 1];
          L.circleMarker([end[1], end[0]], { radius: 10, color: colour, weight: 3, fill: false }).addTo(state.layers);
        }
      });
      L.geoJSON(result.site, {
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, { radius: 8, color: "#0d47a1", weight: 3, fillColor: "#1565c0", fillOpacity: 0.8 });
        },
        style: { color: "#0d47a1", weight: 3, fillColor: "#1565c0", fillOpacity: 0.3 }
      }).addTo(state.layers);
      var bounds = L.geoJSON({ type: "FeatureCollection", features: [result.site].concat(result.checks.features, result.zones.features) }).getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [40, 40], maxZoom: 17, animate: false });
      // 分析结果: a named layer-control entry with its legend and 清除; kept when the panel closes.
      SafeMap.results.add("site-check", "选址核查：" + (result.site.properties.name || "拟建场所"), state.layers, {
        color: "#0d47a1",
        legend: '<div><i style="background:#1565c0;border-radius:50%"></i>拟建场所</div>' +
          ["pass", "fail", "cannot_check"].map(function (k) {
            return '<div><i style="border-top:3px dashed ' + STATUS_COLOURS[k] + ';height:0"></i>间距' + esc(statusLabel(k)) + "</div>";
          }).join("") +
          zones.slice().reverse().map(function (z, i) {
            var c = ZONE_COLOURS[i % ZONE_COLOURS.length];
            return '<div><i style="border:1.5px solid ' + c + ';background:' + c + '33"></i>' + esc(z.properties.label) + "</div>";
          }).join(""),
        onClear: clearSite
      });
    }

    function summary(result) {
      var s = result.summary, site = result.site.properties;
      var html = '<div class="sm-pl-verdict ' + STATUS_CSS[s.status] + '">' + esc(site.name) + "：" + esc(s.verdict) +
        '<div class="sm-pl-counts">' + ["pass", "fail", "cannot_check"].map(function (k) {
          return '<span class="sm-pl-count-' + k + '">' + esc(s.labels[k]) + " " + s.counts[k] + " 项</span>";
        }).join("") + "</div>" +
        (s.status === "cannot_check" ? '<div class="sm-pl-reason">' + esc(s.reason) + "</div>" : "") + "</div>";
      if (site.gb50156_class_basis_label) {
        html += "<p class='sm-pl-class'>GB 50156 保护物类别：" + esc(site.gb50156_class_label) + "（" + esc(site.gb50156_class_basis_label) +
          (site.gb50156_class_basis === "derived" ? "：" + esc(site.gb50156_class_note) : "") + "）</p>";
      } else if (site.gb50156_class_note) {
        // The note (why no class can be derived) is already in the checks' reasons: say what to do here.
        html += "<p class='sm-pl-class sm-pl-unknown' title='" + esc(site.gb50156_class_note) + "'>GB 50156 保护物类别：未填写，且不能按类别推定；" +
          "可在上方“GB 50156 保护物类别”中选择后重新核查</p>";
      }
      var rows = result.checks.features.slice(0, 40).map(function (f) {
        var p = f.properties;
        return '<tr class="sm-pl-row-' + p.status + '"><td title="' + esc(p.status_label) + '">' + STATUS_MARKS[p.status] + "</td><td>" +
          esc(p.status_label) + "　" + esc(p.standard) + " " + esc(p.clause) + "<br><small>" + esc(p.hazard_name) + " ↔ " + esc(p.target_name) +
          "</small>" + (p.status === "cannot_check" && p.reason ? '<br><small class="sm-pl-why">' + esc(p.reason) + "</small>" : "") +
          '</td><td class="sm-pl-num">' + fmt(p.actual_m, 1) + " / " + p.required_m + "</td></tr>";
      });
      if (rows.length) {
        html += '<table class="sm-pl-checks"><tr><th></th><th>规则</th><th>实际/要求 (m)</th></tr>' + rows.join("") + "</table>";
        if (result.checks.features.length > 40) html += "<small>另有 " + (result.checks.features.length - 40) + " 项，见导出报告</small>";
      } else {
        html += "<p>核查范围内没有可测量间距的对象。</p>";
      }
      if (result.unchecked_rules.length) {
        html += "<div class='sm-pl-unchecked'><b>" + esc(statusLabel("cannot_check")) + "的事项（" + result.unchecked_rules.length + " 项，请现场核实）</b><ul>" +
          result.unchecked_rules.slice(0, 12).map(function (u) {
            return "<li>" + esc(u.reason) + (u.standard ? "<small>（" + esc(u.standard) + " " + esc(u.clause) + "）</small>" : "") + "</li>";
          }).join("") + "</ul>" + (result.unchecked_rules.length > 12 ? "<small>其余见导出报告</small>" : "") + "</div>";
      }
      if (result.wind_checks && result.wind_checks.length) {
        html += "<div class='sm-pl-wind'><b>常年主导风向：消防站应在危险化学品场所的上风或侧风处（建标152）</b>" +
          '<table class="sm-pl-checks">' + result.wind_checks.slice(0, 12).map(function (w) {
            return '<tr class="sm-pl-row-' + w.status + '"><td title="' + esc(w.status_label) + '">' + STATUS_MARKS[w.status] + "</td><td>" +
              esc(w.status_label) + "　" + esc(w.target_name || "") + "<br><small>" + esc(w.reason || "") + "</small></td>" +
              '<td class="sm-pl-num">' + (w.distance_m === null || w.distance_m === undefined ? "—" : fmt(w.distance_m, 0) + " m") + "</td></tr>";
          }).join("") + "</table>" + (result.wind_checks.length > 12 ? "<small>其余见导出报告</small>" : "") + "</div>";
      }
      result.zones.features.forEach(function (z) {
        html += "<div class='sm-pl-zone'>" + esc(z.properties.label) + "：" + z.properties.population + " 人</div>";
      });
      var r = result.risk || {};
      if (r.ir_per_year !== undefined) {
        html += "<p>个人风险 " + C.rate(r.ir_per_year) + "；在役装置基准 " + C.rate(r.limit_existing_per_year, 0) +
          "：" + (r.exceeds_existing_limit ? "<b class='sm-pl-bad'>超过</b>" : "未超过") + "</p>";
      } else if (r.targets_over_limit) {
        html += "<p>新建装置个人风险超过 GB 36894 基准的防护目标：" + r.targets_over_limit.length + " 个" +
          (r.targets_over_limit.length ? "（" + r.targets_over_limit.map(function (t) { return esc(t.target_name); }).join("、") + "）" : "") + "</p>";
      }
      if (result.gb18218) {
        var g = result.gb18218;
        html += "<p>GB 18218：S = " + fmt(g.S, 3) + "，" + (g.is_major ? "构成重大危险源，R = " + fmt(g.R, 2) + "，" + esc(g.grade_label) : "不构成重大危险源") + "</p>";
      }
      $(".sm-pl-result").innerHTML = html;
    }

    function run() {
      if (!state.geometry) return;
      errorBox.hidden = true;
      C.run(runBtn, SafeMap.api("api/safety/site-check", { method: "POST", body: body() }), {
        busy: "核查中…",
        done: function (result) {
          state.result = result;
          draw(result);
          summary(result);
          $(".sm-pl-export").hidden = false;
        },
        fail: function (err) {
          errorBox.textContent = err.message;
          errorBox.hidden = false;
        }
      });
    }

    function download(fmtName) {
      if (!state.geometry) return;
      SafeMap.api("api/safety/site-check/report?format=" + fmtName, { method: "POST", body: body() }).then(function (r) {
        return fmtName === "geojson" ? new Blob([JSON.stringify(r)], { type: "application/geo+json" }) : r.blob();
      }).then(function (blob) {
        var url = URL.createObjectURL(blob);
        if (fmtName === "html") {
          window.open(url, "_blank");
        } else {
          var a = document.createElement("a");
          a.href = url;
          a.download = "选址核查." + fmtName;
          document.body.appendChild(a);
          a.click();
          a.remove();
        }
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      }, function (err) {
        errorBox.textContent = err.message;
        errorBox.hidden = false;
      });
    }

    /* ------------------------------------------------------------ overlays */

    var legends = {};
    function showLegend(name, html) {
      if (html) legends[name] = html; else delete legends[name];
      $(".sm-pl-legend").innerHTML = Object.keys(legends).map(function (k) { return legends[k]; }).join("");
    }

    function viewBbox() {
      var b = map.getBounds();
      return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    }

    function cellFor() {
      // About 600 cells across the view, never finer than 5 m nor coarser than 200 m.
      var b = map.getBounds(), widthM = map.distance(b.getSouthWest(), b.getSouthEast());
      return Math.max(5, Math.min(200, Math.round(widthM / 600)));
    }

    /*
     * The risk raster at county zoom: risk zones are a few hundred metres across, so the
     * image looks blank; a hint on the map says to zoom in (gone at street zoom or when off).
     */
    var HINT_ZOOM = 14, hintEl = null;
    function riskHint(on) {
      var show = on && map.getZoom() < HINT_ZOOM;
      if (show && !hintEl) {
        hintEl = L.DomUtil.create("div", "sm-res-hint sm-pl-zoomhint", map.getContainer());
        hintEl.innerHTML = "个人风险区范围较小，当前比例尺下几乎看不见：请<button type='button'>放大查看</button>";
        L.DomEvent.disableClickPropagation(hintEl);
        hintEl.querySelector("button").onclick = function () {
          var b = state.overlays.risk && state.overlays.risk.getBounds ? state.overlays.risk.getBounds() : null;
          map.setZoom(HINT_ZOOM, { animate: false });
          if (b && !map.getBounds().intersects(b)) map.setView(b.getCenter(), HINT_ZOOM, { animate: false });
        };
      } else if (!show && hintEl) {
        hintEl.remove();
        hintEl = null;
      }
    }
    map.on("zoomend", function () { riskHint(!!state.overlays.risk); });

    var OVERLAYS = {
      risk: function () {
        return SafeMap.api("api/safety/risk-raster?format=png&cell_m=" + cellFor() + "&bbox=" + viewBbox()).then(function (o) {
          showLegend("risk", "<div class='sm-pl-legtitle'>个人风险（最大 " + C.rate(o.max_per_year) + "）</div>" +
            o.legend.map(function (l) { return "<div><i style='background:" + l.color + "'></i>" + esc(l.label) + "</div>"; }).join(""));
          return L.imageOverlay(o.image, o.bounds, { opacity: 0.85, interactive: false });
        });
      },
      contours: function () {
        return SafeMap.api("api/safety/risk-contours?cell_m=" + cellFor() + "&bbox=" + viewBbox()).then(function (fc) {
          var seen = {};
          fc.features.forEach(function (f) { seen[f.properties.level_per_year] = f.properties.label; });
          var levels = Object.keys(seen).map(Number).sort(function (a, b) { return b - a; });
          showLegend("contours", "<div class='sm-pl-legtitle'>个人风险等值线（每年）</div>" + (levels.length ? levels.map(function (lv) {
            return "<div><i style='border-top:2px solid " + contourColour(lv) + ";height:0'></i>" + esc(seen[lv]) + "</div>";
          }).join("") : "<div>当前视图内无等值线：请放大到危险源附近</div>"));
          return L.geoJSON(fc, {
            style: function (f) {
              return { color: contourColour(f.properties.level_per_year), weight: 2 };
            },
            onEachFeature: function (f, l) { l.bindTooltip(esc(f.properties.label), { sticky: true }); }
          });
        });
      },
      grades: function () {
        return SafeMap.api("api/safety/hazard-grades").then(function (res) {
          var g = L.layerGroup();
          res.hazards.forEach(function (h) {
            if (!h.grade) return;
            L.circleMarker([h.lat, h.lon], { radius: 11, color: "#000", weight: 1.5, fillColor: gradeColour(h.grade), fillOpacity: 0.95 })
              .bindTooltip(esc(h.name) + "<br>" + esc(h.enterprise || "") + "<br>重大危险源" + GRADE_LABELS[h.grade] +
                "（S=" + fmt(h.s_value, 2) + "，R=" + fmt(h.r_value, 2) + "，500 m 内 " + h.exposed_population + " 人）" +
                (h.unit_name ? "<br>按所在单元“" + esc(h.unit_name) + "”整体辨识分级" : ""))
              .addTo(g);
          });
          showLegend("grades", "<div class='sm-pl-legtitle'>重大危险源等级（GB 18218）</div>" + [1, 2, 3, 4].map(function (k) {
            return "<div><i class='sm-pl-dot' style='background:" + gradeColour(k) + "'></i>" + GRADE_LABELS[k] + "</div>";
          }).join(""));
          return g;
        });
      },
      fourcolour: function () {
        var group = page.layers.enterprises;
        if (group && !map.hasLayer(group)) map.addLayer(group);
        var levels = SafeMap.enumMembers("risk_level"), counts = {};
        levels.forEach(function (m) { counts[m[2]] = 0; });
        (page.features.enterprises || []).forEach(function (l) {
          var c = l.options && l.options.fillColor;
          if (c in counts) counts[c] += 1;
        });
        showLegend("fourcolour", "<div class='sm-pl-legtitle'>企业安全风险四色图</div>" +
          levels.map(function (m) {
            return "<div><i class='sm-pl-dot' style='background:" + esc(m[2]) + "'></i>" + esc(m[1]) + "（" + counts[m[2]] + " 家）</div>";
          }).join(""));
        return Promise.resolve(L.layerGroup());
      },
      violations: function () {
        return SafeMap.api("api/safety/violations").then(function (fc) {
          var n = { fail: 0, cannot_check: 0 };
          fc.features.forEach(function (f) { n[f.properties.status] = (n[f.properties.status] || 0) + 1; });
          showLegend("violations", "<div class='sm-pl-legtitle'>现有安全间距核查</div>" + ["fail", "cannot_check"].map(function (k) {
            return "<div><i style='border-top:3px dashed " + VIOLATION_STYLE[k].color + ";height:0'></i>" + esc(statusLabel(k)) + " " + n[k] + " 处</div>";
          }).join(""));
          return L.geoJSON(fc, {
            // Dashed magenta: never confused with the red lines of fire lanes or closed roads.
            style: function (f) {
              var v = VIOLATION_STYLE[f.properties.status] || VIOLATION_STYLE.fail;
              return { color: v.color, weight: v.weight, dashArray: v.dash, lineCap: "butt", opacity: 0.95 };
            },
            onEachFeature: function (f, l) {
              var p = f.properties;
              l.bindTooltip("<b>" + esc(p.status_label) + "</b>：" + esc(p.hazard_name) + " ↔ " + esc(p.target_name) + "<br>实际 " +
                fmt(p.actual_m, 1) + " m，要求 " + p.required_m + " m（" + esc(p.standard) + " " + esc(p.clause) + "）" +
                (p.reason ? "<br>" + esc(p.reason) : "") + (p.class_basis_label ? "<br>目标类别" + esc(p.class_basis_label) : ""), { sticky: true });
            }
          });
        });
      }
    };

    var OVERLAY_LABELS = {
      risk: "个人风险栅格", contours: "个人风险等值线", grades: "重大危险源分级", fourcolour: "企业安全风险四色图",
      violations: "现有安全间距违规"
    };
    function toggleOverlay(name, on) {
      // Redone for a new view: the old drawing stays until the new one arrives.
      var old = state.overlays[name];
      if (old && !on) {
        map.removeLayer(old);
        delete state.overlays[name];
      }
      if (!on) {
        showLegend(name, null);
        SafeMap.results.remove("planner-" + name);
        if (name === "risk") riskHint(false);
        return Promise.resolve(null);
      }
      return OVERLAYS[name]().then(function (layer) {
        var box = container.querySelector('[data-overlay="' + name + '"]');
        if (box && !box.checked) return null;  // cleared (清除) or unticked while it was computed
        if (state.overlays[name] && state.overlays[name] !== layer) map.removeLayer(state.overlays[name]);
        state.overlays[name] = layer.addTo(map);
        SafeMap.results.add("planner-" + name, OVERLAY_LABELS[name], layer, {
          legend: (legends[name] || "").replace(/<div class='sm-pl-legtitle'>[^<]*<\/div>/, ""), color: OVERLAY_COLOURS[name],
          onClear: function () {
            if (box) box.checked = false;
            if (state.overlays[name]) { map.removeLayer(state.overlays[name]); delete state.overlays[name]; }
            showLegend(name, null);
            if (name === "risk") riskHint(false);
          }
        });
        if (name === "risk") riskHint(true);
        return layer;
      }, function (err) {
        errorBox.textContent = err.message;
        errorBox.hidden = false;
      });
    }
    state.toggleOverlay = toggleOverlay;

    // The risk raster and contours are computed for the view: redo them after a pan or zoom.
    var refreshTimer = null;
    map.on("moveend", function () {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(function () {
        ["risk", "contours"].forEach(function (name) {
          if (state.overlays[name]) toggleOverlay(name, true);
        });
      }, 400);
    });

    /* ------------------------------------------------------------ wiring */

    kindSel.addEventListener("change", renderFields);
    $(".sm-pl-click").addEventListener("click", startClick);
    $(".sm-pl-draw").addEventListener("click", startDraw);
    function clearSite() {
      stopDrawing();
      state.geometry = null;
      state.result = null;
      state.layers.clearLayers();
      runBtn.disabled = true;
      hint.textContent = "";
      $(".sm-pl-result").innerHTML = "";
      $(".sm-pl-export").hidden = true;
    }
    $(".sm-pl-clear").addEventListener("click", function () {
      if (SafeMap.results.has("site-check")) SafeMap.results.remove("site-check"); else clearSite();
    });
    runBtn.addEventListener("click", run);
    state.run = run;
    Array.prototype.forEach.call(container.querySelectorAll(".sm-pl-export button"), function (b) {
      b.addEventListener("click", function () { download(b.getAttribute("data-fmt")); });
    });
    Array.prototype.forEach.call(container.querySelectorAll("[data-overlay]"), function (box) {
      box.addEventListener("change", function () { toggleOverlay(box.getAttribute("data-overlay"), box.checked); });
    });
    renderFields();
    return state;
  }

  SafeMap.registerPanel("planner", build);
})(window.SafeMap);

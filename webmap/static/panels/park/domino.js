/*
 * 园区与矿山 panel part "domino": 多米诺效应 (issue 18 item 1).
 * Choose a park (admin_boundaries of level industrial_park, GET api/layers/admin_boundaries) and the
 * deepest level, run GET api/domino, draw arrows primary → secondary coloured by vector (热辐射 red /
 * orange, 冲击波超压 blue / purple; the darker colour is level 1) with a legend, list the pairs and the
 * chains; toggle the individual-risk overlay without / with escalation (GET api/domino/risk) and show
 * the F–N figures and a small log–log chart of both curves (GET api/domino/fn).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.parkParts = SafeMap.parkParts || {};
  var LEGEND = [
    ["#d32f2f", "热辐射（一级）"], ["#f57c00", "热辐射（二、三级）"],
    ["#1565c0", "冲击波超压（一级）"], ["#7b1fa2", "冲击波超压（二、三级）"]
  ];
  var MAX_ROWS = 60;

  /** Two short strokes at the end of a → b (lon/lat pairs), about 12 m long, as Leaflet latlngs. */
  function arrowHead(a, b) {
    var k = Math.cos(b[1] * Math.PI / 180);
    var dx = (b[0] - a[0]) * 111320 * k, dy = (b[1] - a[1]) * 111320;
    var len = Math.sqrt(dx * dx + dy * dy);
    if (!len) return [];
    var size = Math.min(12, len / 3), ux = dx / len, uy = dy / len;
    return [0.45, -0.45].map(function (t) {
      var c = Math.cos(t), s = Math.sin(t);
      var hx = -(ux * c - uy * s) * size, hy = -(ux * s + uy * c) * size;
      return [[b[1], b[0]], [b[1] + hy / 111320, b[0] + hx / (111320 * k)]];
    });
  }

  /** A log–log chart of the F–N curves (without: grey, with: red) against 10⁻³/N and 10⁻⁵/N, as SVG text. */
  function fnChart(without, withD) {
    var W = 300, H = 190, L0 = 42, B0 = 26;
    var all = without.concat(withD);
    var nMax = Math.max(10, all.reduce(function (m, p) { return Math.max(m, p[0]); }, 1));
    var x1 = Math.ceil(Math.log10(nMax)), yLo = -9, yHi = -2;
    function X(n) { return L0 + (W - L0 - 8) * Math.log10(Math.max(n, 1)) / x1; }
    function Y(f) { var e = Math.min(Math.max(Math.log10(Math.max(f, 1e-12)), yLo), yHi); return 8 + (H - B0 - 8) * (yHi - e) / (yHi - yLo); }
    function steps(curve) {
      return curve.map(function (p, i) { return (i ? "L" : "M") + X(p[0]).toFixed(1) + "," + Y(p[1]).toFixed(1); }).join(" ");
    }
    function line(c) { return "M" + X(1) + "," + Y(c) + " L" + X(Math.pow(10, x1)) + "," + Y(c / Math.pow(10, x1)); }
    var grid = "";
    for (var e = yLo; e <= yHi; e += 1) {
      grid += '<text x="2" y="' + (Y(Math.pow(10, e)) + 4) + '" font-size="9">1e' + e + "</text>";
    }
    for (var n = 0; n <= x1; n += 1) {
      grid += '<text x="' + (X(Math.pow(10, n)) - 6) + '" y="' + (H - 12) + '" font-size="9">' + Math.pow(10, n) + "</text>";
    }
    return '<svg class="sm-park-domino-fn" viewBox="0 0 ' + W + " " + H + '" width="100%" role="img" aria-label="F–N 曲线">' +
      '<rect x="' + L0 + '" y="8" width="' + (W - L0 - 8) + '" height="' + (H - B0 - 8) + '" fill="none" stroke="#b0bec5"/>' + grid +
      '<path d="' + line(1e-3) + '" stroke="#c62828" stroke-dasharray="4 3" fill="none"/>' +
      '<path d="' + line(1e-5) + '" stroke="#2e7d32" stroke-dasharray="4 3" fill="none"/>' +
      '<path d="' + steps(without) + '" stroke="#607d8b" stroke-width="2" fill="none"/>' +
      '<path d="' + steps(withD) + '" stroke="#d32f2f" stroke-width="2" fill="none"/>' +
      '<text x="' + (L0 + 4) + '" y="' + (H - 2) + '" font-size="9">N（死亡人数）；灰：未计入，红：计入多米诺；虚线：10⁻³/N、10⁻⁵/N</text></svg>';
  }

  parts.domino = function (pane, ctx) {
    var C = ctx.common, esc = C.esc, map = ctx.map;
    var $ = C.finder(pane);
    var state = { parks: [], last: null };

    pane.innerHTML =
      '<div class="sm-park-domino">' +
      '<label class="sm-park-domino-row">工业园区<select class="sm-park-domino-area"><option value="">加载中…</option></select></label>' +
      '<label class="sm-park-domino-row">多米诺层级<select class="sm-park-domino-level">' +
      C.options([["1", "一级（直接波及）"], ["2", "二级"], ["3", "三级"]], "3") + "</select></label>" +
      '<button type="button" class="sm-park-domino-run">分析多米诺效应</button>' +
      '<div class="sm-park-error" hidden></div>' +
      '<div class="sm-park-domino-legend">' + LEGEND.map(function (l) {
        return '<span><i style="border-top:3px solid ' + l[0] + '"></i>' + esc(l[1]) + "</span>";
      }).join("") + "</div>" +
      '<div class="sm-park-domino-result"></div>' +
      '<fieldset class="sm-park-domino-ir" hidden><legend>个人风险叠加图</legend>' +
      '<label><input type="radio" name="sm-park-domino-ir" value="" checked> 不显示</label> ' +
      '<label><input type="radio" name="sm-park-domino-ir" value="false"> 未计入多米诺</label> ' +
      '<label><input type="radio" name="sm-park-domino-ir" value="true"> 计入多米诺</label>' +
      '<div class="sm-park-domino-irnote"></div></fieldset>' +
      '<div class="sm-park-domino-fnbox"></div>' +
      "</div>";

    var errorBox = $(".sm-park-error");
    function showError(err) {
      errorBox.textContent = err ? (err.message || String(err)) : "";
      errorBox.hidden = !err;
    }

    SafeMap.api("api/layers/admin_boundaries?level=industrial_park&limit=1000").then(function (fc) {
      state.parks = (fc.features || []).filter(function (f) { return f.properties.level === "industrial_park"; });
      $(".sm-park-domino-area").innerHTML = state.parks.length ? C.options(state.parks.map(function (f) {
        return [String(f.id !== undefined ? f.id : f.properties.id), f.properties.name];
      }), String(state.parks[0].id !== undefined ? state.parks[0].id : state.parks[0].properties.id)) :
        '<option value="">没有工业园区边界（行政区划图层，级别“工业园区”）</option>';
    }, showError);

    function query() {
      var area = $(".sm-park-domino-area").value;
      return (area ? "area=" + encodeURIComponent(area) + "&" : "") + "max_level=" + $(".sm-park-domino-level").value;
    }

    function drawMap(fc) {
      ctx.clearLayer("domino");
      var group = ctx.layer("domino");
      fc.features.forEach(function (f) {
        var p = f.properties;
        if (p.feature === "arrow") {
          var c = f.geometry.coordinates, a = c[0], b = c[c.length - 1];
          var style = { color: p.color, weight: p.level === 1 ? 3 : 2, opacity: 0.9, dashArray: p.level === 1 ? null : "6 4" };
          group.addLayer(L.polyline(C.latlngs(f.geometry), style).bindTooltip(esc(p.label)));
          arrowHead(a, b).forEach(function (h) { group.addLayer(L.polyline(h, { color: p.color, weight: 3 })); });
        } else {
          var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
          var hit = p.in_degree + p.out_degree > 0;
          group.addLayer(L.circleMarker(ll, {
            radius: hit ? 6 : 4, color: p.proposed ? "#4a148c" : "#37474f", weight: 2,
            fillColor: p.in_degree ? "#ffca28" : "#eceff1", fillOpacity: 0.9
          }).bindTooltip(esc(p.name) + "<br>" + esc(p.vessel_type_label) + "<br>被波及 " + p.in_degree + " 次，波及他处 " +
            p.out_degree + " 处<br>多米诺失效频率 " + esc(C.rate(p.domino_failure_per_year))));
        }
      });
      if (group.getLayers().length) map.fitBounds(group.getBounds(), { maxZoom: 16, padding: [20, 20] });
    }

    function show(res) {
      var s = res.summary;
      var html = "<div class='sm-park-domino-summary'>" + esc(res.area ? res.area.name : "全部危险源") + "：危险源 " + s.units +
        " 个，事故场景 " + s.scenarios + " 个；超过升级阈值的设备对 <b>" + s.pairs + "</b> 对（热辐射 " + s.pairs_by_vector.radiation +
        "，冲击波超压 " + s.pairs_by_vector.overpressure + "）；事故链 " + res.chains_total + " 条（一级 " + s.chains_by_level["1"] +
        "，二级 " + s.chains_by_level["2"] + "，三级 " + s.chains_by_level["3"] + "）；多米诺次生场景总频率 " +
        esc(C.rate(s.domino_frequency_per_year)) + "</div>";
      s.notes.forEach(function (n) { html += "<div class='sm-park-domino-note'>" + esc(n) + "</div>"; });
      html += "<h4>升级设备对</h4><table class='sm-park-domino-table'><tr><th>初始</th><th>→ 被波及</th><th>途径</th><th>强度 / 阈值</th>" +
        "<th>间距</th><th>失效概率</th></tr>" + res.pairs.slice(0, MAX_ROWS).map(function (p) {
        return "<tr title='" + esc(p.scenario) + "'><td>" + esc(p.primary_name) + "</td><td>" + esc(p.secondary_name) + "</td><td>" +
          esc(p.vector_label) + "</td><td>" + C.fmt(p.value, 1) + " / " + C.fmt(p.threshold, 1) + " " + esc(p.unit) + "</td><td>" +
          C.fmt(p.distance_m, 1) + " m</td><td>" + esc(Number(p.probability).toPrecision(2)) + "</td></tr>";
      }).join("") + "</table>";
      if (res.pairs.length > MAX_ROWS) html += "<div class='sm-park-domino-note'>仅列出前 " + MAX_ROWS + " 对，共 " + res.pairs.length + " 对</div>";
      html += "<h4>事故链（频率最高的 20 条）</h4><ol class='sm-park-domino-chains'>" + res.chains.slice(0, 20).map(function (c) {
        return "<li>[" + c.level + "级] " + esc(c.names.join(" → ")) + "：" + esc(C.rate(c.frequency_per_year)) + "</li>";
      }).join("") + "</ol>";
      $(".sm-park-domino-result").innerHTML = html;
      $(".sm-park-domino-ir").hidden = false;
    }

    function showFn(fn) {
      var inc = fn.increase;
      function verdict(r) { return r.exceeds_upper ? "超过上限（不可接受）" : r.above_lower ? "ALARP 区" : "可接受"; }
      $(".sm-park-domino-fnbox").innerHTML = "<h4>社会风险 F–N</h4><table class='sm-park-domino-table'>" +
        "<tr><th></th><th>未计入多米诺</th><th>计入多米诺</th></tr>" +
        "<tr><th>最大死亡人数 N</th><td>" + C.fmt(fn.without.max_N, 0) + "</td><td>" + C.fmt(fn.with.max_N, 0) + "</td></tr>" +
        "<tr><th>结论</th><td>" + esc(verdict(fn.without)) + "</td><td>" + esc(verdict(fn["with"])) + "</td></tr>" +
        "<tr><th>最大个人风险</th><td>" + esc(C.rate(inc.max_ir_without_per_year)) + "</td><td>" + esc(C.rate(inc.max_ir_with_per_year)) + "</td></tr>" +
        "<tr><th>超标防护目标</th><td>" + inc.targets_exceeding_without + "</td><td>" + inc.targets_exceeding_with + "</td></tr></table>" +
        fnChart(fn.without.curve, fn["with"].curve) + "<div class='sm-park-domino-note'>" + esc(inc.method) + "</div>";
    }

    function showIr(value) {
      ctx.clearLayer("domino-ir");
      $(".sm-park-domino-irnote").textContent = "";
      if (!value || !state.last) return;
      SafeMap.api("api/domino/risk?" + state.last + "&escalation=" + value).then(function (res) {
        ctx.layer("domino-ir").addLayer(L.imageOverlay(res.image, res.bounds, { opacity: 0.75, interactive: false }));
        $(".sm-park-domino-irnote").textContent = "最大个人风险 " + C.rate(res.max_per_year) + "（网格 " + res.cell_m + " m，" +
          res.scenarios + " 个场景）";
      }, showError);
    }
    pane.querySelectorAll('input[name="sm-park-domino-ir"]').forEach(function (r) {
      r.onchange = function () { showIr(r.value); };
    });

    $(".sm-park-domino-run").onclick = function () {
      showError(null);
      var q = query();
      C.run(this, SafeMap.api("api/domino?" + q), {
        busy: "分析中…",
        done: function (res) {
          state.last = q;
          show(res);
          drawMap(res.geojson);
          var chosen = pane.querySelector('input[name="sm-park-domino-ir"]:checked');
          showIr(chosen ? chosen.value : "");
          SafeMap.api("api/domino/fn?" + q).then(showFn, showError);
        },
        fail: showError
      });
    };
  };
})(window.SafeMap);

/*
 * 双重预防 panel, part 8 of 9: 指标, the plan's safety indicators (GET /api/indicators?through=YEAR):
 * baseline, target, the year's value and its state (按进度 green, 滞后 red, 无法判断 grey, 不适用),
 * a row opens its chart (/api/indicators/plots/{code}.png) and years; a link to the report
 * (/api/indicators/report.html), and the accident density overlay (GET /api/accidents/density →
 * L.imageOverlay of the PNG over its bounds) shown or hidden by a button.
 * SafeMap.preventionParts.indicators(ctx) adds indHtml, setupIndicators, loadIndicators.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.preventionParts = SafeMap.preventionParts || {};
  var C = SafeMap.common, esc = C.esc, S = parts.shared;

  parts.indicators = function (ctx) {
    var $ = ctx.$, st = ctx.st, map = ctx.map, layers = ctx.layers;

    function indHtml() {
      var year = Number(S.today().slice(0, 4));
      var years = [];
      for (var y = year; y >= year - 10; y--) years.push([String(y), y + " 年"]);
      return '<div class="sm-pv-row"><label class="sm-pv-inline">截至<select class="sm-pv-through">' + C.options([["", "最近有数据的年份"]].concat(years), "") +
        '</select></label><a class="sm-pv-report" target="_blank" rel="noopener">指标报告</a></div>' +
        '<div class="sm-pv-inds"><div class="sm-pv-hint">加载中…</div></div>' +
        '<fieldset class="sm-pv-density"><legend>事故密度图</legend><div class="sm-pv-row">' +
        '<label class="sm-pv-inline">按<select class="sm-pv-dweight"><option value="count">事故起数</option><option value="deaths">死亡人数</option></select></label>' +
        '<button type="button" class="sm-pv-dtoggle">显示密度图</button></div><div class="sm-pv-dmsg"></div></fieldset>';
    }

    function stateChip(code, text) {
      return S.chip(text || code || "—", S.STATE_COLORS[code] || "#9e9e9e", code === "not_applicable" ? "sm-pv-dark" : "");
    }
    function val(v) {
      if (S.missing(v)) return "—";
      var x = Number(v);
      return String(Math.abs(x) >= 100 ? Math.round(x) : Number(x.toFixed(Math.abs(x) >= 1 ? 2 : 4)));
    }

    function loadIndicators() {
      var through = $(".sm-pv-through").value;
      var q = through ? "?through=" + through : "";
      $(".sm-pv-report").href = SafeMap.url("api/indicators/report.html" + q);
      return SafeMap.api("api/indicators" + q).then(function (d) {
        var list = d.indicators || [];
        if (!list.length) { $(".sm-pv-inds").innerHTML = '<div class="sm-pv-hint">没有指标定义</div>'; return; }
        $(".sm-pv-inds").innerHTML = '<div class="sm-pv-hint">截至 ' + esc(d.through) + " 年；点击指标查看逐年数值和图</div>" +
          S.table(["指标", "基准", "目标", esc(d.through) + "年", "状态"], list.map(function (it, i) {
            var last = (it.years || []).filter(function (y) { return String(y.year) === String(d.through); })[0] || (it.years || [])[it.years.length - 1] || {};
            return ['<a href="#" class="sm-pv-ind" data-i="' + i + '">' + esc(it.label) + "</a>" + (it.unit ? '<div class="sm-pv-dim">' + esc(it.unit) + "</div>" : ""),
              '<span class="sm-pv-n">' + esc(val(it.baseline)) + "</span>", '<span class="sm-pv-n">' + esc(val(it.target)) + "</span>",
              '<span class="sm-pv-n">' + esc(val(last.value)) + "</span>",
              '<span title="' + esc(it.latest_reason || "") + '">' + stateChip(it.latest_state, it.latest_state_label) + "</span>"];
          }), "sm-pv-itable") + '<div class="sm-pv-indmore"></div>';
        $(".sm-pv-inds").querySelectorAll(".sm-pv-ind").forEach(function (a) {
          a.onclick = function (e) { e.preventDefault(); more(list[Number(a.getAttribute("data-i"))]); };
        });
      }, function (err) { $(".sm-pv-inds").innerHTML = S.problemsHtml(err); });
    }

    function more(it) {
      var box = $(".sm-pv-indmore");
      box.innerHTML = '<div class="sm-pv-card"><div class="sm-pv-title">' + esc(it.label) + "</div>" +
        (it.latest_reason ? '<div class="sm-pv-hint">' + esc(it.latest_reason) + "</div>" : "") +
        '<img class="sm-pv-plot" alt="' + esc(it.label) + '逐年变化图">' +
        S.table(["年份", "数值", "状态"], (it.years || []).map(function (y) {
          return [esc(y.year), '<span class="sm-pv-n">' + esc(val(y.value)) + "</span>",
            '<span title="' + esc(y.reason || "") + '">' + stateChip(y.state, y.state_label) + "</span>" +
            (y.reason ? '<div class="sm-pv-dim">' + esc(y.reason) + "</div>" : "")];
        })) + "</div>";
      var img = box.querySelector(".sm-pv-plot");
      SafeMap.api("api/indicators/plots/" + encodeURIComponent(it.code) + ".png", { headers: { Accept: "image/png" } }).then(function (r) {
        return r && r.blob ? r.blob() : null;
      }).then(function (b) {
        if (b) img.src = URL.createObjectURL(b);
      }, function () { img.hidden = true; });
      box.scrollIntoView({ block: "nearest" });
    }

    /* ------------------------------------------------------------ density overlay */
    function toggleDensity() {
      var btn = $(".sm-pv-dtoggle"), msg = $(".sm-pv-dmsg");
      if (st.density) {
        layers.density.clearLayers();
        st.density = null;
        btn.textContent = "显示密度图";
        msg.innerHTML = "";
        return;
      }
      var weight = $(".sm-pv-dweight").value;
      C.run(btn, SafeMap.api("api/accidents/density?weight=" + weight), {
        busy: "计算中…",
        done: function (d) {
          if (!d || !d.image || !d.bounds) { msg.innerHTML = '<div class="sm-pv-hint">没有可用的事故数据</div>'; return; }
          layers.density.clearLayers();
          st.density = L.imageOverlay(d.image, d.bounds, { opacity: 0.7, pane: "sm-prevention-density", interactive: false }).addTo(layers.density);
          btn.textContent = "隐藏密度图";
          msg.innerHTML = '<div class="sm-pv-hint">事故 ' + esc(d.count) + " 起；颜色越深越密集，最高约 " + esc(val(d.max_per_km2)) +
            (weight === "deaths" ? " 人" : " 起") + "/km²</div>" + '<div class="sm-pv-ramp"></div>';
          map.fitBounds(d.bounds, { padding: [20, 20] });
        },
        fail: function (err) { msg.innerHTML = S.problemsHtml(err); }
      });
    }

    function setupIndicators() {
      $(".sm-pv-through").onchange = loadIndicators;
      $(".sm-pv-dtoggle").onclick = toggleDensity;
      $(".sm-pv-dweight").onchange = function () {
        if (st.density) { toggleDensity(); toggleDensity(); }
      };
    }

    ctx.indHtml = indHtml;
    ctx.setupIndicators = setupIndicators;
    ctx.loadIndicators = loadIndicators;
  };
})(window.SafeMap);

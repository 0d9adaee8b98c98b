/*
 * 双重预防 panel, part 6 of 9: 统计, the findings per township or per industry
 * (GET /api/prevention/stats?by=township|industry): 合计, 发现, 整改中, 待复查, 销号, 逾期, 重大未销号.
 * A row's name filters the 隐患 list by that township. SafeMap.preventionParts.stats(ctx) adds
 * statsHtml, setupStats, loadStats.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.preventionParts = SafeMap.preventionParts || {};
  var esc = SafeMap.common.esc, S = parts.shared;
  var COLS = [["total", "合计"], ["found", "发现"], ["rectifying", "整改中"], ["review", "待复查"], ["closed", "销号"],
    ["overdue", "逾期"], ["major_open", "重大未销号"]];

  parts.stats = function (ctx) {
    var $ = ctx.$, st = ctx.st;

    function statsHtml() {
      return '<div class="sm-pv-seg sm-pv-statsby"><label class="sm-pv-segopt"><input type="radio" name="sm-pv-by" value="township" checked> 按乡镇</label>' +
        '<label class="sm-pv-segopt"><input type="radio" name="sm-pv-by" value="industry"> 按行业</label></div>' +
        '<div class="sm-pv-stats"><div class="sm-pv-hint">加载中…</div></div>';
    }

    function num(v, cls) { return '<span class="sm-pv-n' + (v ? " " + (cls || "") : "") + '">' + (S.missing(v) ? "—" : esc(v)) + "</span>"; }

    function loadStats() {
      var by = ($(".sm-pv-statsby input:checked") || {}).value || "township";
      return SafeMap.api("api/prevention/stats?by=" + by).then(function (d) {
        var rows = d.rows || [], sum = {};
        COLS.forEach(function (c) { sum[c[0]] = rows.reduce(function (a, r) { return a + (Number(r[c[0]]) || 0); }, 0); });
        var body = rows.map(function (r) {
          var name = by === "township" && r.key && r.key === r.label && r.key !== "未填乡镇" ? '<a href="#" class="sm-pv-stown" data-key="' + esc(r.key) + '">' + esc(r.label || r.key) + "</a>"
            : esc(r.label || r.key || "（未填）");
          return [name].concat(COLS.map(function (c) {
            return num(r[c[0]], c[0] === "overdue" || c[0] === "major_open" ? "sm-pv-red" : "");
          }));
        });
        body.push(["<b>合计</b>"].concat(COLS.map(function (c) { return "<b>" + num(sum[c[0]]) + "</b>"; })));
        $(".sm-pv-stats").innerHTML = rows.length ? S.table([by === "township" ? "乡镇" : "行业"].concat(COLS.map(function (c) { return c[1]; })), body, "sm-pv-stable")
          : '<div class="sm-pv-hint">还没有隐患记录</div>';
        $(".sm-pv-stats").querySelectorAll(".sm-pv-stown").forEach(function (a) {
          a.onclick = function (e) {
            e.preventDefault();
            ctx.showTab("list");
            if (st.selected) ctx.closeDetail();
            var sel = $(".sm-pv-ftownship"), key = a.getAttribute("data-key");
            if (!sel.querySelector('option[value="' + key.replace(/"/g, "") + '"]')) {
              var o = document.createElement("option");
              o.value = key;
              o.textContent = key;
              sel.appendChild(o);
            }
            sel.value = key;
            ctx.loadList();
          };
        });
      }, function (err) { $(".sm-pv-stats").innerHTML = S.problemsHtml(err); });
    }

    function setupStats() {
      ctx.container.querySelectorAll(".sm-pv-statsby input").forEach(function (r) { r.onchange = loadStats; });
    }

    ctx.statsHtml = statsHtml;
    ctx.setupStats = setupStats;
    ctx.loadStats = loadStats;
  };
})(window.SafeMap);

/*
 * 监测预警 (live) panel, part 2 of 6: the trend chart of a sensor's popup, as inline SVG (no chart
 * library). SafeMap.liveParts.chart(points, sensor, range) returns the SVG's markup:
 *   points   [{ts, value} | {ts, avg, min, max, n}] (GET /api/sensors/{id}/readings)
 *   sensor   {unit_label, high_1, high_2, low_1, low_2}: set points drawn as dashed lines, labelled
 *   range    {from, to, gapMs}: the time axis (ms), a gap longer than gapMs breaks the line
 * Axes: values on the left, times (HH:MM, the county's clock) below.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.liveParts = SafeMap.liveParts || {}, S = parts.shared, esc = SafeMap.esc;
  var W = 300, H = 176, LEFT = 38, RIGHT = 58, TOP = 16, BOTTOM = 22;
  var LINES = [["high_2", "高高报", "#d50000"], ["high_1", "高报", "#ef6c00"], ["low_1", "低报", "#1e88e5"], ["low_2", "低低报", "#0d47a1"]];
  var HOUR = 3600000;

  function niceStep(span) {
    var raw = span / 4, mag = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10)), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  }
  function r1(x) { return Math.round(x * 10) / 10; }

  parts.chart = function (points, sensor, range) {
    var series = points.map(function (p) {
      var v = p.value !== undefined && p.value !== null ? p.value : p.avg;
      return { t: Date.parse(p.ts), v: v === null || v === undefined ? null : Number(v) };
    }).filter(function (p) { return !isNaN(p.t) && p.v !== null && !isNaN(p.v); });
    var lines = LINES.filter(function (l) { return !S.missing(sensor[l[0]]); })
      .map(function (l) { return { label: l[1], color: l[2], v: Number(sensor[l[0]]) }; });
    var vals = series.map(function (p) { return p.v; }).concat(lines.map(function (l) { return l.v; }));
    var lo = vals.length ? Math.min.apply(null, vals) : 0, hi = vals.length ? Math.max.apply(null, vals) : 1;
    if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
    var step = niceStep(hi - lo);
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    var t0 = range.from, t1 = range.to, pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
    function x(t) { return r1(LEFT + (t - t0) / (t1 - t0) * pw); }
    function y(v) { return r1(TOP + (hi - v) / (hi - lo) * ph); }

    var out = ['<svg class="sm-lv-svg" viewBox="0 0 ' + W + " " + H + '" width="100%" role="img" aria-label="近24小时趋势">'];
    out.push('<rect x="' + LEFT + '" y="' + TOP + '" width="' + pw + '" height="' + ph + '" fill="#fafbfc" stroke="#c5ced8"/>');
    // value axis
    for (var v = lo; v <= hi + step / 2; v += step) {
      var yy = y(v);
      out.push('<line x1="' + LEFT + '" x2="' + (LEFT + pw) + '" y1="' + yy + '" y2="' + yy + '" stroke="#e6e9ee"/>');
      out.push('<text class="sm-lv-ax" x="' + (LEFT - 3) + '" y="' + (yy + 3) + '" text-anchor="end">' + esc(S.num(v)) + "</text>");
    }
    // time axis: every 4 h of the county's clock (every hour for short spans)
    var every = (t1 - t0) > 8 * HOUR ? 4 * HOUR : HOUR, off = S.offset() * 60000;
    for (var t = Math.ceil((t0 + off) / every) * every - off; t <= t1; t += every) {
      var xx = x(t);
      out.push('<line x1="' + xx + '" x2="' + xx + '" y1="' + TOP + '" y2="' + (TOP + ph + 3) + '" stroke="#e6e9ee"/>');
      out.push('<text class="sm-lv-ax" x="' + xx + '" y="' + (H - 8) + '" text-anchor="middle">' + S.hhmm(t) + "</text>");
    }
    out.push('<text class="sm-lv-ax" x="3" y="9" text-anchor="start">' + esc(sensor.unit_label || "") + "</text>");
    // set points: dashed lines, labels on the right pushed apart
    var labels = lines.map(function (l) { return { l: l, y: y(l.v) }; }).sort(function (a, b) { return a.y - b.y; });
    labels.forEach(function (lb, i) {
      out.push('<line class="sm-lv-th" x1="' + LEFT + '" x2="' + (LEFT + pw) + '" y1="' + lb.y + '" y2="' + lb.y +
        '" stroke="' + lb.l.color + '" stroke-dasharray="5 3"/>');
      var ty = Math.max(lb.y + 3, i ? labels[i - 1].ty + 10 : 0);
      lb.ty = ty;
      out.push('<text class="sm-lv-thl" x="' + (LEFT + pw + 3) + '" y="' + r1(ty) + '" fill="' + lb.l.color + '">' +
        esc(lb.l.label + " " + S.num(lb.l.v)) + "</text>");
    });
    // the series, broken at gaps
    if (!series.length) {
      out.push('<text class="sm-lv-none" x="' + (LEFT + pw / 2) + '" y="' + (TOP + ph / 2) + '" text-anchor="middle">近24小时无读数</text>');
    } else {
      var d = "";
      series.forEach(function (p, i) {
        var gap = i === 0 || p.t - series[i - 1].t > range.gapMs;
        d += (gap ? "M" : "L") + x(p.t) + " " + y(p.v);
      });
      out.push('<path class="sm-lv-series" d="' + d + '" fill="none" stroke="#0b3d6e" stroke-width="1.5" stroke-linejoin="round"/>');
      var last = series[series.length - 1];
      out.push('<circle cx="' + x(last.t) + '" cy="' + y(last.v) + '" r="2.5" fill="#0b3d6e"/>');
    }
    out.push("</svg>");
    return out.join("");
  };
})(window.SafeMap);

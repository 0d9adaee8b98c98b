/*
 * What the tool panels share (loaded after the page's modules, before the panels):
 * escaping, number/time formatting, <option> lists and run buttons.
 *
 *   var C = SafeMap.common;
 *   C.esc(x)                     HTML-escaped text; null/undefined -> ""
 *   C.fmt(v, digits)             fixed decimals, "—" when missing
 *   C.km(metres)                 "850 m" below 1 km, "3.2 km" above, "—" when missing (= C.distance)
 *   C.pct(share)                 "12.5%", "—" when missing
 *   C.mmss(seconds)              "9分24秒", "1小时02分05秒", "45秒", "—" when missing (= C.duration;
 *                                the server writes durations the same way: safemap.layers.labels)
 *   C.minutes(min)               a time in minutes as 分秒 ("3分30秒"), "无法到达" when missing
 *   C.rate(perYear)              "1.0×10⁻⁶/年", "< 1×10⁻⁸/年" (individual risk, frequencies)
 *   C.count(n, unit)             "1210 人", "3 个"
 *   C.options(list, chosen)      <option>s from [[value, label], …]
 *   C.enumList(name, codes)      [[code, label], …] of a catalogue enumeration (all or ``codes``)
 *   C.latlngs(lineGeometry)      GeoJSON LineString coordinates as Leaflet [lat, lng]s
 *   C.finder(container)          sel -> container.querySelector(sel)
 *   C.run(button, promise, opts) disable the button (label opts.busy) while the request runs;
 *                                opts.done(data) on success, opts.fail(err) on failure;
 *                                resolves when both are done, never rejects
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  function missing(v) { return v === null || v === undefined; }

  function esc(t) { return SafeMap.esc(t); }

  function fmt(v, digits) { return missing(v) ? "—" : Number(v).toFixed(digits); }

  function km(m) {
    if (missing(m) || !isFinite(m)) return "—";
    return Math.abs(m) < 1000 ? Math.round(m) + " m" : (m / 1000).toFixed(1) + " km";
  }

  function pct(x) { return missing(x) ? "—" : (x * 100).toFixed(1) + "%"; }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function mmss(s) {
    if (missing(s) || !isFinite(s)) return "—";
    var total = Math.max(0, Math.round(s)), h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), r = total % 60;
    if (h) return h + "小时" + two(m) + "分" + two(r) + "秒";
    if (m) return m + "分" + two(r) + "秒";
    return r + "秒";
  }

  function minutes(x) { return missing(x) ? "无法到达" : mmss(x * 60); }

  var SUP = { "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹" };

  function power(e) { return "10" + String(e).split("").map(function (c) { return SUP[c]; }).join(""); }

  function rate(x, digits) {
    if (missing(x) || isNaN(x)) return "—";
    digits = digits === undefined ? 1 : digits;
    if (Math.abs(x) < 1e-8) return "< 1×" + power(-8) + "/年";
    var e = Math.floor(Math.log10(Math.abs(x))), m = x / Math.pow(10, e);
    if (Number(m.toFixed(digits)) >= 10) { m /= 10; e += 1; }
    return m.toFixed(digits) + (e === 0 ? "" : "×" + power(e)) + "/年";
  }

  function count(n, unit) { return missing(n) ? "—" : n + " " + unit; }

  function options(list, chosen) {
    return list.map(function (o) {
      return '<option value="' + esc(o[0]) + '"' + (o[0] === chosen ? " selected" : "") + ">" + esc(o[1]) + "</option>";
    }).join("");
  }

  function enumList(name, codes) {
    var members = SafeMap.enumMembers(name);
    if (codes) members = members.filter(function (m) { return codes.indexOf(m[0]) >= 0; });
    return members.map(function (m) { return [m[0], m[1]]; });
  }

  function latlngs(geometry) {
    return geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
  }

  function finder(container) {
    return function (sel) { return container.querySelector(sel); };
  }

  function run(button, promise, opts) {
    opts = opts || {};
    var label = button.textContent;
    button.disabled = true;
    if (opts.busy) button.textContent = opts.busy;
    function restore() {
      button.disabled = false;
      if (opts.busy) button.textContent = label;
    }
    return promise.then(function (data) {
      restore();
      if (opts.done) opts.done(data);
    }, function (err) {
      restore();
      if (opts.fail) opts.fail(err);
    });
  }

  SafeMap.common = {
    esc: esc, fmt: fmt, km: km, distance: km, pct: pct, minutes: minutes, mmss: mmss, duration: mmss,
    rate: rate, count: count,
    options: options, enumList: enumList, latlngs: latlngs, finder: finder, run: run
  };
})(window.SafeMap);

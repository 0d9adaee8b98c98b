/*
 * What the tool panels share (loaded after the page's modules, before the panels):
 * escaping, number/time formatting, <option> lists and run buttons.
 *
 *   var C = SafeMap.common;
 *   C.esc(x)                     HTML-escaped text; null/undefined -> ""
 *   C.fmt(v, digits)             fixed decimals, "—" when missing
 *   C.km(metres)                 "3.2 km", "—" when missing
 *   C.pct(share)                 "12.5%", "—" when missing
 *   C.mmss(seconds)              "4 分 05 秒", "—" when missing
 *   C.minutes(min)               "3.5 min", "无法到达" when missing
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

  function km(m) { return missing(m) ? "—" : (m / 1000).toFixed(1) + " km"; }

  function pct(x) { return missing(x) ? "—" : (x * 100).toFixed(1) + "%"; }

  function minutes(x) { return missing(x) ? "无法到达" : x.toFixed(1) + " min"; }

  function mmss(s) {
    if (missing(s)) return "—";
    var m = Math.floor(s / 60), r = Math.round(s - m * 60);
    if (r === 60) { m += 1; r = 0; }
    return m + " 分 " + (r < 10 ? "0" : "") + r + " 秒";
  }

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
    esc: esc, fmt: fmt, km: km, pct: pct, minutes: minutes, mmss: mmss,
    options: options, enumList: enumList, latlngs: latlngs, finder: finder, run: run
  };
})(window.SafeMap);

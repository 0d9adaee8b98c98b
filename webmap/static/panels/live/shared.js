/*
 * 监测预警 (live) panel, part 1 of 6: what the other parts share, in SafeMap.liveParts.shared.
 *   colours    sensorColor(state, fallback): the catalogue's sensor_state colour (low alarms blue)
 *   times      learn(iso) the county's UTC offset from the API's local ISO times (SAFEMAP_TIMEZONE);
 *              clock(iso) "HH:MM:SS", when(iso) "MM-DD HH:MM:SS" as given; hhmm(ms), hms(ms) in the county;
 *              today() "YYYY-MM-DD" in the county; dayRange(day) the day's [from, to] as ISO with offset
 *   numbers    num(v) a reading without trailing zeros; valueText(v, unit)
 *   sound      beep(): a short two-tone alarm through WebAudio (no sound files)
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.liveParts = SafeMap.liveParts || {};
  var clockOffset = { min: null };

  function missing(v) { return v === null || v === undefined || v === ""; }

  // Low alarms are drawn blue (the catalogue gives them the high alarms' colours): a falling level reads
  // apart from a rising one at a glance. Every other state: the catalogue's sensor_state colour.
  var LOW = { low_1: "#1e88e5", low_2: "#0d47a1" };
  function sensorColor(state, fallback) {
    return LOW[state] || SafeMap.enumColor("sensor_state", state, fallback || "#9e9e9e");
  }

  /** Remember the county's offset from the first local ISO time seen ("…+06:00"). */
  function learn(iso) {
    var m = /([+-])(\d\d):?(\d\d)$/.exec(iso || "");
    if (m && clockOffset.min === null) clockOffset.min = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  }
  function offset() {
    return clockOffset.min === null ? -new Date().getTimezoneOffset() : clockOffset.min;
  }
  /** The county's wall clock at ``ms`` as "YYYY-MM-DDTHH:MM:SS". */
  function local(ms) { return new Date(ms + offset() * 60000).toISOString().slice(0, 19); }
  function hhmm(ms) { return local(ms).slice(11, 16); }
  function hms(ms) { return local(ms).slice(11, 19); }
  function clock(iso) { return iso ? String(iso).slice(11, 19) : "—"; }
  function when(iso) { return iso ? String(iso).slice(5, 19).replace("T", " ") : "—"; }
  function today() { return local(Date.now()).slice(0, 10); }
  function offsetText() {
    var o = offset(), a = Math.abs(o), h = Math.floor(a / 60), m = a % 60;
    return (o < 0 ? "-" : "+") + (h < 10 ? "0" : "") + h + ":" + (m < 10 ? "0" : "") + m;
  }
  function dayRange(day) {
    var start = Date.parse(day + "T00:00:00" + offsetText());
    return [day + "T00:00:00" + offsetText(), local(start + 86400000).slice(0, 10) + "T00:00:00" + offsetText()];
  }
  function query(params) {
    return Object.keys(params).map(function (k) { return k + "=" + encodeURIComponent(params[k]); }).join("&");
  }

  function num(v) {
    if (missing(v)) return "—";
    var x = Number(v), digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
    return String(Number(x.toFixed(digits)));
  }
  function valueText(v, unit) { return missing(v) ? "—" : num(v) + (unit ? " " + unit : ""); }

  var audio = { ctx: null, count: 0 };
  /** Two short tones (880 Hz); the context is made on the first call (the sound toggle's click). */
  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    audio.count += 1;
    if (!Ctx) return;
    try {
      if (!audio.ctx) audio.ctx = new Ctx();
      var ac = audio.ctx;
      if (ac.state === "suspended") ac.resume();
      [0, 0.28].forEach(function (at) {
        var o = ac.createOscillator(), g = ac.createGain(), t = ac.currentTime + at;
        o.type = "sine";
        o.frequency.value = 880;
        g.gain.setValueAtTime(0.0001, t);
        g.gain.exponentialRampToValueAtTime(0.35, t + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + 0.2);
        o.connect(g);
        g.connect(ac.destination);
        o.start(t);
        o.stop(t + 0.22);
      });
    } catch (e) { /* no sound device: the list still shows the alarm */ }
  }

  parts.shared = {
    missing: missing, sensorColor: sensorColor, learn: learn, offset: offset, hhmm: hhmm, hms: hms, clock: clock,
    when: when, today: today, dayRange: dayRange, query: query, num: num, valueText: valueText,
    beep: beep, audio: audio
  };
})(window.SafeMap);

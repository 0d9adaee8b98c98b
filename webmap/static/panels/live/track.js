/*
 * 监测预警 (live) panel, part 4 of 6: 轨迹回放 in a vehicle's popup. SafeMap.liveParts.track(ctx) adds
 * ctx.replayControls(rec, box): choose a day (today in the county by default), load
 * GET /api/vehicles/{id}/track?from=&to=, draw the track, and move a marker along it with a time
 * slider and 播放/暂停 (speed ×30, ×120, ×600), showing the time and speed. One track at a time
 * (st.track); closing the popup pauses it, 清除 removes it.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.liveParts = SafeMap.liveParts || {}, S = parts.shared, esc = SafeMap.esc;
  var TICK = 100;  // ms between two steps of the playback
  var RATES = [["30", "×30"], ["120", "×120"], ["600", "×600"]];

  parts.track = function (ctx) {
    var map = ctx.map, st = ctx.st, layers = ctx.layers;
    st.track = null;

    function stop() {
      var tr = st.track;
      if (!tr) return;
      if (tr.timer) clearInterval(tr.timer);
      tr.timer = null;
      if (tr.box) tr.box.querySelector(".sm-lv-play").textContent = "▶ 播放";
    }
    function clear() {
      stop();
      layers.track.clearLayers();
      if (st.track && st.track.box) st.track.box.querySelector(".sm-lv-player").hidden = true;
      st.track = null;
    }

    /** Index of the last point at or before ``t`` (binary search; points in time order). */
    function before(pts, t) {
      var lo = 0, hi = pts.length - 1;
      while (lo < hi) {
        var mid = (lo + hi + 1) >> 1;
        if (pts[mid].t <= t) lo = mid; else hi = mid - 1;
      }
      return lo;
    }
    function seek(sec) {
      var tr = st.track, pts = tr.points, t = pts[0].t + sec * 1000;
      var i = before(pts, t), a = pts[i], b = pts[Math.min(i + 1, pts.length - 1)];
      var f = b.t > a.t ? Math.max(0, Math.min(1, (t - a.t) / (b.t - a.t))) : 0;
      tr.sec = sec;
      tr.marker.setLatLng([a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f]);
      tr.box.querySelector(".sm-lv-slider").value = String(Math.round(sec));
      tr.box.querySelector(".sm-lv-now").textContent = S.hms(t) +
        "　" + (S.missing(a.speed) ? "—" : S.num(a.speed) + " km/h");
    }
    function play() {
      var tr = st.track;
      if (!tr) return;
      if (tr.timer) { stop(); return; }
      var end = (tr.points[tr.points.length - 1].t - tr.points[0].t) / 1000;
      if (tr.sec >= end) seek(0);
      tr.box.querySelector(".sm-lv-play").textContent = "❚❚ 暂停";
      tr.timer = setInterval(function () {
        var rate = Number(tr.box.querySelector(".sm-lv-rate").value) || 120;
        var next = Math.min(end, tr.sec + rate * TICK / 1000);
        seek(next);
        if (next >= end) stop();
      }, TICK);
    }

    function load(rec, box) {
      var day = box.querySelector(".sm-lv-day").value || S.today(), range = S.dayRange(day), msg = box.querySelector(".sm-lv-trackmsg");
      msg.textContent = "加载中…";
      var url = "api/vehicles/" + rec.item.id + "/track?" + S.query({ from: range[0], to: range[1] });
      SafeMap.api(url).then(function (f) {
        clear();
        var pts = ((f && f.properties && f.properties.points) || []).map(function (p) {
          return { t: Date.parse(p.ts), lon: Number(p.lon), lat: Number(p.lat), speed: p.speed_kmh, ts: p.ts };
        }).filter(function (p) { return !isNaN(p.t); }).sort(function (a, b) { return a.t - b.t; });
        if (!pts.length) { msg.textContent = day + " 无轨迹记录"; return; }
        var line = L.polyline(pts.map(function (p) { return [p.lat, p.lon]; }),
          { pane: "sm-live", renderer: ctx.renderer, color: "#6a1b9a", weight: 4, opacity: 0.85 }).addTo(layers.track);
        var marker = L.circleMarker([pts[0].lat, pts[0].lon], { pane: "sm-live", renderer: ctx.renderer, radius: 7,
          color: "#fff", weight: 2, fillColor: "#6a1b9a", fillOpacity: 1, className: "sm-lv-playmark" }).addTo(layers.track);
        st.track = { vehicleId: rec.item.id, points: pts, line: line, marker: marker, timer: null, sec: 0, box: box };
        var span = Math.round((pts[pts.length - 1].t - pts[0].t) / 1000);
        var slider = box.querySelector(".sm-lv-slider");
        slider.max = String(Math.max(span, 1));
        box.querySelector(".sm-lv-player").hidden = false;
        msg.textContent = day + "：" + pts.length + " 个定位点，" + S.clock(pts[0].ts).slice(0, 5) + "–" +
          S.clock(pts[pts.length - 1].ts).slice(0, 5);
        seek(0);
        if (pts.length > 1) map.fitBounds(line.getBounds(), { padding: [30, 30], maxZoom: 15, animate: false });
        ctx.repan(rec.marker);
      }, function (err) { msg.innerHTML = '<span class="sm-lv-error">' + esc(err.message) + "</span>"; });
    }

    ctx.replayControls = function (rec, box) {
      box.innerHTML = '<div class="sm-lv-charthead">轨迹回放</div>' +
        '<div class="sm-lv-row"><input type="date" class="sm-lv-day" value="' + S.today() + '" max="' + S.today() + '">' +
        '<button type="button" class="sm-lv-load">加载轨迹</button></div><div class="sm-lv-trackmsg sm-lv-hint"></div>' +
        '<div class="sm-lv-player" hidden><input type="range" class="sm-lv-slider" min="0" max="1" step="1" value="0" aria-label="回放时间">' +
        '<div class="sm-lv-row"><button type="button" class="sm-lv-play">▶ 播放</button>' +
        '<select class="sm-lv-rate" title="回放倍速">' + SafeMap.common.options(RATES, "120") + "</select>" +
        '<span class="sm-lv-now"></span><button type="button" class="sm-lv-clear" title="清除轨迹">清除</button></div></div>';
      box.querySelector(".sm-lv-load").onclick = function () { load(rec, box); };
      box.querySelector(".sm-lv-play").onclick = play;
      box.querySelector(".sm-lv-clear").onclick = function () {
        clear();
        box.querySelector(".sm-lv-trackmsg").textContent = "";
      };
      box.querySelector(".sm-lv-slider").oninput = function () {
        if (st.track && st.track.box === box) { stop(); seek(Number(this.value)); }
      };
      rec.marker.on("popupclose", stop);
    };
    ctx.clearTrack = clear;
  };
})(window.SafeMap);

/*
 * 事件处置 panel, part 5 of 7: 疏散安置 (routes from the places inside the zone to shelters outside
 * it, GET …/evacuation; drawn on the map and tabled). SafeMap.incidentParts.evacuate(ctx) adds
 * runEvacuation to the panel's shared ctx (see main.js).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.incidentParts = SafeMap.incidentParts || {};
  var C = SafeMap.common, esc = C.esc, km = C.km, S = parts.shared;
  var ROUTES = S.ROUTES, num = S.num, dur = S.dur, problemsHtml = S.problemsHtml;

  parts.evacuate = function (ctx) {
    var layers = ctx.layers, st = ctx.st, $ = ctx.$;

    /* ------------------------------------------------------------ evacuation */
    function runEvacuation() {
      var el = $(".sm-in-evac"), id = st.selected;
      el.innerHTML = '<div class="sm-in-hint">正在按道路计算…</div>';
      C.run(this, SafeMap.api("api/incidents/" + id + "/evacuation"), {
        busy: "计算中…",
        done: function (r) { if (id === st.selected) { st.evacuation = r; showEvacuation(); } },
        fail: function (err) { el.innerHTML = problemsHtml(err); }
      });
    }

    function showEvacuation() {
      var r = st.evacuation, el = $(".sm-in-evac"), colors = {}, k = 0, bounds = [];
      layers.evac.clearLayers();
      r.assignments.forEach(function (a) {
        if (!(a.shelter.id in colors)) colors[a.shelter.id] = ROUTES[k++ % ROUTES.length];
        if (a.route && a.route.coordinates && a.route.coordinates.length > 1) {
          var line = L.polyline(C.latlngs(a.route), { color: colors[a.shelter.id], weight: 4, opacity: 0.85, dashArray: "10 5" }).addTo(layers.evac);
          line.bindTooltip(esc(a.origin.name + " → " + a.shelter.name + "：" + a.people + " 人，" + dur(num(a.duration_s))), { sticky: true });
          bounds = bounds.concat(line.getLatLngs());
          var end = a.route.coordinates[a.route.coordinates.length - 1];
          L.circleMarker([end[1], end[0]], { radius: 7, color: "#fff", weight: 2, fillColor: colors[a.shelter.id], fillOpacity: 1 })
            .bindTooltip(esc(a.shelter.name)).addTo(layers.evac);
        }
      });
      var html = '<div class="sm-in-total">区内 <b>' + r.people + "</b> 人，已安置 <b>" + r.assigned + "</b> 人" +
        (r.unassigned_people ? '，<span class="sm-in-warnword">未安置 ' + r.unassigned_people + " 人</span>" : "") + "</div>" +
        '<table class="sm-in-table"><tr><th>从</th><th>到避难场所</th><th>人数</th><th>路程</th><th>用时</th></tr>' +
        r.assignments.map(function (a) {
          return '<tr><td><span class="sm-in-sw" style="background:' + colors[a.shelter.id] + '"></span>' + esc(a.origin.name) + "</td><td>" + esc(a.shelter.name) +
            '</td><td class="sm-in-num">' + a.people + '</td><td class="sm-in-num">' + km(num(a.distance_m)) + '</td><td class="sm-in-num">' + dur(num(a.duration_s)) + "</td></tr>";
        }).join("") + "</table>";
      if (r.unassigned.length) {
        html += '<div class="sm-in-subhead">未能安置</div><table class="sm-in-table">' + r.unassigned.map(function (u) {
          return "<tr><td>" + esc(u.origin.name) + '</td><td class="sm-in-num">' + u.people + ' 人</td><td class="sm-in-why">' + esc(u.reason) + "</td></tr>";
        }).join("") + "</table>";
      }
      if (r.excluded_shelters && r.excluded_shelters.length) {
        html += '<div class="sm-in-hint">不可用的避难场所：' + esc(r.excluded_shelters.map(function (s) { return s.name + "（" + s.reason + "）"; }).join("；")) + "</div>";
      }
      el.innerHTML = html + '<div class="sm-in-hint">' + esc(r.method || "") + "</div>";
      if (bounds.length) ctx.fit(L.latLngBounds(bounds));
    }

    ctx.runEvacuation = runEvacuation;
  };
})(window.SafeMap);

/*
 * 园区与矿山 panel part: tailings dam breach (尾矿库溃坝).
 * Lists the tailings ponds (GET api/tailings/ponds, with the reasons a pond cannot be analysed),
 * runs POST api/tailings/{id}/breach (optional breach point picked on the map, optional released
 * volume), draws the flow path, the inundation corridor and the places reached with their
 * arrival times on the part's own layer, warns when the DEM is synthetic, and lists who is
 * reached when, in Chinese. ES2015, no optional chaining.
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.parkParts = SafeMap.parkParts || {};

  parts.tailings = function (pane, ctx) {
    var C = ctx.common, esc = C.esc, map = ctx.map;
    var layer = ctx.layer("tailings");
    var st = { ponds: [], breach: null, marker: null };

    pane.innerHTML =
      '<div class="sm-park-tailings-form">' +
      '<label>尾矿库 <select class="sm-park-tailings-pond"><option value="">加载中…</option></select></label>' +
      '<div class="sm-park-tailings-pondinfo"></div>' +
      '<div class="sm-park-tailings-row"><button type="button" class="sm-park-tailings-pick">在地图上点选溃口</button>' +
      '<button type="button" class="sm-park-tailings-auto">用坝址（库边最低点）</button></div>' +
      '<div class="sm-park-tailings-where">溃口：库区边界上的最低点（坝址）</div>' +
      '<label>下泄量（万m³，可空：按经验公式估算） <input type="number" min="0" step="any" class="sm-park-tailings-vol"></label>' +
      '<button type="button" class="sm-park-tailings-run">分析溃坝影响</button>' +
      "</div>" +
      '<div class="sm-park-tailings-result"></div>';
    var $ = C.finder(pane);
    var select = $(".sm-park-tailings-pond"), result = $(".sm-park-tailings-result");

    function pondInfo() {
      var p = current();
      if (!p) { $(".sm-park-tailings-pondinfo").innerHTML = ""; return; }
      var text = "坝高 " + (p.dam_height_m === null ? "—" : p.dam_height_m + " m") + "，尾矿库存量 " +
        (p.tailings_volume_m3 === null ? "—" : (p.tailings_volume_m3 / 1e4).toFixed(0) + " 万m³");
      var why = p.checkable ? "" : '<div class="sm-park-tailings-warn">无法分析：' + esc(p.reasons.join("；")) + "</div>";
      $(".sm-park-tailings-pondinfo").innerHTML = esc(text) + why;
      $(".sm-park-tailings-run").disabled = !p.checkable;
    }

    function current() {
      var id = Number(select.value);
      for (var i = 0; i < st.ponds.length; i++) if (st.ponds[i].id === id) return st.ponds[i];
      return null;
    }

    ctx.api("api/tailings/ponds").then(function (data) {
      st.ponds = data.ponds;
      if (!st.ponds.length) {
        select.innerHTML = '<option value="">（没有尾矿库）</option>';
        $(".sm-park-tailings-run").disabled = true;
        return;
      }
      select.innerHTML = C.options(st.ponds.map(function (p) {
        return [String(p.id), p.name + (p.checkable ? "" : "（缺资料）")];
      }), String(st.ponds[0].id));
      pondInfo();
    }, function (err) {
      select.innerHTML = '<option value="">（加载失败）</option>';
      result.innerHTML = '<div class="sm-park-error">' + esc(err.message) + "</div>";
    });
    select.onchange = function () {
      pondInfo();
      var p = current();
      if (p) map.setView([p.lat, p.lon], Math.max(map.getZoom(), 12));
    };

    $(".sm-park-tailings-pick").onclick = function () {
      map.getContainer().classList.add("sm-park-tailings-crosshair");
      $(".sm-park-tailings-where").textContent = "请在地图上点击溃口位置…";
      map.once("click", function (e) {
        map.getContainer().classList.remove("sm-park-tailings-crosshair");
        st.breach = [e.latlng.lng, e.latlng.lat];
        if (st.marker) st.marker.setLatLng(e.latlng);
        else st.marker = L.marker(e.latlng, { title: "溃口" }).addTo(layer);
        $(".sm-park-tailings-where").textContent = "溃口：经度 " + e.latlng.lng.toFixed(5) + "，纬度 " + e.latlng.lat.toFixed(5);
      });
    };
    $(".sm-park-tailings-auto").onclick = function () {
      st.breach = null;
      if (st.marker) { layer.removeLayer(st.marker); st.marker = null; }
      $(".sm-park-tailings-where").textContent = "溃口：库区边界上的最低点（坝址）";
    };

    function body() {
      var b = {};
      if (st.breach) { b.lon = st.breach[0]; b.lat = st.breach[1]; }
      var vol = $(".sm-park-tailings-vol").value;
      if (vol !== "") b.released_m3 = Number(vol) * 1e4;
      return b;
    }

    function arrival(item) {
      return "距溃口 " + C.km(item.distance_m) + "，约 " + esc(item.arrival_text) + " 后到达";
    }

    function draw(r) {
      ctx.clearLayer("tailings");
      st.marker = null;
      L.geoJSON(r.corridor, { pane: "sm-park", style: { color: "#6d4c41", weight: 1, fillColor: "#8d6e63", fillOpacity: 0.35 } })
        .bindTooltip("淹没范围 " + (r.corridor.properties.area_m2 / 1e6).toFixed(2) + " km²").addTo(layer);
      L.geoJSON(r.path, { pane: "sm-park", style: { color: "#4e342e", weight: 4 } })
        .bindTooltip("溃坝流路 " + C.km(r.path.properties.length_m)).addTo(layer);
      L.circleMarker([r.breach.lat, r.breach.lon], { pane: "sm-park", radius: 8, color: "#b71c1c", fillOpacity: 0.9 })
        .bindTooltip("溃口（" + esc(r.breach.origin_label) + "）").addTo(layer);
      [["settlements", "#e65100", "居民点"], ["targets", "#c62828", "防护目标"], ["roads", "#37474f", "道路"]].forEach(function (k) {
        r[k[0]].forEach(function (item) {
          L.circleMarker([item.lat, item.lon], { pane: "sm-park", radius: 6, color: k[1], fillOpacity: 0.8 })
            .bindTooltip(esc(k[2] + "：" + item.name) + "<br>" + arrival(item)).addTo(layer);
        });
      });
      var bounds = layer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { maxZoom: 14 });
    }

    function list(title, items, line) {
      if (!items.length) return "<h4>" + esc(title) + "：无</h4>";
      return "<h4>" + esc(title) + " " + items.length + " 处</h4><ul>" + items.map(function (i) {
        return "<li>" + line(i) + "</li>";
      }).join("") + "</ul>";
    }

    function show(r) {
      var run = r.runout, path = r.path.properties;
      var warn = r.warnings.map(function (w) { return '<div class="sm-park-tailings-warn">' + esc(w) + "</div>"; }).join("");
      result.innerHTML = warn +
        '<table class="sm-park-tailings-table">' +
        "<tr><th>下泄量</th><td>" + esc((run.released_m3 / 1e4).toFixed(1)) + " 万m³" +
        (run.released_origin === "request" ? "（给定）" : "（经验公式）") + "</td></tr>" +
        "<tr><th>经验冲出距离</th><td>" + C.km(run.runout_m) + "</td></tr>" +
        "<tr><th>流路</th><td>" + C.km(path.length_m) + "（" + esc(path.end_label) + "），前锋到末端约 " +
        C.mmss(path.arrival_end_s) + "</td></tr>" +
        "<tr><th>淹没范围</th><td>" + (r.corridor.properties.area_m2 / 1e6).toFixed(2) + " km²</td></tr>" +
        "<tr><th>高程数据</th><td>" + esc(r.dem.source || r.dem.path) + (r.synthetic ? "（合成）" : "") + "</td></tr>" +
        "</table>" +
        list("居民点", r.settlements, function (s) {
          return esc(s.name) + (s.population === null ? "" : "（" + s.population + " 人）") + "：" + arrival(s);
        }) +
        list("防护目标", r.targets, function (t) {
          return esc(t.name) + "（" + esc(t.category_label) + (t.population === null ? "" : "，" + t.population + " 人") + "）：" + arrival(t);
        }) +
        list("道路", r.roads, function (d) {
          return esc(d.name) + (d.ref ? "（" + esc(d.ref) + "）" : "") + "：淹没段 " + C.km(d.length_inside_m) + "，" + arrival(d);
        }) +
        '<div class="sm-park-tailings-note">' + esc(run.relation) + "；" + esc(run.scatter) + "。" + esc(r.front.method) + "</div>";
    }

    $(".sm-park-tailings-run").onclick = function () {
      var p = current();
      if (!p) return;
      result.innerHTML = "";
      C.run(this, ctx.api("api/tailings/" + p.id + "/breach", { method: "POST", body: body() }), {
        busy: "分析中…",
        done: function (r) { draw(r); show(r); },
        fail: function (err) { result.innerHTML = '<div class="sm-park-error">' + esc(err.message) + "</div>"; }
      });
    };
  };
})(window.SafeMap);

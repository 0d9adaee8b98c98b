/*
 * 监测预警 (live) panel, part 3 of 6: sensor and vehicle markers on the panel's own layer group,
 * merged by id from GET /api/live and the sensor_live / vehicle_live events. SafeMap.liveParts.markers(ctx)
 * adds to ctx: putSensor(item), putVehicle(item), prune(ids), flash(latlng, marker), markerOf(kind, id).
 *   sensors    circle markers in their state's colour (catalogue sensor_state), larger while alarming;
 *              popup: name, kind, value, state, time and the last 24 h as an SVG chart (1 min means)
 *   vehicles   危险货物运输车 a diamond "危", 救援车辆 a rounded square "救", in their state's colour, an
 *              arrow for the heading, the last ~10 min as a trail; popup: plate, kind, cargo/UN number
 *              (from the vehicles layer), speed, time and the 轨迹回放 controls (track.js)
 *   phones     a popup opening folds the dock (it would cover the popup) and is panned below its tabs:
 *              ctx.foldOnPhone(popup)
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.liveParts = SafeMap.liveParts || {}, S = parts.shared, esc = SafeMap.esc;
  var TRAIL_MS = 10 * 60000, DAY = 86400000;

  parts.markers = function (ctx) {
    var st = ctx.st, layers = ctx.layers;
    st.sensors = {};
    st.vehicles = {};

    function isAlarm(state) { return /^(high|low)_/.test(state || ""); }
    function facts(rows) {
      return '<table class="sm-lv-facts">' + rows.map(function (r) {
        return "<tr><th>" + esc(r[0]) + "</th><td>" + r[1] + "</td></tr>";
      }).join("") + "</table>";
    }

    /* ------------------------------------------------------------ sensors */
    function sensorStyle(it) {
      var alarm = isAlarm(it.state);
      return { radius: alarm ? 9 : 7, weight: alarm ? 3 : 2, color: alarm ? "#212121" : "#ffffff",
        fillColor: S.sensorColor(it.state, it.color), fillOpacity: 0.95 };
    }
    function sensorFacts(it) {
      var color = S.sensorColor(it.state, it.color);
      return facts([
        ["类型", esc(it.kind_label || "—")],
        ["读数", '<b class="sm-lv-val">' + esc(S.valueText(it.value, it.unit_label)) + "</b>"],
        ["状态", '<span class="sm-lv-chip" style="background:' + esc(color) + '">' + esc(it.state_label || "—") + "</span>"],
        ["时间", esc(S.when(it.ts))]
      ]);
    }
    function sensorPopup(rec) {
      if (!rec.el) {
        rec.el = document.createElement("div");
        rec.el.className = "sm-lv-pop sm-lv-spop";
        rec.el.innerHTML = '<div class="sm-lv-poptitle"></div><div class="sm-lv-popfacts"></div>' +
          '<div class="sm-lv-charthead">近24小时趋势（1分钟均值）</div><div class="sm-lv-chart"><div class="sm-lv-hint">加载中…</div></div>';
      }
      rec.el.querySelector(".sm-lv-poptitle").textContent = rec.item.name || rec.item.code || "传感器";
      rec.el.querySelector(".sm-lv-popfacts").innerHTML = sensorFacts(rec.item);
      return rec.el;
    }
    function loadChart(rec) {
      var to = Date.now(), from = to - DAY, id = rec.item.id;
      var box = sensorPopup(rec).querySelector(".sm-lv-chart");
      var url = "api/sensors/" + id + "/readings?" +
        S.query({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), step: "1min" });
      SafeMap.api(url).then(function (r) {
        var sensor = Object.assign({}, rec.item, r.sensor || {});
        box.innerHTML = parts.chart(r.points || [], sensor, { from: from, to: to, gapMs: 5 * 60000 });
        ctx.repan(rec.marker);
      }, function (err) { box.innerHTML = '<div class="sm-lv-error">' + esc(err.message) + "</div>"; });
    }
    ctx.putSensor = function (it) {
      var rec = st.sensors[it.id];
      S.learn(it.ts);
      if (!rec) {
        rec = st.sensors[it.id] = { item: it, el: null };
        rec.marker = L.circleMarker([it.lat, it.lon], L.extend({ pane: "sm-live", renderer: ctx.renderer }, sensorStyle(it)));
        rec.marker.bindTooltip("", { direction: "top", offset: [0, -8] });
        rec.marker.bindPopup(function () { return sensorPopup(rec); }, { minWidth: 300, maxWidth: 320, className: "sm-lv-popup" });
        rec.marker.on("popupopen", function (e) { ctx.foldOnPhone(e.popup); loadChart(rec); });
        rec.marker.addTo(layers.sensors);
      } else {
        rec.item = Object.assign({}, rec.item, it);
        if (it.lat !== undefined && it.lon !== undefined) rec.marker.setLatLng([it.lat, it.lon]);
        rec.marker.setStyle(sensorStyle(rec.item));
        if (rec.marker.isPopupOpen()) sensorPopup(rec);
      }
      var p = rec.item;
      rec.marker.setTooltipContent(esc(p.name || p.code) + "：" + esc(S.valueText(p.value, p.unit_label)) +
        (p.state !== "normal" && p.state_label ? "（" + esc(p.state_label) + "）" : ""));
      var el = rec.marker.getElement && rec.marker.getElement();
      if (el) { el.setAttribute("data-sensor", p.id); el.setAttribute("data-state", p.state || ""); }
    };

    /* ------------------------------------------------------------ vehicles */
    function vehicleIcon(it) {
      var hazmat = it.kind === "hazmat_truck", color = esc(it.color || "#607d8b");
      var arrow = S.missing(it.heading) ? "" :
        '<span class="sm-lv-arrow" style="transform:rotate(' + Number(it.heading) + 'deg)"><i style="border-bottom-color:' + color + '"></i></span>';
      return L.divIcon({
        className: "sm-lv-veh " + (hazmat ? "sm-lv-hazmat" : "sm-lv-rescue"),
        html: arrow + '<span class="sm-lv-body" style="background:' + color + '"><b>' + (hazmat ? "危" : "救") + "</b></span>",
        iconSize: [24, 24], iconAnchor: [12, 12], popupAnchor: [0, -12], tooltipAnchor: [0, -12]
      });
    }
    function vehicleFacts(rec) {
      var it = rec.item, extra = rec.extra;
      var cargo = !extra ? "…" : (extra.cargo || extra.un_number) ?
        esc((extra.cargo || "") + (extra.un_number ? "（UN " + extra.un_number + "）" : "")) : "—";
      var rows = [["类型", esc(it.kind_label || "—")]];
      if (it.kind === "hazmat_truck" || (extra && (extra.cargo || extra.un_number))) rows.push(["装载", cargo]);
      rows.push(["速度", esc(S.missing(it.speed_kmh) ? "—" : S.num(it.speed_kmh) + " km/h")],
        ["状态", '<span class="sm-lv-chip" style="background:' + esc(it.color || "#607d8b") + '">' + esc(it.state_label || "—") + "</span>"],
        ["时间", esc(S.when(it.ts))]);
      return facts(rows);
    }
    function vehiclePopup(rec) {
      if (!rec.el) {
        rec.el = document.createElement("div");
        rec.el.className = "sm-lv-pop sm-lv-vpop";
        rec.el.innerHTML = '<div class="sm-lv-poptitle"></div><div class="sm-lv-popfacts"></div><div class="sm-lv-replay"></div>';
        ctx.replayControls(rec, rec.el.querySelector(".sm-lv-replay"));
      }
      rec.el.querySelector(".sm-lv-poptitle").textContent = rec.item.plate || "车辆";
      rec.el.querySelector(".sm-lv-popfacts").innerHTML = vehicleFacts(rec);
      return rec.el;
    }
    function loadExtra(rec) {
      if (rec.extra) return;
      if (rec.item.cargo !== undefined || rec.item.un_number !== undefined) {  // /api/live gives them
        rec.extra = { cargo: rec.item.cargo, un_number: rec.item.un_number };
        vehiclePopup(rec);
        return;
      }
      SafeMap.api("api/layers/vehicles/" + rec.item.id).then(function (f) {
        rec.extra = f.properties || {};
        if (rec.marker.isPopupOpen()) vehiclePopup(rec);
      }, function () { rec.extra = {}; if (rec.marker.isPopupOpen()) vehiclePopup(rec); });
    }
    function setTrail(rec, it) {
      var t = Date.parse(it.ts || "");
      if (it.trail && it.trail.length) {
        rec.trail = it.trail.map(function (c) { return { ll: [c[1], c[0]], t: null }; });
      }
      if (it.lat !== undefined && it.lon !== undefined) {
        var last = rec.trail[rec.trail.length - 1];
        if (!last || last.ll[0] !== it.lat || last.ll[1] !== it.lon) rec.trail.push({ ll: [it.lat, it.lon], t: isNaN(t) ? null : t });
      }
      // Points known to be older than ten minutes (by the vehicle's own latest time) drop off.
      if (!isNaN(t)) rec.trail = rec.trail.filter(function (p) { return p.t === null || p.t >= t - TRAIL_MS; });
      rec.line.setLatLngs(rec.trail.map(function (p) { return p.ll; }));
    }
    // A vehicle that never reported has no position: listed (counts), drawn once it reports.
    function located(it) { return !S.missing(it.lat) && !S.missing(it.lon); }
    ctx.putVehicle = function (it) {
      var rec = st.vehicles[it.id];
      S.learn(it.ts);
      if (!located(it)) { it = Object.assign({}, it); delete it.lat; delete it.lon; }
      if (!rec) {
        rec = st.vehicles[it.id] = { item: it, el: null, extra: null, trail: [] };
        rec.line = L.polyline([], { pane: "sm-live", renderer: ctx.renderer, color: it.color || "#607d8b", weight: 3,
          opacity: 0.7, dashArray: "2 5", interactive: false }).addTo(layers.trails);
        rec.marker = L.marker(located(it) ? [it.lat, it.lon] : [0, 0], { pane: "sm-live", icon: vehicleIcon(it), keyboard: false })
          .bindTooltip("", { direction: "top" })
          .bindPopup(function () { return vehiclePopup(rec); }, { minWidth: 290, maxWidth: 320, className: "sm-lv-popup" })
          .on("popupopen", function (e) { ctx.foldOnPhone(e.popup); loadExtra(rec); });
        if (located(it)) rec.marker.addTo(layers.vehicles);
      } else {
        var was = rec.item;
        rec.item = Object.assign({}, was, it);
        if (located(it)) {
          rec.marker.setLatLng([it.lat, it.lon]);
          if (!layers.vehicles.hasLayer(rec.marker)) rec.marker.addTo(layers.vehicles);
        }
        if (was.color !== rec.item.color || was.heading !== rec.item.heading || was.kind !== rec.item.kind) {
          var open = rec.marker.isPopupOpen();
          rec.marker.setIcon(vehicleIcon(rec.item));
          if (open && !rec.marker.isPopupOpen()) rec.marker.openPopup();
        }
        rec.line.setStyle({ color: rec.item.color || "#607d8b" });
        if (rec.marker.isPopupOpen()) vehiclePopup(rec);
      }
      setTrail(rec, it);
      var p = rec.item;
      rec.marker.setTooltipContent(esc(p.plate) + "（" + esc(p.kind_label || "") + "）" +
        (S.missing(p.speed_kmh) ? "" : " " + esc(S.num(p.speed_kmh)) + " km/h"));
      var el = rec.marker.getElement();
      if (el) { el.setAttribute("data-vehicle", p.id); el.setAttribute("data-state", p.state || ""); }
    };

    /** On a phone the dock covers the map (and popups): fold it, the tab brings it back. */
    ctx.foldOnPhone = function (popup) {
      var box = ctx.map.getContainer(), dock = box.querySelector(".sm-dock");
      if (box.clientWidth >= 600) return;
      SafeMap.openPanel("live", false);
      if (!popup || !dock) return;
      // The dock's tabs stay: the popup is panned into view below them.
      popup.options.autoPanPaddingTopLeft = [5, dock.getBoundingClientRect().bottom - box.getBoundingClientRect().top + 24];
      popup.update();
    };

    /** Pan an open popup into view again (it grew, or the map moved under it). */
    ctx.repan = function (marker) {
      if (marker.isPopupOpen()) marker.getPopup().update();
    };

    /** Remove what a full reload no longer lists. */
    ctx.prune = function (sensorIds, vehicleIds) {
      Object.keys(st.sensors).forEach(function (id) {
        if (sensorIds.indexOf(Number(id)) < 0) { layers.sensors.removeLayer(st.sensors[id].marker); delete st.sensors[id]; }
      });
      Object.keys(st.vehicles).forEach(function (id) {
        if (vehicleIds.indexOf(Number(id)) >= 0) return;
        layers.vehicles.removeLayer(st.vehicles[id].marker);
        layers.trails.removeLayer(st.vehicles[id].line);
        delete st.vehicles[id];
      });
    };

    ctx.markerOf = function (kind, id) {
      var rec = kind === "sensor" ? st.sensors[id] : st.vehicles[id];
      return rec && (kind === "sensor" || located(rec.item)) ? rec.marker : null;
    };

    /** Flash a marker (or, without one, a ring at ``latlng``) for a few seconds. */
    ctx.flash = function (latlng, marker) {
      var el = marker && marker.getElement ? marker.getElement() : null;
      st.flashed = { at: Date.now(), marker: !!el };
      if (el) {
        el.classList.remove("sm-lv-flash");
        void el.getBoundingClientRect();  // restart the animation
        el.classList.add("sm-lv-flash");
        setTimeout(function () { el.classList.remove("sm-lv-flash"); }, 3200);
        return;
      }
      var ring = L.circleMarker(latlng, { pane: "sm-live", renderer: ctx.renderer, radius: 16, color: "#d50000", weight: 4,
        fill: false, className: "sm-lv-flash" }).addTo(layers.group);
      setTimeout(function () { layers.group.removeLayer(ring); }, 3200);
    };
  };
})(window.SafeMap);

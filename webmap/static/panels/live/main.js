/*
 * 监测预警 (live) panel: sensors and vehicles live on the map, the alarms to act on.
 * Part 6 of 6, loaded last: the panels/live/*.js files before it (shared, chart, markers, track, alarms)
 * each put one part into SafeMap.liveParts; build() calls them with one ctx {state, map, container,
 * layers, st, $, renderer} to which each part adds its functions.
 *   on open    GET /api/live: sensors and vehicles drawn on the panel's own layer group (pane sm-live)
 *   live       events sensor_live / vehicle_live merged by id (positions move, trails grow), alarms
 *              reloads the list; after a broken connection the whole state is loaded again
 *   panel      实时 badge and counts, 声音提示 (off by default), 传感器/车辆 shown or not, the alarm list,
 *              a legend of the colours (catalogue sensor_state; vehicle states as the API colours them)
 * build() returns the handle {state, layers, reload, loadAlarms, focusAlarm, openSensor, openVehicle},
 * SafeMap.panel("live").
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc, parts = SafeMap.liveParts, S = parts.shared;

  SafeMap.registerPanel("live", function (container, state) {
    var map = state.map;
    // Live markers above the catalogue's features.
    if (!map.getPane("sm-live")) map.createPane("sm-live").style.zIndex = 630;
    var group = L.layerGroup().addTo(map);
    var layers = { group: group, trails: L.layerGroup().addTo(group), track: L.layerGroup().addTo(group),
      sensors: L.featureGroup().addTo(group), vehicles: L.featureGroup().addTo(group) };
    var st = { seq: null, sound: false, broken: false, loaded: false };
    var ctx = { state: state, map: map, container: container, layers: layers, st: st, $: C.finder(container),
      renderer: L.svg({ pane: "sm-live" }) };
    var $ = ctx.$;

    container.innerHTML =
      '<div class="sm-lv-bar"><span class="sm-lv-live sm-lv-off">● 未连接</span>' +
      '<label class="sm-lv-sound"><input type="checkbox" class="sm-lv-soundbox"> 声音提示</label></div>' +
      '<div class="sm-lv-counts sm-lv-hint">加载中…</div>' +
      '<div class="sm-lv-row sm-lv-show"><label><input type="checkbox" class="sm-lv-showsensors" checked> 传感器</label>' +
      '<label><input type="checkbox" class="sm-lv-showvehicles" checked> 车辆</label>' +
      '<button type="button" class="sm-lv-fit">显示全部</button></div>' +
      '<fieldset><legend>报警<span class="sm-lv-acount"></span></legend><div class="sm-lv-amsgbox"></div>' +
      '<div class="sm-lv-alarms"><div class="sm-lv-hint">加载中…</div></div></fieldset>' +
      '<details class="sm-lv-legendbox" open><summary>图例</summary><div class="sm-lv-legend"></div></details>';

    parts.markers(ctx);
    parts.track(ctx);
    parts.alarms(ctx);

    /* ------------------------------------------------------------ counts and legend */
    function counts() {
      var ss = Object.keys(st.sensors).map(function (k) { return st.sensors[k].item; });
      var alarm = ss.filter(function (s) { return /^(high|low)_/.test(s.state || ""); }).length;
      var off = ss.filter(function (s) { return s.state === "offline" || s.state === "silent"; }).length;
      var vs = Object.keys(st.vehicles).map(function (k) { return st.vehicles[k].item; });
      var moving = vs.filter(function (it) { return !S.missing(it.lat) && !S.missing(it.lon); }).length;
      $(".sm-lv-counts").innerHTML = "<span>传感器 " + ss.length + " 个（报警 " + alarm + "，离线/未上报 " + off + "）</span>" +
        "<span>车辆 " + vs.length + " 辆（有定位 " + moving + "）</span>";
    }
    function legend() {
      var members = SafeMap.enumMembers("sensor_state");
      if (!members.length) {  // the catalogue's list, else what the sensors show
        var seen = {};
        Object.keys(st.sensors).forEach(function (k) {
          var it = st.sensors[k].item;
          if (!seen[it.state]) { seen[it.state] = true; members.push([it.state, it.state_label, it.color]); }
        });
      }
      var vstates = {}, vlist = [];
      Object.keys(st.vehicles).forEach(function (k) {
        var it = st.vehicles[k].item, key = it.state_label + "|" + it.color;
        if (it.state_label && !vstates[key]) { vstates[key] = true; vlist.push([it.state_label, it.color]); }
      });
      var kinds = ["hazmat_truck", "rescue"];
      var html = '<div class="sm-lv-lgroup">传感器（按实时状态）</div>' + members.map(function (m) {
        return '<span class="sm-lv-litem"><i class="sm-lv-ldot" style="background:' + esc(S.sensorColor(m[0], m[2])) + '"></i>' + esc(m[1]) + "</span>";
      }).join("") + '<div class="sm-lv-lgroup">车辆</div>' + kinds.map(function (k) {
        return '<span class="sm-lv-litem"><i class="sm-lv-veh sm-lv-lveh ' + (k === "rescue" ? "sm-lv-rescue" : "sm-lv-hazmat") +
          '"><span class="sm-lv-body"><b>' + (k === "rescue" ? "救" : "危") + "</b></span></i>" +
          esc(SafeMap.enumLabel("vehicle_kind", k)) + "</span>";
      }).join("") + (vlist.length ? '<div class="sm-lv-lsub">' + vlist.map(function (v) {
        return '<span class="sm-lv-litem"><i class="sm-lv-ldot" style="background:' + esc(v[1]) + '"></i>' + esc(v[0]) + "</span>";
      }).join("") + "</div>" : "") +
        '<div class="sm-lv-lsub"><span class="sm-lv-litem"><i class="sm-lv-ltrail"></i>近10分钟行驶轨迹</span>' +
        '<span class="sm-lv-litem"><i class="sm-lv-ltrack"></i>轨迹回放</span></div>';
      if (html !== st.legendHtml) { st.legendHtml = html; $(".sm-lv-legend").innerHTML = html; }
    }

    /* ------------------------------------------------------------ loading and live updates */
    function reload() {
      return SafeMap.api("api/live").then(function (d) {
        st.seq = d.seq;
        (d.sensors || []).forEach(ctx.putSensor);
        (d.vehicles || []).forEach(ctx.putVehicle);
        ctx.prune((d.sensors || []).map(function (s) { return s.id; }), (d.vehicles || []).map(function (v) { return v.id; }));
        st.loaded = true;
        counts();
        legend();
        return ctx.loadAlarms();
      }, function (err) {
        $(".sm-lv-counts").innerHTML = '<span class="sm-lv-error">实时数据加载失败：' + esc(err.message) + "</span>";
      });
    }
    function liveBadge(on) {
      var badge = $(".sm-lv-live");
      badge.textContent = on ? "● 实时" : "● 连接中断，自动重连…";
      badge.classList.toggle("sm-lv-off", !on);
    }
    var pending = null;
    function soonAlarms() {
      if (pending) return;
      pending = setTimeout(function () { pending = null; ctx.loadAlarms(); }, 200);
    }
    function newer(d) {
      if (st.seq !== null && d.seq !== undefined && d.seq !== null && d.seq > st.seq) st.seq = d.seq;
      return st.loaded;
    }
    SafeMap.events.on("sensor_live", function (d) {
      liveBadge(true);
      if (!newer(d)) return;
      (d.sensors || []).forEach(ctx.putSensor);
      counts();
      legend();
    });
    SafeMap.events.on("vehicle_live", function (d) {
      liveBadge(true);
      if (!newer(d)) return;
      (d.vehicles || []).forEach(ctx.putVehicle);
      counts();
      legend();
    });
    SafeMap.events.on("alarms", function () { liveBadge(true); soonAlarms(); });
    SafeMap.events.on("error", function () { st.broken = true; liveBadge(false); });
    SafeMap.events.on("open", function () {
      liveBadge(true);
      if (st.broken) { st.broken = false; reload(); }  // what happened meanwhile
    });
    SafeMap.events.on("snapshot", function () { liveBadge(true); });
    if (SafeMap.events.connected()) liveBadge(true);

    /* ------------------------------------------------------------ controls */
    $(".sm-lv-soundbox").onchange = function () {
      st.sound = this.checked;
      if (st.sound) S.beep();  // made in the click, so the browser allows the sound; also a test of it
    };
    function show(layer, on) { if (on) group.addLayer(layer); else group.removeLayer(layer); }
    $(".sm-lv-showsensors").onchange = function () { show(layers.sensors, this.checked); };
    $(".sm-lv-showvehicles").onchange = function () { show(layers.vehicles, this.checked); show(layers.trails, this.checked); };
    $(".sm-lv-fit").onclick = function () {
      var b = L.latLngBounds([]);
      [layers.sensors, layers.vehicles].forEach(function (g) { if (g.getLayers().length) b.extend(g.getBounds()); });
      if (b.isValid()) map.fitBounds(b, { padding: [30, 30], maxZoom: 15 });
    };

    function open(kind, id) {
      var m = ctx.markerOf(kind, id);
      if (!m) return false;
      map.setView(m.getLatLng(), Math.max(map.getZoom(), Math.min(map.getMaxZoom(), 18)), { animate: false });
      m.openPopup();
      return true;
    }

    reload();
    return {
      state: st, layers: layers, reload: reload, loadAlarms: ctx.loadAlarms, focusAlarm: ctx.focusAlarm,
      openSensor: function (id) { return open("sensor", id); }, openVehicle: function (id) { return open("vehicle", id); }
    };
  });
})(window.SafeMap);

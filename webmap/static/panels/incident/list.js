/*
 * 事件处置 panel, part 2 of 7: 事件列表 (active incidents, newest first, GET /api/incidents?status=active;
 * their markers) and 接警 (kind, location by map click, typed coordinates or a named place;
 * POST /api/incidents). SafeMap.incidentParts.list(ctx) adds loadList, showList, drawMarkers,
 * newForm, setupForm and setPicked to the panel's shared ctx (see main.js).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.incidentParts = SafeMap.incidentParts || {};
  var C = SafeMap.common, esc = C.esc, options = C.options, S = parts.shared;
  var PLACE_LAYERS = S.PLACE_LAYERS, dur = S.dur, problemsHtml = S.problemsHtml, kindLabel = S.kindLabel, statusChip = S.statusChip;

  parts.list = function (ctx) {
    var state = ctx.state, map = ctx.map, layers = ctx.layers, st = ctx.st, $ = ctx.$;
    var learnOffset = ctx.learnOffset, when = ctx.when, since = ctx.since;
    var form = null;
    var mode = "map";

    /* ------------------------------------------------------------ incident list and markers */
    function loadList() {
      return SafeMap.api("api/incidents?status=active").then(function (fc) {
        st.incidents = fc.features;
        fc.features.forEach(function (f) { learnOffset(f.properties.reported_at); });
        showList();
      }, function (err) { $(".sm-in-list").innerHTML = problemsHtml(err); });
    }

    function showList(keepMarkers) {
      var el = $(".sm-in-list");
      if (!st.incidents.length) el.innerHTML = '<div class="sm-in-hint">当前没有未结束的事件</div>';
      else {
        el.innerHTML = st.incidents.map(function (f) {
          var p = f.properties;
          return '<button type="button" class="sm-in-item' + (f.id === st.selected ? " sm-in-on" : "") + '" data-id="' + f.id + '">' +
            '<span class="sm-in-dot" style="background:' + SafeMap.enumColor("incident_kind", p.kind, "#d50000") + '"></span>' +
            '<span class="sm-in-name">' + esc(p.name) + '</span><span class="sm-in-meta">' + esc(kindLabel(p.kind)) + " " +
            statusChip(p.status) + " " + esc(when(p.reported_at)) + " · 已 " + esc(dur(since(p.reported_at))) + "</span></button>";
        }).join("");
        el.querySelectorAll(".sm-in-item").forEach(function (b) {
          b.onclick = function () { ctx.select(Number(b.getAttribute("data-id"))); };
        });
      }
      if (!keepMarkers) drawMarkers();
    }

    function drawMarkers() {
      layers.markers.clearLayers();
      var shown = st.incidents.slice();
      if (st.detail && !st.incidents.some(function (f) { return f.id === st.detail.id; })) shown.push(st.detail);
      shown.forEach(function (f) {
        var c = f.geometry.coordinates, ll = L.latLng(c[1], c[0]), on = f.id === st.selected;
        if (on) {
          L.circleMarker(ll, { radius: 20, color: "#ffea00", weight: 5, fill: false, interactive: false, className: "sm-in-ring", pane: "sm-incidents" })
            .addTo(layers.markers);
        }
        var m = L.circleMarker(ll, {
          radius: on ? 11 : 8, color: on ? "#000" : "#fff", weight: on ? 3 : 2, fillOpacity: 0.95,
          fillColor: SafeMap.enumColor("incident_kind", f.properties.kind, "#d50000"), className: "sm-in-marker", pane: "sm-incidents"
        }).addTo(layers.markers);
        m.bindTooltip(esc(f.properties.name) + "（" + esc(SafeMap.enumLabel("incident_status", f.properties.status)) + "）");
        m.on("click", function (e) { L.DomEvent.stop(e); ctx.select(f.id); });
      });
    }

    /* ------------------------------------------------------------ 接警 form */
    function newForm() {
      var places = PLACE_LAYERS.map(function (n) {
        var info = state.info && state.info[n];
        return [n, info && info.label ? info.label : n];
      });
      return '<fieldset><legend>接警登记</legend>' +
        '<label>事件类型</label><select name="kind">' + options(C.enumList("incident_kind"), "leak") + "</select>" +
        '<label>事发位置</label><div class="sm-in-tabs">' +
        '<button type="button" class="sm-in-mode sm-in-on" data-mode="map">地图点选</button>' +
        '<button type="button" class="sm-in-mode" data-mode="text">输入坐标</button>' +
        '<button type="button" class="sm-in-mode" data-mode="place">按名称</button></div>' +
        '<div class="sm-in-where" data-mode="map"><button type="button" class="sm-in-pick">在地图上点击事发地</button>' +
        '<div class="sm-in-hint sm-in-picked">尚未选择</div></div>' +
        '<div class="sm-in-where" data-mode="text" hidden><input name="location_text" placeholder="如 82°59′06″E 46°12′18″N 或 82.985, 46.205">' +
        '<select name="crs"><option value="WGS84">WGS 84</option><option value="CGCS2000">CGCS2000</option></select>' +
        '<div class="sm-in-hint">十进制或度分秒均可，经度在前</div></div>' +
        '<div class="sm-in-where" data-mode="place" hidden><select name="place_layer">' + options(places, "enterprises") + "</select>" +
        '<input name="place_name" list="sm-in-names" placeholder="名称（全名或唯一的一部分）"><datalist id="sm-in-names"></datalist></div>' +
        '<div class="sm-in-grid"><label>物质<input name="substance" placeholder="如 液氯"></label>' +
        '<label>估计量 t<input name="quantity_t" type="number" min="0" step="any"></label>' +
        '<label>报警人<input name="reporter"></label><label>报警电话<input name="phone" inputmode="tel"></label></div>' +
        '<label>情况描述</label><textarea name="description" rows="2"></textarea>' +
        '<div class="sm-in-row"><button type="submit" class="sm-in-primary sm-in-create">登记接警</button>' +
        '<button type="button" class="sm-in-cancel">取消</button></div><div class="sm-in-formmsg"></div></fieldset>';
    }

    function setMode(m) {
      mode = m;
      form.querySelectorAll(".sm-in-mode").forEach(function (b) { b.classList.toggle("sm-in-on", b.getAttribute("data-mode") === m); });
      form.querySelectorAll(".sm-in-where").forEach(function (d) { d.hidden = d.getAttribute("data-mode") !== m; });
      if (m !== "map") stopPicking();
    }
    function fillNames() {
      var feats = (state.features && state.features[form.place_layer.value]) || [];
      $("#sm-in-names").innerHTML = feats.slice(0, 2000).map(function (l) {
        return '<option value="' + esc(l.smFeature[1]) + '">';
      }).join("");
    }

    function setPicked(ll) {
      st.picked = [ll.lng, ll.lat];
      layers.pick.clearLayers();
      L.marker(ll, { title: "事发地（待登记）" }).addTo(layers.pick);
      form.querySelector(".sm-in-picked").textContent = "经度 " + ll.lng.toFixed(5) + "，纬度 " + ll.lat.toFixed(5);
    }
    function onMapClick(e) { if (st.picking) { setPicked(e.latlng); stopPicking(); } }
    function stopPicking() {
      st.picking = false;
      map.getContainer().classList.remove("sm-in-crosshair");
      map.off("click", onMapClick);
    }

    function newBody() {
      var b = { kind: form.kind.value };
      if (mode === "map") { if (st.picked) b.location = st.picked; }
      else if (mode === "text") { b.location_text = form.location_text.value.trim(); b.crs = form.crs.value; }
      else b.place = { layer: form.place_layer.value, name: form.place_name.value.trim() };
      ["substance", "reporter", "phone", "description"].forEach(function (k) {
        var v = form[k].value.trim();
        if (v) b[k] = v;
      });
      if (form.quantity_t.value !== "") b.quantity_t = Number(form.quantity_t.value);
      return b;
    }

    /** The 接警 form's buttons and submit (its markup, newForm(), is in the panel by now). */
    function setupForm() {
      form = $(".sm-in-new");
      form.querySelectorAll(".sm-in-mode").forEach(function (b) {
        b.onclick = function () { setMode(b.getAttribute("data-mode")); };
      });
      form.place_layer.onchange = fillNames;
      fillNames();
      SafeMap.hooks.on("featureclick", function (e) {
        if (!st.picking) return false;
        setPicked(e.latlng);
        stopPicking();
        return true;
      });
      form.querySelector(".sm-in-pick").onclick = function () {
        st.picking = true;
        map.getContainer().classList.add("sm-in-crosshair");
        form.querySelector(".sm-in-picked").textContent = "请在地图上点击事发地…";
        map.on("click", onMapClick);
      };
      $(".sm-in-newbtn").onclick = function () {
        form.hidden = !form.hidden;
        if (!form.hidden) form.scrollIntoView({ block: "nearest" });
      };
      form.querySelector(".sm-in-cancel").onclick = function () {
        form.hidden = true;
        stopPicking();
        layers.pick.clearLayers();
      };
      form.onsubmit = function (ev) {
        ev.preventDefault();
        var msg = form.querySelector(".sm-in-formmsg"), body = newBody();
        if (mode === "map" && !body.location) { msg.innerHTML = '<div class="sm-in-error">请先在地图上点击事发地</div>'; return; }
        if (mode === "text" && !body.location_text) { msg.innerHTML = '<div class="sm-in-error">请输入坐标</div>'; return; }
        if (mode === "place" && !body.place.name) { msg.innerHTML = '<div class="sm-in-error">请输入地点名称</div>'; return; }
        if (!SafeMap.token()) { msg.innerHTML = '<div class="sm-in-error">接警登记需要调度员令牌：请点击“令牌”按钮输入</div>'; return; }
        msg.innerHTML = "";
        C.run(form.querySelector(".sm-in-create"), SafeMap.api("api/incidents", { method: "POST", body: body }), {
          busy: "登记中…",
          done: function (f) {
            var notes = (f.notes || []).join("；");
            form.reset();
            setMode("map");
            st.picked = null;
            layers.pick.clearLayers();
            form.querySelector(".sm-in-picked").textContent = "尚未选择";
            form.hidden = true;
            learnOffset(f.properties.reported_at);
            loadList().then(function () { ctx.select(f.id, notes ? "已登记。" + notes : "已登记"); });
          },
          fail: function (err) { msg.innerHTML = problemsHtml(err); }
        });
      };
    }

    ctx.loadList = loadList;
    ctx.showList = showList;
    ctx.drawMarkers = drawMarkers;
    ctx.newForm = newForm;
    ctx.setupForm = setupForm;
    ctx.setPicked = setPicked;
  };
})(window.SafeMap);

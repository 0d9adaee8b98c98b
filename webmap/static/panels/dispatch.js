/*
 * 应急调度 panel: place the incident, state the needs, get teams and depots ranked by real
 * travel time, see the routes with ETAs, confirm (a 409 says who took a team first), release.
 * Also, on every open map: team markers are ringed by status (待命 green, 出动中 red,
 * 休整 grey, the catalogue's team_status colours) and closed roads redrawn, live from the
 * server-sent events at api/events (SafeMap.events). build() returns the panel's handle
 * {drawn, state, setIncident, loadActive}, SafeMap.panel("dispatch"); setIncident(latlng, incidentId,
 * name, kind) with a registered incident's id (the 事件处置 panel) plans against its stored hazard zone,
 * links the confirmed dispatches to it (incident_id) and offers experts by its kind (专家).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc, mmss = C.mmss, km = C.km, options = C.options, latlngs = C.latlngs;
  // Route colours of the selected teams (not catalogue colours: just distinct lines).
  var COLORS = ["#d50000", "#2962ff", "#00a152", "#ff6d00", "#aa00ff", "#00b8d4", "#c51162", "#6d4c41"];
  var FIRE_TEAMS = "fire_station,professional_fire";
  var WINDS = [["", "不考虑"], ["0", "北风"], ["45", "东北风"], ["90", "东风"], ["135", "东南风"],
    ["180", "南风"], ["225", "西南风"], ["270", "西风"], ["315", "西北风"]];

  /** Team kinds to ask for: both fire-fighting kinds together, then each kind of the catalogue. */
  function kinds() {
    return [[FIRE_TEAMS, "消防救援队伍"]].concat(C.enumList("team_kind"));
  }
  /** Vehicles a team need may ask for (the catalogue's, minus those no team need names). */
  function vehicles() {
    return [["", "按队伍首发车辆"]].concat(C.enumList("vehicle_profile",
      ["fire_engine", "foam_engine", "aerial_ladder", "hazmat", "rescue", "ambulance", "mine_rescue"]));
  }
  function kindLabel(code) { return SafeMap.enumLabel("team_kind", code); }

  /* ------------------------------------------------------------ live status on every map */
  // Team markers ringed in their status colour (catalogue enum team_status), closed roads
  // and obstructed fire lanes redrawn, as the server reports them.

  function ringTeam(id, status) {
    var lyr = SafeMap.find("rescue_teams", id);
    if (!lyr) return;
    lyr.setStyle({ color: SafeMap.enumColor("team_status", status, "#ffffff"), weight: status === "available" ? 3 : 5 });
    if (lyr.getElement && lyr.getElement()) lyr.getElement().setAttribute("data-status", status);
    // The popup says what the ring shows (not the status the page was built with).
    SafeMap.popups.setLive(lyr, "状态", SafeMap.enumLabel("team_status", status));
  }

  /** A road (or fire lane) closed or reopened: the one closed-road style, and its popup's 通行状态. */
  function styleRoad(layer, id, closed) {
    var lyr = SafeMap.find(layer, id);
    if (!lyr || !lyr.setStyle) return;
    SafeMap.draw.setClosed(lyr, closed);
    if (layer === "roads") SafeMap.popups.setLive(lyr, "通行状态", SafeMap.enumLabel("road_status", closed ? "closed" : "open"));
  }

  /** The legend explains the status rings of the team markers (catalogue team_status colours). */
  SafeMap.whenReady(function (state) {
    var legend = state.legend && state.legend.getContainer();
    var entry = legend ? legend.querySelector('[data-layer="rescue_teams"]') : null;
    if (!entry || entry.querySelector(".sm-dp-rings")) return;
    var div = document.createElement("div");
    div.className = "sm-dp-rings";
    div.innerHTML = '<div class="sm-lg-by">外圈：队伍状态（实时）</div><ul>' + SafeMap.enumMembers("team_status").map(function (m) {
      return '<li><i class="sm-sw sm-dp-ring" style="border-color:' + esc(m[2]) + '"></i><span>' + esc(m[1]) + "</span></li>";
    }).join("") + "</ul>";
    entry.appendChild(div);
  });

  // A team or road drawn anew after an edit (js/sync.js) gets its ring / closure again.
  SafeMap.hooks.on("redrawn", function (e) {
    var p = e.feature.properties || {};
    if (e.layer === "rescue_teams" && p.status) ringTeam(e.feature.id, p.status);
    if (e.layer === "roads" && p.status) styleRoad("roads", e.feature.id, p.status === "closed");
  });

  SafeMap.events.on("snapshot", function (d) {
    d.teams.forEach(function (t) { ringTeam(t.id, t.status); });
  });
  SafeMap.events.on("rescue_teams", function (d) {
    if (d.status) ringTeam(d.id, d.status);
  });
  SafeMap.events.on("roads", function (d) {
    if (d.status) styleRoad("roads", d.id, d.status === "closed");
  });
  SafeMap.events.on("fire_lanes", function (d) {
    if (d.obstructed !== null && d.obstructed !== undefined) styleRoad("fire_lanes", d.id, d.obstructed);
  });

  /* ------------------------------------------------------------ the panel */
  SafeMap.registerPanel("dispatch", function (container, state) {
    var map = state.map;
    var drawn = L.layerGroup().addTo(map);
    var PLAN_LEGEND = '<div><i class="sm-sw sm-sw-ln" style="border-top:4px solid #d50000"></i>所选队伍路线（预计到达）</div>' +
      '<div><i class="sm-sw sm-sw-ln" style="border-top:2px dashed #757575"></i>备选队伍路线</div>' +
      '<div><i class="sm-sw sm-sw-ln" style="border-top:3px dashed #00695c"></i>物资调拨路线</div>' +
      '<div><i class="sm-sw sm-sw-ar" style="border-color:#aa00ff;background:rgba(170,0,255,.15)"></i>危险区</div>';
    var st = { incident: null, incidentId: null, marker: null, plan: null, closing: false };

    container.innerHTML =
      '<fieldset><legend>事发地</legend>' +
      '<div class="sm-dp-row"><button type="button" class="sm-dp-pick sm-dp-grow">在地图上点选事发地</button></div>' +
      '<div class="sm-dp-hint sm-dp-where">尚未选择</div>' +
      '<div class="sm-dp-row">事件类型 <select class="sm-dp-ikind sm-dp-grow"><option value="">（不推荐专家）</option>' +
      SafeMap.enumMembers("incident_kind").map(function (m) {
        return '<option value="' + esc(m[0]) + '">' + esc(m[1]) + "</option>";
      }).join("") + "</select></div></fieldset>" +
      '<fieldset><legend>队伍需求</legend><div class="sm-dp-needs"></div>' +
      '<button type="button" class="sm-dp-small sm-dp-addneed">＋ 增加队伍需求</button></fieldset>' +
      '<fieldset><legend>物资需求</legend><div class="sm-dp-mats"></div>' +
      '<datalist id="sm-dp-items"></datalist>' +
      '<button type="button" class="sm-dp-small sm-dp-addmat">＋ 增加物资</button></fieldset>' +
      '<fieldset><legend>危险区与风向（危化品事故）</legend>' +
      '<div class="sm-dp-row">半径 <input type="number" class="sm-dp-radius" min="0" max="50000" step="50" placeholder="米"> m ' +
      '风向 <select class="sm-dp-wind sm-dp-grow">' + options(WINDS, "") + "</select></div>" +
      '<div class="sm-dp-row">出动准备 <input type="number" class="sm-dp-turnout" min="0" max="3600" value="60"> 秒</div></fieldset>' +
      '<button type="button" class="sm-dp-primary sm-dp-plan">生成调度方案</button>' +
      '<div class="sm-dp-result"></div>' +
      '<fieldset><legend>进行中的调度 <span class="sm-dp-live sm-dp-off">● 未连接</span></legend><div class="sm-dp-active">—</div></fieldset>' +
      '<fieldset><legend>道路封闭</legend><div class="sm-dp-row">' +
      '<button type="button" class="sm-dp-close sm-dp-grow">点击道路：封闭/解除封闭</button></div>' +
      '<div class="sm-dp-hint sm-dp-closehint">需调度员令牌；封闭路段以红色虚线显示</div></fieldset>';

    var $ = C.finder(container);

    function addNeed(kindCodes, count, vehicle) {
      var row = document.createElement("div");
      row.className = "sm-dp-row sm-dp-need";
      row.innerHTML = '<select class="sm-dp-kind sm-dp-grow">' + options(kinds(), kindCodes) + "</select>" +
        '<input type="number" class="sm-dp-count" min="1" max="50" value="' + count + '">' +
        '<select class="sm-dp-veh" title="车辆">' + options(vehicles(), vehicle || "") + "</select>" +
        '<button type="button" class="sm-dp-small" title="删除">×</button>';
      row.querySelector("button").onclick = function () { row.remove(); };
      $(".sm-dp-needs").appendChild(row);
    }
    function addMat(item, qty) {
      var row = document.createElement("div");
      row.className = "sm-dp-row sm-dp-mat";
      row.innerHTML = '<input class="sm-dp-item sm-dp-grow" list="sm-dp-items" placeholder="物资名称" value="' + esc(item || "") + '">' +
        '<input type="number" class="sm-dp-qty" min="0" step="any" value="' + (qty || "") + '">' +
        '<button type="button" class="sm-dp-small" title="删除">×</button>';
      row.querySelector("button").onclick = function () { row.remove(); };
      $(".sm-dp-mats").appendChild(row);
    }
    addNeed(FIRE_TEAMS, 2, "");
    $(".sm-dp-addneed").onclick = function () { addNeed("hazmat", 1, ""); };
    $(".sm-dp-addmat").onclick = function () { addMat("", ""); };
    SafeMap.api("api/layers/material_depots?limit=1000").then(function (fc) {
      var items = {};
      fc.features.forEach(function (f) { (f.properties.inventory || []).forEach(function (i) { items[i.item] = i.unit; }); });
      $("#sm-dp-items").innerHTML = Object.keys(items).sort().map(function (k) {
        return '<option value="' + esc(k) + '">' + esc(items[k]) + "</option>";
      }).join("");
    }, function () { /* the list is a convenience only */ });

    /* incident: a point, or a registered incident (its id: the plan uses its stored hazard zone, the dispatch is linked to it) */
    function setIncident(latlng, incidentId, name, kind) {
      st.incident = [latlng.lng, latlng.lat];
      if (kind) $(".sm-dp-ikind").value = kind;
      st.incidentId = incidentId || null;
      if (st.marker) st.marker.setLatLng(latlng);
      else st.marker = L.marker(latlng, { title: "事发地" }).addTo(map);
      $(".sm-dp-where").textContent = (st.incidentId ? "事件 #" + st.incidentId + (name ? " " + name : "") + "：" : "") +
        "经度 " + latlng.lng.toFixed(5) + "，纬度 " + latlng.lat.toFixed(5);
    }
    $(".sm-dp-pick").onclick = function () {
      map.getContainer().classList.add("sm-dp-crosshair");
      $(".sm-dp-where").textContent = "请在地图上点击事发地…";
      map.once("click", function (e) {
        map.getContainer().classList.remove("sm-dp-crosshair");
        setIncident(e.latlng);
      });
    };

    function body() {
      var needs = [], mats = [];
      container.querySelectorAll(".sm-dp-need").forEach(function (row) {
        var n = { kinds: row.querySelector(".sm-dp-kind").value.split(","), count: Number(row.querySelector(".sm-dp-count").value) || 1 };
        var v = row.querySelector(".sm-dp-veh").value;
        if (v) n.vehicle = v;
        needs.push(n);
      });
      container.querySelectorAll(".sm-dp-mat").forEach(function (row) {
        var item = row.querySelector(".sm-dp-item").value.trim(), q = Number(row.querySelector(".sm-dp-qty").value);
        if (item && q > 0) mats.push({ item: item, quantity: q });
      });
      var out = { incident: st.incident, needs: needs, materials: mats, turnout_s: Number($(".sm-dp-turnout").value) || 0 };
      if (st.incidentId) out.incident_id = st.incidentId;
      if ($(".sm-dp-ikind").value) out.incident_kind = $(".sm-dp-ikind").value;
      var radius = Number($(".sm-dp-radius").value);
      if (radius > 0) {
        out.hazard = { radius_m: radius };
        if ($(".sm-dp-wind").value !== "") out.hazard.wind_from_deg = Number($(".sm-dp-wind").value);
      }
      return out;
    }

    /* experts to call, by the incident's kind (专家: they advise by phone first, the distance is to their workplace) */
    function expertsHtml(offer) {
      var html = '<div class="sm-dp-need-res sm-dp-experts"><b>建议联系的应急专家（' + esc(offer.kind_label) + "）</b>";
      offer.groups.forEach(function (g) {
        html += '<div class="sm-dp-hint">' + esc(g.field_label) + "</div>";
        if (!g.experts.length) { html += '<div class="sm-dp-why">专家库中暂无此专业</div>'; return; }
        html += '<table class="sm-dp-table">' + g.experts.map(function (e) {
          return "<tr><td>" + esc(e.name) + (e.title ? " " + esc(e.title) : "") +
            '<div class="sm-dp-hint">' + esc(e.employer || "") + (e.specialties ? "；" + esc(e.specialties) : "") + "</div>" +
            (e.available ? "" : '<div class="sm-dp-why">暂不可联系</div>') + "</td>" +
            '<td><a href="tel:' + esc(e.phone) + '">' + esc(e.phone) + '</a></td><td class="sm-dp-num">' + km(e.distance_m) + "</td></tr>";
        }).join("") + "</table>";
      });
      return html + "</div>";
    }

    /* plan */
    $(".sm-dp-plan").onclick = function () {
      var res = $(".sm-dp-result");
      if (!st.incident) { res.innerHTML = '<div class="sm-dp-error">请先在地图上点选事发地</div>'; return; }
      res.innerHTML = '<div class="sm-dp-hint">正在计算行车时间…</div>';
      C.run(this, SafeMap.api("api/dispatch/plan", { method: "POST", body: body() }), {
        done: function (plan) {
          st.plan = plan;
          showPlan(plan);
        },
        fail: function (err) { res.innerHTML = '<div class="sm-dp-error">' + esc(err.message) + "</div>"; }
      });
    };

    function drawRoute(geometry, color, label, weight, dash) {
      var line = L.polyline(latlngs(geometry), { color: color, weight: weight, opacity: 0.9, dashArray: dash || null });
      line.addTo(drawn);
      if (label) {
        var pts = line.getLatLngs();
        L.tooltip({ permanent: true, direction: "right", className: "sm-dp-eta" })
          .setLatLng(pts[Math.floor(pts.length * 0.35)]).setContent(esc(label)).addTo(drawn);
      }
      return line;
    }

    function showPlan(plan) {
      drawn.clearLayers();
      // A named entry of 分析结果 (layer control + legend, 清除): it stays when the panel closes.
      SafeMap.results.add("dispatch", "调度方案", drawn, { legend: PLAN_LEGEND, color: "#d50000", onClear: function () {
        if (st.marker) { map.removeLayer(st.marker); st.marker = null; }
      } });
      if (plan.hazard) L.geoJSON(plan.hazard.zone, { style: { color: "#aa00ff", weight: 2, fillOpacity: 0.12 } }).addTo(drawn);
      var iz = plan.hazard ? plan.hazard.incident_zone : null, k = 0, bounds = [];
      var html = iz ? '<div class="sm-dp-hint">按事件危险区第' + iz.seq + "版绕行" + (iz.wind_from_deg !== null && iz.wind_from_deg !== undefined ? "、上风向进入" : "") + "</div>" : "";
      plan.needs.forEach(function (need, ni) {
        html += '<div class="sm-dp-need-res"><b>需求 ' + (ni + 1) + "：</b>" + esc(need.kinds.map(kindLabel).join("、")) + " × " + need.count +
          (need.shortfall > 0 ? ' <span class="sm-dp-why">缺 ' + need.shortfall + " 支</span>" : "") +
          '<table class="sm-dp-table"><tr><th></th><th>队伍</th><th>车辆</th><th>预计到达</th><th>路程</th></tr>';
        need.candidates.forEach(function (c) {
          var color = c.selected ? COLORS[k++ % COLORS.length] : "#757575";
          if (c.geometry) {
            drawRoute(c.geometry, color, c.selected ? c.name + " " + mmss(c.eta_s) : null, c.selected ? 5 : 2, c.selected ? null : "4 6");
            bounds = bounds.concat(latlngs(c.geometry));
          }
          var why = (c.reasons || []).join("；");
          var appr = c.approach && c.approach.sector ? "（" + c.approach.sector + "进入）" : "";
          html += "<tr" + (c.eta_s === null ? ' class="sm-dp-unreach"' : "") + ">" +
            '<td><input type="checkbox" class="sm-dp-pickteam" data-team="' + c.team_id + '" data-need="' + ni + '"' +
            (c.selected ? " checked" : "") + (c.eta_s === null ? " disabled" : "") + "></td>" +
            '<td><span class="sm-dp-swatch" style="background:' + color + '"></span>' + esc(c.name) +
            (why ? '<div class="sm-dp-why">' + esc(why) + "</div>" : "") + "</td>" +
            "<td>" + esc(c.vehicle_label || "—") + "</td>" +
            '<td class="sm-dp-num">' + mmss(c.eta_s) + esc(appr) + '</td><td class="sm-dp-num">' + km(c.distance_m) + "</td></tr>";
        });
        html += "</table></div>";
      });
      if (plan.materials) {
        var m = plan.materials;
        html += '<div class="sm-dp-need-res"><b>物资调拨</b>' +
          (m.complete_s !== null ? "：全部送达约 " + mmss(m.complete_s) : "") +
          (Object.keys(m.shortfall).length ? ' <span class="sm-dp-why">不足：' + esc(Object.keys(m.shortfall).map(function (i) {
            return i + " " + m.shortfall[i]; }).join("、")) + "</span>" : "") +
          '<table class="sm-dp-table"><tr><th>储备库</th><th>物资</th><th>送达</th></tr>';
        m.depots.forEach(function (d) {
          if (d.geometry) { drawRoute(d.geometry, "#00695c", d.name + " " + mmss(d.delivery_s), 4, "10 6"); bounds = bounds.concat(latlngs(d.geometry)); }
          html += "<tr><td>" + esc(d.name) + "</td><td>" + esc(d.items.map(function (i) { return i.item + " " + i.quantity + (i.unit || ""); }).join("；")) +
            '</td><td class="sm-dp-num">' + mmss(d.delivery_s) + "</td></tr>";
        });
        html += "</table></div>";
      }
      if (plan.experts) html += expertsHtml(plan.experts);
      html += '<button type="button" class="sm-dp-primary sm-dp-confirm">确认调度（出动所选队伍' + (plan.materials ? "并调拨物资" : "") + "）</button>" +
        '<div class="sm-dp-msg"></div>';
      $(".sm-dp-result").innerHTML = html;
      $(".sm-dp-confirm").onclick = confirm;
      if (bounds.length) map.fitBounds(L.latLngBounds(bounds).extend(st.marker.getLatLng()), { padding: [40, 40], maxZoom: 16 });
    }

    /* confirm */
    function confirm() {
      var plan = st.plan, btn = this, teams = [], seen = {};
      container.querySelectorAll(".sm-dp-pickteam:checked").forEach(function (box) {
        var id = Number(box.getAttribute("data-team"));
        if (seen[id]) return;
        seen[id] = true;
        var need = plan.needs[Number(box.getAttribute("data-need"))];
        need.candidates.forEach(function (c) {
          if (c.team_id === id) teams.push({ team_id: id, vehicle: c.vehicle, eta_s: c.eta_s, distance_m: c.distance_m, route: c.geometry });
        });
      });
      var depots = plan.materials ? plan.materials.depots.filter(function (d) { return d.items.length; }).map(function (d) {
        return { depot_id: d.depot_id, eta_s: d.delivery_s, distance_m: d.distance_m, route: d.geometry,
          materials: d.items.map(function (i) { return { item: i.item, quantity: i.quantity }; }) };
      }) : [];
      var msg = $(".sm-dp-msg");
      if (!SafeMap.token()) { msg.innerHTML = '<div class="sm-dp-error">确认调度需要调度员令牌：请点击左上角“令牌”按钮输入</div>'; return; }
      btn.disabled = true;
      SafeMap.api("api/dispatch/confirm", { method: "POST", body: { incident: plan.incident.lon !== undefined ? [plan.incident.lon, plan.incident.lat] : st.incident,
        incident_id: plan.incident.incident_id || undefined, teams: teams, depots: depots } })
        .then(function (r) {
          msg.innerHTML = '<div class="sm-dp-ok">已出动（调度单号 ' + esc(r.plan_id) + "）：" + r.dispatches.length + " 项 " +
            '<a class="sm-dp-sheet" target="_blank" rel="noopener" href="' +
            esc(SafeMap.url("api/dispatch/" + encodeURIComponent(r.plan_id) + "/sheet")) + '">打印调度单</a></div>';
          loadActive();
        }, function (err) {
          var text = err.status === 409 ? "未能出动，其他调度员已先行派出：" + err.message : err.message;
          msg.innerHTML = '<div class="sm-dp-error">' + esc(text) + "</div>";
          btn.disabled = false;
        });
    }

    /* active dispatches and release */
    function loadActive() {
      SafeMap.api("api/dispatch/active").then(function (fc) {
        var el = $(".sm-dp-active");
        if (!fc.features.length) { el.textContent = "无"; return; }
        el.innerHTML = '<table class="sm-dp-table">' + fc.features.map(function (f) {
          var p = f.properties, team = p.team_id ? SafeMap.find("rescue_teams", p.team_id) : null;
          var depot = p.depot_id ? SafeMap.find("material_depots", p.depot_id) : null;
          var name = team ? team.smFeature[1] : depot ? depot.smFeature[1] : p.name;
          return "<tr><td>" + esc(name) + (p.materials ? '<div class="sm-dp-hint">' + esc(p.materials) + "</div>" : "") +
            '</td><td class="sm-dp-num">' + mmss(p.eta_s) + '</td><td><button type="button" class="sm-dp-small sm-dp-release" data-id="' + f.id + '" data-name="' + esc(name) + '">解除</button></td></tr>';
        }).join("") + "</table>";
        el.querySelectorAll(".sm-dp-release").forEach(function (b) {
          b.onclick = function () {
            var who = b.getAttribute("data-name");
            if (!window.confirm("确定解除“" + who + "”的调度？\n解除后该队伍恢复待命，可被再次调派。")) return;
            SafeMap.api("api/dispatch/release", { method: "POST", body: { dispatch_ids: [Number(b.getAttribute("data-id"))] } })
              .then(loadActive, function (err) { window.alert(err.message); });
          };
        });
      }, function () { /* keep the old list */ });
    }
    loadActive();
    function liveBadge(on) {
      var badge = $(".sm-dp-live");
      badge.textContent = on ? "● 实时" : "● 连接中断，自动重连…";
      badge.classList.toggle("sm-dp-off", !on);
    }
    SafeMap.events.on("error", function () { liveBadge(false); });
    ["open", "snapshot", "rescue_teams", "dispatches", "roads", "fire_lanes"].forEach(function (type) {
      SafeMap.events.on(type, function () {
        liveBadge(true);
        if (type === "dispatches" || type === "rescue_teams") loadActive();
      });
    });
    if (SafeMap.events.connected()) liveBadge(true);

    /*
     * closures: while on, a click anywhere takes the nearest road under the pointer and toggles
     * its status, whatever is drawn on top of it (调度记录, routes, fire lanes …); the hint and a
     * note at the click say what was done (or that there is no road there).
     */
    var TOLERANCE_PX = 12;
    function say(text, latlng) {
      $(".sm-dp-closehint").textContent = text;
      if (latlng) {
        state.popup.smTarget = null;
        state.popup.setLatLng(latlng).setContent('<div class="sm-popup sm-dp-closenote">' + esc(text) + "</div>").openOn(map);
      }
    }
    function toggleRoad(id, latlng) {
      SafeMap.api("api/layers/roads/" + id).then(function (f) {
        var next = f.properties.status === "closed" ? "open" : "closed";
        var name = f.properties.name || "道路 #" + id;
        return SafeMap.api("api/layers/roads/" + id, {
          method: "PATCH", body: { properties: { status: next } }, headers: { "If-Match": '"' + f.properties.version + '"' }
        }).then(function () {
          styleRoad("roads", id, next === "closed");
          say(name + (next === "closed" ? " 已封闭" : " 已解除封闭") + "（路网即时生效，无需重建）", latlng);
        });
      }).then(null, function (err) { say("未能修改：" + err.message, latlng); });
    }
    /** The embedded road nearest to ``latlng`` within TOLERANCE_PX on screen, or null. */
    function nearestRoad(latlng) {
      var p = map.latLngToLayerPoint(latlng), best = null, bestD = TOLERANCE_PX;
      var near = L.latLngBounds(map.layerPointToLatLng(p.subtract([TOLERANCE_PX, TOLERANCE_PX])),
        map.layerPointToLatLng(p.add([TOLERANCE_PX, TOLERANCE_PX])));
      (state.features.roads || []).forEach(function (lyr) {
        if (!lyr.getBounds || !lyr.getBounds().intersects(near)) return;
        var ll = lyr.getLatLngs(), parts = L.LineUtil.isFlat(ll) ? [ll] : ll;
        parts.forEach(function (pts) {
          for (var i = 1; i < pts.length; i++) {
            var d = L.LineUtil.pointToSegmentDistance(p, map.latLngToLayerPoint(pts[i - 1]), map.latLngToLayerPoint(pts[i]));
            if (d < bestD) { bestD = d; best = lyr; }
          }
        });
      });
      return best;
    }
    /** A road from the API near ``latlng`` (roads drawn from vector tiles are not embedded). */
    function roadFromApi(latlng) {
      var c = map.latLngToContainerPoint(latlng), r = TOLERANCE_PX;
      var sw = map.containerPointToLatLng([c.x - r, c.y + r]), ne = map.containerPointToLatLng([c.x + r, c.y - r]);
      var box = [sw.lng, sw.lat, ne.lng, ne.lat].map(function (v) { return v.toFixed(7); }).join(",");
      return SafeMap.api("api/layers/roads?limit=1&bbox=" + box).then(function (fc) {
        return fc.features.length ? fc.features[0].id : null;
      });
    }
    var lastPick = 0;
    function pickRoad(latlng, id) {
      var now = Date.now();
      if (now - lastPick < 400) return;  // one click: the feature's event and the map's
      lastPick = now;
      map.closePopup();
      if (id) { toggleRoad(id, latlng); return; }
      var lyr = nearestRoad(latlng);
      if (lyr) { toggleRoad(lyr.smFeature[0], latlng); return; }
      roadFromApi(latlng).then(function (found) {
        if (found) toggleRoad(found, latlng);
        else say("此处没有道路：请点击在道路线上（可放大地图）", latlng);
      }, function (err) { say("未能查询道路：" + err.message, latlng); });
    }
    SafeMap.hooks.on("featureclick", function (e) {
      if (!st.closing) return false;
      // A tiled pick (no target) answers the map click, which pickRoad has handled already.
      if (e.target) pickRoad(e.latlng, e.layer === "roads" ? e.id : null);
      return true;  // in closure mode no popup opens, whichever layer was on top
    });
    map.on("click", function (e) {
      if (st.closing) pickRoad(e.latlng, null);
    });
    $(".sm-dp-close").onclick = function () {
      st.closing = !st.closing;
      this.textContent = st.closing ? "结束封闭编辑" : "点击道路：封闭/解除封闭";
      this.classList.toggle("sm-dp-on", st.closing);
      map.getContainer().classList.toggle("sm-dp-crosshair", st.closing);
      $(".sm-dp-closehint").textContent = st.closing ? "封闭编辑中：请点击要封闭或解除封闭的道路（其他图层不影响点选）" :
        "需调度员令牌；封闭路段以红色虚线显示";
    };

    return { drawn: drawn, state: st, setIncident: setIncident, loadActive: loadActive };
  });
})(window.SafeMap);

/*
 * 物资调配 panel: a material allocation plan (物资分配方案) for a large emergency with many demand
 * points. Add points by clicking the map or picking a settlement (grouped by township), give each
 * its items (from the depots' inventory, api/allocation/items) with priorities, set the trucks
 * (每库车辆数 × 趟数 × 载重) and an optional time limit, 计算方案: the server solves the LP
 * (least priority-weighted shortfall, then least time) and stores a draft. Flows are drawn
 * depot → point with their width by quantity; every shortfall is explained; a flow's quantity
 * can be edited (保存调整, quoting the plan's version: a 409 says someone changed it);
 * 确认 reserves the stock in one transaction, 取消 drops the draft, 打印 opens the A4 plan.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc, mmss = C.mmss, km = C.km, options = C.options, latlngs = C.latlngs;
  // Flow colours by depot (distinct lines, not catalogue colours).
  var COLORS = ["#6a1b9a", "#00695c", "#1565c0", "#ef6c00", "#c62828", "#2e7d32", "#4e342e", "#00838f", "#ad1457"];
  var PRIORITIES = [["1", "一级（最高）"], ["2", "二级"], ["3", "三级"]];
  var LEGEND = '<div><i class="sm-sw sm-sw-ln" style="border-top:6px solid #6a1b9a"></i>调拨路线（线宽表示数量）</div>' +
    '<div><i class="sm-sw" style="background:#fff;border:3px solid #6a1b9a;border-radius:50%"></i>需求点（红色：有缺口）</div>';

  function num(v) { return v === null || v === undefined ? "—" : String(Math.round(Number(v) * 1000) / 1000); }

  SafeMap.registerPanel("allocation", function (container, state) {
    var map = state.map;
    var drawn = L.layerGroup().addTo(map);
    var st = { points: [], items: [], plan: null };

    container.innerHTML =
      '<fieldset><legend>方案</legend>' +
      '<div class="sm-al-row"><select class="sm-al-plans sm-al-grow"><option value="">（新建方案）</option></select>' +
      '<button type="button" class="sm-al-small sm-al-load">打开</button></div>' +
      '<div class="sm-al-row">名称 <input class="sm-al-name sm-al-grow" maxlength="200" value="物资分配方案"></div></fieldset>' +
      '<fieldset><legend>需求点</legend><div class="sm-al-points"></div>' +
      '<div class="sm-al-row"><button type="button" class="sm-al-small sm-al-pick sm-al-grow">在地图上点选需求点</button></div>' +
      '<div class="sm-al-row"><select class="sm-al-settle sm-al-grow"><option value="">按乡镇/居民点添加…</option></select></div>' +
      '<datalist id="sm-al-items"></datalist></fieldset>' +
      '<fieldset><legend>运力与时限</legend>' +
      '<div class="sm-al-row">每库 <input type="number" class="sm-al-trucks" min="0" max="1000" value="2"> 辆 × ' +
      '<input type="number" class="sm-al-trips" min="1" max="100" value="1"> 趟 × ' +
      '<input type="number" class="sm-al-payload" min="0" max="100" step="0.5" value="8"> 吨</div>' +
      '<div class="sm-al-row">送达时限 <input type="number" class="sm-al-limit" min="0" max="14400" placeholder="不限"> 分钟 ' +
      '装车 <input type="number" class="sm-al-loading" min="0" max="1440" value="0"> 分钟</div></fieldset>' +
      '<button type="button" class="sm-al-primary sm-al-solve">计算方案</button>' +
      '<div class="sm-al-result"></div>';

    var $ = C.finder(container);

    /* ------------------------------------------------------------ demand points and their items */
    function itemUnit(name) {
      for (var i = 0; i < st.items.length; i++) if (st.items[i].item === name) return st.items[i].unit || "";
      return "";
    }
    function renderPoints() {
      var box = $(".sm-al-points");
      if (!st.points.length) { box.innerHTML = '<div class="sm-al-hint">尚无需求点：点选地图或选择居民点</div>'; return; }
      box.innerHTML = st.points.map(function (p, pi) {
        return '<div class="sm-al-point" data-p="' + pi + '"><div class="sm-al-row">' +
          '<input class="sm-al-pname sm-al-grow" maxlength="200" value="' + esc(p.name) + '">' +
          '<span class="sm-al-hint">' + p.lon.toFixed(4) + ", " + p.lat.toFixed(4) + "</span>" +
          '<button type="button" class="sm-al-small sm-al-delp" title="删除需求点">×</button></div>' +
          p.items.map(function (it, ii) {
            return '<div class="sm-al-row sm-al-item" data-i="' + ii + '">' +
              '<input class="sm-al-iname sm-al-grow" list="sm-al-items" placeholder="物资名称" value="' + esc(it.item) + '">' +
              '<input type="number" class="sm-al-qty" min="0" step="any" value="' + esc(it.quantity) + '">' +
              '<span class="sm-al-unit">' + esc(itemUnit(it.item)) + "</span>" +
              '<select class="sm-al-prio">' + options(PRIORITIES, String(it.priority)) + "</select>" +
              '<button type="button" class="sm-al-small sm-al-deli" title="删除">×</button></div>';
          }).join("") +
          '<button type="button" class="sm-al-small sm-al-addi">＋ 物资</button></div>';
      }).join("");
      box.querySelectorAll(".sm-al-point").forEach(function (el) {
        var p = st.points[Number(el.getAttribute("data-p"))];
        el.querySelector(".sm-al-pname").onchange = function () { p.name = this.value.trim() || p.name; };
        el.querySelector(".sm-al-delp").onclick = function () { st.points.splice(st.points.indexOf(p), 1); renderPoints(); };
        el.querySelector(".sm-al-addi").onclick = function () { p.items.push({ item: "", quantity: "", priority: 2 }); renderPoints(); };
        el.querySelectorAll(".sm-al-item").forEach(function (row) {
          var it = p.items[Number(row.getAttribute("data-i"))];
          row.querySelector(".sm-al-iname").onchange = function () {
            it.item = this.value.trim();
            row.querySelector(".sm-al-unit").textContent = itemUnit(it.item);
          };
          row.querySelector(".sm-al-qty").onchange = function () { it.quantity = this.value; };
          row.querySelector(".sm-al-prio").onchange = function () { it.priority = Number(this.value); };
          row.querySelector(".sm-al-deli").onclick = function () { p.items.splice(p.items.indexOf(it), 1); renderPoints(); };
        });
      });
    }
    function addPoint(name, lon, lat) {
      st.points.push({ name: name, lon: lon, lat: lat, items: [{ item: "", quantity: "", priority: 2 }] });
      renderPoints();
    }
    renderPoints();

    $(".sm-al-pick").onclick = function () {
      map.getContainer().classList.add("sm-al-crosshair");
      $(".sm-al-pick").textContent = "请在地图上点击需求点…";
      map.once("click", function (e) {
        map.getContainer().classList.remove("sm-al-crosshair");
        $(".sm-al-pick").textContent = "在地图上点选需求点";
        addPoint("需求点" + (st.points.length + 1), e.latlng.lng, e.latlng.lat);
      });
    };

    SafeMap.api("api/allocation/items").then(function (items) {
      st.items = items;
      $("#sm-al-items").innerHTML = items.map(function (i) {
        return '<option value="' + esc(i.item) + '">' + esc("库存 " + num(i.quantity) + (i.unit || "") + "，" + i.depots + " 个库") + "</option>";
      }).join("");
      renderPoints();
    }, function () { /* the list is a convenience only */ });

    SafeMap.api("api/layers/settlements?limit=2000").then(function (fc) {
      var groups = {};
      fc.features.forEach(function (f) {
        if (!f.geometry || f.geometry.type !== "Point") return;
        var t = f.properties.township || "其他";
        (groups[t] = groups[t] || []).push(f);
      });
      var sel = $(".sm-al-settle");
      sel.innerHTML = '<option value="">按乡镇/居民点添加…</option>' + Object.keys(groups).sort().map(function (t) {
        return '<optgroup label="' + esc(t) + '">' + groups[t].map(function (f) {
          var c = f.geometry.coordinates;
          return '<option value="' + c[0] + "," + c[1] + '">' + esc(f.properties.name) + "</option>";
        }).join("") + "</optgroup>";
      }).join("");
      sel.onchange = function () {
        if (!sel.value) return;
        var c = sel.value.split(",");
        addPoint(sel.options[sel.selectedIndex].text, Number(c[0]), Number(c[1]));
        sel.value = "";
      };
    }, function () { /* points can still be clicked */ });

    /* ------------------------------------------------------------ plans */
    function loadPlans() {
      SafeMap.api("api/allocation/plans").then(function (plans) {
        $(".sm-al-plans").innerHTML = '<option value="">（新建方案）</option>' + plans.map(function (p) {
          return '<option value="' + p.id + '">#' + p.id + " " + esc(p.name) + "（" + esc(SafeMap.enumLabel("allocation_status", p.status)) + "）</option>";
        }).join("");
        if (st.plan) $(".sm-al-plans").value = String(st.plan.plan.id);
      }, function () { /* keep the list */ });
    }
    loadPlans();
    $(".sm-al-load").onclick = function () {
      var id = $(".sm-al-plans").value;
      if (!id) { st.plan = null; st.points = []; renderPoints(); drawn.clearLayers(); $(".sm-al-result").innerHTML = ""; return; }
      SafeMap.api("api/allocation/plans/" + id).then(function (plan) { fromPlan(plan); show(plan); }, fail);
    };
    function fromPlan(plan) {
      var byKey = {};
      st.points = [];
      plan.demands.features.forEach(function (f) {
        var c = f.geometry.coordinates, p = f.properties, key = p.name + "|" + c[0] + "|" + c[1];
        if (!byKey[key]) { byKey[key] = { name: p.name, lon: c[0], lat: c[1], items: [] }; st.points.push(byKey[key]); }
        byKey[key].items.push({ item: p.item, quantity: p.quantity, priority: p.priority });
      });
      var q = plan.plan;
      $(".sm-al-name").value = q.name;
      if (q.trucks !== null) $(".sm-al-trucks").value = q.trucks;
      if (q.trips !== null) $(".sm-al-trips").value = q.trips;
      if (q.payload_t !== null) $(".sm-al-payload").value = q.payload_t;
      $(".sm-al-limit").value = q.time_limit_s ? Math.round(q.time_limit_s / 60) : "";
      $(".sm-al-loading").value = q.loading_s ? Math.round(q.loading_s / 60) : 0;
      renderPoints();
    }

    function body() {
      var demands = [];
      st.points.forEach(function (p) {
        p.items.forEach(function (it) {
          var q = Number(it.quantity);
          if (it.item && q > 0) demands.push({ name: p.name, lon: p.lon, lat: p.lat, item: it.item, quantity: q, priority: it.priority });
        });
      });
      var out = { name: $(".sm-al-name").value.trim() || "物资分配方案", demands: demands,
        trucks: Number($(".sm-al-trucks").value) || 0, trips: Number($(".sm-al-trips").value) || 1,
        payload_t: Number($(".sm-al-payload").value) || 0, loading_s: (Number($(".sm-al-loading").value) || 0) * 60 };
      var limit = Number($(".sm-al-limit").value);
      if (limit > 0) out.time_limit_s = limit * 60;
      return out;
    }
    function fail(err) {
      var text = err.status === 409 ? "方案已被他人修改或库存已变动：" + err.message + "（请重新打开方案或重新计算）" : err.message;
      $(".sm-al-result").insertAdjacentHTML("afterbegin", '<div class="sm-al-error">' + esc(text) + "</div>");
    }
    function needToken() {
      if (SafeMap.token()) return false;
      $(".sm-al-result").innerHTML = '<div class="sm-al-error">保存方案需要调度员令牌：请点击左上角“令牌”按钮输入</div>';
      return true;
    }

    $(".sm-al-solve").onclick = function () {
      var b = body();
      if (!b.demands.length) { $(".sm-al-result").innerHTML = '<div class="sm-al-error">请至少添加一个需求点及其物资和数量</div>'; return; }
      if (needToken()) return;
      var draft = st.plan && st.plan.plan.status === "draft";
      if (draft) b.version = st.plan.plan.version;
      $(".sm-al-result").innerHTML = '<div class="sm-al-hint">正在计算行车时间与分配方案…</div>';
      var path = draft ? "api/allocation/plans/" + st.plan.plan.id : "api/allocation/plans";
      C.run(this, SafeMap.api(path, { method: draft ? "PUT" : "POST", body: b }), {
        done: function (plan) { show(plan); loadPlans(); },
        fail: function (err) { $(".sm-al-result").innerHTML = ""; fail(err); }
      });
    };

    /* ------------------------------------------------------------ result: map, tables, actions */
    function show(plan) {
      st.plan = plan;
      drawn.clearLayers();
      SafeMap.results.add("allocation", "物资分配方案", drawn, { legend: LEGEND, color: "#6a1b9a" });
      var flows = plan.flows.features, max = 0, colors = {}, k = 0, bounds = [];
      flows.forEach(function (f) { max = Math.max(max, f.properties.quantity); });
      var demands = {};
      plan.demands.features.forEach(function (f) { demands[f.id] = f; });
      flows.forEach(function (f) {
        var p = f.properties, d = demands[p.demand_id];
        if (!colors[p.depot_id]) colors[p.depot_id] = COLORS[k++ % COLORS.length];
        // Width by quantity relative to the largest flow (2–10 px); mixed units, so this is a visual cue only.
        var w = 2 + 8 * Math.sqrt(max > 0 ? p.quantity / max : 0);
        var line = L.polyline(latlngs(f.geometry), { color: colors[p.depot_id], weight: w, opacity: 0.75 }).addTo(drawn);
        line.bindTooltip(esc(p.name + "：" + p.item + " " + num(p.quantity) + (p.unit || "") + "，" + mmss(p.eta_s)));
        bounds = bounds.concat(latlngs(f.geometry));
        if (d) bounds.push([d.geometry.coordinates[1], d.geometry.coordinates[0]]);
      });
      plan.demands.features.forEach(function (f) {
        var c = f.geometry.coordinates, short = f.properties.unmet > 1e-6;
        L.circleMarker([c[1], c[0]], { radius: 7, color: short ? "#c62828" : "#6a1b9a", weight: 3, fillColor: "#fff", fillOpacity: 1 })
          .bindTooltip(esc(f.properties.name)).addTo(drawn);
      });
      if (bounds.length) map.fitBounds(L.latLngBounds(bounds), { padding: [40, 40], maxZoom: 14 });
      var q = plan.plan, draft = q.status === "draft";
      var rows = plan.demands.features.map(function (f) { return f.properties; });
      var html = '<div class="sm-al-summary"><b>#' + q.id + " " + esc(q.name) + "</b>（" + esc(q.status_label) + "，版本 " + q.version + "）<br>" +
        // Quantities of different items (床, 箱, t) do not add up: count demand rows instead.
        "需求 " + rows.length + " 项，全部安排 " + rows.filter(function (r) { return !(r.unmet > 1e-6); }).length +
        " 项，有缺口 " + rows.filter(function (r) { return r.unmet > 1e-6; }).length + " 项" +
        "；最晚送达 " + mmss(q.latest_eta_s) + "；求解 " + num(q.solve_ms) + " 毫秒" +
        (q.dispatch_plan_id ? "<br>调度单号 " + esc(q.dispatch_plan_id) : "") + "</div>";
      html += '<table class="sm-al-table"><tr><th>储备库 → 需求点</th><th>物资</th><th>数量</th><th>送达</th><th>路程</th></tr>' +
        flows.map(function (f) {
          var p = f.properties;
          return "<tr><td>" + '<span class="sm-al-swatch" style="background:' + colors[p.depot_id] + '"></span>' + esc(p.name) + "</td><td>" + esc(p.item) + "</td>" +
            '<td class="sm-al-num">' + (draft ? '<input type="number" class="sm-al-fq" min="0" step="any" data-id="' + f.id + '" value="' + num(p.quantity) + '">' : num(p.quantity)) +
            esc(p.unit || "") + (p.edited ? '<span class="sm-al-hint">（调）</span>' : "") + "</td>" +
            '<td class="sm-al-num">' + mmss(p.eta_s) + '</td><td class="sm-al-num">' + km(p.distance_m) + "</td></tr>";
        }).join("") + "</table>";
      if (plan.shortfalls.length) {
        html += '<div class="sm-al-short"><b>缺口说明</b>' + plan.shortfalls.map(function (s) {
          var d = demands[s.demand_id];
          return '<div class="sm-al-srow">' + esc((d ? d.properties.name : "—") + "·" + s.item) + "：" + s.reasons.map(function (r) {
            return '<div><span class="sm-al-tag">' + esc(r.label) + "</span>" + esc(r.text) + "</div>";
          }).join("") + "</div>";
        }).join("") + "</div>";
      } else {
        html += '<div class="sm-al-ok">全部需求均已安排</div>';
      }
      html += '<div class="sm-al-row sm-al-actions">' +
        (draft ? '<button type="button" class="sm-al-small sm-al-save">保存调整</button>' +
          '<button type="button" class="sm-al-small sm-al-reopt">按当前库存重新计算</button>' : "") +
        '<a class="sm-al-small sm-al-print" target="_blank" rel="noopener" href="' + esc(SafeMap.url("api/allocation/plans/" + q.id + "/sheet")) + '">打印方案</a></div>' +
        (draft ? '<button type="button" class="sm-al-primary sm-al-confirm">确认方案（扣减库存并出动）</button>' +
          '<button type="button" class="sm-al-small sm-al-cancel">取消方案</button>' : "");
      $(".sm-al-result").innerHTML = html;
      if (!draft) return;
      $(".sm-al-save").onclick = function () {
        var changes = [];
        container.querySelectorAll(".sm-al-fq").forEach(function (inp) {
          var id = Number(inp.getAttribute("data-id")), f = null;
          flows.forEach(function (x) { if (x.id === id) f = x; });
          var v = Number(inp.value);
          if (f && inp.value !== "" && v >= 0 && Math.abs(v - f.properties.quantity) > 1e-9) changes.push({ id: id, quantity: v });
        });
        if (!changes.length) return;
        C.run(this, SafeMap.api("api/allocation/plans/" + q.id + "/flows", { method: "PATCH", body: { version: q.version, flows: changes } }),
          { done: show, fail: fail });
      };
      $(".sm-al-reopt").onclick = function () {
        C.run(this, SafeMap.api("api/allocation/plans/" + q.id + "/optimise", { method: "POST", body: { version: q.version } }),
          { done: show, fail: fail });
      };
      $(".sm-al-confirm").onclick = function () {
        if (needToken()) return;
        if (!window.confirm("确认后将按调拨明细一次性扣减各储备库库存并生成调度记录，是否继续？")) return;
        C.run(this, SafeMap.api("api/allocation/plans/" + q.id + "/confirm", { method: "POST", body: { version: q.version } }),
          { done: function (p) { show(p); loadPlans(); }, fail: fail });
      };
      $(".sm-al-cancel").onclick = function () {
        if (!window.confirm("确定取消该方案？")) return;
        C.run(this, SafeMap.api("api/allocation/plans/" + q.id + "/cancel", { method: "POST", body: { version: q.version } }),
          { done: function (p) { show(p); loadPlans(); }, fail: fail });
      };
    }

    return { drawn: drawn, state: st, show: show };
  });
})(window.SafeMap);

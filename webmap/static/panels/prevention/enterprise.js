/*
 * 双重预防 panel, part 7 of 9: 企业一张图 (GET /api/prevention/enterprises/{id}): the chosen enterprise's
 * risk points (table, coloured by 风险等级), risk zones, open findings (a click opens one), inspections
 * and accidents, drawn on the panel's own layer and the map zoomed to them.
 * SafeMap.preventionParts.enterprise(ctx) adds entHtml, setupEnterprise, fillEnterprises, showEnterprise.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.preventionParts = SafeMap.preventionParts || {};
  var C = SafeMap.common, esc = C.esc, S = parts.shared;
  var ORDER = ["red", "orange", "yellow", "blue"];

  parts.enterprise = function (ctx) {
    var $ = ctx.$, st = ctx.st, layers = ctx.layers, map = ctx.map;

    function levelColor(code) { return S.color("risk_level", code, "#9e9e9e"); }
    function levelChip(code, text) {
      if (S.missing(code)) return '<span class="sm-pv-dim">未评定</span>';
      return S.chip(text || S.label("risk_level", code), levelColor(code), code === "yellow" ? "sm-pv-dark" : "");
    }
    ctx.levelChip = levelChip;

    function entHtml() {
      return '<label>企业<select class="sm-pv-ent"></select></label><div class="sm-pv-entbody"><div class="sm-pv-hint">请选择企业</div></div>';
    }
    function fillEnterprises() {
      var ents = ((S.cat() || {}).enterprises || []).slice().sort(function (a, b) {
        return String(a.township || "").localeCompare(String(b.township || ""), "zh-CN") || String(a.name).localeCompare(String(b.name), "zh-CN");
      });
      var sel = $(".sm-pv-ent");
      sel.innerHTML = C.options([["", ents.length ? "（选择企业）" : "（没有可查看的企业）"]].concat(ents.map(function (e) {
        return [String(e.id), e.name + (e.township ? "（" + e.township + "）" : "")];
      })), st.enterprise ? String(st.enterprise) : "");
      if (ents.length === 1 && !st.enterprise) { sel.value = String(ents[0].id); showEnterprise(ents[0].id); }
    }

    function feats(fc) { return (fc && fc.features) || []; }
    function section(title, n, html, open) {
      return '<details class="sm-pv-sec"' + (open ? " open" : "") + "><summary>" + esc(title) + '<span class="sm-pv-dim">（' + n + "）</span></summary>" + html + "</details>";
    }

    function showEnterprise(id) {
      st.enterprise = id ? Number(id) : null;
      layers.enterprise.clearLayers();
      var box = $(".sm-pv-entbody");
      if (!id) { box.innerHTML = '<div class="sm-pv-hint">请选择企业</div>'; return Promise.resolve(); }
      box.innerHTML = '<div class="sm-pv-hint">加载中…</div>';
      return SafeMap.api("api/prevention/enterprises/" + id).then(function (d) {
        if (st.enterprise !== Number(id)) return;
        render(d);
        draw(d);
      }, function (err) { box.innerHTML = S.problemsHtml(err); });
    }

    function render(d) {
      var e = d.enterprise || {}, ep = e.properties || {};
      var points = feats(d.risk_points).slice().sort(function (a, b) {
        return ORDER.indexOf(a.properties.risk_level) - ORDER.indexOf(b.properties.risk_level) || (b.properties.score || 0) - (a.properties.score || 0);
      });
      var zones = feats(d.risk_zones), dangers = feats(d.dangers), accidents = feats(d.accidents), insp = d.inspections || [];
      var open = dangers.filter(function (f) { return f.properties.status !== "closed"; });
      var byLevel = ORDER.map(function (lv) {
        var n = points.filter(function (f) { return f.properties.risk_level === lv; }).length;
        return n ? levelChip(lv, S.label("risk_level", lv).replace(/（.*）/, "") + " " + n) : "";
      }).join(" ");
      var html = '<div class="sm-pv-card"><div class="sm-pv-title">' + esc(ep.name || "企业") + "</div>" +
        '<div class="sm-pv-facts"><div><span>风险等级</span><div>' + levelChip(ep.risk_level, ep.risk_level_label) + "</div></div>" +
        (ep.township ? "<div><span>乡镇</span><div>" + esc(ep.township) + "</div></div>" : "") +
        "<div><span>风险点</span><div>" + points.length + " 个 " + byLevel + "</div></div>" +
        "<div><span>隐患</span><div>未销号 " + open.length + " 条" +
        (open.some(function (f) { return f.properties.overdue; }) ? '，<b class="sm-pv-red">逾期 ' + open.filter(function (f) { return f.properties.overdue; }).length + " 条</b>" : "") +
        "</div></div><div><span>事故</span><div>" + accidents.length + " 起</div></div></div>" +
        '<button type="button" class="sm-pv-entfit">在地图上显示</button></div>';
      html += section("风险点", points.length, points.length ? S.table(["风险点", "类型", "等级", "分值", "责任人"], points.map(function (f) {
        var p = f.properties;
        return ['<span title="' + esc(p.measures ? "管控措施：" + p.measures : "") + '">' + esc(p.name || "—") + "</span>" +
          (p.measures ? '<div class="sm-pv-dim">措施：' + esc(p.measures) + "</div>" : ""),
          esc(p.kind_label || "—") + '<div class="sm-pv-dim">' + esc(p.method_label ? p.method_label.replace(/（.*）/, "") : "") + "</div>",
          levelChip(p.risk_level, p.risk_level_label), '<span class="sm-pv-n">' + esc(S.missing(p.score) ? "—" : Math.round(p.score * 10) / 10) + "</span>",
          esc(p.responsible || "—")];
      })) : '<div class="sm-pv-hint">没有风险点</div>', true);
      html += section("风险分区", zones.length, zones.length ? '<div class="sm-pv-zones">' + zones.map(function (f) {
        return '<span class="sm-pv-zone">' + esc(f.properties.name || "分区") + " " + levelChip(f.properties.risk_level, f.properties.risk_level_label) + "</span>";
      }).join("") + "</div>" : '<div class="sm-pv-hint">没有风险分区</div>', false);
      html += section("隐患", dangers.length, dangers.length ? '<div class="sm-pv-list sm-pv-entdangers">' + dangers.map(function (f) {
        var p = f.properties;
        return '<button type="button" class="sm-pv-item' + (p.overdue ? " sm-pv-late" : "") + '" data-id="' + f.id + '"><span class="sm-pv-iname">' +
          esc(p.name || p.description) + '</span><span class="sm-pv-imeta">' + ctx.gradeChip(p) + " " + ctx.statusChip(p) + " 期限 " + esc(p.deadline || "—") + "</span></button>";
      }).join("") + "</div>" : '<div class="sm-pv-hint">没有隐患记录</div>', open.length > 0);
      html += section("检查任务", insp.length, insp.length ? S.table(["计划日期", "检查表", "检查人", "状态"], insp.map(function (r) {
        var p = r.properties || r;
        return [esc(p.planned_on || "—"), esc(p.checklist || p.scope_label || "—"), esc(p.inspector || "—"),
          esc(p.status_label || S.label("inspection_status", p.status))];
      })) : '<div class="sm-pv-hint">没有检查任务</div>', false);
      html += section("生产安全事故", accidents.length, accidents.length ? S.table(["时间", "行业/类型", "死亡", "等级"], accidents.map(function (f) {
        var p = f.properties;
        return [esc(S.when(p.occurred_at).slice(0, 10)), esc(p.industry_label || S.label("accident_industry", p.industry)) +
          (p.kind_label ? '<div class="sm-pv-dim">' + esc(p.kind_label) + "</div>" : ""),
          '<span class="sm-pv-n">' + esc(S.missing(p.deaths) ? "—" : p.deaths) + "</span>", esc(p.severity_label || S.label("severity", p.severity))];
      })) : '<div class="sm-pv-hint">没有事故记录</div>', false);
      var box = $(".sm-pv-entbody");
      box.innerHTML = html;
      box.querySelector(".sm-pv-entfit").onclick = fit;
      box.querySelectorAll(".sm-pv-entdangers .sm-pv-item").forEach(function (b) {
        b.onclick = function () { ctx.select(Number(b.getAttribute("data-id")), true); };
      });
    }

    function draw(d) {
      var g = layers.enterprise;
      g.clearLayers();
      var opts = { pane: "sm-prevention" };
      if (d.enterprise && d.enterprise.geometry) {
        L.geoJSON(d.enterprise, Object.assign({
          style: function () { return { color: "#0b3d6e", weight: 3, fill: false, dashArray: "6 4" }; },
          pointToLayer: function (f, ll) { return L.circleMarker(ll, { pane: "sm-prevention", radius: 13, color: "#0b3d6e", weight: 3, fill: false }); }
        }, opts)).addTo(g);
      }
      L.geoJSON(d.risk_zones || { type: "FeatureCollection", features: [] }, Object.assign({
        style: function (f) { var c = levelColor(f.properties.risk_level); return { color: c, weight: 2, fillColor: c, fillOpacity: 0.3 }; },
        onEachFeature: function (f, l) { l.bindTooltip(esc(f.properties.name || "风险分区") + "（" + esc(f.properties.risk_level_label || "未评定") + "）"); }
      }, opts)).addTo(g);
      feats(d.risk_points).forEach(function (f) {
        if (!f.geometry) return;
        var c = f.geometry.coordinates, p = f.properties;
        L.circleMarker([c[1], c[0]], { pane: "sm-prevention", radius: 7, color: "#333", weight: 1, fillColor: levelColor(p.risk_level), fillOpacity: 0.95 })
          .bindTooltip("风险点：" + esc(p.name || "") + "（" + esc(p.risk_level_label || "未评定") + "）").addTo(g);
      });
      feats(d.accidents).forEach(function (f) {
        if (!f.geometry) return;
        var c = f.geometry.coordinates, p = f.properties;
        L.circleMarker([c[1], c[0]], { pane: "sm-prevention", radius: 6, color: "#fff", weight: 2, fillColor: "#212121", fillOpacity: 0.9 })
          .bindTooltip("事故：" + esc(S.when(p.occurred_at).slice(0, 10)) + " " + esc(p.kind_label || p.industry_label || "")).addTo(g);
      });
      fit();
    }

    function fit() {
      var b = L.latLngBounds([]);
      layers.enterprise.eachLayer(function (l) {
        if (l.getBounds) { var lb = l.getBounds(); if (lb.isValid()) b.extend(lb); } else if (l.getLatLng) b.extend(l.getLatLng());
      });
      if (b.isValid()) map.fitBounds(b, { padding: [40, 40], maxZoom: 17 });
    }

    function setupEnterprise() {
      $(".sm-pv-ent").onchange = function () { showEnterprise(this.value); };
    }

    ctx.entHtml = entHtml;
    ctx.setupEnterprise = setupEnterprise;
    ctx.fillEnterprises = fillEnterprises;
    ctx.showEnterprise = showEnterprise;
  };
})(window.SafeMap);

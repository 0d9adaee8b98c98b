/*
 * 事件处置 panel, part 1 of 7 (panels/incident/*.js, loaded in the order of webmap/panels.py; main.js last):
 * what every part shares, SafeMap.incidentParts.shared: colour ramps, option lists, the Chinese
 * names of request fields, durations (时分秒), compass points, API problems in Chinese,
 * incident kind and status labels, band colours.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.incidentParts = SafeMap.incidentParts || {};

  var esc = SafeMap.common.esc;
  // Band colours, innermost (most severe) first: not catalogue colours, just a severity ramp.
  var BANDS = ["#b71c1c", "#ef6c00", "#f9a825", "#7cb342", "#0288d1"];
  var ROUTES = ["#1565c0", "#00897b", "#6a1b9a", "#ef6c00", "#c51162", "#2e7d32", "#5d4037", "#00838f"];
  var CLOUD = [["晴", "晴（云量 0–2 成）"], ["少云", "少云（3–4 成）"], ["多云", "多云（5–7 成）"], ["阴", "阴（8 成）"]];
  var COMPASS = ["北", "东北", "东", "东南", "南", "西南", "西", "西北"];
  var PLACE_LAYERS = ["enterprises", "hazard_sources", "townships", "settlements", "protected_targets", "roads"];
  // Chinese names of the request fields the API may name in its problems.
  var FIELDS = {
    kind: "事件类型", location: "位置", location_text: "坐标", crs: "坐标系", place: "地点", "place.name": "地点名称",
    "place.layer": "图层", substance: "物质", quantity_t: "估计量", reporter: "报警人", phone: "报警电话",
    description: "情况描述", rate_kg_s: "泄漏速率", wind_m_s: "风速", wind_from_deg: "风向", stability: "稳定度",
    cloud_cover: "云量", fuel_mass_kg: "可燃物质量", capacity_kg: "储罐物质质量", area_m2: "液池面积",
    model: "模型", template: "预警模板", bands: "预警范围", channels: "发布渠道", values: "占位符", text: "记录内容",
    status: "处置状态", heat_of_combustion_kj_kg: "燃烧热"
  };
  var MODEL_FIELDS = {
    gaussian_plume: [["rate_kg_s", "泄漏速率 kg/s", "1"]],
    vce: [["fuel_mass_kg", "参与爆炸的可燃物质量 kg", "1000"]],
    bleve: [["capacity_kg", "储罐内物质总质量 kg", "10000"]],
    pool_fire: [["area_m2", "液池面积 m²", "100"]]
  };

  function missing(v) { return v === null || v === undefined || v === ""; }
  function num(v) { return missing(v) ? null : Number(v); }

  /** A duration as 时分秒: "1小时02分05秒", "12分30秒", "45秒". */
  function dur(seconds) {
    if (missing(seconds) || !isFinite(seconds)) return "—";
    var s = Math.max(0, Math.round(seconds)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    function two(x) { return (x < 10 ? "0" : "") + x; }
    if (h >= 48) return Math.floor(h / 24) + "天" + (h % 24) + "小时";
    if (h) return h + "小时" + two(m) + "分" + two(s) + "秒";
    if (m) return m + "分" + two(s) + "秒";
    return s + "秒";
  }

  function compass(deg) { return COMPASS[Math.round((((deg % 360) + 360) % 360) / 45) % 8]; }

  /** Messages of an API error: each problem in Chinese with its field's name, never a code. */
  function problemsHtml(err) {
    var list = (err && err.problems) || [];
    if (err && (err.status === 401 || err.status === 403)) {  // the API names roles by code: say it in words
      return '<div class="sm-in-error">此操作需要' + esc(SafeMap.roleLabel("dispatcher")) + "或" + esc(SafeMap.roleLabel("admin")) +
        "的令牌：请点击“令牌”按钮输入" + (SafeMap.token() ? "（当前令牌无此权限）" : "") + "</div>";
    }
    if (!list.length) return '<div class="sm-in-error">' + esc(err && err.message ? err.message : "请求失败") + "</div>";
    return '<div class="sm-in-error">' + list.map(function (p) {
      var key = String(p.field || ""), name = FIELDS[key] || FIELDS[key.split(".")[0]] || "";
      if (key.indexOf("values.") === 0 || String(p.message).indexOf(name) >= 0) name = "";  // already said
      return "<div>" + (name ? "<b>" + esc(name) + "</b>：" : "") + esc(p.message) + "</div>";
    }).join("") + "</div>";
  }

  function kindLabel(code) { return SafeMap.enumLabel("incident_kind", code); }
  function statusChip(code) {
    return '<span class="sm-in-chip" style="background:' + SafeMap.enumColor("incident_status", code, "#757575") + '">' +
      esc(SafeMap.enumLabel("incident_status", code)) + "</span>";
  }

  function bandColor(i) { return BANDS[Math.min(i, BANDS.length - 1)]; }

  parts.shared = {
    BANDS: BANDS, ROUTES: ROUTES, CLOUD: CLOUD, PLACE_LAYERS: PLACE_LAYERS, MODEL_FIELDS: MODEL_FIELDS,
    missing: missing, num: num, dur: dur, compass: compass, problemsHtml: problemsHtml,
    kindLabel: kindLabel, statusChip: statusChip, bandColor: bandColor
  };
})(window.SafeMap);

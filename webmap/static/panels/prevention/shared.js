/*
 * 双重预防 (prevention) panel, part 1 of 9 (panels/prevention/*.js, loaded in the order of
 * webmap/panels.py; main.js last): what every part shares, SafeMap.preventionParts.shared.
 *   catalogue()    GET /api/prevention/catalogue once (enums with labels and colours, checklists,
 *                  action labels, enterprises); label(enum, code), color(enum, code, fallback)
 *   problemsHtml   an API error in Chinese (403/409/422 with the server's words, fields named)
 *   chip           a coloured label; today() "YYYY-MM-DD" in the county (learn(iso) its offset)
 *   uuid()         crypto.randomUUID, or a random v4 UUID where that is missing (http:, old cores)
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.preventionParts = SafeMap.preventionParts || {};
  var esc = SafeMap.common.esc;
  var cache = { catalogue: null, promise: null };
  var clock = { min: null };

  // Chinese names of the request fields the API may name in its problems.
  var FIELDS = {
    grade: "隐患等级", description: "隐患描述", deadline: "整改期限", location: "位置", enterprise_id: "企业",
    inspection_id: "检查任务", clause: "违反条款", checklist_item: "检查项", responsible: "整改责任人", name: "名称",
    client_uuid: "客户端编号", text: "说明", measures: "整改措施", photo_ids: "照片", file: "照片", stage: "照片类别",
    action: "操作", version: "版本", found_at: "发现时间"
  };
  // Indicator states (gis/indicators.py): 按进度 green, 滞后 red, 无法判断 grey, 不适用 light grey.
  var STATE_COLORS = { on_track: "#2e7d32", off_track: "#c62828", cannot_check: "#757575", not_applicable: "#b0bec5",
    pending: "#9e9e9e" };

  function missing(v) { return v === null || v === undefined || v === ""; }

  function catalogue() {
    if (cache.catalogue) return Promise.resolve(cache.catalogue);
    if (!cache.promise) {
      cache.promise = SafeMap.api("api/prevention/catalogue").then(function (c) {
        cache.catalogue = c;
        return c;
      }, function (err) { cache.promise = null; throw err; });
    }
    return cache.promise;
  }
  function members(name) {
    var c = cache.catalogue, list = c && c.enums && c.enums[name];
    if (list && list.length) return list.map(function (m) { return [m.code, m.label, m.color || null]; });
    return SafeMap.enumMembers(name);
  }
  function member(name, code) {
    var list = members(name);
    for (var i = 0; i < list.length; i++) if (list[i][0] === code) return list[i];
    return null;
  }
  function label(name, code) { var m = member(name, code); return m ? m[1] : (missing(code) ? "—" : code); }
  function color(name, code, fallback) { var m = member(name, code); return m && m[2] ? m[2] : fallback; }
  function enumOptions(name) { return members(name).map(function (m) { return [m[0], m[1]]; }); }
  function actionLabel(code) {
    var a = cache.catalogue && cache.catalogue.actions;
    var fallback = { rectify: "开始整改", submit: "提交复查", pass: "复查通过并销号", fail: "复查未通过", extend: "延期", note: "备注" };
    return (a && a[code]) || fallback[code] || code;
  }

  /** A coloured label (white text on the colour). */
  function chip(text, bg, cls) {
    return '<span class="sm-pv-chip' + (cls ? " " + cls : "") + '" style="background:' + esc(bg || "#757575") + '">' + esc(text) + "</span>";
  }

  /** An API error as Chinese text: the server's message, then each problem with its field's name. */
  function problemsHtml(err) {
    var list = (err && err.problems) || [], status = err && err.status;
    var head;
    if (status === undefined || status === null) head = "网络不通，请稍后再试";
    else if (status === 401) head = "请先登录（右上角“登录”）";
    else if (status === 409) head = (err.message || "该隐患已被他人处理") + "（已刷新为最新状态）";
    else head = err && err.message ? err.message : "请求失败";
    if (status === 403 && !err.message) head = "当前账号无权进行此操作";
    var items = list.map(function (p) {
      var key = String(p.field || ""), name = FIELDS[key] || FIELDS[key.split(".")[0]] || "";
      if (String(p.message).indexOf(name) >= 0) name = "";
      return "<div>" + (name ? "<b>" + esc(name) + "</b>：" : "") + esc(p.message) + "</div>";
    }).join("");
    var shown = list.length && list.some(function (p) { return head.indexOf(p.message) >= 0; }) ? "" : items;
    return '<div class="sm-pv-error" data-status="' + esc(status === undefined ? "" : status) + '"><div>' + esc(head) + "</div>" + shown + "</div>";
  }
  function okHtml(text) { return '<div class="sm-pv-ok">' + esc(text) + "</div>"; }

  /** Remember the county's UTC offset from the first local ISO time seen ("…+06:00"). */
  function learn(iso) {
    var m = /([+-])(\d\d):?(\d\d)$/.exec(iso || "");
    if (m && clock.min === null) clock.min = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  }
  function today() {
    var c = cache.catalogue;
    if (c && c.today && clock.min === null) return c.today;
    var off = clock.min === null ? -new Date().getTimezoneOffset() : clock.min;
    return new Date(Date.now() + off * 60000).toISOString().slice(0, 10);
  }
  function addDays(day, n) {
    return new Date(Date.parse(day + "T00:00:00Z") + n * 86400000).toISOString().slice(0, 10);
  }
  function when(iso) { return iso ? String(iso).slice(0, 16).replace("T", " ") : "—"; }
  function query(params) {
    return Object.keys(params).filter(function (k) { return !missing(params[k]); }).map(function (k) {
      return k + "=" + encodeURIComponent(params[k]);
    }).join("&");
  }

  function uuid() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      try { return c.randomUUID(); } catch (e) { /* not a secure context: below */ }
    }
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x < 16 ? "0" : "") + x.toString(16); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /** A table from rows of already-escaped cells. */
  function table(heads, rows, cls) {
    return '<div class="sm-pv-scroll"><table class="sm-pv-table' + (cls ? " " + cls : "") + '"><thead><tr>' +
      heads.map(function (h) { return "<th>" + esc(h) + "</th>"; }).join("") + "</tr></thead><tbody>" +
      rows.map(function (r) { return "<tr>" + r.map(function (c) { return "<td>" + c + "</td>"; }).join("") + "</tr>"; }).join("") +
      "</tbody></table></div>";
  }

  /** On a phone the dock is a bottom sheet over the map: fold it (``true``) or bring it back. */
  function foldOnPhone(folded) {
    var dock = SafeMap.state && SafeMap.state.dock, map = SafeMap.state && SafeMap.state.map;
    if (!dock || !map || map.getContainer().clientWidth > 600 || !dock.fold) return;
    dock.fold(folded);
  }

  parts.shared = {
    FIELDS: FIELDS, STATE_COLORS: STATE_COLORS, missing: missing, catalogue: catalogue,
    cat: function () { return cache.catalogue; }, members: members, label: label, color: color,
    enumOptions: enumOptions, actionLabel: actionLabel, chip: chip, problemsHtml: problemsHtml, okHtml: okHtml,
    learn: learn, today: today, addDays: addDays, when: when, query: query, uuid: uuid, table: table,
    foldOnPhone: foldOnPhone
  };
})(window.SafeMap);

/*
 * 主导风向 (wind) panel: the county's 16-sector wind rose (GET /api/safety/wind) drawn as
 * bars around a compass, the prevailing wind with its Chinese name and degrees, calm share,
 * source and warnings; and the 建标152 check of a fire station placed on the map against
 * the hazardous-chemical sites nearby (GET /api/safety/wind/station-check): each site with
 * 符合 / 不符合 / 无法核查, its bearing, distance and side (上风/侧风/下风), drawn as lines.
 * Directions are where the wind blows FROM, clockwise from north.
 * ES2015 only, Chinese UI, nothing loaded from outside the app.
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc, fmt = C.fmt;
  var SVG_NS = "http://www.w3.org/2000/svg";
  // Verdict words come from the catalogue (enum verdict_status); the panel adds its classes and colours.
  var STATUS_STYLE = {
    pass: ["sm-wd-pass", "#2e7d32"],
    fail: ["sm-wd-fail", "#d50000"],
    cannot_check: ["sm-wd-unknown", "#757575"]
  };
  function verdict(code) { return SafeMap.enumLabel("verdict_status", code); }
  function status(code) {
    var s = STATUS_STYLE[code] || STATUS_STYLE.cannot_check;
    return [verdict(code), s[0], s[1]];
  }

  /** x, y of a compass bearing (degrees clockwise from north) at radius r around (c, c). */
  function polar(c, r, deg) {
    var a = deg * Math.PI / 180;
    return [c + r * Math.sin(a), c - r * Math.cos(a)];
  }

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  /** The rose as an SVG: one wedge per sector, length ∝ frequency, the prevailing sector(s) in red. */
  function roseSvg(wind) {
    var size = 200, c = size / 2, inner = 12, outer = 76;
    var svg = el("svg", { viewBox: "0 0 " + size + " " + size, width: size, height: size, role: "img",
      "class": "sm-wd-svg", "aria-label": "风向玫瑰图" });
    var top = Math.max.apply(null, wind.rose.map(function (r) { return r.frequency_pct; }).concat([1e-9]));
    [0.25, 0.5, 0.75, 1].forEach(function (f) {
      el("circle", { cx: c, cy: c, r: inner + (outer - inner) * f, "class": "sm-wd-ring" }, svg);
    });
    for (var d = 0; d < 360; d += 45) {
      var p = polar(c, outer, d);
      el("line", { x1: c, y1: c, x2: p[0], y2: p[1], "class": "sm-wd-spoke" }, svg);
    }
    var prevailing = wind.prevailing ? wind.prevailing.sectors : [];
    wind.rose.forEach(function (r) {
      if (!(r.frequency_pct > 0)) return;
      var len = inner + (outer - inner) * r.frequency_pct / top;
      var a = polar(c, inner, r.from_deg - 9), b = polar(c, len, r.from_deg - 9);
      var e = polar(c, len, r.from_deg + 9), f = polar(c, inner, r.from_deg + 9);
      var wedge = el("path", {
        d: "M" + a + "L" + b + "A" + len + "," + len + " 0 0 1 " + e + "L" + f + "A" + inner + "," + inner + " 0 0 0 " + a + "Z",
        "class": prevailing.indexOf(r.sector) >= 0 ? "sm-wd-bar sm-wd-top" : "sm-wd-bar",
        "data-sector": r.sector
      }, svg);
      el("title", {}, wedge).textContent = r.name + "（" + r.sector + "）" + fmt(r.frequency_pct, 1) + "%" +
        (r.mean_speed_m_s === null ? "" : "，平均 " + fmt(r.mean_speed_m_s, 1) + " m/s");
    });
    el("circle", { cx: c, cy: c, r: inner, "class": "sm-wd-calm" }, svg);
    // Calm in the centre only when no prevailing-wind arrow crosses it (the heading gives it too).
    if (!wind.prevailing) {
      el("text", { x: c, y: c + 4, "class": "sm-wd-calmtext" }, svg).textContent = "静风 " + fmt(wind.calm_pct, 0) + "%";
    }
    [["北", 0], ["东", 90], ["南", 180], ["西", 270]].forEach(function (n) {
      var q = polar(c, outer + 12, n[1]);
      el("text", { x: q[0], y: q[1] + 5, "class": "sm-wd-compass" }, svg).textContent = n[0];
    });
    if (wind.prevailing) {
      // Where the prevailing wind blows: an arrow from the upwind edge through the centre.
      var from = polar(c, outer + 2, wind.prevailing.from_deg), to = polar(c, outer - 22, wind.prevailing.towards_deg);
      el("line", { x1: from[0], y1: from[1], x2: to[0], y2: to[1], "class": "sm-wd-arrow", "marker-end": "url(#sm-wd-head)" }, svg);
      var defs = el("defs", {}, svg);
      var marker = el("marker", { id: "sm-wd-head", viewBox: "0 0 10 10", refX: 6, refY: 5, markerWidth: 5, markerHeight: 5,
        orient: "auto-start-reverse" }, defs);
      el("path", { d: "M0,0L10,5L0,10Z", "class": "sm-wd-arrowhead" }, marker);
    }
    return svg;
  }

  function build(container, page) {
    var map = page.map;
    var state = { wind: null, layers: L.layerGroup().addTo(map), picking: null, quietUntil: 0, last: null };
    container.innerHTML =
      '<div class="sm-wd-top">' +
      '<div class="sm-wd-head">读取县域风向玫瑰…</div><div class="sm-wd-rose"></div></div>' +
      '<div class="sm-wd-flag" hidden></div><ul class="sm-wd-warnings"></ul>' +
      '<fieldset class="sm-wd-check"><legend>消防站选址：上风或侧风（建标152）</legend>' +
      '<div class="sm-wd-row"><label>核查范围（米）<input class="sm-wd-vicinity" type="number" min="0" max="20000" value="1000">' +
      '</label><button type="button" class="sm-wd-pick sm-wd-primary">点选消防站位置</button></div>' +
      '<div class="sm-wd-hint"></div><div class="sm-wd-out"></div></fieldset>' +
      '<details class="sm-wd-details"><summary>各方位频率与数据来源</summary>' +
      '<table class="sm-wd-table"><thead><tr><th>方位</th><th class="sm-wd-num">频率</th><th class="sm-wd-num">风速</th>' +
      '<th>方位</th><th class="sm-wd-num">频率</th><th class="sm-wd-num">风速</th></tr></thead><tbody></tbody></table>' +
      '<div class="sm-wd-note">风速单位 m/s。风向为来向（风从该方向吹来），正北为 0°，顺时针。</div>' +
      '<div class="sm-wd-source"></div>' +
      '<div class="sm-wd-note">管理员可在“标准与参数 → 县域风向玫瑰”表中修改，修改即时生效并留痕。</div>' +
      "</details>" +
      '<div class="sm-panel-error" hidden></div>';
    var $ = C.finder(container);
    var errorBox = $(".sm-panel-error");

    function showError(err) {
      errorBox.textContent = err ? (err.message || String(err)) : "";
      errorBox.hidden = !err;
    }

    function showWind(wind) {
      state.wind = wind;
      var p = wind.prevailing;
      $(".sm-wd-head").innerHTML = p
        ? '<div class="sm-wd-caption">常年主导风向</div><b class="sm-wd-name">' + esc(p.label) + "</b>" +
          "<small>频率 " + fmt(p.frequency_pct, 1) + "%" +
          (p.mean_speed_m_s === null ? "" : "<br>平均风速 " + fmt(p.mean_speed_m_s, 1) + " m/s") +
          "<br>静风 " + fmt(wind.calm_pct, 1) + "%</small>"
        : '<div class="sm-wd-caption">常年主导风向</div><b class="sm-wd-name">无</b><small>风向玫瑰为空或全为静风</small>';
      var flag = $(".sm-wd-flag");
      flag.hidden = !(wind.synthetic || wind.unverified);
      flag.textContent = (wind.synthetic ? "示例数据（合成）" : "") + (wind.unverified ? "【未核实】" : "") +
        "：请以县气象站常年风向资料替换";
      var rose = $(".sm-wd-rose");
      rose.innerHTML = "";
      rose.appendChild(roseSvg(wind));
      var rows = [];
      for (var i = 0; i < 8; i++) {
        rows.push("<tr>" + [wind.rose[i], wind.rose[i + 8]].map(function (r) {
          var top = p && p.sectors.indexOf(r.sector) >= 0 ? ' class="sm-wd-toprow"' : "";
          return "<td" + top + ">" + esc(r.name) + "</td><td class=\"sm-wd-num\">" + fmt(r.frequency_pct, 1) + "%</td>" +
            '<td class="sm-wd-num">' + (r.mean_speed_m_s === null ? "—" : fmt(r.mean_speed_m_s, 1)) + "</td>";
        }).join("") + "</tr>");
      }
      $(".sm-wd-table tbody").innerHTML = rows.join("");
      var source = esc(wind.source || "未注明来源");
      $(".sm-wd-source").innerHTML = "<b>数据来源：</b>" + source.replace(/【未核实】/g, '<mark class="sm-wd-unverified">【未核实】</mark>');
      $(".sm-wd-warnings").innerHTML = wind.warnings.map(function (w) { return "<li>" + esc(w) + "</li>"; }).join("");
    }

    function load() {
      return SafeMap.api("api/safety/wind").then(showWind, function (err) {
        $(".sm-wd-head").textContent = "风向数据读取失败";
        showError(err);
      });
    }

    // While a station is being placed, a click on a feature places it instead of opening a popup.
    SafeMap.hooks.on("featureclick", function () {
      return !!state.picking || Date.now() < state.quietUntil;
    });

    function stopPicking() {
      if (!state.picking) return;
      map.off("click", state.picking);
      state.picking = null;
      map.getContainer().classList.remove("sm-wd-crosshair");
    }

    function drawChecks(lonlat, result) {
      state.layers.clearLayers();
      var station = L.latLng(lonlat[1], lonlat[0]);
      result.checks.forEach(function (c) {
        if (!c.site_lonlat) return;
        var s = status(c.status);
        L.polyline([[c.site_lonlat[1], c.site_lonlat[0]], station], { color: s[2], weight: 3, opacity: 0.85,
          dashArray: c.status === "fail" ? null : "6 4" })
          .bindTooltip(esc(c.target_name) + "：" + s[0] + (c.relation_label ? "（" + esc(c.relation_label) + "）" : ""))
          .addTo(state.layers);
        L.circleMarker([c.site_lonlat[1], c.site_lonlat[0]], { radius: 4, color: s[2], weight: 2, fillOpacity: 0.6 })
          .addTo(state.layers);
      });
      L.circleMarker(station, { radius: 8, color: "#fff", weight: 2, fillColor: "#d50000", fillOpacity: 1 })
        .bindTooltip("拟建/现有消防站", { permanent: false }).addTo(state.layers);
    }

    function showChecks(lonlat, result) {
      state.last = result;
      var n = result.counts;
      var head = !result.checks.length
        ? '<div class="sm-wd-verdict sm-wd-unknown">范围内没有危险化学品场所：本条不适用</div>'
        : '<div class="sm-wd-verdict ' + (n.fail ? "sm-wd-fail" : n.cannot_check ? "sm-wd-unknown" : "sm-wd-pass") + '">' +
          verdict(n.fail ? "fail" : n.cannot_check ? "cannot_check" : "pass") + "：" + verdict("pass") + " " + n.pass +
          " 处，" + verdict("fail") + " " + n.fail + " 处，" + verdict("cannot_check") + " " + n.cannot_check + " 处</div>";
      var rows = result.checks.map(function (c) {
        var s = status(c.status);
        return '<tr><td><span class="sm-wd-badge ' + s[1] + '">' + s[0] + "</span></td><td>" + esc(c.target_name || "—") +
          "<br><small>" + esc(c.reason) + "</small></td>" +
          '<td class="sm-wd-num">' + (c.distance_m === null ? "—" : fmt(c.distance_m, 0) + " m") + "</td></tr>";
      }).join("");
      $(".sm-wd-out").innerHTML = head +
        '<div class="sm-wd-where">位置：' + lonlat[0].toFixed(5) + "°E，" + lonlat[1].toFixed(5) + "°N</div>" +
        (rows ? '<table class="sm-wd-checks"><thead><tr><th>结论</th><th>危险化学品场所</th><th class="sm-wd-num">距离</th></tr></thead><tbody>' +
          rows + "</tbody></table>" : "") +
        (result.checks.length ? '<div class="sm-wd-note">' + esc(result.checks[0].standard + " " + result.checks[0].clause) +
          "；" + esc(result.checks[0].convention) + "</div>" : "");
      drawChecks(lonlat, result);
      $(".sm-wd-out").scrollIntoView({ block: "nearest" });
    }

    function check(lonlat) {
      showError(null);
      var vicinity = Number($(".sm-wd-vicinity").value);
      var query = "lon=" + lonlat[0] + "&lat=" + lonlat[1] + "&vicinity_m=" + (isFinite(vicinity) ? vicinity : 1000);
      $(".sm-wd-hint").textContent = "正在核查…";
      return SafeMap.api("api/safety/wind/station-check?" + query).then(function (result) {
        $(".sm-wd-hint").textContent = "";
        showChecks(lonlat, result);
      }, function (err) {
        $(".sm-wd-hint").textContent = "";
        showError(err);
      });
    }

    function startPicking() {
      stopPicking();
      $(".sm-wd-hint").textContent = "请在地图上单击消防站的位置";
      map.getContainer().classList.add("sm-wd-crosshair");
      state.picking = function (e) {
        state.quietUntil = Date.now() + 1500;
        map.closePopup();
        stopPicking();
        check([e.latlng.lng, e.latlng.lat]);
      };
      map.on("click", state.picking);
    }

    $(".sm-wd-pick").addEventListener("click", startPicking);
    load();
    return {
      layers: state.layers,
      reload: load,
      check: check,
      last: function () { return state.last; },
      wind: function () { return state.wind; }
    };
  }

  SafeMap.registerPanel("wind", build);
})(window.SafeMap);

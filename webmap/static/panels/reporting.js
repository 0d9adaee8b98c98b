/*
 * 数据上报 panel (issue 19): how far behind each county's data is on this server.
 * On the prefecture's (or region's) server every county whose rows it receives over PostgreSQL
 * logical replication is listed with its state (实时同步 / 初始复制中 / 延迟 / 中断 / 已停用 /
 * 结构版本高于上级库) and 数据延迟 — the age of the newest heartbeat the county wrote (every few
 * seconds) — and drawn on the map: the prefecture's counties coloured by state (未接入 grey).
 * On a county's server: the hubs connected to it, their replay lag and the WAL kept for them.
 * Refreshed every 5 s while the panel is open (GET /api/replication/status, /api/replication/map).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var C = SafeMap.common, esc = C.esc;
  var REFRESH_MS = 5000;
  // State colours: green streaming, blue copying, amber late, red stopped/ahead, grey not connected.
  var COLOURS = {
    streaming: "#2e7d32", local: "#2e7d32", copying: "#1565c0", stale: "#ef6c00",
    stopped: "#c62828", disabled: "#757575", ahead: "#c62828", unconnected: "#9e9e9e"
  };
  var LEGEND_STATES = [
    ["streaming", "实时同步"], ["copying", "初始复制中"], ["stale", "延迟"], ["stopped", "中断"], ["unconnected", "未接入"]
  ];

  function colour(state) { return COLOURS[state] || COLOURS.unconnected; }

  function bytes(n) {
    if (n === null || n === undefined) return "—";
    if (n < 1024) return n + " 字节";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KB";
    return (n / 1048576).toFixed(1) + " MB";
  }

  SafeMap.registerPanel("reporting", function (container, state) {
    var map = state.map;
    var drawn = L.geoJSON(null, {
      style: function (f) {
        return { color: "#37474f", weight: 1, fillColor: colour(f.properties.state), fillOpacity: 0.35 };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindTooltip(esc(p.county_name) + "：" + esc(p.state_label) + "，数据延迟 " + esc(p.lag_label));
      }
    });
    var fitted = false;

    container.innerHTML =
      '<div class="sm-rp-head"></div>' +
      '<label class="sm-rp-show"><input type="checkbox" class="sm-rp-onmap" checked> 在地图上按状态着色</label>' +
      '<div class="sm-rp-legend">' + LEGEND_STATES.map(function (s) {
        return '<span><i style="background:' + colour(s[0]) + '"></i>' + esc(s[1]) + "</span>";
      }).join("") + "</div>" +
      '<table class="sm-rp-table"><thead><tr><th>区县</th><th>状态</th><th>数据延迟</th><th>最近心跳</th></tr></thead>' +
      "<tbody></tbody></table>" +
      '<div class="sm-rp-subs"></div>' +
      '<div class="sm-rp-note">数据延迟：上级库收到的该区县最新心跳距今的时间（区县每 5 秒写一次心跳，随数据一起复制）。</div>' +
      '<div class="sm-panel-error" hidden></div>';
    var $ = C.finder(container);

    function visible() { return !container.closest("[hidden]"); }

    function showError(err) {
      var box = $(".sm-panel-error");
      box.hidden = !err;
      box.textContent = err ? (err.message || String(err)) : "";
    }

    function render(status) {
      $(".sm-rp-head").innerHTML = "本库：<b>" + esc(status.name || "") + "</b>（" + esc(status.code || "") + "），" +
        esc(status.role_label);
      var rows = status.counties || [];
      $(".sm-rp-table tbody").innerHTML = rows.length ? rows.map(function (c) {
        return "<tr><td>" + esc(c.county_name) + '<span class="sm-rp-code">' + esc(c.county_code) + "</span></td>" +
          '<td><i class="sm-rp-dot" style="background:' + colour(c.state) + '"></i>' + esc(c.state_label) + "</td>" +
          "<td>" + esc(c.lag_label) + "</td><td>" + esc(c.last_beat || "—") + "</td></tr>";
      }).join("") : '<tr><td colspan="4" class="sm-rp-empty">本库没有订阅任何区县</td></tr>';
      var subs = status.subscribers || [];
      $(".sm-rp-subs").innerHTML = subs.length ? "<b>上级订阅</b>" + subs.map(function (s) {
        var lag = s.replay_lag_s === null || s.replay_lag_s === undefined ? "—" : s.replay_lag_s.toFixed(3) + "秒";
        return '<div class="sm-rp-sub">' + esc(s.connected_label) + "，回放延迟 " + esc(lag) +
          "，未确认 " + esc(bytes(s.behind_bytes)) + "，保留日志 " + esc(bytes(s.retained_bytes)) + "</div>";
      }).join("") : "";
    }

    function refresh() {
      if (!visible()) { map.removeLayer(drawn); return; }
      SafeMap.api("api/replication/status").then(function (status) {
        showError(null);
        render(status);
      }, showError);
      if (!$(".sm-rp-onmap").checked) return;
      SafeMap.api("api/replication/map").then(function (fc) {
        drawn.clearLayers();
        drawn.addData(fc);
        if (!map.hasLayer(drawn)) drawn.addTo(map);
        if (!fitted && fc.features.length) {
          fitted = true;
          map.fitBounds(drawn.getBounds(), { maxZoom: 9 });
        }
      }, showError);
    }

    $(".sm-rp-onmap").addEventListener("change", function (e) {
      if (e.target.checked) refresh(); else map.removeLayer(drawn);
    });
    // The panel's own timer: a request every 5 s only while the panel is open.
    setInterval(refresh, REFRESH_MS);
    var observer = new MutationObserver(function () {
      if (visible()) refresh(); else map.removeLayer(drawn);
    });
    // The dock hides the panel's pane (an ancestor) with the hidden attribute.
    for (var node = container; node && node !== document.body; node = node.parentNode) {
      observer.observe(node, { attributes: true, attributeFilter: ["hidden"] });
    }
    refresh();
  });
})(window.SafeMap);

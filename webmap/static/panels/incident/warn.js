/*
 * 事件处置 panel, part 4 of 7: 预警发布 (template, bands, channels, placeholder values, preview and
 * send, POST …/warnings) and the warnings sent with their delivery states (GET …/warnings, 已确认).
 * SafeMap.incidentParts.warn(ctx) adds showWarnForm and loadWarnings to the panel's shared ctx
 * (see main.js).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.incidentParts = SafeMap.incidentParts || {};
  var C = SafeMap.common, esc = C.esc, options = C.options, S = parts.shared;
  var missing = S.missing, compass = S.compass, problemsHtml = S.problemsHtml, bandColor = S.bandColor;

  parts.warn = function (ctx) {
    var st = ctx.st, $ = ctx.$, when = ctx.when;

    /* ------------------------------------------------------------ warnings */
    function suggested(name) {
      var p = st.detail.properties, z = ctx.currentZone();
      if (name === "物质") return p.substance || "";
      if (z && !missing(z.wind_from_deg)) {
        if (name === "方向") return compass(z.wind_from_deg + 180);
        if (name === "撤离方向") return compass(z.wind_from_deg) + "（上风向）";
      }
      return "";
    }

    function showWarnForm() {
      var el = $(".sm-in-warnform");
      if (!el) return;
      if (!ctx.currentZone()) { el.innerHTML = '<div class="sm-in-hint">请先计算危险区，再向区内对象发布预警</div>'; return; }
      if (!st.templates) {
        el.innerHTML = '<div class="sm-in-hint">加载模板…</div>';
        SafeMap.api("api/warning-templates").then(function (r) {
          st.templates = r.templates;
          st.channels = r.channels || {};
          showWarnForm();
        }, function (err) { el.innerHTML = problemsHtml(err); });
        return;
      }
      // A re-render (the zone re-modelled, here or elsewhere) keeps what the dispatcher typed.
      // (A suggestion left as it was is made afresh: the wind may have turned.)
      el.querySelectorAll(".sm-in-wvalues input").forEach(function (i) {
        if (i.value !== i.getAttribute("data-sug")) st.typed[i.getAttribute("data-ph")] = i.value;
      });
      var plume = ctx.currentZone().model === "gaussian_plume";
      var first = plume ? "shelter_in_place" : "stay_away";
      var tpls = st.templates.map(function (t) { return [t.code, t.name]; });
      var chosen = st.warnTemplate || (tpls.some(function (t) { return t[0] === first; }) ? first : (tpls[0] || [""])[0]);
      var bands = ctx.currentZone().bands.map(function (b, i) {
        return '<label class="sm-in-check"><input type="checkbox" class="sm-in-wband" value="' + esc(b.label) + '" checked>' +
          '<span><span class="sm-in-sw" style="background:' + bandColor(i) + '"></span>' + esc(b.label) + "</span></label>";
      }).join("");
      var chans = C.enumList("warning_channel").map(function (c) {
        var s = st.channels[c[0]] || {}, ok = s.configured !== false;
        return '<label class="sm-in-check"><input type="checkbox" class="sm-in-wchan" value="' + esc(c[0]) + '"' + (c[0] === "call_list" ? " checked" : "") + ">" +
          "<span>" + esc(c[1]) + (ok ? "" : ' <span class="sm-in-dim">（未配置：' + esc(s.reason || "") + "，仅记录）</span>") + "</span></label>";
      }).join("");
      el.innerHTML = '<label>模板<select class="sm-in-wtpl">' + options(tpls, chosen) + '</select></label><div class="sm-in-hint sm-in-whint"></div>' +
        '<div class="sm-in-subhead">预警范围</div>' + bands + '<div class="sm-in-subhead">发布渠道</div>' + chans +
        '<div class="sm-in-grid sm-in-wvalues"></div>' +
        '<div class="sm-in-row"><button type="button" class="sm-in-wpreview">预览</button>' +
        '<button type="button" class="sm-in-primary sm-in-wsend" disabled>发送预警</button></div><div class="sm-in-wmsg"></div>';
      var tplSel = el.querySelector(".sm-in-wtpl");
      tplSel.onchange = function () { st.warnTemplate = tplSel.value; warnValues(); };
      warnValues();
      el.querySelector(".sm-in-wpreview").onclick = function () { sendWarning(true, this); };
      el.querySelector(".sm-in-wsend").onclick = function () { sendWarning(false, this); };
      el.querySelectorAll("input").forEach(function (i) { i.addEventListener("change", function () { el.querySelector(".sm-in-wsend").disabled = true; }); });
    }

    function warnValues() {
      var el = $(".sm-in-warnform"), code = el.querySelector(".sm-in-wtpl").value, tpl = null;
      st.templates.forEach(function (t) { if (t.code === code) tpl = t; });
      if (!tpl) return;
      el.querySelector(".sm-in-whint").textContent = (tpl.bands_hint ? "适用：" + tpl.bands_hint : "") + (tpl.note ? "。" + tpl.note : "");
      el.querySelector(".sm-in-wvalues").innerHTML = tpl.placeholders.map(function (name) {
        var auto = name === "时间" || name === "事件";
        var sug = auto ? "" : suggested(name), value = st.typed[name] !== undefined ? st.typed[name] : sug;
        return "<label>" + esc(name) + '<input data-ph="' + esc(name) + '" data-sug="' + esc(sug) + '" value="' + esc(value) + '"' +
          (auto ? ' placeholder="自动（' + (name === "时间" ? "当前时间" : "事件名称") + '）"' : "") + "></label>";
      }).join("");
      el.querySelector(".sm-in-wsend").disabled = true;
      el.querySelectorAll(".sm-in-wvalues input").forEach(function (i) {
        i.addEventListener("input", function () { el.querySelector(".sm-in-wsend").disabled = true; });
      });
    }

    function warnBody(preview) {
      var el = $(".sm-in-warnform"), values = {};
      el.querySelectorAll(".sm-in-wvalues input").forEach(function (i) {
        if (i.value.trim()) values[i.getAttribute("data-ph")] = i.value.trim();
      });
      function checked(cls) {
        return Array.prototype.map.call(el.querySelectorAll(cls + ":checked"), function (i) { return i.value; });
      }
      return { template: el.querySelector(".sm-in-wtpl").value, bands: checked(".sm-in-wband"), channels: checked(".sm-in-wchan"),
        values: values, preview: preview };
    }

    function sendWarning(preview, btn) {
      var el = $(".sm-in-warnform"), msg = el.querySelector(".sm-in-wmsg"), body = warnBody(preview);
      if (!body.bands.length) { msg.innerHTML = '<div class="sm-in-error">请至少选择一个预警范围</div>'; return; }
      if (!body.channels.length) { msg.innerHTML = '<div class="sm-in-error">请至少选择一个发布渠道</div>'; return; }
      C.run(btn, SafeMap.api("api/incidents/" + st.selected + "/warnings", { method: "POST", body: body }), {
        busy: preview ? "生成中…" : "发送中…",
        done: function (r) {
          var un = r.uncovered_targets || {};
          var head = '<div class="sm-in-preview"><div class="sm-in-ptitle">' + esc(r.title) + "</div><div>" + esc(r.message) + "</div>" +
            '<div class="sm-in-hint">接收对象 <b>' + r.recipients + "</b> 个" + (r.unreachable ? "（其中 " + r.unreachable + " 个无联系方式）" : "") +
            (un.count ? "；另有 " + un.count + " 处一般防护目标（约 " + un.population + " 人）" + esc(un.note ? "：" + un.note : "") : "") + "</div>";
          if (preview) {
            msg.innerHTML = head + '<table class="sm-in-table"><tr><th>接收对象</th><th>电话</th><th>分区</th></tr>' +
              (r.recipient_list || []).map(function (x) {
                return "<tr><td>" + esc((x.organisation ? x.organisation + " " : "") + x.name) + "<div class=\"sm-in-dim\">" + esc(x.role_label || "") + "</div></td><td>" +
                  esc(x.phone || "—") + "</td><td>" + esc(x.band) + "</td></tr>";
              }).join("") + "</table></div>";
            el.querySelector(".sm-in-wsend").disabled = false;
          } else {
            msg.innerHTML = '<div class="sm-in-ok">' + (r.replayed ? "此预警已发送过（未重复发送）" : "预警已发出：" + r.recipients + " 个接收对象") + "</div>";
            el.querySelector(".sm-in-wsend").disabled = true;
            loadWarnings();
            ctx.loadTimeline();
          }
        },
        fail: function (err) { msg.innerHTML = problemsHtml(err); }
      });
    }

    var warnTimer = null;
    function loadWarnings() {
      var id = st.selected;
      return SafeMap.api("api/incidents/" + id + "/warnings").then(function (r) {
        if (id !== st.selected) return;
        st.warnings = r.warnings;
        showWarnings();
        // Delivery states changed by the delivery worker arrive as warning_deliveries events (below);
        // the poll is the fallback while the stream is down and a delivery is still pending.
        if (warnTimer) clearTimeout(warnTimer);
        var pending = r.warnings.some(function (w) {
          return w.deliveries.some(function (d) { return d.state === "queued" && d.channel !== "call_list"; });
        });
        if (pending && !SafeMap.events.connected()) {
          warnTimer = setTimeout(function () { warnTimer = null; if (id === st.selected) loadWarnings(); }, 5000);
        }
      }, function () { /* keep the old list */ });
    }

    function showWarnings() {
      var el = $(".sm-in-warnlist");
      if (!el) return;
      if (!st.warnings.length) { el.innerHTML = '<div class="sm-in-hint">尚未发布预警</div>'; return; }
      var open = {};  // a live refresh keeps the delivery lists the dispatcher has unfolded
      el.querySelectorAll(".sm-in-warning").forEach(function (w) { if (w.querySelector("details").open) open[w.getAttribute("data-id")] = true; });
      el.innerHTML = '<div class="sm-in-subhead">已发布的预警</div>' + st.warnings.map(function (r) {
        var w = r.warning, counts = Object.keys(r.counts).filter(function (k) { return r.counts[k]; }).map(function (k) { return k + " " + r.counts[k]; }).join("，");
        return '<div class="sm-in-warning" data-id="' + w.id + '"><div><b>' + esc(when(w.created_at)) + "</b> " + esc(w.title) + "</div>" +
          '<div class="sm-in-hint">' + esc(w.bands.join("、")) + " · " + w.recipients + " 个接收对象 · " + esc(counts) +
          ' · <a target="_blank" rel="noopener" class="sm-in-calllist" href="' + esc(SafeMap.url("api/incidents/" + st.selected + "/warnings/" + w.id + "/call-list")) + '">打印电话通知清单</a></div>' +
          "<details" + (open[w.id] ? " open" : "") + '><summary>送达状态（' + r.deliveries.length + " 条）</summary>" +
          '<table class="sm-in-table"><tr><th>接收对象</th><th>渠道</th><th>状态</th><th></th></tr>' + r.deliveries.map(function (d) {
            var ack = d.state === "queued" || d.state === "sent" || d.state === "failed";
            return "<tr><td>" + esc((d.organisation ? d.organisation + " " : "") + d.name) + '<div class="sm-in-dim">' + esc(d.phone || d.email || "") + "</div></td><td>" +
              esc(d.channel_label) + '</td><td><span class="sm-in-state" data-state="' + esc(d.state) + '" style="color:' +
              SafeMap.enumColor("delivery_state", d.state, "#555") + '">' + esc(d.state_label) + "</span>" +
              (d.last_error && d.state !== "unconfigured" ? '<div class="sm-in-dim">' + esc(d.last_error) + "</div>" : "") + "</td><td>" +
              (ack ? '<button type="button" class="sm-in-ack" data-id="' + d.id + '">已确认</button>' : "") + "</td></tr>";
          }).join("") + "</table></details></div>";
      }).join("");
      el.querySelectorAll(".sm-in-ack").forEach(function (b) {
        b.onclick = function () {
          C.run(b, SafeMap.api("api/warning-deliveries/" + b.getAttribute("data-id") + "/ack", { method: "POST", body: {} }), {
            done: function () { loadWarnings(); },
            fail: function (err) { window.alert(err.message); }
          });
        };
      });
    }

    ctx.showWarnForm = showWarnForm;
    ctx.loadWarnings = loadWarnings;
  };
})(window.SafeMap);

/*
 * 园区与矿山 panel part "assess": 园区整体性安全风险评估 and 入园项目准入 (issue 18 item 2).
 * Choose a park (GET api/park/areas), optionally place a proposed unit on the map (kind, substances,
 * quantities), run POST api/park/assessment, show the key figures and verdicts, draw the GB 36894
 * contours (colours as the planner's risk contours) and the targets above 3×10⁻⁷/年; the report opens
 * as HTML in a new tab (blob URL) or downloads as PDF (same body, api/park/assessment/report.*).
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.parkParts = SafeMap.parkParts || {};

  function contourColour(lv) {
    return lv >= 3e-5 ? "#7f0000" : lv >= 1e-5 ? "#d32f2f" : lv >= 3e-6 ? "#f57c00" : "#fbc02d";
  }

  var VERDICT_CSS = {
    "不可接受": "bad", "不予准入": "bad", "ALARP 区": "warn", "有条件准入": "warn", "可接受": "ok", "准入": "ok"
  };

  parts.assess = function (pane, ctx) {
    var C = ctx.common, esc = C.esc, map = ctx.map;
    var $ = C.finder(pane);
    var state = { areas: [], proposed: null, placing: null, quietUntil: 0 };

    pane.innerHTML =
      '<div class="sm-park-assess">' +
      '<label class="sm-park-assess-row">评估范围<select class="sm-park-assess-area"><option value="">加载中…</option></select></label>' +
      '<label class="sm-park-assess-check"><input type="checkbox" class="sm-park-assess-useprop"> 加入拟入园项目（准入分析）</label>' +
      '<fieldset class="sm-park-assess-prop" hidden><legend>拟入园项目</legend>' +
      '<label class="sm-park-assess-row">名称<input class="sm-park-assess-name" maxlength="100" placeholder="拟入园项目"></label>' +
      '<label class="sm-park-assess-row">类型<select class="sm-park-assess-kind"></select></label>' +
      '<div class="sm-park-assess-subs"></div>' +
      '<button type="button" class="sm-park-assess-addsub">＋ 添加物质</button> ' +
      '<button type="button" class="sm-park-assess-place">在地图上单击位置</button>' +
      '<div class="sm-park-assess-hint">尚未选择位置</div>' +
      '<datalist id="sm-park-assess-substances"></datalist>' +
      "</fieldset>" +
      '<div class="sm-park-assess-actions">' +
      '<button type="button" class="sm-park-assess-run">开始评估</button> ' +
      '<button type="button" class="sm-park-assess-html" disabled>打开 HTML 报告</button> ' +
      '<button type="button" class="sm-park-assess-pdf" disabled>下载 PDF</button></div>' +
      '<div class="sm-park-error" hidden></div>' +
      '<div class="sm-park-assess-result"></div>' +
      "</div>";

    var errorBox = $(".sm-park-error");
    function showError(err) {
      errorBox.textContent = err ? (err.message || String(err)) : "";
      errorBox.hidden = !err;
    }

    $(".sm-park-assess-kind").innerHTML = C.options(C.enumList("hazard_kind"), "lpg_tank");

    function addSubstance(name, qty) {
      var row = document.createElement("div");
      row.className = "sm-park-assess-sub";
      row.innerHTML = '<input class="sm-park-assess-subname" list="sm-park-assess-substances" placeholder="物质，如 液化石油气" value="' +
        esc(name || "") + '"><input class="sm-park-assess-subqty" type="number" min="0" step="any" placeholder="吨" value="' +
        esc(qty === undefined ? "" : qty) + '"><span>t</span><button type="button" title="删除">×</button>';
      row.querySelector("button").onclick = function () { row.remove(); };
      $(".sm-park-assess-subs").appendChild(row);
    }
    addSubstance("液化石油气", 40);
    $(".sm-park-assess-addsub").onclick = function () { addSubstance(); };

    // The substance names the analyses know (standards table substance_properties); free text otherwise.
    SafeMap.api("api/layers/substance_properties?limit=1000").then(function (fc) {
      $("#sm-park-assess-substances").innerHTML = (fc.features || []).map(function (f) {
        return '<option value="' + esc(f.properties.name) + '">';
      }).join("");
    }, function () { /* the list is a convenience: typing the name still works */ });

    SafeMap.api("api/park/areas").then(function (res) {
      state.areas = res.areas;
      $(".sm-park-assess-area").innerHTML = res.areas.length ? C.options(res.areas.map(function (a) {
        return [String(a.id), a.name + "（" + C.fmt(a.area_km2, 2) + " km²）"];
      }), String(res.areas[0].id)) : '<option value="">没有工业园区边界（行政区划图层，级别“工业园区”）</option>';
      drawArea();
    }, showError);

    function chosenArea() {
      var id = Number($(".sm-park-assess-area").value);
      return state.areas.filter(function (a) { return a.id === id; })[0] || null;
    }

    function drawArea() {
      ctx.clearLayer("assess-area");
      var a = chosenArea();
      if (!a) return;
      var layer = L.geoJSON(a.geometry, { style: { color: "#0d47a1", weight: 2, dashArray: "8 4", fill: false }, interactive: false });
      ctx.layer("assess-area").addLayer(layer);
      map.fitBounds(layer.getBounds(), { maxZoom: 15 });
    }
    $(".sm-park-assess-area").onchange = drawArea;

    $(".sm-park-assess-useprop").onchange = function () {
      $(".sm-park-assess-prop").hidden = !this.checked;
      if (!this.checked) stopPlacing();
    };

    /* ------------------------------------------------------------ placing the proposed unit */

    // While placing, a click on the map is not a click on the feature underneath: no popup.
    SafeMap.hooks.on("featureclick", function () { return !!state.placing || Date.now() < state.quietUntil; });

    function stopPlacing() {
      if (!state.placing) return;
      map.off("click", state.placing);
      map.getContainer().classList.remove("sm-park-assess-crosshair");
      state.placing = null;
    }

    function setProposed(geometry) {
      state.proposed = geometry;
      ctx.clearLayer("assess-proposed");
      ctx.layer("assess-proposed").addLayer(L.geoJSON(geometry, {
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, { radius: 8, color: "#4a148c", weight: 3, fillColor: "#6a1b9a", fillOpacity: 0.7 });
        },
        style: { color: "#4a148c", weight: 2, fillColor: "#6a1b9a", fillOpacity: 0.35 }
      }));
      $(".sm-park-assess-hint").textContent = "已选位置：" + geometry.coordinates[1].toFixed(5) + "°N, " +
        geometry.coordinates[0].toFixed(5) + "°E";
    }
    /** Test hook: place the proposed unit from a GeoJSON Point. */
    state.setProposed = setProposed;

    $(".sm-park-assess-place").onclick = function () {
      stopPlacing();
      $(".sm-park-assess-hint").textContent = "请在地图上单击拟入园项目的位置";
      map.getContainer().classList.add("sm-park-assess-crosshair");
      state.placing = function (e) {
        state.quietUntil = Date.now() + 1500;
        map.closePopup();
        stopPlacing();
        setProposed({ type: "Point", coordinates: [e.latlng.lng, e.latlng.lat] });
      };
      map.on("click", state.placing);
    };

    /* ------------------------------------------------------------ the request */

    function body() {
      var a = chosenArea();
      var b = { area_id: a ? a.id : null };
      if (!$(".sm-park-assess-useprop").checked) return b;
      if (!state.proposed) throw new Error("请先在地图上单击拟入园项目的位置");
      var subs = [];
      pane.querySelectorAll(".sm-park-assess-sub").forEach(function (row) {
        var name = row.querySelector(".sm-park-assess-subname").value.trim();
        var qty = row.querySelector(".sm-park-assess-subqty").value.trim();
        if (!name && !qty) return;
        subs.push({ name: name || null, quantity_t: qty === "" ? null : Number(qty) });
      });
      b.proposed = {
        type: "Feature",
        geometry: state.proposed,
        properties: { name: $(".sm-park-assess-name").value.trim() || null, kind: $(".sm-park-assess-kind").value, substances: subs }
      };
      return b;
    }

    function verdict(label, v, reason) {
      return '<div class="sm-park-assess-verdict sm-park-assess-' + (VERDICT_CSS[v] || "unknown") + '">' + esc(label) + "：" +
        esc(v) + (reason ? '<div class="sm-park-assess-reason">' + esc(reason) + "</div>" : "") + "</div>";
    }

    function list(items) {
      return items.length ? "<ul>" + items.map(function (x) { return "<li>" + esc(x) + "</li>"; }).join("") + "</ul>" : "";
    }

    function show(res) {
      var s = res.summary, adm = res.admission;
      var rows = [
        ["评估范围", s.area + "（" + C.fmt(s.area_km2, 2) + " km²）"],
        ["企业", C.count(s.enterprises, "家")],
        ["危险源", s.sources + " 个（重大危险源 " + s.major_sources + " 个）"],
        ["范围外影响本区域的危险源", C.count(s.outside_sources, "个")],
        ["事故场景", C.count(s.scenarios, "个")],
        ["最大个人风险", C.rate(s.max_ir_per_year)],
        ["超过 GB 36894 基准的防护目标", C.count(s.targets_exceeding, "个")],
        ["多米诺设备对", res.domino.available ? C.count(s.domino_pairs, "对") : "无法判断（" + res.domino.reason + "）"]
      ];
      var html = "<table class='sm-park-assess-figures'>" + rows.map(function (r) {
        return "<tr><th>" + esc(r[0]) + "</th><td>" + esc(r[1]) + "</td></tr>";
      }).join("") + "</table>" + verdict("社会风险", s.fn_verdict, s.fn_reason);
      if (adm) {
        html += verdict("入园项目准入", adm.verdict, "") + list(adm.reasons);
        if (adm.conditions && adm.conditions.length) html += "<div class='sm-park-assess-sub-title'>准入条件</div>" + list(adm.conditions);
        if (adm.risk) {
          html += "<div>最大个人风险 " + esc(C.rate(adm.max_ir_before_per_year)) + " → " + esc(C.rate(adm.max_ir_after_per_year)) +
            "；社会风险 " + esc(adm.fn_before) + " → " + esc(adm.fn_after) + "</div>";
        }
      }
      var bands = (adm && adm.risk ? adm.risk : res.risk).bands;
      html += "<table class='sm-park-assess-bands'><tr><th>个人风险区间</th><th>防护目标</th><th>人数</th></tr>" + bands.map(function (b) {
        return "<tr><td><i style='border-top:3px solid " + contourColour(b.level_per_year) + "'></i>" + esc(b.label) + "</td><td>" +
          b.count + (b.exceeding ? "（超标 " + b.exceeding + "）" : "") + "</td><td>" + b.population + "</td></tr>";
      }).join("") + "</table>";
      $(".sm-park-assess-result").innerHTML = html;
      draw(adm && adm.risk ? adm.risk : res.risk);
    }

    function draw(risk) {
      ctx.clearLayer("assess");
      var group = ctx.layer("assess");
      group.addLayer(L.geoJSON(risk.contours, {
        style: function (f) { return { color: contourColour(f.properties.level_per_year), weight: 2 }; },
        onEachFeature: function (f, l) { l.bindTooltip(esc(f.properties.label), { sticky: true }); }
      }));
      risk.targets.forEach(function (t) {
        if (t.lat === null || t.lat === undefined) return;
        L.circleMarker([t.lat, t.lon], { radius: 7, color: "#000", weight: 1, fillColor: t.exceeds ? "#d50000" : "#2e7d32", fillOpacity: 0.9 })
          .bindTooltip(esc(t.target_name) + "：" + esc(t.ir_text) + (t.exceeds ? "（超过基准）" : ""))
          .addTo(group);
      });
    }

    function request(path) {
      var b;
      try { b = body(); } catch (e) { return Promise.reject(e); }
      return SafeMap.api(path, { method: "POST", body: b });
    }

    $(".sm-park-assess-run").onclick = function () {
      showError(null);
      C.run(this, request("api/park/assessment"), {
        busy: "评估中…",
        done: function (res) {
          show(res);
          $(".sm-park-assess-html").disabled = false;
          $(".sm-park-assess-pdf").disabled = false;
        },
        fail: showError
      });
    };

    function report(kind, button) {
      showError(null);
      C.run(button, request("api/park/assessment/report." + kind).then(function (r) { return r.blob(); }), {
        busy: kind === "pdf" ? "生成 PDF…" : "生成报告…",
        done: function (blob) {
          var url = URL.createObjectURL(blob);
          if (kind === "html") {
            window.open(url, "_blank");
          } else {
            var a = document.createElement("a");
            a.href = url;
            a.download = "园区整体性安全风险评估报告.pdf";
            document.body.appendChild(a);
            a.click();
            a.remove();
          }
          setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        },
        fail: showError
      });
    }
    $(".sm-park-assess-html").onclick = function () { report("html", this); };
    $(".sm-park-assess-pdf").onclick = function () { report("pdf", this); };

    ctx.state.parkAssess = state;
  };
})(window.SafeMap);

/*
 * 双重预防 panel, part 4 of 9: 登记隐患, made for a phone in the field (390 px wide): grade, description,
 * 违反条款 (picked from a checklist's items, or typed), enterprise, position (点选位置 on the map, the
 * sheet folds meanwhile; or 使用当前位置, navigator.geolocation), 整改期限 (not before today),
 * 整改责任人, photos (the camera: capture=environment, several). 提交 hands it to the offline queue
 * (queue.js): sent at once when online, else kept on the phone ("待发送 N 条", failed ones with the
 * server's message and 删除). 检查任务 (optional): one of the open inspection tasks (st.tasks, loaded by
 * inspections.js); choosing it fills in its enterprise and checklist and sends its inspection_id.
 * SafeMap.preventionParts.form(ctx) adds formHtml, setupForm, showQueue, fillTaskSelect, pickTask.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.preventionParts = SafeMap.preventionParts || {};
  var C = SafeMap.common, esc = C.esc, S = parts.shared;
  var GEO_ERRORS = { 1: "未允许本网页使用定位（请在浏览器设置中允许）", 2: "无法取得当前位置（请到开阔处或改用地图点选）", 3: "定位超时，请重试或改用地图点选" };

  parts.form = function (ctx) {
    var st = ctx.st, $ = ctx.$, map = ctx.map, layers = ctx.layers;
    var form = null;

    function formHtml() {
      var cat = S.cat() || {}, lists = Object.keys(cat.checklists || {});
      var ents = (cat.enterprises || []).map(function (e) { return [String(e.id), e.name + (e.township ? "（" + e.township + "）" : "")]; });
      var soon = S.addDays(S.today(), 30);
      return '<form class="sm-pv-new" novalidate>' +
        '<label>检查任务<select name="inspection_id">' + C.options([["", "（不属于检查任务）"]], "") + "</select></label>" +
        '<label>隐患等级</label><div class="sm-pv-seg">' + S.enumOptions("danger_grade").map(function (g, i) {
          return '<label class="sm-pv-segopt"><input type="radio" name="grade" value="' + esc(g[0]) + '"' + (i === 0 ? " checked" : "") + "> " + esc(g[1]) + "</label>";
        }).join("") + "</div>" +
        '<label>隐患描述<textarea name="description" rows="3" placeholder="现场发现的问题"></textarea></label>' +
        '<label>检查表<select name="checklist">' + C.options([["", lists.length ? "（不用检查表，直接填写条款）" : "（没有检查表）"]]
          .concat(lists.map(function (n) { return [n, n]; })), "") + "</select></label>" +
        '<label class="sm-pv-itemwrap" hidden>检查项<select name="item"></select></label>' +
        '<label>违反条款<input name="clause" placeholder="如 GB 30871-2022 第5.2条"></label>' +
        '<label>企业<select name="enterprise_id">' + C.options([["", "（不选，按位置登记）"]].concat(ents), "") + "</select></label>" +
        '<label>位置</label><div class="sm-pv-row sm-pv-where"><button type="button" class="sm-pv-pick">点选位置</button>' +
        '<button type="button" class="sm-pv-geo">使用当前位置</button></div><div class="sm-pv-hint sm-pv-picked">未选位置（选了企业时可不选，取企业位置）</div>' +
        '<div class="sm-pv-grid"><label>整改期限<input type="date" name="deadline" min="' + esc(S.today()) + '" value="' + esc(soon) + '"></label>' +
        '<label>整改责任人<input name="responsible" autocomplete="name"></label></div>' +
        '<label>照片（可多张）<input type="file" name="photos" accept="image/*" capture="environment" multiple></label>' +
        '<div class="sm-pv-preview"></div>' +
        '<button type="submit" class="sm-pv-primary sm-pv-submit">提交</button><div class="sm-pv-formmsg"></div></form>';
    }

    /* ------------------------------------------------------------ position */
    function setPicked(ll, how) {
      st.picked = [Number(ll.lng.toFixed(6)), Number(ll.lat.toFixed(6))];
      layers.pick.clearLayers();
      L.marker(ll, { title: "隐患位置（待登记）" }).addTo(layers.pick);
      form.querySelector(".sm-pv-picked").textContent = (how || "") + "经度 " + ll.lng.toFixed(5) + "，纬度 " + ll.lat.toFixed(5);
    }
    function onMapClick(e) { if (st.picking) { setPicked(e.latlng); stopPicking(); } }
    function stopPicking() {
      if (!st.picking) return;
      st.picking = false;
      map.getContainer().classList.remove("sm-pv-crosshair");
      map.off("click", onMapClick);
      S.foldOnPhone(false);
    }
    function startPicking() {
      st.picking = true;
      map.getContainer().classList.add("sm-pv-crosshair");
      form.querySelector(".sm-pv-picked").textContent = "请在地图上点击隐患位置…";
      map.on("click", onMapClick);
      S.foldOnPhone(true);
    }
    function locate(btn) {
      var out = form.querySelector(".sm-pv-picked");
      if (!navigator.geolocation) { out.textContent = "本浏览器不能定位，请改用地图点选"; return; }
      btn.disabled = true;
      out.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        btn.disabled = false;
        var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
        setPicked(ll, "当前位置（±" + Math.round(pos.coords.accuracy || 0) + " m）");
        map.setView(ll, Math.max(map.getZoom(), 16));
      }, function (err) {
        btn.disabled = false;
        out.textContent = GEO_ERRORS[err.code] || "定位失败，请改用地图点选";
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    }

    /* ------------------------------------------------------------ checklist, photos */
    function fillItems() {
      var cat = S.cat() || {}, name = form.checklist.value, list = (cat.checklists || {})[name] || [];
      form.querySelector(".sm-pv-itemwrap").hidden = !name;
      form.item.innerHTML = C.options([["", "（选择检查项）"]].concat(list.map(function (it, i) {
        return [String(i), (it.seq ? it.seq + ". " : "") + it.item];
      })), "");
    }
    function pickItem() {
      var cat = S.cat() || {}, list = (cat.checklists || {})[form.checklist.value] || [], it = list[Number(form.item.value)];
      if (form.item.value === "" || !it) return;
      form.clause.value = it.clause || "";
      if (!form.description.value.trim()) form.description.value = it.item;
    }
    function preview() {
      var files = Array.prototype.slice.call(form.photos.files || []), max = (S.cat() || {}).max_photo_bytes;
      var big = files.filter(function (f) { return max && f.size > max; });
      form.querySelector(".sm-pv-preview").innerHTML = files.length ? "已选 " + files.length + " 张" +
        (big.length ? '<span class="sm-pv-red">，其中 ' + big.length + " 张超过 " + Math.round(max / 1048576) + " MB</span>" : "") : "";
    }

    function body() {
      var b = {
        grade: (form.querySelector("input[name=grade]:checked") || {}).value || "general",
        description: form.description.value.trim(), deadline: form.deadline.value, location: st.picked || null,
        enterprise_id: form.enterprise_id.value ? Number(form.enterprise_id.value) : null,
        clause: form.clause.value.trim() || null, responsible: form.responsible.value.trim() || null
      };
      var cat = S.cat() || {}, list = (cat.checklists || {})[form.checklist.value] || [], it = list[Number(form.item.value)];
      if (form.checklist.value && form.item.value !== "" && it) b.checklist_item = it.item;
      if (form.inspection_id.value) b.inspection_id = Number(form.inspection_id.value);
      return b;
    }
    function check(b) {
      if (!b.description) return "请填写隐患描述";
      if (!b.deadline) return "请选择整改期限";
      if (b.deadline < S.today()) return "整改期限不能早于今天";
      if (!b.location && !b.enterprise_id) return "请选择企业，或点选/定位隐患位置";
      return null;
    }
    function clear() {
      var grade = form.querySelector("input[name=grade]:checked"), task = form.inspection_id.value;
      var ent = form.enterprise_id.value, list = form.checklist.value;
      form.reset();
      if (grade) grade.checked = true;  // a round of findings is often of one grade
      if (task) {  // … and of one inspection task: it stays chosen, with its enterprise and checklist
        fillTaskSelect();
        form.inspection_id.value = task;
        form.enterprise_id.value = ent;
        form.checklist.value = list;
      }
      form.deadline.value = S.addDays(S.today(), 30);
      st.picked = null;
      layers.pick.clearLayers();
      form.querySelector(".sm-pv-picked").textContent = "未选位置（选了企业时可不选，取企业位置）";
      form.querySelector(".sm-pv-preview").innerHTML = "";
      fillItems();
    }

    function submit(ev) {
      ev.preventDefault();
      var msg = form.querySelector(".sm-pv-formmsg"), b = body(), why = check(b);
      if (why) { msg.innerHTML = S.problemsHtml({ status: 422, message: why }); return; }
      var files = Array.prototype.slice.call(form.photos.files || []);
      msg.innerHTML = "";
      C.run(form.querySelector(".sm-pv-submit"), SafeMap.preventionQueue.add(b, files), {
        busy: "提交中…",
        done: function (r) {
          if (r.state === "failed" && !r.danger_id) {  // refused as it stands: the form keeps it, to correct
            SafeMap.preventionQueue.remove(b.client_uuid);
            msg.innerHTML = S.problemsHtml({ status: r.status, message: r.message, problems: r.problems });
            return;
          }
          clear();
          if (r.state === "sent") {
            msg.innerHTML = S.okHtml("已登记（隐患 #" + r.danger_id + "）");
            ctx.loadList();
          } else if (r.state === "queued") {
            msg.innerHTML = '<div class="sm-pv-warn">网络不通：已保存在本机，恢复网络后自动发送</div>';
          } else {
            msg.innerHTML = S.problemsHtml({ status: r.status, message: "隐患已登记，但照片未能上传：" + r.message });
          }
        },
        fail: function (err) { msg.innerHTML = S.problemsHtml({ status: 0, message: "未能保存：" + (err && err.message ? err.message : err) }); }
      });
    }

    /* ------------------------------------------------------------ inspection task */
    function taskLabel(f) {
      var p = f.properties, e = p.enterprise_id !== null && p.enterprise_id !== undefined ? enterpriseName(p.enterprise_id) : "";
      return p.name + "（" + (e || p.township || (p.industry ? S.label("industry", p.industry) : "") || ctx.taskScopeLabel(p.scope)) +
        (p.planned_on ? "，" + p.planned_on : "") + "）";
    }
    function enterpriseName(id) {
      var list = (S.cat() || {}).enterprises || [];
      for (var i = 0; i < list.length; i++) if (String(list[i].id) === String(id)) return list[i].name;
      return "";
    }
    /** The open tasks (st.tasks) as the options of 检查任务; the chosen one stays while it is open. */
    function fillTaskSelect() {
      if (!form) return;
      var sel = form.inspection_id, chosen = sel.value;
      var open = (st.tasks || []).filter(function (f) { return f.properties.status !== "done"; });
      sel.innerHTML = C.options([["", open.length ? "（不属于检查任务）" : "（没有进行中的检查任务）"]].concat(open.map(function (f) {
        return [String(f.id), taskLabel(f)];
      })), chosen);
    }
    /** A task chosen: its enterprise and its checklist filled in (the items of the checklist offered). */
    function pickTask(id) {
      if (!form) return;
      if (id !== undefined) {
        fillTaskSelect();
        form.inspection_id.value = String(id);
      }
      var f = null;
      (st.tasks || []).forEach(function (t) { if (String(t.id) === form.inspection_id.value) f = t; });
      if (!f) return;
      var p = f.properties;
      if (p.enterprise_id !== null && p.enterprise_id !== undefined && form.enterprise_id.querySelector('option[value="' + Number(p.enterprise_id) + '"]')) {
        form.enterprise_id.value = String(p.enterprise_id);
      }
      if (p.checklist && (((S.cat() || {}).checklists || {})[p.checklist])) {
        form.checklist.value = p.checklist;
        fillItems();
      }
    }

    function setupForm() {
      form = $(".sm-pv-new");
      form.inspection_id.onchange = function () { pickTask(); };
      form.onsubmit = submit;
      form.checklist.onchange = fillItems;
      form.item.onchange = pickItem;
      form.photos.onchange = preview;
      form.querySelector(".sm-pv-pick").onclick = startPicking;
      form.querySelector(".sm-pv-geo").onclick = function () { locate(this); };
      SafeMap.hooks.on("featureclick", function (e) {
        if (!st.picking) return false;
        setPicked(e.latlng);
        stopPicking();
        return true;
      });
      fillItems();
      fillTaskSelect();
    }

    /* ------------------------------------------------------------ the queue */
    function showQueue(items) {
      var box = $(".sm-pv-queue");
      if (!box) return;
      var waiting = items.filter(function (it) { return it.state !== "failed"; }), failed = items.filter(function (it) { return it.state === "failed"; });
      box.hidden = !items.length;
      box.innerHTML = (waiting.length ? '<div class="sm-pv-qhead"><b class="sm-pv-qcount">待发送 ' + waiting.length + " 条</b>" +
        '<span class="sm-pv-dim">' + (navigator.onLine === false ? "离线，联网后自动发送" : "自动重试中") + "</span>" +
        '<button type="button" class="sm-pv-qretry">立即发送</button></div>' : "") +
        failed.map(function (it) {
          return '<div class="sm-pv-qfail" data-uuid="' + esc(it.uuid) + '"><div><b>失败</b>：' + esc(it.body.description) + "</div>" +
            S.problemsHtml({ status: it.status, message: it.message, problems: it.problems }) +
            '<button type="button" class="sm-pv-qdel">删除</button></div>';
        }).join("");
      var retry = box.querySelector(".sm-pv-qretry");
      if (retry) retry.onclick = function () { C.run(retry, SafeMap.preventionQueue.flush(), { busy: "发送中…", done: function () { ctx.loadList(); } }); };
      box.querySelectorAll(".sm-pv-qdel").forEach(function (b) {
        b.onclick = function () { SafeMap.preventionQueue.remove(b.parentNode.getAttribute("data-uuid")); };
      });
      if (st.queued !== undefined && waiting.length < st.queued && ctx.loadList) ctx.loadList();  // some went out
      st.queued = waiting.length;
    }

    ctx.formHtml = formHtml;
    ctx.setupForm = setupForm;
    ctx.showQueue = showQueue;
    ctx.stopPicking = stopPicking;
    ctx.fillTaskSelect = fillTaskSelect;
    ctx.pickTask = pickTask;
  };
})(window.SafeMap);

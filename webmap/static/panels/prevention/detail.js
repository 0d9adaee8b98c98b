/*
 * 双重预防 panel, part 5 of 9: one finding (GET /api/dangers/{id}): its facts, photos (thumbnails
 * fetched through SafeMap.api, so a token user sees them too), the timeline, and the buttons of the
 * steps the user may take now (``actions``): 开始整改, 提交复查 (整改措施 + evidence photos uploaded
 * first, stage evidence), 复查通过并销号, 复查未通过 (reason), 延期 (new date + reason), 备注.
 * POST /api/dangers/{id}/transition with the version seen; 403/409/422 are shown in place in Chinese
 * (409: the finding is reloaded). SafeMap.preventionParts.detail(ctx) adds select, loadDetail, closeDetail.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var parts = SafeMap.preventionParts = SafeMap.preventionParts || {};
  var C = SafeMap.common, esc = C.esc, S = parts.shared;
  var urls = {};  // photo id -> object URL of its bytes

  parts.detail = function (ctx) {
    var st = ctx.st, $ = ctx.$, map = ctx.map;

    function select(id, pan) {
      st.selected = id;
      ctx.showTab("list");
      $(".sm-pv-listview").hidden = true;
      $(".sm-pv-detail").hidden = false;
      $(".sm-pv-detail").innerHTML = '<div class="sm-pv-hint">加载中…</div>';
      ctx.showList();
      return loadDetail(null, pan);
    }
    function closeDetail() {
      st.selected = null;
      st.detail = null;
      $(".sm-pv-detail").hidden = true;
      $(".sm-pv-listview").hidden = false;
      ctx.showList();
    }

    function loadDetail(msgHtml, pan) {
      var id = st.selected;
      return SafeMap.api("api/dangers/" + id).then(function (d) {
        if (id !== st.selected) return;
        st.detail = d.feature;
        st.info = d;
        S.learn(d.feature.properties.found_at);
        render(d);
        if (msgHtml) $(".sm-pv-actmsg").innerHTML = msgHtml;
        var g = d.feature.geometry;
        if (pan && g && g.coordinates) centre([g.coordinates[1], g.coordinates[0]]);
        ctx.drawMarkers();
      }, function (err) {
        $(".sm-pv-detail").innerHTML = '<button type="button" class="sm-pv-back">← 返回列表</button>' + S.problemsHtml(err);
        $(".sm-pv-back").onclick = closeDetail;
      });
    }

    /** Centre the map on the finding; on a phone, in the part the bottom sheet leaves visible. */
    function centre(ll) {
      map.setView(ll, Math.max(map.getZoom(), 15), { animate: false });
      var box = map.getContainer(), dock = box.querySelector(".sm-dock");
      if (dock && box.clientWidth <= 600) map.panBy([0, Math.round(dock.offsetHeight / 2)], { animate: false });
    }

    function photoThumbs(list) {
      return list.map(function (p) {
        return '<a class="sm-pv-thumb" href="#" data-photo="' + esc(p.id) + '" data-url="' + esc(p.url || "api/photos/" + p.id) +
          '" title="' + esc((p.stage_label || "") + " " + (p.taken_at ? S.when(p.taken_at) : "")) + '"><img alt="' +
          esc(p.stage_label || "照片") + '"></a>';
      }).join("");
    }
    function loadThumbs(root) {
      root.querySelectorAll(".sm-pv-thumb").forEach(function (a) {
        var id = a.getAttribute("data-photo"), img = a.querySelector("img");
        function show(u) { img.src = u; a.href = u; a.target = "_blank"; }
        if (urls[id]) { show(urls[id]); return; }
        SafeMap.api(a.getAttribute("data-url"), { headers: { Accept: "image/*" } }).then(function (r) {
          return r && r.blob ? r.blob() : null;
        }).then(function (b) {
          if (!b) return;
          urls[id] = URL.createObjectURL(b);
          show(urls[id]);
        }, function () { a.classList.add("sm-pv-broken"); });
      });
    }

    function render(d) {
      var f = d.feature, p = f.properties, photos = d.photos || [], events = d.events || [];
      var rows = [["等级", ctx.gradeChip(p)], ["状态", ctx.statusChip(p)],
        ["企业", esc(p.enterprise_name || "—") + (p.township ? "（" + esc(p.township) + "）" : "")],
        ["发现", esc(S.when(p.found_at)) + " " + esc(p.found_by || "") + (S.missing(p.age_days) ? "" : "，已 " + esc(p.age_days) + " 天")],
        ["期限", '<span class="' + (p.overdue ? "sm-pv-red" : "") + '">' + esc(p.deadline || "—") + (p.overdue ? "（已逾期）" : "") + "</span>"]];
      if (p.clause) rows.push(["条款", esc(p.clause)]);
      if (p.checklist_item && p.checklist_item !== p.clause) rows.push(["检查项", esc(p.checklist_item)]);
      rows.push(["责任人", esc(p.responsible || "—")], ["描述", esc(p.description)]);
      if (p.measures) rows.push(["整改措施", esc(p.measures)]);
      if (p.reviewer) rows.push(["复查人", esc(p.reviewer)]);
      var found = photos.filter(function (x) { return x.stage !== "evidence"; }), evidence = photos.filter(function (x) { return x.stage === "evidence"; });
      var acts = d.actions || [];
      $(".sm-pv-detail").innerHTML = '<button type="button" class="sm-pv-back">← 返回列表</button>' +
        '<div class="sm-pv-card"><div class="sm-pv-title">' + esc(p.name || "隐患") + ' <span class="sm-pv-id">#' + f.id + "</span></div>" +
        '<div class="sm-pv-facts">' + rows.map(function (r) { return "<div><span>" + esc(r[0]) + "</span><div>" + r[1] + "</div></div>"; }).join("") + "</div>" +
        '<div class="sm-pv-subhead">照片</div><div class="sm-pv-photos">' +
        (photos.length ? (found.length ? '<div class="sm-pv-pgroup"><span>发现时</span>' + photoThumbs(found) + "</div>" : "") +
          (evidence.length ? '<div class="sm-pv-pgroup"><span>整改证据</span>' + photoThumbs(evidence) + "</div>" : "")
          : '<span class="sm-pv-hint">没有照片</span>') + "</div>" +
        '<div class="sm-pv-actions">' + (acts.length ? acts.map(function (a) {
          return '<button type="button" class="sm-pv-act sm-pv-act-' + esc(a) + '" data-action="' + esc(a) + '">' + esc(S.actionLabel(a)) + "</button>";
        }).join("") : '<span class="sm-pv-hint">' + (p.status === "closed" ? "已销号" : "当前账号没有可进行的操作") + "</span>") +
        '</div><div class="sm-pv-actform" hidden></div><div class="sm-pv-actmsg"></div></div>' +
        '<div class="sm-pv-subhead">处置记录</div><ol class="sm-pv-tl">' + events.slice().reverse().map(function (e) {
          var ph = photos.filter(function (x) { return (e.photos || []).indexOf(x.id) >= 0; });
          return '<li><div class="sm-pv-tlhead"><b>' + esc(S.when(e.at)) + "</b> · " + esc(e.kind_label) + " · " + esc(e.actor) + "</div>" +
            (e.text ? "<div>" + esc(e.text) + "</div>" : "") + (ph.length ? '<div class="sm-pv-tlphotos">' + photoThumbs(ph) + "</div>" : "") + "</li>";
        }).join("") + "</ol>";
      var box = $(".sm-pv-detail");
      box.querySelector(".sm-pv-back").onclick = closeDetail;
      box.querySelectorAll(".sm-pv-act").forEach(function (b) { b.onclick = function () { openAction(b.getAttribute("data-action")); }; });
      loadThumbs(box);
    }

    /* ------------------------------------------------------------ the steps */
    function openAction(action) {
      var p = st.detail.properties, form = $(".sm-pv-actform");
      $(".sm-pv-actions").querySelectorAll(".sm-pv-act").forEach(function (b) {
        b.classList.toggle("sm-pv-on", b.getAttribute("data-action") === action);
      });
      $(".sm-pv-actmsg").innerHTML = "";
      var hasEvidence = (st.info.photos || []).some(function (x) { return x.stage === "evidence"; });
      var html = '<div class="sm-pv-ftitle">' + esc(S.actionLabel(action)) + "</div>";
      if (action === "submit") {
        html += '<label>整改措施（已采取的）<textarea class="sm-pv-ameasures" rows="3"></textarea></label>' +
          '<label>整改后照片' + (hasEvidence ? "（已有整改证据，可再添加）" : "（至少一张）") +
          '<input type="file" class="sm-pv-aphotos" accept="image/*" capture="environment" multiple></label>';
      } else if (action === "extend") {
        var min = S.addDays(p.deadline && p.deadline >= S.today() ? p.deadline : S.addDays(S.today(), -1), 1);
        html += '<label>新的整改期限<input type="date" class="sm-pv-adeadline" min="' + esc(min) + '" value="' + esc(min) + '"></label>' +
          '<label>延期原因<textarea class="sm-pv-atext" rows="2"></textarea></label>';
      } else {
        var what = { fail: "未通过的原因和整改要求", note: "备注内容", rectify: "说明（可不填）", pass: "复查意见（可不填）" }[action] || "说明";
        html += "<label>" + esc(what) + '<textarea class="sm-pv-atext" rows="2"></textarea></label>';
      }
      html += '<div class="sm-pv-row"><button type="button" class="sm-pv-primary sm-pv-ago">确认' + esc(S.actionLabel(action)) + "</button>" +
        '<button type="button" class="sm-pv-acancel">取消</button></div>';
      form.innerHTML = html;
      form.hidden = false;
      form.querySelector(".sm-pv-acancel").onclick = function () { form.hidden = true; form.innerHTML = ""; };
      form.querySelector(".sm-pv-ago").onclick = function () { apply(action, this); };
    }

    function upload(files) {
      var id = st.selected, ids = [];
      return files.reduce(function (chain, file) {
        return chain.then(function () {
          var fd = new FormData();
          fd.append("stage", "evidence");
          fd.append("file", file, file.name || "evidence.jpg");
          return SafeMap.api("api/dangers/" + id + "/photos", { method: "POST", body: fd }).then(function (ph) { ids.push(ph.id); });
        });
      }, Promise.resolve()).then(function () { return ids; });
    }

    function apply(action, btn) {
      var form = $(".sm-pv-actform"), msg = $(".sm-pv-actmsg"), id = st.selected;
      var body = { action: action, version: st.detail.properties.version, text: "" };
      var text = form.querySelector(".sm-pv-atext");
      if (text) body.text = text.value.trim();
      if (action === "fail" && !body.text) { msg.innerHTML = S.problemsHtml({ status: 422, message: "请写明复查未通过的原因和整改要求" }); return; }
      if (action === "note" && !body.text) { msg.innerHTML = S.problemsHtml({ status: 422, message: "请填写备注内容" }); return; }
      if (action === "extend") {
        body.deadline = form.querySelector(".sm-pv-adeadline").value;
        if (!body.deadline || !body.text) { msg.innerHTML = S.problemsHtml({ status: 422, message: "请选择新的整改期限并写明延期原因" }); return; }
      }
      var files = [];
      if (action === "submit") {
        body.measures = form.querySelector(".sm-pv-ameasures").value.trim();
        files = Array.prototype.slice.call(form.querySelector(".sm-pv-aphotos").files || []);
        if (!body.measures) { msg.innerHTML = S.problemsHtml({ status: 422, message: "请写明已采取的整改措施" }); return; }
      }
      msg.innerHTML = "";
      var work = upload(files).then(function (ids) {
        if (ids.length) body.photo_ids = ids;
        return SafeMap.api("api/dangers/" + id + "/transition", { method: "POST", body: body });
      });
      C.run(btn, work, {
        busy: "提交中…",
        done: function () {
          ctx.loadList();
          loadDetail(S.okHtml("已" + S.actionLabel(action)));
        },
        fail: function (err) {
          if (err.status === 409) { ctx.loadList(); loadDetail(S.problemsHtml(err)); return; }
          msg.innerHTML = S.problemsHtml(err);
        }
      });
    }

    ctx.select = select;
    ctx.loadDetail = loadDetail;
    ctx.closeDetail = closeDetail;
  };
})(window.SafeMap);

/*
 * SafeMap map page: 导入 — a file into a layer, from the attribute table (editors only).
 *
 *   SafeMap.importer.open(layer)   the dialog for ``layer`` (an entry of GET api/layers)
 *
 * The file goes as multipart to POST api/layers/{layer}/import (GeoJSON, GeoPackage, zipped
 * Shapefile, CSV/text in UTF-8/GBK/UTF-16, Excel .xlsx, KML/KMZ: the server recognises the
 * kind by content), with the options people need for the files they hold: the sheet of a
 * workbook, the coordinate system (GCJ-02 from 高德/腾讯, CGCS2000, an EPSG code), the
 * longitude/latitude columns. 校验 checks everything and writes nothing (dry_run); 导入 writes
 * all or nothing. Problems are listed by row and field as the server names them, in Chinese;
 * afterwards the table re-reads its page (hook "changed") and every map redraws (js/sync.js).
 */
(function (SafeMap) {
  "use strict";

  var esc = SafeMap.esc;
  var ACCEPT = ".xlsx,.xlsm,.csv,.txt,.tsv,.kml,.kmz,.zip,.geojson,.json,.gpkg";
  var CRS = [
    ["", "自动（文件自带；未声明时为 WGS 84 经纬度）"],
    ["EPSG:4326", "WGS 84 经纬度（GPS、奥维、Google Earth）"],
    ["EPSG:4490", "CGCS2000 经纬度（天地图）"],
    ["GCJ-02", "GCJ-02（高德、腾讯地图坐标）"],
    ["other", "其他 EPSG 代码…"]
  ];
  var MAX_SHOWN = 30;
  var box = null, layer = null;

  function build() {
    box = L.DomUtil.create("section", "sm-imp", SafeMap.state.map.getContainer());
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "导入");
    box.hidden = true;
    box.innerHTML =
      '<div class="sm-imp-head"><strong class="sm-imp-title">导入</strong>' +
      '<button type="button" class="sm-imp-close" title="关闭" aria-label="关闭">×</button></div>' +
      '<form class="sm-imp-form" autocomplete="off">' +
      '<label>文件 <input type="file" name="file" accept="' + ACCEPT + '" required></label>' +
      '<div class="sm-imp-help">Excel（.xlsx）、CSV/文本、KML/KMZ（奥维、Google Earth）、Shapefile（.zip）、GeoJSON、GeoPackage；' +
      "表头用中文字段名即可（如 名称、风险等级、经度、纬度）。</div>" +
      '<label>坐标系 <select name="crs">' + CRS.map(function (c) {
        return '<option value="' + c[0] + '">' + esc(c[1]) + "</option>";
      }).join("") + "</select></label>" +
      '<label class="sm-imp-epsg" hidden>EPSG 代码 <input name="epsg" placeholder="如 EPSG:4537（CGCS2000 3度带）"></label>' +
      '<details><summary>更多选项</summary>' +
      '<label>工作表 <input name="sheet" placeholder="Excel：默认第一个工作表"></label>' +
      '<label>经度列 <input name="lon_field" placeholder="自动识别：经度、东经、X …"></label>' +
      '<label>纬度列 <input name="lat_field" placeholder="自动识别：纬度、北纬、Y …"></label>' +
      "</details>" +
      '<div class="sm-imp-buttons"><button type="button" class="sm-imp-check">校验（不写入）</button>' +
      '<button type="submit" class="sm-imp-go">导入</button></div>' +
      "</form>" +
      '<div class="sm-imp-result" aria-live="polite"></div>';
    SafeMap.isolate(box);
    var form = box.querySelector("form");
    box.querySelector(".sm-imp-close").addEventListener("click", close);
    form.elements.crs.addEventListener("change", function () {
      box.querySelector(".sm-imp-epsg").hidden = form.elements.crs.value !== "other";
    });
    box.querySelector(".sm-imp-check").addEventListener("click", function () { send(true); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send(false);
    });
  }

  function close() {
    if (box) box.hidden = true;
  }

  function show(html, bad) {
    var out = box.querySelector(".sm-imp-result");
    out.innerHTML = html;
    out.classList.toggle("sm-imp-bad", !!bad);
  }

  function problemList(problems) {
    if (!problems || !problems.length) return "";
    var items = problems.slice(0, MAX_SHOWN).map(function (p) {
      return "<li>" + (p.row ? "第 " + esc(p.row) + " 行 " : "") + esc(p.message) + "</li>";
    });
    var more = problems.length > MAX_SHOWN ? "<li>……（显示前 " + MAX_SHOWN + " 条，共 " + problems.length + " 条）</li>" : "";
    return "<ul>" + items.join("") + more + "</ul>";
  }

  function send(dryRun) {
    var form = box.querySelector("form"), el = form.elements;
    if (!el.file.files.length) {
      show("请先选择文件", true);
      return null;
    }
    var data = new FormData();
    data.append("file", el.file.files[0]);
    var crs = el.crs.value === "other" ? el.epsg.value.trim() : el.crs.value;
    if (el.crs.value === "other" && !crs) {
      show("请填写 EPSG 代码，如 EPSG:4537", true);
      return null;
    }
    if (crs === "GCJ-02") data.append("gcj02", "true");
    else if (crs) data.append("crs", crs);
    ["sheet", "lon_field", "lat_field"].forEach(function (k) {
      if (el[k].value.trim()) data.append(k, el[k].value.trim());
    });
    if (dryRun) data.append("dry_run", "true");
    var buttons = box.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    show(dryRun ? "正在校验…" : "正在导入…");
    return SafeMap.api("api/layers/" + layer.name + "/import", { method: "POST", body: data }).then(function (r) {
      var head = dryRun
        ? "校验通过：可导入 " + r.count + " 个" + esc(layer.label) + "（尚未写入）"
        : "已导入 " + r.count + " 个" + esc(layer.label);
      var notes = (r.warnings || []).map(function (w) { return "<li>" + esc(w) + "</li>"; }).join("");
      show("<p><strong>" + head + "</strong>，坐标系 " + esc(r.source_crs || "") + "</p>" + (notes ? "<ul>" + notes + "</ul>" : ""));
      if (!dryRun) SafeMap.hooks.fire("changed", { layer: layer.name, ids: r.ids || [] });
      return r;
    }, function (err) {
      show("<p><strong>" + (dryRun ? "校验未通过" : "未导入") + "：</strong>" + esc(err.message) + "</p>" +
        problemList(err.problems), true);
      return null;
    }).then(function (r) {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      return r;
    });
  }

  SafeMap.importer = {
    open: function (entry) {
      if (!box) build();
      layer = entry;
      box.querySelector(".sm-imp-title").textContent = "导入到「" + entry.label + "」";
      box.querySelector("form").reset();
      box.querySelector(".sm-imp-epsg").hidden = true;
      show("");
      box.hidden = false;
      return box;
    },
    close: close
  };
})(window.SafeMap);

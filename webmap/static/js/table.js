/*
 * SafeMap map page: the attribute table (属性表) of any catalogue layer, over the API.
 *
 *   SafeMap.table.setup(map)      the 属性表 button, the table buttons in the layer tree,
 *                                 map clicks -> the row highlighted (main.js calls it once)
 *   SafeMap.table.open(name)      open the drawer on layer ``name``
 *   SafeMap.table.close()
 *
 * Rows come from GET api/layers/{name}?limit&offset&sort&q&<field>=<value> (50 a page, with
 * numberMatched); columns are the catalogue's fields (GET api/layers) with Chinese labels and
 * units, enum values shown by their labels, times in the county's zone (config.timezone).
 * Clicking a row zooms to the feature and opens its popup; checked rows are exported by
 * GET api/layers/{name}/export?format=csv|xlsx|geojson&ids=… (Chinese headers, BOM for Excel).
 * Editors of the layer also get 导入 (js/importer.js).
 * A bottom drawer on a screen, a full-screen sheet with a close button on a phone. When
 * somebody changes the layer shown (hook "changed", js/sync.js), the page is read again.
 */
(function (SafeMap) {
  "use strict";

  var esc = SafeMap.esc;
  var PAGE = 50;
  var FORMATS = [["csv", "CSV"], ["xlsx", "Excel"], ["geojson", "GeoJSON"]];
  var EXT = { csv: ".csv", xlsx: ".xlsx", geojson: ".geojson" };
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 600px)") : { matches: false };

  var catalogue = null;  // promise of [layer entries] (GET api/layers)
  var box = null;        // the drawer element
  var t = null;          // the table's state: {layer, sort, desc, q, filters, offset, total, rows, selected}
  var seq = 0;           // answers to older requests are dropped

  function layers() {
    if (!catalogue) {
      catalogue = SafeMap.api("api/layers").then(function (body) { return body.layers; });
      catalogue.then(null, function () { catalogue = null; });
    }
    return catalogue;
  }

  function entry(list, name) {
    for (var i = 0; i < list.length; i++) if (list[i].name === name) return list[i];
    return null;
  }

  /* ------------------------------------------------------------------ values */

  function header(f) {
    return f.unit ? f.label + "（" + f.unit + "）" : f.label;
  }

  function enumMember(f, code) {
    for (var i = 0; i < (f.enum || []).length; i++) if (f.enum[i].code === code) return f.enum[i];
    return null;
  }

  function localTime(text) {
    var d = new Date(text);
    if (isNaN(d.getTime())) return String(text);
    try {
      var parts = {};
      new Intl.DateTimeFormat("zh-CN", {
        timeZone: SafeMap.config.timezone || "Asia/Shanghai", hour12: false,
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"
      }).formatToParts(d).forEach(function (p) { parts[p.type] = p.value; });
      var hour = parts.hour === "24" ? "00" : parts.hour;
      return parts.year + "-" + parts.month + "-" + parts.day + " " + hour + ":" + parts.minute;
    } catch (e) {
      return d.toLocaleString("zh-CN");
    }
  }

  /** HTML of one cell: enum labels (with their colour), 是/否, local times, numbers as they are. */
  function cell(f, value) {
    if (value === null || value === undefined || value === "") return "";
    // A demo record's "synthetic: …" reads as on the map (layers/labels.py source_text).
    var demo = f.name === "source" ? /^\s*synthetic\b[\s:：\-—]*(.*)$/i.exec(String(value)) : null;
    if (demo) return esc(demo[1] ? "合成演示数据：" + demo[1] : "合成演示数据");
    if (f.type === "enum") {
      var m = enumMember(f, value);
      if (!m) return esc(value);
      return (m.color ? '<i class="sm-tb-dot" style="background:' + esc(m.color) + '"></i>' : "") + esc(m.label);
    }
    if (f.type === "bool") return value ? "是" : "否";
    if (f.type === "datetime") return esc(localTime(value));
    if (f.type === "float") return esc(Math.round(Number(value) * 1000) / 1000);
    return esc(value);
  }

  function filterable(f) {
    return f.type !== "datetime" && f.type !== "float" && f.name !== "geom";
  }

  /* ------------------------------------------------------------------ the drawer */

  function build(map) {
    box = L.DomUtil.create("section", "sm-tb", map.getContainer());
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "属性表");
    box.hidden = true;
    box.innerHTML =
      '<div class="sm-tb-head">' +
      '<strong class="sm-tb-title">属性表</strong>' +
      '<select class="sm-tb-layer" aria-label="图层"></select>' +
      '<input type="search" class="sm-tb-q" placeholder="搜索名称" aria-label="搜索名称">' +
      '<button type="button" class="sm-tb-ftoggle" aria-expanded="false">筛选</button>' +
      '<span class="sm-tb-sel"></span>' +
      '<span class="sm-tb-export">导出' + FORMATS.map(function (f) {
        return '<button type="button" data-format="' + f[0] + '">' + f[1] + "</button>";
      }).join("") + "</span>" +
      '<button type="button" class="sm-tb-import" hidden title="从 Excel、CSV、KML/KMZ、Shapefile 等文件导入要素">导入</button>' +
      '<button type="button" class="sm-tb-close" title="关闭属性表" aria-label="关闭属性表">×</button>' +
      "</div>" +
      '<div class="sm-tb-filters" hidden></div>' +
      '<div class="sm-tb-note" hidden></div>' +
      '<div class="sm-tb-scroll"><table class="sm-tb-table"><thead></thead><tbody></tbody></table></div>' +
      '<div class="sm-tb-pager">' +
      '<button type="button" data-page="-1">上一页</button>' +
      '<span class="sm-tb-pos"></span>' +
      '<button type="button" data-page="1">下一页</button>' +
      "</div>";
    SafeMap.isolate(box);
    $(".sm-tb-close").addEventListener("click", close);
    $(".sm-tb-layer").addEventListener("change", function (e) { open(e.target.value); });
    var timer = null;
    $(".sm-tb-q").addEventListener("input", function (e) {
      clearTimeout(timer);
      timer = setTimeout(function () {
        t.q = e.target.value.trim();
        t.offset = 0;
        load();
      }, 300);
    });
    $(".sm-tb-ftoggle").addEventListener("click", function () {
      var f = $(".sm-tb-filters");
      f.hidden = !f.hidden;
      this.setAttribute("aria-expanded", String(!f.hidden));
    });
    $(".sm-tb-filters").addEventListener("change", onFilter);
    $(".sm-tb-filters").addEventListener("click", function (e) {
      if (e.target.classList.contains("sm-tb-fclear")) {
        t.filters = {};
        renderFilters();
        t.offset = 0;
        load();
      }
    });
    $(".sm-tb-pager").addEventListener("click", function (e) {
      var step = Number(e.target.getAttribute("data-page"));
      if (!step || e.target.disabled) return;
      t.offset = Math.max(0, t.offset + step * PAGE);
      load();
    });
    $(".sm-tb-import").addEventListener("click", function () { SafeMap.importer.open(t.layer); });
    $(".sm-tb-export").addEventListener("click", function (e) {
      var fmt = e.target.getAttribute("data-format");
      if (fmt) download(fmt);
    });
    $(".sm-tb-sel").addEventListener("click", function (e) {
      if (e.target.classList.contains("sm-tb-unsel")) {
        t.selected = {};
        renderRows();
      }
    });
    $("thead").addEventListener("click", onHead);
    $("tbody").addEventListener("click", onRow);
    $("tbody").addEventListener("change", onCheck);
    return box;
  }

  function $(sel) { return box.querySelector(sel); }

  function open(name) {
    var map = SafeMap.state.map;
    if (!box) build(map);
    box.hidden = false;
    map.getContainer().classList.add("sm-tb-open");
    return layers().then(function (list) {
      var layer = entry(list, name) || (t && t.layer) || list[0];
      $(".sm-tb-layer").innerHTML = list.map(function (l) {
        return '<option value="' + esc(l.name) + '"' + (l.name === layer.name ? " selected" : "") + ">" +
          esc(l.label) + (l.count !== undefined ? "（" + l.count + "）" : "") + "</option>";
      }).join("");
      // 导入 for those who may edit the layer (the server checks again).
      $(".sm-tb-import").hidden = !(SafeMap.edit && SafeMap.edit.editable && SafeMap.edit.editable(layer.name));
      if (!t || t.layer.name !== layer.name) {
        t = { layer: layer, sort: null, desc: false, q: "", filters: {}, offset: 0, total: 0, rows: [], selected: {} };
        $(".sm-tb-q").value = "";
        renderFilters();
        renderHead();
        return load();
      }
      return null;
    }, function (err) { note("图层目录加载失败：" + err.message); });
  }

  function close() {
    if (!box) return;
    box.hidden = true;
    SafeMap.state.map.getContainer().classList.remove("sm-tb-open");
  }

  function note(text) {
    var n = $(".sm-tb-note");
    n.textContent = text || "";
    n.hidden = !text;
  }

  /* ------------------------------------------------------------------ filters */

  function renderFilters() {
    var html = t.layer.fields.filter(filterable).map(function (f) {
      var value = t.filters[f.name] || "", input;
      if (f.type === "enum" || f.type === "bool") {
        var options = f.type === "bool" ? [["true", "是"], ["false", "否"]]
          : f.enum.map(function (m) { return [m.code, m.label]; });
        input = '<select data-field="' + esc(f.name) + '"><option value="">全部</option>' +
          options.map(function (o) {
            return '<option value="' + esc(o[0]) + '"' + (o[0] === value ? " selected" : "") + ">" + esc(o[1]) + "</option>";
          }).join("") + "</select>";
      } else {
        input = '<input data-field="' + esc(f.name) + '" value="' + esc(value) + '"' +
          (f.type === "int" ? ' inputmode="numeric"' : "") + ' placeholder="等于…">';
      }
      return '<label class="sm-tb-f"><span>' + esc(header(f)) + "</span>" + input + "</label>";
    }).join("");
    $(".sm-tb-filters").innerHTML = html + '<button type="button" class="sm-tb-fclear">清除筛选</button>';
    countFilters();
  }

  function countFilters() {
    var n = Object.keys(t.filters).length;
    $(".sm-tb-ftoggle").textContent = n ? "筛选（" + n + "）" : "筛选";
    $(".sm-tb-ftoggle").classList.toggle("sm-tb-on", n > 0);
  }

  function onFilter(e) {
    var name = e.target.getAttribute("data-field");
    if (!name) return;
    var value = e.target.value.trim();
    if (value) t.filters[name] = value; else delete t.filters[name];
    countFilters();
    t.offset = 0;
    load();
  }

  /* ------------------------------------------------------------------ rows */

  function query(extra) {
    var p = [];
    if (t.sort) p.push("sort=" + encodeURIComponent((t.desc ? "-" : "") + t.sort));
    if (t.q) p.push("q=" + encodeURIComponent(t.q));
    Object.keys(t.filters).forEach(function (k) {
      p.push(encodeURIComponent(k) + "=" + encodeURIComponent(t.filters[k]));
    });
    return p.concat(extra || []).join("&");
  }

  function load() {
    var mine = ++seq, layer = t.layer;
    box.classList.add("sm-tb-busy");
    var path = "api/layers/" + layer.name + "?" + query(["limit=" + PAGE, "offset=" + t.offset]);
    return SafeMap.api(path).then(function (fc) {
      if (mine !== seq) return;
      box.classList.remove("sm-tb-busy");
      note("");
      t.rows = fc.features;
      t.total = fc.numberMatched === undefined ? fc.features.length : fc.numberMatched;
      // Unfiltered, the total is the layer's count: the layer list says it too (after an import).
      var option = $(".sm-tb-layer").selectedOptions[0];
      if (option && !t.q && !Object.keys(t.filters).length) option.textContent = layer.label + "（" + t.total + "）";
      renderRows();
    }, function (err) {
      if (mine !== seq) return;
      box.classList.remove("sm-tb-busy");
      t.rows = [];
      t.total = 0;
      renderRows();
      note("查询失败：" + err.message);
    });
  }

  function renderHead() {
    var cols = t.layer.fields.map(function (f) {
      var arrow = t.sort === f.name ? (t.desc ? " ▼" : " ▲") : "";
      var aria = t.sort === f.name ? (t.desc ? "descending" : "ascending") : "none";
      var num = f.type === "int" || f.type === "float" ? " sm-tb-num" : "";
      return '<th scope="col" class="sm-tb-sort' + num + '" data-field="' + esc(f.name) + '" aria-sort="' + aria +
        '" title="按' + esc(f.label) + '排序">' + esc(header(f)) + '<span class="sm-tb-arrow">' + arrow + "</span></th>";
    }).join("");
    $("thead").innerHTML = '<tr><th class="sm-tb-check"><input type="checkbox" class="sm-tb-all" aria-label="全选本页"></th>' +
      cols + "</tr>";
  }

  function renderRows() {
    var fields = t.layer.fields, current = currentPick();
    $("tbody").innerHTML = t.rows.map(function (feat) {
      var id = feat.id, checked = !!t.selected[id];
      var cls = (checked ? " sm-tb-selected" : "") + (current === id ? " sm-tb-current" : "");
      return '<tr data-id="' + esc(id) + '" class="' + cls.trim() + '">' +
        '<td class="sm-tb-check"><input type="checkbox" aria-label="选择 ' + esc(feat.properties.name || id) + '"' +
        (checked ? " checked" : "") + "></td>" +
        fields.map(function (f) {
          var value = f.name === "id" ? id : feat.properties[f.name];
          var num = f.type === "int" || f.type === "float" ? ' class="sm-tb-num"' : "";
          return "<td" + num + ">" + cell(f, value) + "</td>";
        }).join("") + "</tr>";
    }).join("") || '<tr class="sm-tb-empty"><td colspan="' + (fields.length + 1) + '">没有符合条件的要素</td></tr>';
    var pages = Math.max(1, Math.ceil(t.total / PAGE)), page = Math.floor(t.offset / PAGE) + 1;
    $(".sm-tb-pos").textContent = "共 " + t.total + " 条 · 第 " + page + " / " + pages + " 页";
    $('[data-page="-1"]').disabled = t.offset === 0;
    $('[data-page="1"]').disabled = t.offset + PAGE >= t.total;
    var all = $(".sm-tb-all");
    if (all) all.checked = t.rows.length > 0 && t.rows.every(function (f) { return t.selected[f.id]; });
    renderSelection();
  }

  function renderSelection() {
    var n = Object.keys(t.selected).length;
    $(".sm-tb-sel").innerHTML = n ? "已选 " + n + ' 条 <button type="button" class="sm-tb-unsel">清除</button>' : "";
    var what = n ? "导出所选 " + n + " 条" : "导出全部 " + t.total + " 条（当前筛选）";
    Array.prototype.forEach.call(box.querySelectorAll(".sm-tb-export button"), function (b) {
      b.title = what + "为 " + b.textContent;
    });
  }

  function onHead(e) {
    if (e.target.classList.contains("sm-tb-all")) {
      t.rows.forEach(function (f) {
        if (e.target.checked) t.selected[f.id] = true; else delete t.selected[f.id];
      });
      renderRows();
      return;
    }
    var th = e.target.closest ? e.target.closest("th[data-field]") : null;
    if (!th) return;
    var name = th.getAttribute("data-field");
    if (t.sort !== name) {
      t.sort = name;
      t.desc = false;
    } else if (!t.desc) {
      t.desc = true;
    } else {
      t.sort = null;
      t.desc = false;
    }
    t.offset = 0;
    renderHead();
    load();
  }

  function onCheck(e) {
    var tr = e.target.closest("tr[data-id]");
    if (!tr || e.target.type !== "checkbox") return;
    var id = Number(tr.getAttribute("data-id"));
    if (e.target.checked) t.selected[id] = true; else delete t.selected[id];
    tr.classList.toggle("sm-tb-selected", e.target.checked);
    var all = $(".sm-tb-all");
    if (all) all.checked = t.rows.every(function (f) { return t.selected[f.id]; });
    renderSelection();
  }

  function onRow(e) {
    if (e.target.closest(".sm-tb-check")) return;
    var tr = e.target.closest("tr[data-id]");
    if (!tr) return;
    var id = Number(tr.getAttribute("data-id"));
    var feat = null;
    t.rows.forEach(function (f) { if (f.id === id) feat = f; });
    mark(id);
    if (feat) zoomTo(t.layer, feat);
  }

  /* ------------------------------------------------------------------ map <-> table */

  var picked = null;  // {layer, id}: the feature last clicked on the map or in the table

  function currentPick() {
    return picked && t && picked.layer === t.layer.name ? picked.id : null;
  }

  function mark(id) {
    picked = { layer: t.layer.name, id: id };
    Array.prototype.forEach.call(box.querySelectorAll("tbody tr[data-id]"), function (tr) {
      tr.classList.toggle("sm-tb-current", Number(tr.getAttribute("data-id")) === id);
    });
  }

  function zoomTo(layer, feat) {
    var state = SafeMap.state, map = state.map;
    if (!feat.geometry) {
      note("“" + (feat.properties.name || feat.id) + "”没有几何图形，不能在地图上定位");
      return;
    }
    if (narrow.matches) close();  // the sheet covers the map on a phone: show the feature
    var lyr = SafeMap.find(layer.name, feat.id);
    if (lyr) {
      SafeMap.popups.show(layer.name, lyr);
      clearOfDrawer(map, lyr.getLatLng ? lyr.getLatLng() : lyr.getBounds().getCenter());
      return;
    }
    var group = state.layers[layer.name];
    if (group && !map.hasLayer(group)) map.addLayer(group);
    var bounds = L.geoJSON(feat.geometry).getBounds();
    map.fitBounds(bounds, { maxZoom: 17, animate: false, padding: [40, 40] });
    var anchor = feat.geometry.type === "Point"
      ? L.latLng(feat.geometry.coordinates[1], feat.geometry.coordinates[0]) : bounds.getCenter();
    clearOfDrawer(map, anchor);
    SafeMap.popups.remote(layer.name, feat.id, anchor).then(null, function (err) {
      note("弹窗加载失败：" + err.message);
    });
  }

  /** Pan so that ``latlng`` sits in the middle of the map left visible above the drawer. */
  function clearOfDrawer(map, latlng) {
    if (box.hidden) return;
    var size = map.getSize(), room = size.y - box.offsetHeight;
    if (room < 120) return;
    var p = map.latLngToContainerPoint(latlng);
    map.panBy([0, p.y - room / 2], { animate: false });
  }

  function onMapPick(e) {
    if (!box || box.hidden || !t || e.layer !== t.layer.name) return false;
    mark(e.id);
    var row = box.querySelector('tbody tr[data-id="' + e.id + '"]');
    if (row) {
      row.scrollIntoView({ block: "nearest" });
      note("");
    } else {
      note("地图上所选要素（编号 " + e.id + "）不在本页");
    }
    return false;
  }

  /* ------------------------------------------------------------------ export */

  function stamp() {
    var d = new Date(), two = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + two(d.getMonth() + 1) + two(d.getDate());
  }

  function download(fmt) {
    var ids = Object.keys(t.selected);
    var p = ["format=" + fmt];
    if (ids.length) {
      p.push("ids=" + ids.join(","));
      if (t.sort) p.push("sort=" + encodeURIComponent((t.desc ? "-" : "") + t.sort));
    }
    // Checked rows when there are some, else everything the table's search and filters match.
    var path = "api/layers/" + t.layer.name + "/export?" + (ids.length ? p.join("&") : query(p));
    var headers = {}, secret = SafeMap.token ? SafeMap.token() : "";
    if (secret) headers.Authorization = "Bearer " + secret;
    note("正在导出…");
    return fetch(SafeMap.url(path), { headers: headers, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) {
        return r.json().then(function (b) { throw new Error(b.message || r.status); },
          function () { throw new Error("请求失败（" + r.status + "）"); });
      }
      return r.blob();
    }).then(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = t.layer.label + "_属性表" + (ids.length ? "_所选" + ids.length + "条" : "") + "_" + stamp() + EXT[fmt];
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      note("");
    }, function (err) { note("导出失败：" + err.message); });
  }

  /* ------------------------------------------------------------------ entry points */

  SafeMap.TableButton = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var div = L.DomUtil.create("div", "leaflet-bar sm-tb-button");
      div.innerHTML = '<a href="#" role="button" title="打开属性表：查看、筛选、导出图层要素" aria-label="属性表">属性表</a>';
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.on(div.firstChild, "click", function (e) {
        L.DomEvent.preventDefault(e);
        if (box && !box.hidden) close(); else open(t ? t.layer.name : "enterprises");
      });
      return div;
    }
  });

  /** A 表 button after each layer's name in the layer tree (again whenever the tree redraws). */
  function decorateTree(map) {
    var tree = map.getContainer().querySelector(".leaflet-control-layers");
    if (!tree) return;
    var byLabel = {};
    Object.keys(SafeMap.state.info).forEach(function (name) { byLabel[SafeMap.state.info[name].label] = name; });
    var decorate = function () {
      Array.prototype.forEach.call(tree.querySelectorAll(".sm-tree-name"), function (span) {
        var next = span.parentNode.querySelector(".sm-tb-tree");
        var name = byLabel[span.textContent];
        if (next || !name) return;
        var b = document.createElement("button");
        b.type = "button";
        b.className = "sm-tb-tree";
        b.textContent = "表";
        b.title = "打开" + span.textContent + "的属性表";
        b.setAttribute("data-layer", name);
        span.parentNode.appendChild(b);
      });
    };
    tree.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest(".sm-tb-tree") : null;
      if (!b) return;
      e.preventDefault();  // inside the <label>: do not toggle the layer
      e.stopPropagation();
      open(b.getAttribute("data-layer"));
    }, true);
    decorate();
    if (window.MutationObserver) new MutationObserver(decorate).observe(tree, { childList: true, subtree: true });
  }

  function setup(map) {
    SafeMap.state.tableButton = new SafeMap.TableButton().addTo(map);
    SafeMap.hooks.on("featureclick", onMapPick);
    // Somebody changed features of the layer shown (js/sync.js): the page is read again.
    SafeMap.hooks.on("changed", function (e) {
      if (box && !box.hidden && t && t.layer.name === e.layer) load();
    });
    decorateTree(map);
  }

  SafeMap.table = {
    setup: setup,
    open: open,
    close: close,
    state: function () { return t; }
  };
})(window.SafeMap);

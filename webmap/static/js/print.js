/*
 * SafeMap map page: printing the map (打印按钮).
 *
 * One print layout for both ways of printing: SafeMap.print.prepare(paper, state) lays the
 * page out as an A4 or A3 landscape sheet (title bar, the map with its scale bar, north
 * arrow and a legend of the visible layers, and a foot with the date in SAFEMAP_TIMEZONE,
 * the data sources and 制图单位), and SafeMap.print.done() restores the page.
 *   - 打印 / 另存为 PDF: the browser's own print dialog (window.print()) with @page set to
 *     the sheet: works offline on every PC, no server needed.
 *   - 导出 PNG / 导出 PDF（服务器）: POST api/print with SafeMap.print.state(); the server
 *     opens this page in headless Chromium and calls the same prepare() (needs Chromium
 *     on the server, else a 503 saying how to install it).
 */
(function (SafeMap) {
  "use strict";

  var PAPER = { A4: [297, 210], A3: [420, 297] };
  var active = null;

  function el(tag, cls, parent, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  /** Today in the deployment's zone (SAFEMAP_TIMEZONE), e.g. 2026年12月01日. */
  function today() {
    var tz = (SafeMap.config && SafeMap.config.timezone) || undefined;
    var opts = { year: "numeric", month: "2-digit", day: "2-digit", timeZone: tz };
    var parts;
    try {
      parts = new Intl.DateTimeFormat("zh-CN", opts).formatToParts(new Date());
    } catch (err) {
      delete opts.timeZone;
      parts = new Intl.DateTimeFormat("zh-CN", opts).formatToParts(new Date());
    }
    var get = function (t) { return (parts.filter(function (p) { return p.type === t; })[0] || {}).value || ""; };
    return get("year") + "年" + get("month") + "月" + get("day") + "日";
  }

  function baseLabels(map) {
    var tree = map.getContainer().querySelector(".leaflet-control-layers-base");
    return tree ? Array.prototype.slice.call(tree.querySelectorAll("label")) : [];
  }

  function currentBase(map) {
    var found = baseLabels(map).filter(function (l) { var i = l.querySelector("input"); return i && i.checked; })[0];
    return found ? found.textContent.trim() : "";
  }

  /** The legend entries of the layers shown now (the on-screen legend greys out the others). */
  function legendHtml(state) {
    var src = state.legend ? state.legend.getContainer().querySelector(".sm-legend-body") : null;
    var box = document.createElement("div");
    if (src) {
      Array.prototype.forEach.call(src.querySelectorAll(".sm-lg-layer"), function (entry) {
        var name = entry.getAttribute("data-layer");
        var group = name ? state.layers[name] : null;
        if (entry.classList.contains("sm-empty")) return;
        if (group && !state.map.hasLayer(group)) return;
        if (!group && entry.classList.contains("sm-off")) return;
        box.appendChild(entry.cloneNode(true));
      });
    }
    return box.innerHTML;
  }

  /** The credits of the map (data and the shown basemap's), as text. */
  function sources(map) {
    var found = [], ctl = map.attributionControl, tmp = document.createElement("div");
    Object.keys((ctl && ctl._attributions) || {}).forEach(function (html) {
      if (!ctl._attributions[html]) return;
      tmp.innerHTML = html;
      var text = tmp.textContent.trim();
      if (text && found.indexOf(text) < 0) found.push(text);
    });
    var base = currentBase(map);
    if (base && !found.some(function (t) { return t.indexOf("底图") === 0; })) found.push("底图：" + base);
    return found.join("；");
  }

  /**
   * Keep a long legend within ``room`` pixels of height and at most two columns: first drop
   * the long class lists (more than 6 classes: only the layer's symbol stays), then all of
   * them; spread what is left over columns.
   */
  function columns(body, room) {
    body.style.columnCount = body.style.height = body.style.width = "";
    var lists = Array.prototype.slice.call(body.querySelectorAll(".sm-lg-layer ul"));
    [7, 0].forEach(function (most) {
      if (body.scrollHeight <= 2 * room) return;
      lists.forEach(function (ul) {
        if (ul.children.length >= most) {
          ul.classList.add("sm-print-folded");
          var by = ul.parentNode.querySelector(".sm-lg-by");
          if (by) by.classList.add("sm-print-folded");
        }
      });
    });
    var h = body.scrollHeight;
    if (h <= room) return;
    var n = Math.min(3, Math.ceil(h / room));
    body.style.columnCount = String(n);
    body.style.width = n * 180 + "px";
    body.style.height = room + "px";
  }

  function north() {
    return '<svg viewBox="0 0 40 56" width="34" height="48" aria-label="指北针">' +
      '<text x="20" y="12" text-anchor="middle" font-size="12" font-weight="700" fill="#1f2933">北</text>' +
      '<polygon points="20,15 30,50 20,42" fill="#1f2933"/><polygon points="20,15 10,50 20,42" fill="#fff" stroke="#1f2933" stroke-width="1.2"/>' +
      "</svg>";
  }

  function tilesLoaded(map, ms) {
    return new Promise(function (done) {
      var pending = [];
      map.eachLayer(function (l) { if (l instanceof L.GridLayer && l.isLoading && l.isLoading()) pending.push(l); });
      var timer = setTimeout(done, ms);
      if (!pending.length) { clearTimeout(timer); done(); return; }
      var left = pending.length;
      pending.forEach(function (l) { l.once("load", function () { left -= 1; if (!left) { clearTimeout(timer); done(); } }); });
    });
  }

  SafeMap.print = {
    papers: PAPER,

    /** The map's state to send to the server: centre [lat, lon], zoom, visible layers, basemap. */
    state: function () {
      var state = SafeMap.state, map = state.map, c = map.getCenter();
      return {
        center: [c.lat, c.lng],
        zoom: map.getZoom(),
        layers: Object.keys(state.layers).filter(function (n) { return map.hasLayer(state.layers[n]); }),
        basemap: currentBase(map) || null
      };
    },

    /** Show the given state: layers on or off, basemap by its label, the view. */
    apply: function (st) {
      var state = SafeMap.state, map = state.map;
      if (!st) return;
      if (st.layers) {
        Object.keys(state.layers).forEach(function (n) {
          var on = st.layers.indexOf(n) >= 0, group = state.layers[n];
          if (on && !map.hasLayer(group)) map.addLayer(group);
          if (!on && map.hasLayer(group)) map.removeLayer(group);
        });
      }
      if (st.basemap) {
        baseLabels(map).forEach(function (l) {
          var input = l.querySelector("input");
          if (input && !input.checked && l.textContent.trim() === st.basemap) input.click();
        });
      }
      if (st.center) map.setView(st.center, st.zoom || map.getZoom(), { animate: false });
    },

    /**
     * Lay the page out as a landscape sheet of ``paper`` (A4, A3) keeping the view's centre
     * and zoom (or those of ``st``); resolves once the basemap's tiles are in (at most 5 s).
     */
    prepare: function (paper, st) {
      var state = SafeMap.state, map = state.map, cfg = SafeMap.config || {};
      paper = PAPER[paper] ? paper : "A4";
      st = st || {};
      if (active) SafeMap.print.done();
      var center = st.center || [map.getCenter().lat, map.getCenter().lng];
      var zoom = st.zoom || map.getZoom();
      var size = PAPER[paper];
      var root = document.documentElement;
      var page = el("style", null, document.head);
      page.id = "sm-print-page";
      page.textContent = "@page{size:" + size[0] + "mm " + size[1] + "mm;margin:0}" +
        "html.sm-print,html.sm-print body{width:" + size[0] + "mm;height:" + size[1] + "mm}";
      root.classList.add("sm-print", "sm-print-" + paper.toLowerCase());

      var frame = el("div", "sm-print-frame", document.body);
      var head = el("div", "sm-print-title", frame);
      el("h1", null, head, st.title || cfg.title || document.title);
      var foot = el("div", "sm-print-foot", frame);
      el("span", "sm-print-unit", foot, "制图单位：" + (cfg.mapUnit || "—"));
      el("span", "sm-print-date", foot, "制图日期：" + today());
      var credits = sources(map);
      el("span", "sm-print-sources", foot, "数据来源：" + (credits || "—"));

      var box = map.getContainer();
      var legend = el("div", "sm-print-legend", box);
      el("div", "sm-print-legend-title", legend, "图  例");
      var body = el("div", "sm-print-legend-body", legend);
      var northEl = el("div", "sm-print-north", box);
      northEl.innerHTML = north();
      active = { page: page, frame: frame, legend: legend, north: northEl, paper: paper, view: [map.getCenter(), map.getZoom()] };

      map.invalidateSize({ animate: false, pan: false });
      SafeMap.print.apply({ layers: st.layers, basemap: st.basemap, center: center, zoom: zoom });
      body.innerHTML = legendHtml(state) || '<div class="sm-lg-by">（无可见图层）</div>';
      columns(body, Math.round(box.clientHeight * 0.7));
      return tilesLoaded(map, 5000).then(function () {
        return new Promise(function (done) { requestAnimationFrame(function () { requestAnimationFrame(done); }); });
      });
    },

    /** Back to the interactive page, at the view it had before. */
    done: function () {
      if (!active) return;
      var map = SafeMap.state.map, a = active;
      active = null;
      [a.page, a.frame, a.legend, a.north].forEach(function (n) { if (n.parentNode) n.parentNode.removeChild(n); });
      document.documentElement.classList.remove("sm-print", "sm-print-a4", "sm-print-a3");
      map.invalidateSize({ animate: false, pan: false });
      map.setView(a.view[0], a.view[1], { animate: false });
    },

    /** The browser's print dialog with the sheet laid out (打印 / 另存为 PDF). */
    browser: function (paper, title) {
      return SafeMap.print.prepare(paper, { title: title }).then(function () {
        var finished = false;
        var finish = function () { if (!finished) { finished = true; SafeMap.print.done(); } };
        window.addEventListener("afterprint", finish, { once: true });
        window.print();
        setTimeout(finish, 1000);  // browsers without afterprint; print() blocks until the dialog closes
      });
    },

    /** PDF or PNG rendered by the server (headless Chromium); resolves with the file's Blob. */
    server: function (paper, format, title) {
      var body = SafeMap.print.state();
      body.paper = paper;
      body.format = format;
      if (title) body.title = title;
      var headers = { "Content-Type": "application/json" };
      var secret = SafeMap.token && SafeMap.token();
      if (secret) headers.Authorization = "Bearer " + secret;
      return fetch(SafeMap.url("api/print"), { method: "POST", headers: headers, body: JSON.stringify(body) }).then(function (r) {
        if (r.ok) return r.blob();
        return r.json().then(function (e) { throw new Error(e.message || ("HTTP " + r.status)); }, function () {
          throw new Error("HTTP " + r.status);
        });
      });
    }
  };

  /** The 打印 button (top left, under the tools) with its small form. */
  SafeMap.PrintControl = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var div = L.DomUtil.create("div", "sm-printctl leaflet-bar");
      div.innerHTML =
        '<a href="#" class="sm-print-btn" role="button" title="打印地图 / 导出 PDF、PNG" aria-label="打印">打印</a>' +
        '<form class="sm-print-form" hidden>' +
        '<div class="sm-print-form-title">打印地图</div>' +
        '<label>图名 <input name="title" maxlength="100"></label>' +
        '<label>纸张 <select name="paper"><option value="A4">A4 横向</option><option value="A3">A3 横向</option></select></label>' +
        '<div class="sm-print-actions">' +
        '<button type="button" data-act="browser">打印 / 另存为PDF</button>' +
        '<button type="button" data-act="png">导出PNG</button>' +
        '<button type="button" data-act="pdf">导出PDF（服务器）</button></div>' +
        '<div class="sm-print-msg"></div></form>';
      var form = div.querySelector("form"), msg = div.querySelector(".sm-print-msg");
      form.elements.title.value = (SafeMap.config && SafeMap.config.title) || document.title;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(div.querySelector(".sm-print-btn"), "click", function (e) {
        L.DomEvent.preventDefault(e);
        form.hidden = !form.hidden;
      });
      L.DomEvent.on(form, "click", function (e) {
        var act = e.target && e.target.getAttribute && e.target.getAttribute("data-act");
        if (!act) return;
        var paper = form.elements.paper.value, title = form.elements.title.value.trim();
        msg.textContent = "";
        if (act === "browser") { form.hidden = true; SafeMap.print.browser(paper, title); return; }
        msg.textContent = "正在生成…";
        SafeMap.print.server(paper, act, title).then(function (blob) {
          var a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = (title || "地图") + "_" + paper + "." + act;
          document.body.appendChild(a);
          a.click();
          setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
          msg.textContent = "已生成 " + a.download;
        }, function (err) {
          msg.textContent = err.message;
          msg.classList.add("sm-panel-error");
        });
      });
      return div;
    }
  });
})(window.SafeMap);

/*
 * SafeMap map page: adding, moving, reshaping and deleting features on the map.
 *
 * For a user whose role is among a layer's ``editors`` (GET api/layers, the catalogue),
 * the 编辑 control opens the editing panel: choose a layer, draw a point, line or area
 * (the vendored geoman plugin, in Chinese) or place a point at typed coordinates; a
 * feature's popup offers 编辑 and 删除. The attribute form is generated from the catalogue
 * (label with unit, required marks, enum pick lists, number ranges, child tables) and
 * checks what the API checks before sending; the API's 422 problems are shown beside
 * their fields. Saving goes through the layer API (POST, PATCH or DELETE with If-Match);
 * a 409 names who changed the feature and what (GET api/audit) and offers 重新载入.
 *
 *   SafeMap.edit.refresh()            re-read who is signed in and what they may edit
 *   SafeMap.edit.editable(layer)      whether the user may edit ``layer``
 *   SafeMap.edit.start(layer, shape)  draw a new feature (shape: Point | Line | Polygon)
 *   SafeMap.edit.addPointAt(latlng)   a new point of the chosen layer at ``latlng``
 *   SafeMap.edit.open(layer, id)      edit an existing feature (geometry and attributes)
 *   SafeMap.edit.session              the edit in progress (tests), null when none
 *
 * geoman is switched to opt-in before the map exists, so the page's thousands of drawn
 * features carry no editing handlers; only the layer being edited is given one.
 */
(function (SafeMap) {
  "use strict";

  var esc = SafeMap.esc;
  if (window.L && L.PM) L.PM.setOptIn(true);

  /** Fields the form never shows: managed by the store. */
  var MANAGED = { id: true, version: true, updated_at: true };
  var SHAPES = {
    Point: { label: "新增点", draw: "Marker", types: ["Point", "MultiPoint"] },
    Line: { label: "新增线", draw: "Line", types: ["LineString", "MultiLineString"] },
    Polygon: { label: "新增面", draw: "Polygon", types: ["Polygon", "MultiPolygon"] }
  };
  var EDIT_STYLE = { color: "#d81b60", weight: 3, opacity: 1, fillColor: "#d81b60", fillOpacity: 0.15, pmIgnore: false };

  var E = SafeMap.edit = {
    me: null, catalogue: {}, layers: [], session: null, control: null,
    chosen: null
  };

  /* ------------------------------------------------------------------ who may edit what */

  function drawnLayer(name) {
    var state = SafeMap.state;
    return !!(state && state.info[name]);
  }

  E.editable = function (name) {
    var c = E.catalogue[name];
    return !!(E.me && c && c.geometry_types.length && c.editors.indexOf(E.me.role) >= 0 && drawnLayer(name));
  };

  E.canAddPoint = function () {
    return E.layers.some(function (n) { return shapesOf(n).indexOf("Point") >= 0; });
  };

  function shapesOf(name) {
    var types = (E.catalogue[name] || {}).geometry_types || [];
    return Object.keys(SHAPES).filter(function (k) {
      return SHAPES[k].types.some(function (t) { return types.indexOf(t) >= 0; });
    });
  }

  E.refresh = function () {
    var catalogue = Object.keys(E.catalogue).length ? Promise.resolve(null) : SafeMap.api("api/layers").then(function (r) {
      r.layers.forEach(function (l) { E.catalogue[l.name] = l; });
    });
    // Signed in with a token or a sign-in session (its CSRF cookie); asking otherwise only earns a 401.
    var signedIn = (SafeMap.token && SafeMap.token()) || (SafeMap.csrfToken && SafeMap.csrfToken());
    var me = signedIn ? SafeMap.api("api/me").then(null, function () { return null; }) : Promise.resolve(null);
    return Promise.all([catalogue, me]).then(function (out) {
      E.me = out[1];
      E.layers = Object.keys(E.catalogue).filter(E.editable);
      if (E.layers.length) {
        if (!E.control) E.control = new SafeMap.EditControl().addTo(SafeMap.state.map);
        E.control.fill();
      } else {
        cancel();
        if (E.control) { E.control.remove(); E.control = null; }
      }
      return E.layers;
    }, function () { return []; });
  };

  /* ------------------------------------------------------------------ geometry helpers */

  function mapPm() {
    var map = SafeMap.state.map;
    if (!map.pm) {
      map.options.pmIgnore = false;
      L.PM.reInitLayer(map);
      map.pm.setLang("zh");
      map.pm.setGlobalOptions({ snappable: true, snapDistance: 12, allowSelfIntersection: false });
    }
    return map.pm;
  }

  function round6(v) { return Math.round(v * 1e6) / 1e6; }

  function toLeaflet(geometry) {
    var t = geometry.type, c = geometry.coordinates;
    if (t === "Point") return L.marker([c[1], c[0]], { pmIgnore: false, draggable: false });
    if (t === "MultiPoint") return L.marker([c[0][1], c[0][0]], { pmIgnore: false });
    var depth = { LineString: 0, MultiLineString: 1, Polygon: 1, MultiPolygon: 2 }[t];
    var latlngs = L.GeoJSON.coordsToLatLngs(c, depth);
    return t.indexOf("Polygon") >= 0 ? L.polygon(latlngs, EDIT_STYLE) : L.polyline(latlngs, EDIT_STYLE);
  }

  function ring(latlngs, close) {
    var out = latlngs.map(function (ll) { return [round6(ll.lng), round6(ll.lat)]; });
    if (close && out.length && (out[0][0] !== out[out.length - 1][0] || out[0][1] !== out[out.length - 1][1])) {
      out.push(out[0].slice());
    }
    return out;
  }

  /** GeoJSON geometry of the edited layer, of a type the catalogue layer accepts. */
  function toGeometry(lyr, accepts) {
    if (lyr.getLatLng) {
      var p = lyr.getLatLng();
      return { type: "Point", coordinates: [round6(p.lng), round6(p.lat)] };
    }
    var lls = lyr.getLatLngs();
    if (lyr instanceof L.Polygon) {
      var polys = L.LineUtil.isFlat(lls) ? [[lls]] : (L.LineUtil.isFlat(lls[0]) ? [lls] : lls);
      var coords = polys.map(function (poly) { return poly.map(function (r) { return ring(r, true); }); });
      if (coords.length === 1 && accepts.indexOf("Polygon") >= 0) return { type: "Polygon", coordinates: coords[0] };
      return { type: "MultiPolygon", coordinates: coords };
    }
    if (L.LineUtil.isFlat(lls)) {
      if (accepts.indexOf("LineString") >= 0) return { type: "LineString", coordinates: ring(lls, false) };
      return { type: "MultiLineString", coordinates: [ring(lls, false)] };
    }
    if (lls.length === 1 && accepts.indexOf("LineString") >= 0) return { type: "LineString", coordinates: ring(lls[0], false) };
    return { type: "MultiLineString", coordinates: lls.map(function (part) { return ring(part, false); }) };
  }

  /** Leaflet lat/lon arrays the page's drawing code takes (as the data block writes them). */
  function pageCoords(geometry) {
    var t = geometry.type, c = geometry.coordinates;
    var flip = function (xy) { return [round6(xy[1]), round6(xy[0])]; };
    if (t === "Point") return ["P", flip(c)];
    if (t === "MultiPoint") return ["P", flip(c[0])];
    if (t === "LineString") return ["L", c.map(flip)];
    if (t === "MultiLineString") return ["L", c.map(function (p) { return p.map(flip); })];
    if (t === "Polygon") return ["A", c.map(function (r) { return r.map(flip); })];
    return ["A", c.map(function (poly) { return poly.map(function (r) { return r.map(flip); }); })];
  }

  /* ------------------------------------------------------------------ the form */

  function unitLabel(f) {
    return f.label + (f.unit ? "（" + f.unit + "）" : "");
  }

  function inputFor(f, value, path) {
    var el;
    if (f.enum) {
      el = document.createElement("select");
      el.appendChild(new Option(f.required ? "请选择" : "（未填）", ""));
      f.enum.forEach(function (m) { el.appendChild(new Option(m.label, m.code)); });
      el.value = value === null || value === undefined ? "" : String(value);
    } else if (f.type === "bool") {
      el = document.createElement("select");
      [["", "（未填）"], ["true", "是"], ["false", "否"]].forEach(function (o) { el.appendChild(new Option(o[1], o[0])); });
      el.value = value === true ? "true" : value === false ? "false" : "";
    } else {
      el = document.createElement("input");
      if (f.type === "int" || f.type === "float") {
        el.type = "number";
        el.step = f.type === "int" ? "1" : "any";
        if (f.minimum !== undefined) el.min = f.minimum;
        if (f.maximum !== undefined) el.max = f.maximum;
      } else if (f.type === "date") {
        el.type = "date";
      } else {
        el.type = "text";
        if (f.max_length) el.maxLength = f.max_length + 1;  // one more: the check names the limit
      }
      el.value = value === null || value === undefined ? "" : String(value);
    }
    el.name = f.name;
    el.className = "sm-edit-input";
    el.setAttribute("data-path", path);
    el.setAttribute("aria-label", f.label);
    if (f.required) el.setAttribute("aria-required", "true");
    return el;
  }

  /** Value of an input as the API takes it, or {error} in the API's words. */
  function readInput(f, el) {
    var raw = el.value;
    if (f.type === "int" || f.type === "float") {
      if (el.validity && el.validity.badInput) return { error: "应为数字" };
      raw = raw.trim();
      if (raw === "") return f.required ? { error: "必填" } : { value: null };
      var n = Number(raw);
      if (!isFinite(n)) return { error: "应为数字" };
      if (f.type === "int" && Math.floor(n) !== n) return { error: "应为整数" };
      if (f.minimum !== undefined && n < f.minimum) return { error: "应不小于 " + f.minimum };
      if (f.maximum !== undefined && n > f.maximum) return { error: "应不大于 " + f.maximum };
      return { value: n };
    }
    if (f.type === "bool") return raw === "" ? (f.required ? { error: "必填" } : { value: null }) : { value: raw === "true" };
    if (typeof raw === "string") raw = raw.trim();
    if (raw === "") return f.required ? { error: "必填" } : { value: null };
    if (f.max_length && raw.length > f.max_length) return { error: "长度不能超过 " + f.max_length + " 个字符" };
    if (f.pattern && !new RegExp(f.pattern).test(raw)) return { error: "格式不符" };
    return { value: raw };
  }

  function fieldRow(parent, f, value, path) {
    var row = L.DomUtil.create("label", "sm-edit-field", parent);
    row.setAttribute("data-field", f.name);
    var title = L.DomUtil.create("span", "sm-edit-label", row);
    title.innerHTML = esc(unitLabel(f)) + (f.required ? ' <b class="sm-req" title="必填">*</b>' : "");
    var input = inputFor(f, value, path);
    row.appendChild(input);
    var err = L.DomUtil.create("span", "sm-edit-error", row);
    err.setAttribute("data-path", path);
    err.hidden = true;
    return input;
  }

  function childTable(parent, child, rows) {
    var box = L.DomUtil.create("fieldset", "sm-edit-child", parent);
    box.setAttribute("data-child", child.name);
    box.innerHTML = "<legend>" + esc(child.label) + "</legend>";
    var list = L.DomUtil.create("div", "sm-edit-rows", box);
    var fields = child.fields.filter(function (f) { return !f.readOnly; });
    function addRow(values) {
      var row = L.DomUtil.create("div", "sm-edit-row", list);
      fields.forEach(function (f) { fieldRow(row, f, values[f.name], ""); });
      var del = L.DomUtil.create("button", "sm-edit-row-del", row);
      del.type = "button";
      del.textContent = "删除此行";
      L.DomEvent.on(del, "click", function () { list.removeChild(row); renumber(); });
      renumber();
    }
    function renumber() {
      Array.prototype.forEach.call(list.children, function (row, i) {
        fields.forEach(function (f) {
          var path = "properties." + child.name + "[" + i + "]." + f.name;
          row.querySelector('[name="' + f.name + '"]').setAttribute("data-path", path);
          row.querySelector('.sm-edit-field[data-field="' + f.name + '"] .sm-edit-error').setAttribute("data-path", path);
        });
      });
    }
    (rows || []).forEach(addRow);
    var add = L.DomUtil.create("button", "sm-edit-row-add", box);
    add.type = "button";
    add.textContent = "＋ 添加一行";
    L.DomEvent.on(add, "click", function () { addRow({}); });
    return { child: child, fields: fields, list: list };
  }

  function buildForm(container, layer, props) {
    var form = L.DomUtil.create("form", "sm-edit-form", container);
    form.setAttribute("novalidate", "");
    form.setAttribute("autocomplete", "off");
    var fields = layer.fields.filter(function (f) { return !f.readOnly && !MANAGED[f.name]; });
    fields.forEach(function (f) { fieldRow(form, f, props[f.name], "properties." + f.name); });
    var tables = (layer.children || []).map(function (c) { return childTable(form, c, props[c.name]); });
    return { el: form, fields: fields, tables: tables };
  }

  function labelOf(layer, path) {
    var m = /^properties\.([a-z0-9_]+)(?:\[(\d+)\]\.([a-z0-9_]+))?/i.exec(path || "");
    if (!m) return path === "geometry" ? "位置/形状" : "";
    var find = function (fields, name) {
      for (var i = 0; i < fields.length; i++) if (fields[i].name === name) return fields[i];
      return null;
    };
    if (m[3]) {
      var child = find(layer.children || [], m[1]);
      var cf = child && find(child.fields, m[3]);
      return (child ? child.label : m[1]) + " 第 " + (Number(m[2]) + 1) + " 行 " + (cf ? cf.label : m[3]);
    }
    var f = find(layer.fields, m[1]);
    return f ? f.label : m[1];
  }

  function clearErrors(form) {
    Array.prototype.forEach.call(form.el.querySelectorAll(".sm-edit-error"), function (e) {
      e.hidden = true;
      e.textContent = "";
    });
    Array.prototype.forEach.call(form.el.querySelectorAll(".sm-invalid"), function (e) { e.classList.remove("sm-invalid"); });
  }

  /** Show ``message`` beside the input at ``path``; false when no input has that path. */
  function showError(form, layer, path, message) {
    var input = form.el.querySelector('.sm-edit-input[data-path="' + path + '"]');
    if (!input) return false;
    var err = input.parentNode.querySelector(".sm-edit-error");
    // The API may already name the field ("人数：…" or "properties.population: …"); say it once.
    var text = String(message).replace(/^[^：:]*(properties\.[^：:\s]+)[：:]\s*/, "");
    var label = labelOf(layer, path);
    err.textContent = text.indexOf(label) === 0 ? text : label + "：" + text;
    err.hidden = false;
    input.classList.add("sm-invalid");
    return true;
  }

  /** The properties the form holds, or null after showing what is wrong beside each field. */
  function collect(form, layer) {
    clearErrors(form);
    var props = {}, bad = false;
    form.fields.forEach(function (f) {
      var input = form.el.querySelector('.sm-edit-input[data-path="properties.' + f.name + '"]');
      var r = readInput(f, input);
      if (r.error) { bad = true; showError(form, layer, "properties." + f.name, r.error); } else { props[f.name] = r.value; }
    });
    form.tables.forEach(function (t) {
      props[t.child.name] = Array.prototype.map.call(t.list.children, function (row) {
        var out = {};
        t.fields.forEach(function (f) {
          var input = row.querySelector('[name="' + f.name + '"]');
          var r = readInput(f, input);
          if (r.error) { bad = true; showError(form, layer, input.getAttribute("data-path"), r.error); } else if (r.value !== null) { out[f.name] = r.value; }
        });
        return out;
      });
    });
    if (bad) {
      var first = form.el.querySelector(".sm-invalid");
      if (first) first.focus();
      return null;
    }
    return props;
  }

  /* ------------------------------------------------------------------ the map after a write */

  function paintIndex(layer, ld, props, fallback) {
    var by = layer.style && layer.style.by;
    if (!by) return fallback || 0;
    var field = null;
    layer.fields.forEach(function (f) { if (f.name === by) field = f; });
    var member = field && field.enum ? field.enum.filter(function (m) { return m.code === props[by]; })[0] : null;
    if (member && member.color) {
      for (var i = 0; i < ld.paints.length; i++) if (ld.paints[i].c === member.color) return i;
    }
    return fallback || 0;
  }

  function forget(name, lyr) {
    var state = SafeMap.state;
    if (!lyr) return;
    state.layers[name].removeLayer(lyr);
    var list = state.features[name], at = list.indexOf(lyr);
    if (at >= 0) list.splice(at, 1);
    state.index = state.index.filter(function (entry) { return entry.lyr !== lyr; });
  }

  /** Draw the saved ``feature`` (GeoJSON) in place of ``old``; returns the new map layer. */
  function redraw(name, feature, old) {
    var state = SafeMap.state, ld = state.info[name], layer = E.catalogue[name];
    if (ld.tiles) {
      var grid = state.tiles[name];
      // New URL: the browser must not answer from its cache of the tile before the write.
      grid.setUrl(SafeMap.url(ld.tiles) + "?edit=" + Date.now());
      return null;
    }
    forget(name, old);
    if (!feature) return null;
    var enc = pageCoords(feature.geometry), props = feature.properties;
    var f = [feature.id, props.name || "", paintIndex(layer, ld, props, old ? old.smFeature[2] : 0), enc[0], enc[1], []];
    var lyr = SafeMap.draw.layer(L.extend({}, ld, { f: [f] }))[0];
    lyr.smLayer = ld;
    lyr.smVersion = props.version;
    // Its popup comes from the server (the page's popup texts were written at load).
    lyr.smRemote = true;
    state.layers[name].addLayer(lyr);
    state.features[name].push(lyr);
    state.index.push({ key: f[1].toLowerCase(), name: f[1], ld: ld, lyr: lyr, order: state.features[name].length });
    // A closed road (the catalogue's dash rule) is drawn closed again, as at load.
    var dash = layer.style && layer.style.dash;
    if (dash && props[dash[0]] === dash[1]) SafeMap.draw.setClosed(lyr, true);
    // Panels that decorate features (team status rings …) decorate the new drawing too.
    SafeMap.hooks.fire("redrawn", { layer: name, lyr: lyr, feature: feature });
    return lyr;
  }
  E.redraw = redraw;
  E.forget = forget;

  /* ------------------------------------------------------------------ the edit session */

  function cancel() {
    var s = E.session, state = SafeMap.state;
    if (!s) return;
    E.session = null;
    var map = state.map;
    if (map.pm) map.pm.disableDraw();
    if (s.geom) {
      if (s.geom.pm) s.geom.pm.disable();
      map.removeLayer(s.geom);
    }
    if (s.hidden && !s.saved) state.layers[s.layer].addLayer(s.hidden);
    if (E.control) E.control.showStart();
  }

  function setGeometry(s, lyr) {
    var map = SafeMap.state.map;
    if (s.geom) {
      if (s.geom.pm) s.geom.pm.disable();
      map.removeLayer(s.geom);
    }
    s.geom = lyr;
    lyr.addTo(map);
    L.PM.reInitLayer(lyr);
    if (lyr.pm) lyr.pm.enable({ draggable: true, snappable: true, allowSelfIntersection: false });
    lyr.on("pm:edit pm:dragend", function () { s.moved = true; });
  }

  /** Draw a new feature of ``name``: shape Point, Line or Polygon. */
  E.start = function (name, shape) {
    cancel();
    var layer = E.catalogue[name];
    if (!E.editable(name)) return null;
    var s = E.session = { mode: "new", layer: name, shape: shape, version: null, id: null, geom: null };
    E.chosen = name;
    var pm = mapPm();
    SafeMap.state.map.closePopup();
    E.control.showDrawing(layer, shape);
    pm.enableDraw(SHAPES[shape].draw, { continueDrawing: false, markerStyle: { draggable: true } });
    SafeMap.state.map.once("pm:create", function (e) {
      if (E.session !== s) { SafeMap.state.map.removeLayer(e.layer); return; }
      SafeMap.state.map.removeLayer(e.layer);
      var drawn = e.layer.getLatLng ? L.marker(e.layer.getLatLng(), { pmIgnore: false })
        : (shape === "Polygon" ? L.polygon(e.layer.getLatLngs(), EDIT_STYLE) : L.polyline(e.layer.getLatLngs(), EDIT_STYLE));
      setGeometry(s, drawn);
      E.control.showForm(s, {});
    });
    return s;
  };

  /** A new point of the chosen layer at ``latlng`` (typed coordinates, the 定位 marker). */
  E.addPointAt = function (latlng) {
    var name = E.chosen && shapesOf(E.chosen).indexOf("Point") >= 0 ? E.chosen
      : E.layers.filter(function (n) { return shapesOf(n).indexOf("Point") >= 0; })[0];
    if (!name) return null;
    cancel();
    E.chosen = name;
    if (E.control) E.control.open(true);
    mapPm();
    var s = E.session = { mode: "new", layer: name, shape: "Point", version: null, id: null, geom: null };
    setGeometry(s, L.marker(latlng, { pmIgnore: false }));
    E.control.showForm(s, {});
    return s;
  };

  /** Edit feature ``id`` of ``name``: its geometry becomes editable, its attributes a form. */
  E.open = function (name, id) {
    cancel();
    if (!E.editable(name)) return Promise.resolve(null);
    var state = SafeMap.state;
    state.map.closePopup();
    E.chosen = name;
    E.control.open(true);
    E.control.message("正在读取要素…");
    return SafeMap.api("api/layers/" + name + "/" + id).then(function (feature) {
      mapPm();
      var s = E.session = { mode: "edit", layer: name, id: id, version: feature.properties.version, feature: feature, geom: null };
      var old = SafeMap.find(name, id);
      if (old) {
        s.hidden = old;
        state.layers[name].removeLayer(old);
      }
      setGeometry(s, toLeaflet(feature.geometry));
      E.control.showForm(s, feature.properties);
      E.control.reveal(s.geom);
      return s;
    }, function (err) {
      E.control.message("无法读取要素：" + err.message, true);
      return null;
    });
  };

  function ifMatch(version) {
    return { "If-Match": '"' + version + '"' };
  }

  function changedFields(layer, entry) {
    var before = (entry.before && entry.before.properties) || {}, after = (entry.after && entry.after.properties) || {};
    var names = [];
    layer.fields.forEach(function (f) {
      if (MANAGED[f.name] || f.readOnly) return;
      if (JSON.stringify(before[f.name]) !== JSON.stringify(after[f.name])) names.push(f.label);
    });
    (layer.children || []).forEach(function (c) {
      if (JSON.stringify(before[c.name]) !== JSON.stringify(after[c.name])) names.push(c.label);
    });
    var bg = entry.before && entry.before.geometry, ag = entry.after && entry.after.geometry;
    if (JSON.stringify(bg) !== JSON.stringify(ag)) names.unshift("位置/形状");
    return names;
  }

  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso || "");
    if (SafeMap.formatTime) return SafeMap.formatTime(iso);
    var zone = (SafeMap.config && SafeMap.config.timezone) || "Asia/Shanghai";
    try {
      return d.toLocaleString("zh-CN", { timeZone: zone, hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return d.toLocaleString("zh-CN");
    }
  }

  /** Who changed the feature since the form was opened, as a sentence (from the audit log). */
  function conflict(s, err) {
    var layer = E.catalogue[s.layer];
    var url = "api/audit?layer=" + encodeURIComponent(s.layer) + "&feature_id=" + s.id + "&limit=1";
    return SafeMap.api(url).then(function (r) {
      var entry = r.entries && r.entries[0];
      if (!entry) return err.message;
      var who = entry.actor + (entry.role ? "（" + SafeMap.roleLabel(entry.role) + "）" : "");
      if (entry.action === "delete") return "此要素已被 " + who + " 于 " + when(entry.at) + " 删除。";
      var fields = changedFields(layer, entry);
      return "此要素已被 " + who + " 于 " + when(entry.at) + " 修改" +
        (fields.length ? "，改动了：" + fields.join("、") : "") + "。您的修改尚未保存。";
    }, function () { return err.message; });
  }

  function save() {
    var s = E.session, layer = E.catalogue[s.layer], form = s.form;
    if (!s.geom) { E.control.message("请先在地图上画出要素", true); return Promise.resolve(null); }
    var props = collect(form, layer);
    if (!props) { E.control.message("请按提示修改标红的字段", true); return Promise.resolve(null); }
    var body = { type: "Feature", geometry: toGeometry(s.geom, layer.geometry_types), properties: props };
    var request = s.mode === "new"
      ? SafeMap.api("api/layers/" + s.layer, { method: "POST", body: body })
      : SafeMap.api("api/layers/" + s.layer + "/" + s.id, { method: "PATCH", body: body, headers: ifMatch(s.version) });
    E.control.message("正在保存…");
    E.control.busy(true);
    return request.then(function (feature) {
      s.saved = true;
      var lyr = redraw(s.layer, feature, s.hidden || null);
      var label = s.mode === "new" ? "已新增" : "已保存";
      cancel();
      E.control.message(label + "：" + layer.label + "「" + (feature.properties.name || feature.id) + "」（版本 " + feature.properties.version + "）");
      E.last = { feature: feature, lyr: lyr };
      return feature;
    }, function (err) { return failed(s, err); }).then(function (out) {
      E.control.busy(false);
      return out;
    });
  }

  function failed(s, err) {
    var layer = E.catalogue[s.layer];
    if (err.status === 409 || err.status === 412) {
      return conflict(s, err).then(function (text) {
        E.control.showConflict(text);
        return null;
      });
    }
    if (err.status === 422 && err.problems && s.form) {
      var elsewhere = [];
      clearErrors(s.form);
      err.problems.forEach(function (p) {
        if (!showError(s.form, layer, p.field, p.message)) {
          var label = labelOf(layer, p.field);
          elsewhere.push((label ? label + "：" : "") + p.message.replace(/^properties\.[^：:\s]+[：:]\s*/, ""));
        }
      });
      E.control.message("未保存：" + (elsewhere.length ? elsewhere.join("；") : "请按提示修改标红的字段"), true);
      return null;
    }
    E.control.message("未保存：" + err.message, true);
    return null;
  }

  function remove() {
    var s = E.session;
    return SafeMap.api("api/layers/" + s.layer + "/" + s.id, { method: "DELETE", headers: ifMatch(s.version) }).then(function () {
      s.saved = true;
      var name = s.feature.properties.name || s.id, label = E.catalogue[s.layer].label;
      redraw(s.layer, null, s.hidden || null);
      cancel();
      E.control.message("已删除：" + label + "「" + name + "」");
      return true;
    }, function (err) { return failed(s, err); });
  }

  function reload() {
    var s = E.session;
    if (!s || s.mode !== "edit") return Promise.resolve(null);
    var hidden = s.hidden;
    if (hidden) { s.saved = true; }
    cancel();
    if (hidden) SafeMap.state.layers[s.layer].addLayer(hidden);
    return SafeMap.api("api/layers/" + s.layer + "/" + s.id).then(function (feature) {
      // Draw the current state, then edit it.
      redraw(s.layer, feature, hidden || null);
      return E.open(s.layer, s.id);
    }, function (err) {
      if (err.status === 404) {
        redraw(s.layer, null, SafeMap.find(s.layer, s.id));
        E.control.message("此要素已被删除", true);
        return null;
      }
      E.control.message("无法重新载入：" + err.message, true);
      return null;
    });
  }

  E.save = save;
  E.cancel = cancel;
  E.reload = reload;

  /* ------------------------------------------------------------------ the panel */

  SafeMap.EditControl = L.Control.extend({
    options: { position: "topleft" },

    onAdd: function (map) {
      var div = L.DomUtil.create("div", "sm-edit leaflet-bar");
      div.innerHTML = '<a href="#" role="button" class="sm-edit-toggle" title="新增、移动、修改形状、删除要素">编辑</a>';
      var panel = this._panel = L.DomUtil.create("div", "sm-edit-panel", map.getContainer());
      panel.hidden = true;
      panel.innerHTML =
        '<div class="sm-edit-head"><span class="sm-edit-title">编辑要素</span>' +
        '<button type="button" class="sm-edit-close" title="关闭">×</button></div>' +
        '<div class="sm-edit-body"></div><div class="sm-edit-msg" aria-live="polite"></div>';
      this._body = panel.querySelector(".sm-edit-body");
      this._msg = panel.querySelector(".sm-edit-msg");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableClickPropagation(panel);
      // A button rebuilt by its own click handler is no longer inside the panel when the
      // map looks at the click: stop it here, or it would place the point just asked for.
      L.DomEvent.on(panel, "click", L.DomEvent.stopPropagation);
      L.DomEvent.disableScrollPropagation(panel);
      L.DomEvent.on(panel, "contextmenu", L.DomEvent.stopPropagation);
      var self = this;
      L.DomEvent.on(div.querySelector(".sm-edit-toggle"), "click", function (e) {
        L.DomEvent.preventDefault(e);
        self.open(panel.hidden);
      });
      L.DomEvent.on(panel.querySelector(".sm-edit-close"), "click", function () { self.open(false); });
      return div;
    },

    onRemove: function () {
      if (this._panel && this._panel.parentNode) this._panel.parentNode.removeChild(this._panel);
    },

    open: function (show) {
      this._panel.hidden = !show;
      this.getContainer().classList.toggle("sm-open", !!show);
      if (!show) cancel();
      else if (!E.session) this.showStart();
    },

    /** Bring ``lyr`` into the part of the map the panel leaves free (beside it, or above on phones). */
    reveal: function (lyr) {
      var map = SafeMap.state.map, panel = this._panel, size = map.getSize();
      var bounds = lyr.getLatLng ? L.latLngBounds([lyr.getLatLng()]) : lyr.getBounds();
      var sheet = panel.offsetWidth > size.x * 0.8;
      var pad = sheet ? [20, panel.offsetHeight + 20] : [panel.offsetWidth + 30, 20];
      var zoom = lyr.getLatLng ? Math.max(map.getZoom(), 16) : Math.min(map.getBoundsZoom(bounds, false, L.point(pad).add([60, 60])), 18);
      map.fitBounds(bounds, { paddingTopLeft: [40, 40], paddingBottomRight: pad, maxZoom: zoom, animate: false });
    },

    fill: function () {
      if (!this._panel.hidden && !E.session) this.showStart();
    },

    message: function (text, isError) {
      this._msg.textContent = text || "";
      this._msg.className = "sm-edit-msg" + (isError ? " sm-error" : "");
    },

    busy: function (on) {
      Array.prototype.forEach.call(this._body.querySelectorAll("button"), function (b) { b.disabled = !!on; });
    },

    showStart: function () {
      var body = this._body, self = this;
      if (!E.chosen || E.layers.indexOf(E.chosen) < 0) E.chosen = E.layers[0];
      body.innerHTML =
        '<label class="sm-edit-field"><span class="sm-edit-label">图层</span><select class="sm-edit-layer"></select></label>' +
        '<div class="sm-edit-tools"></div>' +
        '<div class="sm-edit-place" hidden><span class="sm-edit-label">按坐标放置点</span>' +
        '<div class="sm-edit-place-row"><input type="text" class="sm-edit-place-text" placeholder="82°58′47″E 46°12′01″N" aria-label="点的经纬度">' +
        '<button type="button" class="sm-edit-place-go">放置</button></div></div>' +
        '<p class="sm-edit-hint">修改或删除已有要素：点击地图上的要素，在弹窗中选“编辑”或“删除”。</p>';
      var select = body.querySelector(".sm-edit-layer");
      E.layers.forEach(function (n) { select.appendChild(new Option(E.catalogue[n].label, n)); });
      select.value = E.chosen;
      var tools = body.querySelector(".sm-edit-tools");
      var place = body.querySelector(".sm-edit-place");
      function fillTools() {
        tools.innerHTML = "";
        var shapes = shapesOf(select.value);
        shapes.forEach(function (shape) {
          var b = L.DomUtil.create("button", "sm-edit-add", tools);
          b.type = "button";
          b.textContent = SHAPES[shape].label;
          b.setAttribute("data-shape", shape);
          L.DomEvent.on(b, "click", function () { E.start(select.value, shape); });
        });
        place.hidden = shapes.indexOf("Point") < 0;
      }
      L.DomEvent.on(select, "change", function () { E.chosen = select.value; fillTools(); });
      L.DomEvent.on(body.querySelector(".sm-edit-place-go"), "click", function () {
        var text = body.querySelector(".sm-edit-place-text").value.trim();
        if (!text) { self.message("请输入经纬度", true); return; }
        SafeMap.coords.read(text, "WGS84").then(function (r) {
          var ll = L.latLng(r.lat, r.lon);
          SafeMap.state.map.setView(ll, Math.max(SafeMap.state.map.getZoom(), 16), { animate: false });
          E.addPointAt(ll);
          self.message((r.notes || []).join("；"));
        }, function (err) {
          var p = err.problems && err.problems[0];
          self.message("无法识别坐标：" + (p ? p.message : err.message), true);
        });
      });
      fillTools();
    },

    showDrawing: function (layer, shape) {
      var body = this._body;
      var what = { Point: "在地图上点击放置点", Line: "在地图上依次点击画线，点击最后一点结束", Polygon: "在地图上依次点击画面，点击第一点闭合" }[shape];
      body.innerHTML = '<p class="sm-edit-now">新增' + esc(layer.label) + "：" + esc(what) + '。</p>' +
        '<div class="sm-edit-actions"><button type="button" class="sm-edit-cancel">取消</button></div>';
      L.DomEvent.on(body.querySelector(".sm-edit-cancel"), "click", function () { cancel(); });
      this.message("");
    },

    showForm: function (s, props) {
      var body = this._body, layer = E.catalogue[s.layer], self = this;
      var shapeHint = s.geom && s.geom.getLatLng ? "拖动红色标记可移动位置。" : "拖动顶点可修改形状，拖动边中点可加点，右键点击顶点可删点。";
      body.innerHTML = '<p class="sm-edit-now">' + (s.mode === "new" ? "新增" : "编辑") + esc(layer.label) +
        (s.mode === "edit" ? "「" + esc(props.name || s.id) + "」" : "") + '</p><p class="sm-edit-hint">' + esc(shapeHint) +
        ' 带 <b class="sm-req">*</b> 为必填。</p>';
      s.form = buildForm(body, layer, props);
      var actions = L.DomUtil.create("div", "sm-edit-actions", body);
      actions.innerHTML = '<button type="button" class="sm-edit-save sm-primary">保存</button>' +
        '<button type="button" class="sm-edit-cancel">取消</button>' +
        (s.mode === "edit" ? '<button type="button" class="sm-edit-delete sm-danger">删除</button>' : "");
      this._confirm = L.DomUtil.create("div", "sm-edit-confirm", body);
      this._confirm.hidden = true;
      L.DomEvent.on(s.form.el, "submit", function (e) { L.DomEvent.preventDefault(e); save(); });
      L.DomEvent.on(actions.querySelector(".sm-edit-save"), "click", function () { save(); });
      L.DomEvent.on(actions.querySelector(".sm-edit-cancel"), "click", function () { cancel(); self.message(""); });
      var del = actions.querySelector(".sm-edit-delete");
      if (del) L.DomEvent.on(del, "click", function () { self.askDelete(s, props); });
      this.message("");
    },

    askDelete: function (s, props) {
      var box = this._confirm, layer = E.catalogue[s.layer];
      box.innerHTML = '<p>确定删除' + esc(layer.label) + "「" + esc(props.name || s.id) + "」吗？删除记入审计日志。</p>" +
        '<button type="button" class="sm-edit-confirm-delete sm-danger">确认删除</button>' +
        '<button type="button" class="sm-edit-confirm-cancel">不删除</button>';
      box.hidden = false;
      L.DomEvent.on(box.querySelector(".sm-edit-confirm-delete"), "click", function () { remove(); });
      L.DomEvent.on(box.querySelector(".sm-edit-confirm-cancel"), "click", function () { box.hidden = true; });
      box.querySelector(".sm-edit-confirm-delete").focus();
    },

    showConflict: function (text) {
      var box = this._confirm;
      box.innerHTML = '<div class="sm-edit-conflict" role="alert"><p>' + esc(text) + "</p>" +
        '<button type="button" class="sm-edit-reload sm-primary">重新载入</button>' +
        '<button type="button" class="sm-edit-confirm-cancel">关闭提示</button></div>';
      box.hidden = false;
      this.message("未保存：版本冲突", true);
      L.DomEvent.on(box.querySelector(".sm-edit-reload"), "click", function () { reload(); });
      L.DomEvent.on(box.querySelector(".sm-edit-confirm-cancel"), "click", function () { box.hidden = true; });
    }
  });

  /* ------------------------------------------------------------------ popups and clicks */

  function popupActions(e) {
    var state = SafeMap.state, popup = e.popup, about = popup.smAbout;
    if (popup !== state.popup || !about) return;
    var html = popup.getContent();
    if (typeof html !== "string" || html.indexOf("sm-popup") < 0) return;
    // The content as a node with the buttons (popup.update() re-renders a string content).
    var content = L.DomUtil.create("div", "sm-popup-with-actions");
    content.innerHTML = html;
    var bar = L.DomUtil.create("div", "sm-popup-actions", content);
    var point = about.target && about.target.getLatLng ? about.target.getLatLng() : about.latlng;
    if (SafeMap.coords) bar.appendChild(SafeMap.coords.button(point));
    if (E.editable(about.layer) && !E.session) {
      var edit = L.DomUtil.create("button", "sm-popup-edit", bar);
      edit.type = "button";
      edit.textContent = "编辑";
      L.DomEvent.on(edit, "click", function (ev) { L.DomEvent.stop(ev); E.open(about.layer, about.id); });
      var del = L.DomUtil.create("button", "sm-popup-delete", bar);
      del.type = "button";
      del.textContent = "删除";
      L.DomEvent.on(del, "click", function (ev) {
        L.DomEvent.stop(ev);
        E.open(about.layer, about.id).then(function (s) { if (s) E.control.askDelete(s, s.feature.properties); });
      });
    }
    popup.setContent(content);
  }

  SafeMap.hooks.on("featureclick", function (ev) {
    // While drawing or editing, clicks place vertices: no popup.
    if (E.session) return true;
    if (ev.target && ev.target.smRemote) {
      SafeMap.popups.remote(ev.layer, ev.id, ev.latlng);
      return true;
    }
    return false;
  });

  SafeMap.whenReady(function (state) {
    state.map.on("popupopen", popupActions);
    state.map.on("keydown", function (e) {
      if (e.originalEvent.key === "Escape" && E.session && !E.session.geom) cancel();
    });
    E.refresh();
    // Signing in or out with a token changes what may be edited.
    var setToken = SafeMap.setToken;
    if (setToken && !setToken.smWrapped) {
      SafeMap.setToken = function (value) {
        var out = setToken.apply(this, arguments);
        E.refresh();
        return out;
      };
      SafeMap.setToken.smWrapped = true;
    }
    SafeMap.hooks.on("user", function () { E.refresh(); });
  });
})(window.SafeMap);

/*
 * SafeMap map page: 坐标定位 — go to typed coordinates, copy the coordinates of any point.
 *
 *   SafeMap.coords.format(latlng)        {decimal: "82.979722, 46.200278",
 *                                         dms: "82°58′47.00″E 46°12′01.00″N", text: both lines}
 *   SafeMap.coords.read(text, crs)       Promise of {lon, lat, notes} from the server's reading
 *                                        (GET api/locate/coordinates: decimal or 度分秒, full-width
 *                                        marks, 东经/北纬, latitude first swapped; WGS84 | CGCS2000)
 *   SafeMap.coords.goTo(lat, lon, note)  centre the map there and drop the 定位 marker
 *   SafeMap.coords.copy(latlng)          both forms to the clipboard (Promise); lastCopied keeps it
 *   SafeMap.coords.button(latlng)        a 复制坐标 button for a popup
 * The 坐标 control (top left) holds the input; a right-click on the map offers 复制坐标.
 */
(function (SafeMap) {
  "use strict";

  var esc = SafeMap.esc;
  var marker = null, toastTimer = null;

  function pad(n, width) {
    var s = String(n);
    while (s.length < width) s = "0" + s;
    return s;
  }

  /** 82.97972 -> 82°58′47.00″E (seconds to 0.01″, about 0.3 m). */
  function dms(value, pos, neg) {
    var hem = value < 0 ? neg : pos;
    var hundredths = Math.round(Math.abs(value) * 360000);
    var deg = Math.floor(hundredths / 360000);
    var min = Math.floor((hundredths - deg * 360000) / 6000);
    var sec = (hundredths - deg * 360000 - min * 6000) / 100;
    var secText = sec.toFixed(2);
    if (sec < 10) secText = "0" + secText;
    return deg + "°" + pad(min, 2) + "′" + secText + "″" + hem;
  }

  function format(latlng) {
    var ll = L.latLng(latlng);
    var decimal = ll.lng.toFixed(6) + ", " + ll.lat.toFixed(6);
    var text = dms(ll.lng, "E", "W") + " " + dms(ll.lat, "N", "S");
    return { decimal: decimal, dms: text, text: decimal + "\n" + text };
  }

  function toast(message) {
    var state = SafeMap.state;
    if (!state) return;
    var box = state.map.getContainer().querySelector(".sm-toast");
    if (!box) {
      box = L.DomUtil.create("div", "sm-toast", state.map.getContainer());
      box.setAttribute("role", "status");
    }
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 3000);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  /** Copy ``text`` to the clipboard; resolves to whether it got there. */
  function copyText(text) {
    SafeMap.coords.lastCopied = text;
    var done = function (ok) {
      toast(ok ? "已复制坐标：" + text.replace("\n", "  ") : "无法写入剪贴板，请手动复制：" + text.replace("\n", "  "));
      return ok;
    };
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return done(true); }, function () {
        return done(fallbackCopy(text));
      });
    }
    return Promise.resolve(done(fallbackCopy(text)));
  }

  function copy(latlng) {
    return copyText(format(latlng).text);
  }

  function button(latlng) {
    var b = L.DomUtil.create("button", "sm-copy-coords");
    b.type = "button";
    b.textContent = "复制坐标";
    b.title = "复制经纬度（十进制度与度分秒）";
    L.DomEvent.on(b, "click", function (e) {
      L.DomEvent.stop(e);
      copy(latlng);
    });
    return b;
  }

  function read(text, crs) {
    return SafeMap.api("api/locate/coordinates?text=" + encodeURIComponent(text) + "&crs=" + encodeURIComponent(crs || "WGS84"));
  }

  function markerPopup(ll, note) {
    var f = format(ll);
    var div = L.DomUtil.create("div", "sm-coord-popup");
    div.innerHTML = '<div class="sm-coord-title">定位点</div>' +
      '<div class="sm-coord-line">' + esc(f.dms) + "</div>" +
      '<div class="sm-coord-line sm-coord-dec">' + esc(f.decimal) + "</div>" +
      (note ? '<div class="sm-coord-note">' + esc(note) + "</div>" : "");
    var actions = L.DomUtil.create("div", "sm-popup-actions", div);
    actions.appendChild(button(ll));
    if (SafeMap.edit && SafeMap.edit.canAddPoint && SafeMap.edit.canAddPoint()) {
      var add = L.DomUtil.create("button", "sm-coord-add", actions);
      add.type = "button";
      add.textContent = "在此新增要素";
      L.DomEvent.on(add, "click", function (e) {
        L.DomEvent.stop(e);
        SafeMap.state.map.closePopup();
        SafeMap.edit.addPointAt(ll);
      });
    }
    return div;
  }

  function goTo(lat, lon, note) {
    var map = SafeMap.state.map, ll = L.latLng(lat, lon);
    map.setView(ll, Math.max(map.getZoom(), 16), { animate: false });
    if (!marker) {
      marker = L.marker(ll, { title: "定位点", keyboard: false, pmIgnore: true });
    } else {
      marker.setLatLng(ll);
    }
    marker.addTo(map);
    marker.unbindPopup().bindPopup(markerPopup(ll, note), { className: "sm-popup-wrap", autoPan: false });
    SafeMap.coords.marker = marker;
    return ll;
  }

  SafeMap.CoordControl = L.Control.extend({
    options: { position: "topleft" },

    onAdd: function (map) {
      var div = L.DomUtil.create("div", "sm-coord leaflet-bar");
      div.innerHTML =
        '<a href="#" role="button" class="sm-coord-toggle" title="坐标定位：输入经纬度，定位到该点">坐标</a>' +
        '<form class="sm-coord-form" hidden autocomplete="off">' +
        '<div class="sm-coord-head">坐标定位</div>' +
        '<input class="sm-coord-input" name="text" type="text" placeholder="82°58′47″E 46°12′01″N 或 82.9797, 46.2003" ' +
        'aria-label="经纬度">' +
        '<div class="sm-coord-row"><select class="sm-coord-crs" aria-label="坐标系">' +
        '<option value="WGS84">WGS 84</option><option value="CGCS2000">CGCS2000</option></select>' +
        '<button type="submit" class="sm-coord-go">定位</button>' +
        '<button type="button" class="sm-coord-clear" title="移除定位点">清除</button></div>' +
        '<div class="sm-coord-msg" aria-live="polite"></div>' +
        '<div class="sm-coord-help">十进制度或度分秒，可用全角符号、东经/北纬；纬度在前会自动调换。</div>' +
        "</form>";
      this._form = div.querySelector("form");
      this._msg = div.querySelector(".sm-coord-msg");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(div, "click contextmenu", L.DomEvent.stopPropagation);
      var self = this;
      L.DomEvent.on(div.querySelector(".sm-coord-toggle"), "click", function (e) {
        L.DomEvent.preventDefault(e);
        self.toggle();
      });
      L.DomEvent.on(this._form, "submit", function (e) {
        L.DomEvent.preventDefault(e);
        self.locate();
      });
      L.DomEvent.on(div.querySelector(".sm-coord-clear"), "click", function () {
        if (marker) map.removeLayer(marker);
        self._msg.textContent = "";
      });
      return div;
    },

    toggle: function (open) {
      var show = open === undefined ? this._form.hidden : open;
      this._form.hidden = !show;
      this.getContainer().classList.toggle("sm-open", show);
      if (show) this._form.querySelector(".sm-coord-input").focus();
    },

    locate: function () {
      var text = this._form.querySelector(".sm-coord-input").value.trim(), msg = this._msg;
      var crs = this._form.querySelector(".sm-coord-crs").value;
      if (!text) { msg.textContent = "请输入经纬度"; msg.className = "sm-coord-msg sm-error"; return Promise.resolve(null); }
      msg.textContent = "正在识别…";
      msg.className = "sm-coord-msg";
      return read(text, crs).then(function (r) {
        var f = format([r.lat, r.lon]);
        var note = (r.notes || []).join("；");
        msg.textContent = "已定位到 " + f.dms + (note ? "（" + note + "）" : "");
        goTo(r.lat, r.lon, note);
        return r;
      }, function (err) {
        var p = err.problems && err.problems[0];
        msg.textContent = "无法识别坐标：" + (p ? p.message : err.message);
        msg.className = "sm-coord-msg sm-error";
        return null;
      });
    }
  });

  function contextMenu(e) {
    var map = SafeMap.state.map, f = format(e.latlng);
    var div = L.DomUtil.create("div", "sm-coord-popup");
    div.innerHTML = '<div class="sm-coord-title">此处坐标</div>' +
      '<div class="sm-coord-line">' + esc(f.dms) + "</div>" +
      '<div class="sm-coord-line sm-coord-dec">' + esc(f.decimal) + "</div>";
    var actions = L.DomUtil.create("div", "sm-popup-actions", div);
    actions.appendChild(button(e.latlng));
    L.popup({ className: "sm-popup-wrap sm-coord-menu", autoPan: false }).setLatLng(e.latlng).setContent(div).openOn(map);
  }

  SafeMap.coords = {
    format: format, dms: dms, read: read, goTo: goTo, copy: copy, copyText: copyText, button: button,
    toast: toast, lastCopied: null, marker: null, control: null
  };

  SafeMap.whenReady(function (state) {
    SafeMap.coords.control = new SafeMap.CoordControl().addTo(state.map);
    state.map.on("contextmenu", contextMenu);
  });
})(window.SafeMap);

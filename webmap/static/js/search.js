/*
 * SafeMap map page, module 6 of 10: the name search box (embedded features in the page,
 * tiled layers through the API). Features of one layer sharing a name (the 166 segments
 * of road G219) are one hit, "共 166 段", that zooms to all of them.
 */
(function (SafeMap) {
  "use strict";

  var esc = SafeMap.esc;

  SafeMap.SearchControl = L.Control.extend({
    options: { position: "topleft", limit: 12 },

    onAdd: function (map) {
      var div = L.DomUtil.create("div", "sm-search leaflet-bar");
      div.innerHTML =
        '<input type="search" class="sm-search-input" autocomplete="off" spellcheck="false"' +
        ' placeholder="搜索名称：企业、学校、道路…" aria-label="按名称搜索要素" title="按名称搜索所有图层">' +
        '<ul class="sm-search-results" role="listbox" hidden></ul>';
      this._input = div.querySelector("input");
      this._list = div.querySelector("ul");
      this._hits = [];
      this._active = -1;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(this._input, "input", this._onInput, this);
      L.DomEvent.on(this._input, "keydown", this._onKey, this);
      L.DomEvent.on(this._list, "click", this._onClick, this);
      this._map = map;
      return div;
    },

    search: function (text) {
      var q = text.trim().toLowerCase(), state = SafeMap.state;
      if (!q || !state) return [];
      var hits = [];
      state.index.forEach(function (entry) {
        var at = entry.key.indexOf(q);
        if (at >= 0) hits.push({ entry: entry, rank: at === 0 ? 0 : 1 });
      });
      hits.sort(function (a, b) {
        return a.rank - b.rank || a.entry.key.length - b.entry.key.length ||
          a.entry.order - b.entry.order;
      });
      return byName(hits.map(function (h) { return h.entry; }));
    },

    /** Tiled layers are not in the page: ask the API for their names (debounced). */
    _remote: function (text) {
      var self = this, state = SafeMap.state, names = Object.keys(state.tiles || {});
      clearTimeout(this._timer);
      if (!names.length || !text.trim()) return;
      this._timer = setTimeout(function () {
        Promise.all(names.map(function (name) {
          return SafeMap.api("api/layers/" + name + "?limit=5&q=" + encodeURIComponent(text.trim()))
            .then(null, function () { return { features: [] }; })
            .then(function (fc) {
              return fc.features.map(function (f) {
                return { remote: true, name: f.properties.name, id: f.id, geometry: f.geometry, ld: state.tiles[name].smLayer };
              });
            });
        })).then(function (lists) {
          if (self._input.value !== text) return;
          var extra = [].concat.apply([], lists);
          if (extra.length) self._render(text, self._local.concat(extra));
        });
      }, 250);
    },

    _onInput: function () {
      var text = this._input.value;
      this._local = this.search(text);
      this._render(text, this._local);
      this._remote(text);
    },

    _render: function (text, all) {
      this._hits = all.slice(0, this.options.limit);
      this._active = this._hits.length ? 0 : -1;
      if (!text.trim()) {
        this._list.hidden = true;
        return;
      }
      var html = this._hits.map(function (e, i) {
        var sw = e.remote ? '<i class="sm-sw sm-sw-pt" style="background:' + esc(e.ld.paints[e.ld.tileStyle.fallback].c) + '"></i>'
          : SafeMap.draw.dot(e.ld, e.lyr.smFeature);
        var many = e.members && e.members.length > 1 ? '<span class="sm-hit-count">共 ' + e.members.length + " " + unit(e) + "</span>" : "";
        return '<li role="option" data-i="' + i + '"' + (i === 0 ? ' class="sm-active"' : "") + ">" +
          sw + '<span class="sm-hit-name">' + esc(e.name) + "</span>" + many +
          '<span class="sm-hit-layer">' + esc(e.ld.label) + "</span></li>";
      }).join("");
      if (!all.length) {
        html = '<li class="sm-none">未找到“' + esc(text.trim()) + "”</li>";
      } else if (all.length > this._hits.length) {
        html += '<li class="sm-more">共 ' + all.length + " 条，请输入更完整的名称</li>";
      }
      this._list.innerHTML = html;
      this._list.hidden = false;
    },

    _onKey: function (e) {
      var n = this._hits.length;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!n) return;
        this._active = (this._active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        var items = this._list.querySelectorAll("li[data-i]");
        for (var i = 0; i < items.length; i++) {
          items[i].classList.toggle("sm-active", i === this._active);
        }
        L.DomEvent.preventDefault(e);
      } else if (e.key === "Enter" && this._active >= 0) {
        this.go(this._hits[this._active]);
        L.DomEvent.preventDefault(e);
      } else if (e.key === "Escape") {
        this._input.value = "";
        this._list.hidden = true;
      }
    },

    _onClick: function (e) {
      var li = e.target.closest ? e.target.closest("li[data-i]") : null;
      if (li) this.go(this._hits[Number(li.getAttribute("data-i"))]);
    },

    go: function (entry) {
      var state = SafeMap.state;
      this._list.hidden = true;
      this._input.value = entry.name;
      if (entry.remote) {
        var shape = L.geoJSON(entry.geometry), map = state.map, group = state.layers[entry.ld.name];
        if (!map.hasLayer(group)) map.addLayer(group);
        map.fitBounds(shape.getBounds(), { maxZoom: 17, animate: false });
        SafeMap.popups.remote(entry.ld.name, entry.id, shape.getBounds().getCenter());
        return;
      }
      if (entry.members && entry.members.length > 1) {
        // One name, many features (a road's segments): show them all, open the first one's popup.
        var m = state.map, g = state.layers[entry.ld.name], bounds = L.latLngBounds([]);
        if (!m.hasLayer(g)) m.addLayer(g);
        entry.members.forEach(function (e) {
          bounds.extend(e.lyr.getBounds ? e.lyr.getBounds() : L.latLngBounds([e.lyr.getLatLng()]));
        });
        m.fitBounds(bounds, { maxZoom: 16, padding: [40, 40], animate: false });
        m.closePopup();
        if (m.hasLayer(entry.lyr)) SafeMap.popups.open(entry.lyr);
        return;
      }
      SafeMap.popups.show(entry.ld.name, entry.lyr);
    }
  });

  /** One hit per layer and name, in the order found; ``members`` lists every feature it stands for. */
  function byName(entries) {
    var out = [], seen = {};
    entries.forEach(function (e) {
      var key = e.ld.name + "\u0000" + e.name, first = seen[key];
      if (first) {
        first.members.push(e);
        return;
      }
      seen[key] = { key: e.key, name: e.name, ld: e.ld, lyr: e.lyr, order: e.order, members: [e] };
      out.push(seen[key]);
    });
    return out;
  }

  /** What a group counts: 段 for lines (road segments), 处 for areas, 个 for points. */
  function unit(entry) {
    var lyr = entry.lyr;
    if (lyr.getLatLng) return "个";
    return lyr instanceof L.Polygon ? "处" : "段";
  }
})(window.SafeMap);

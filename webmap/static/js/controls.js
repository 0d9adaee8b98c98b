/*
 * SafeMap map page, module 7 of 10: the pointer's coordinates, the legend, the layer tree on phones.
 */
(function (SafeMap) {
  "use strict";

  SafeMap.MouseControl = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function (map) {
      var div = L.DomUtil.create("div", "sm-mousepos");
      div.textContent = "经度 —  纬度 —";
      map.on("mousemove", function (e) {
        div.textContent = "经度 " + e.latlng.lng.toFixed(5) + "°  纬度 " + e.latlng.lat.toFixed(5) + "°";
      });
      return div;
    }
  });

  SafeMap.LegendControl = L.Control.extend({
    options: { position: "bottomright" },
    initialize: function (html, options) {
      L.setOptions(this, options);
      this._html = html;
    },
    onAdd: function (map) {
      var div = L.DomUtil.create("div", "sm-legend");
      div.innerHTML =
        '<button type="button" class="sm-legend-toggle" title="展开/收起图例">' +
        '<span>图例</span><i class="sm-caret"></i></button>' +
        '<div class="sm-legend-body">' + this._html + "</div>";
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(div.querySelector("button"), "click", function () {
        var now = !div.classList.contains("sm-collapsed");
        div.classList.toggle("sm-collapsed", now);
        try { window.localStorage.setItem("safemap.legend", now ? "collapsed" : "open"); } catch (err) { /* private mode */ }
        this.fit();
      }, this);
      map.on("resize", this.fit, this);
      return div;
    },

    /** Keep the legend clear of the layer control above it (both sit on the right). */
    fit: function () {
      var div = this.getContainer(), map = this._map;
      var body = div.querySelector(".sm-legend-body"), button = div.querySelector("button");
      var above = map.getContainer().querySelector(".leaflet-top.leaflet-right");
      var top = above ? above.getBoundingClientRect().bottom : map.getContainer().getBoundingClientRect().top;
      var room = div.getBoundingClientRect().bottom - top - button.offsetHeight - 24;
      body.style.maxHeight = Math.max(room, 90) + "px";
      return room;
    },

    /** Open unless the user closed it before, there is no room (1366×768 screens) or the screen is a phone's. */
    initialState: function () {
      var stored = null;
      try { stored = window.localStorage.getItem("safemap.legend"); } catch (err) { stored = null; }
      var room = this.fit();
      var phone = window.matchMedia("(max-width: 600px)").matches;
      this.getContainer().classList.toggle("sm-collapsed", stored ? stored === "collapsed" : room < 100 || phone);
    },

    /** Grey out the entries of layers switched off in the layer control. */
    follow: function (map, layers, groups) {
      var legendEl = this.getContainer();
      layers.forEach(function (ld) {
        var group = groups[ld.name];
        var entry = legendEl.querySelector('[data-layer="' + ld.name + '"]');
        if (!entry) return;
        var sync = function () { entry.classList.toggle("sm-off", !map.hasLayer(group)); };
        group.on("add remove", sync);
        sync();
      });
    }
  });

  /**
   * On a narrow screen (phone) fold the layer tree to its icon: open on tap, fold again
   * when the map is tapped, so the dock and the map are not hidden behind it.
   */
  SafeMap.foldOnPhones = function (map, tree) {
    var narrow = window.matchMedia("(max-width: 600px)");
    var expanded = "leaflet-control-layers-expanded";
    var toggle = tree.querySelector(".leaflet-control-layers-toggle");
    var fold = function () { if (narrow.matches) tree.classList.remove(expanded); };
    if (toggle) {
      L.DomEvent.on(toggle, "click", function (e) {
        L.DomEvent.preventDefault(e);
        tree.classList.add(expanded);
      });
    }
    map.on("click", fold);
    narrow.addEventListener("change", function () {
      if (!narrow.matches) tree.classList.add(expanded);
      else fold();
    });
    fold();
  };
})(window.SafeMap);

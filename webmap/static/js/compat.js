/*
 * SafeMap map page, module 2 of 10: fixes for the vendored Leaflet plugins (no state).
 */
(function () {
  "use strict";

  // markercluster calls clusterHide()/clusterShow() (defined for L.Marker only) on
  // markers it animates. Most calls are guarded, but it re-shows only markers with an
  // _icon, so real hiding would leave circle markers invisible: make them no-ops.
  L.CircleMarker.include({
    clusterHide: function () { return this; },
    clusterShow: function () { return this; }
  });

  // Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop, which Leaflet 1.8 removed
  // (Leaflet.VectorGrid PR #288); its old meaning: the map must not see this click.
  if (!L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }

  // leaflet.fullscreen 5 only exports the class; folium's template calls the factory.
  if (!L.control.fullscreen) {
    L.control.fullscreen = function (options) { return new L.Control.FullScreen(options); };
  }
})();

/*
 * SafeMap map page: every open map follows what others change (server-sent ``features``
 * events from api/events, SafeMap.events).
 *
 * A feature created, edited or deleted by anybody — on another map, through the API, an
 * import, a dispatch confirmed on another desk — is redrawn here within a second or two:
 *   embedded layers   the feature is read again (GET api/layers/{name}/{id}) and drawn in
 *                     place of the old drawing (SafeMap.edit.redraw: its catalogue colour,
 *                     a closed road red dashed), or removed when deleted; a burst of more
 *                     than BURST changes in one layer reads the layer once instead;
 *   vector tiles      the layer's tiles are fetched again (new URL: the browser's cache of
 *                     the old tiles, max-age 60 s, must not answer).
 * A feature this user is editing is left alone (the save answers 409 with who changed it).
 * The open 属性表 reloads its page when its layer changed (hook "changed").
 *
 *   SafeMap.sync.pending()   layers with changes still being read (tests wait for none)
 */
(function (SafeMap) {
  "use strict";

  var WAIT_MS = 300;   // changes arriving together are read together
  var BURST = 40;      // more changes than this in one layer: read the whole layer once
  var queued = {};     // layer -> {id: action}
  var timer = null, busy = 0;

  function drawnHere(name) {
    var state = SafeMap.state;
    return !!(state && state.info && state.info[name] && state.layers[name]);
  }

  function editing(name, id) {
    var s = SafeMap.edit && SafeMap.edit.session;
    return !!s && s.layer === name && s.id === id;
  }

  function readOne(name, id) {
    var E = SafeMap.edit;
    return SafeMap.api("api/layers/" + name + "/" + id).then(function (feature) {
      if (!editing(name, id)) E.redraw(name, feature, SafeMap.find(name, id));
    }, function (err) {
      if (err && err.status === 404) E.forget(name, SafeMap.find(name, id));
    });
  }

  /** Many changes at once (an import): one read of the layer, every drawing replaced. */
  function readAll(name) {
    var E = SafeMap.edit, state = SafeMap.state;
    return SafeMap.api("api/layers/" + name + "?limit=10000").then(function (fc) {
      var seen = {};
      fc.features.forEach(function (feature) {
        seen[feature.id] = true;
        if (!editing(name, feature.id)) E.redraw(name, feature, SafeMap.find(name, feature.id));
      });
      state.features[name].slice().forEach(function (lyr) {
        if (!seen[lyr.smFeature[0]] && !editing(name, lyr.smFeature[0])) E.forget(name, lyr);
      });
    });
  }

  function flush() {
    timer = null;
    var batch = queued;
    queued = {};
    Object.keys(batch).forEach(function (name) {
      var state = SafeMap.state, ids = Object.keys(batch[name]);
      var grid = state.tiles && state.tiles[name];
      if (grid) {
        grid.setUrl(SafeMap.url(state.info[name].tiles) + "?v=" + Date.now());
      } else if (SafeMap.edit && SafeMap.edit.redraw) {
        var work = ids.length > BURST ? [readAll(name)] : ids.map(function (key) {
          var id = Number(key);
          if (editing(name, id)) return null;
          if (batch[name][key] === "delete") {
            SafeMap.edit.forget(name, SafeMap.find(name, id));
            return null;
          }
          return readOne(name, id);
        });
        busy += 1;
        Promise.all(work).then(done, done);
      }
      SafeMap.hooks.fire("changed", { layer: name, ids: ids.map(Number) });
    });
  }

  function done() { busy -= 1; }

  SafeMap.events.on("features", function (d) {
    if (!drawnHere(d.layer)) return;
    var lyr = SafeMap.find(d.layer, d.id);
    // This map drew it already (its own save): nothing to read.
    if (d.action !== "delete" && lyr && lyr.smVersion !== undefined && lyr.smVersion === d.version) return;
    (queued[d.layer] = queued[d.layer] || {})[d.id] = d.action;
    if (!timer) timer = setTimeout(flush, WAIT_MS);
  });

  SafeMap.sync = {
    pending: function () { return Object.keys(queued).length + busy; }
  };
})(window.SafeMap);

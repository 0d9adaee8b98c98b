/*
 * SafeMap map page, module 9 of 10: live events from the server (server-sent events at
 * api/events), one stream per page shared by whoever listens.
 *
 *   SafeMap.events.on(type, fn)   fn(data) for each event of ``type`` (data parsed from
 *                                 JSON); types: the API's event names ("snapshot",
 *                                 "rescue_teams", "dispatches", "roads", "fire_lanes" …) and
 *                                 "open"/"error" for the connection (data null)
 *   SafeMap.events.connected()    whether the stream is open now
 * The stream opens once the map is ready and somebody listens; the browser reconnects.
 */
(function (SafeMap) {
  "use strict";

  var listeners = {}, source = null;
  var CONNECTION = { open: true, error: true };

  function emit(type, data) {
    (listeners[type] || []).slice().forEach(function (fn) { fn(data); });
  }

  function subscribe(type) {
    if (!source || CONNECTION[type] || source.smTypes[type]) return;
    source.smTypes[type] = true;
    source.addEventListener(type, function (e) { emit(type, JSON.parse(e.data)); });
  }

  function start() {
    if (source || typeof EventSource === "undefined" || !Object.keys(listeners).length) return;
    source = new EventSource(SafeMap.url("api/events"));
    source.smTypes = {};
    Object.keys(listeners).forEach(subscribe);
    source.onopen = function () { emit("open", null); };
    source.onerror = function () { emit("error", null); };
  }

  SafeMap.events = {
    on: function (type, fn) {
      (listeners[type] = listeners[type] || []).push(fn);
      subscribe(type);
      SafeMap.whenReady(start);
    },
    connected: function () {
      return !!source && source.readyState === 1;
    }
  };
})(window.SafeMap);

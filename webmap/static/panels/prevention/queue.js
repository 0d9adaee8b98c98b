/*
 * 双重预防 panel, part 2 of 9: the offline queue of findings recorded in the field, SafeMap.preventionQueue.
 * It runs from page load (not only once the panel is opened), so what a phone kept offline goes out
 * as soon as it is back online, also after a reload.
 *   add(body, files)   gives the finding a client_uuid, stores it with its photos (Blobs) in IndexedDB
 *                      BEFORE anything is sent, then sends; resolves to {state: "sent"|"queued"|"failed",
 *                      danger_id, message, problems}
 *   sending            POST /api/dangers (the same client_uuid again returns the stored finding: a
 *                      replay after a reload gets the same id), then each photo POST
 *                      /api/dangers/{id}/photos (stage found; the server dedupes identical images);
 *                      an item leaves the queue only after 200/201 for the finding and every photo
 *   errors             network, 5xx, 401, 408, 429: the item stays queued (retried on "online" and
 *                      every 30 s); any other 4xx: kept, marked 失败 with the server's message,
 *                      until the user deletes it (remove(uuid))
 *   list(), count(), flush(), onChange(fn(items))
 * IndexedDB unavailable (old private modes): the queue lives in memory for this page.
 * ES2015, no optional chaining (older Chromium cores on government PCs).
 */
(function (SafeMap) {
  "use strict";

  var S = SafeMap.preventionParts.shared;
  var DB = "safemap-prevention", STORE = "findings", RETRY_MS = 30000;
  var memory = null;  // uuid -> item when IndexedDB cannot be used
  var dbPromise = null, running = null, again = false, listeners = [], items = [], sent = {};

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve) {
      var req;
      try { req = window.indexedDB.open(DB, 1); } catch (e) { memory = {}; resolve(null); return; }
      req.onupgradeneeded = function () {
        if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE, { keyPath: "uuid" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { memory = {}; resolve(null); };
    });
    return dbPromise;
  }
  function tx(mode, work) {
    return openDb().then(function (db) {
      if (!db) return work(null);
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), out = { value: undefined };
        work(t.objectStore(STORE), out);
        t.oncomplete = function () { resolve(out.value); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error("IndexedDB 写入失败")); };
      });
    });
  }
  function all() {
    return tx("readonly", function (store, out) {
      if (!store) return Object.keys(memory).map(function (k) { return memory[k]; });
      var req = store.getAll();
      req.onsuccess = function () { out.value = req.result; };
    }).then(function (list) {
      return (list || []).sort(function (a, b) { return a.created < b.created ? -1 : 1; });
    });
  }
  function put(item) {
    return tx("readwrite", function (store) {
      if (!store) { memory[item.uuid] = item; return; }
      store.put(item);
    });
  }
  function del(uuid) {
    return tx("readwrite", function (store) {
      if (!store) { delete memory[uuid]; return; }
      store.delete(uuid);
    });
  }
  /** Save the item; where a Blob cannot go into IndexedDB, its bytes go in as an ArrayBuffer. */
  function save(item) {
    return put(item).then(null, function () {
      return Promise.all(item.photos.map(function (p) {
        return new Response(p.blob).arrayBuffer().then(function (buf) { p.bytes = buf; delete p.blob; });
      })).then(function () { return put(item); });
    });
  }

  function changed() {
    return all().then(function (list) {
      items = list;
      listeners.forEach(function (fn) { try { fn(list); } catch (e) { /* a panel's problem */ } });
      return list;
    });
  }

  /** Retry later: no network, the server is down or busy, or the user is not signed in. */
  function transient(err) {
    var s = err && err.status;
    return s === undefined || s === null || s === 0 || s >= 500 || s === 401 || s === 408 || s === 429;
  }
  var STOP = { stop: true };

  function sendPhoto(item, photo, i) {
    if (photo.sent) return Promise.resolve();
    var blob = photo.blob || new Blob([photo.bytes], { type: photo.type || "image/jpeg" });
    var fd = new FormData();
    fd.append("stage", "found");
    // The server reads the file's kind from its name first: a camera Blob without one gets it from its type.
    var name = photo.name || "";
    if (!/\.[a-z0-9]{2,5}$/i.test(name)) {
      var type = photo.type || "";
      name = "photo-" + (i + 1) + (type.indexOf("png") >= 0 ? ".png" : type.indexOf("webp") >= 0 ? ".webp" : ".jpg");
    }
    fd.append("file", blob, name);
    return SafeMap.api("api/dangers/" + item.danger_id + "/photos", { method: "POST", body: fd }).then(function (res) {
      photo.sent = true;
      photo.id = res && res.id;
      return put(item);
    });
  }
  function sendOne(item) {
    var first = item.danger_id ? Promise.resolve() : SafeMap.api("api/dangers", { method: "POST", body: item.body }).then(function (res) {
      var f = res && res.feature ? res.feature : res;
      item.danger_id = f.id;
      return put(item);
    });
    return first.then(function () {
      return item.photos.reduce(function (p, photo, i) {
        return p.then(function () { return sendPhoto(item, photo, i); });
      }, Promise.resolve());
    }).then(function () {
      sent[item.uuid] = { state: "sent", danger_id: item.danger_id };
      return del(item.uuid);
    }, function (err) {
      if (transient(err)) throw STOP;
      item.state = "failed";
      item.message = err && err.message ? err.message : "提交失败";
      item.status = err && err.status;
      item.problems = (err && err.problems) || [];
      sent[item.uuid] = { state: "failed", danger_id: item.danger_id, message: item.message, problems: item.problems, status: item.status };
      return put(item);
    });
  }

  /** Send what is queued, oldest first; one run at a time (a call meanwhile runs once more after it). */
  function flush() {
    if (running) { again = true; return running; }
    running = all().then(function (list) {
      var todo = list.filter(function (it) { return it.state !== "failed"; });
      if (!todo.length || navigator.onLine === false) return null;
      return todo.reduce(function (p, it) { return p.then(function () { return sendOne(it); }); }, Promise.resolve());
    }).then(null, function (err) { if (err !== STOP) throw err; }).then(function () {
      running = null;
      return changed();
    }, function (err) {
      running = null;
      return changed().then(function () { throw err; });
    }).then(function (list) {
      if (again) { again = false; return flush(); }
      return list;
    });
    return running;
  }

  function add(body, files) {
    var uuid = body.client_uuid || S.uuid();
    body.client_uuid = uuid;
    var item = {
      uuid: uuid, created: new Date().toISOString(), body: body, danger_id: null, state: "pending", message: "",
      photos: (files || []).map(function (f) { return { blob: f, name: f.name || "", type: f.type || "", sent: false }; })
    };
    return save(item).then(changed).then(flush).then(function () {
      if (sent[uuid]) return sent[uuid];
      return { state: "queued", danger_id: null };
    });
  }

  function remove(uuid) { return del(uuid).then(changed); }

  var api = {
    add: add, flush: flush, remove: remove, list: function () { return items.slice(); },
    reload: changed, count: function () { return items.filter(function (it) { return it.state !== "failed"; }).length; },
    onChange: function (fn) { listeners.push(fn); fn(items); return function () { listeners.splice(listeners.indexOf(fn), 1); }; },
    transient: transient
  };
  SafeMap.preventionQueue = api;

  // From page load: what was kept offline (also before a reload) goes out when the network is back.
  window.addEventListener("online", function () { flush(); });
  setInterval(function () { if (items.some(function (it) { return it.state !== "failed"; })) flush(); }, RETRY_MS);
  SafeMap.whenReady(function () {
    changed().then(function (list) { if (list.length) flush(); });
  });
})(window.SafeMap);

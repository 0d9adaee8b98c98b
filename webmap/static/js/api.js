/*
 * SafeMap map page, module 3 of 10: the API helper, the user's token or sign-in session.
 *
 * Every request of the page goes through SafeMap.url (EventSource, links, tiles) or
 * SafeMap.api (fetch), so the app works behind a path prefix: paths are written as
 * "api/…" (a leading "/" is ignored) and resolved against SafeMap.config.apiBase,
 * which is empty by default, i.e. the directory the page itself was served from.
 */
(function (SafeMap) {
  "use strict";

  var TOKEN_KEY = "safemap.token";
  var remembered = null;  // the token when localStorage is unavailable (private mode)

  /** URL of the app's ``path`` (absolute URLs are returned unchanged). */
  SafeMap.url = function (path) {
    if (/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(path)) return path;
    var base = SafeMap.config.apiBase || "";
    if (base && base.charAt(base.length - 1) !== "/") base += "/";
    return base + String(path).replace(/^\/+/, "");
  };

  /** The user's token ("" when signed out). */
  SafeMap.token = function () {
    if (remembered !== null) return remembered;
    try { return window.localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  };

  /** Keep (or with "" forget) the user's token in this browser. */
  SafeMap.setToken = function (value) {
    remembered = null;
    try {
      if (value) window.localStorage.setItem(TOKEN_KEY, value);
      else window.localStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      remembered = value || "";  // private mode: the token lasts for this page only
    }
    // The dock says who is signed in now (and tells the editing tools through hook "user").
    if (SafeMap.state && SafeMap.state.dock) SafeMap.state.dock.showUser();
  };

  /** The CSRF token of this browser's sign-in session ("" when not signed in; cookie safemap_csrf). */
  SafeMap.csrfToken = function () {
    var m = /(?:^|;\s*)safemap_csrf=([^;]*)/.exec(document.cookie || "");
    return m ? decodeURIComponent(m[1]) : "";
  };

  /**
   * fetch() against the API with the user's token, or the sign-in session's cookie (writes
   * then carry the X-CSRF-Token header the server checks).
   *   options: {method, body (object: sent as JSON; FormData or string: as is), headers}
   * Resolves to the parsed JSON (null for 204; the Response for non-JSON bodies), rejects
   * with an Error whose message is the API's Chinese message, with .status and .problems.
   */
  SafeMap.api = function (path, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    var body = options.body;
    if (body !== undefined && !(body instanceof FormData) && typeof body !== "string") {
      body = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    var secret = SafeMap.token();
    if (secret) headers["Authorization"] = "Bearer " + secret;
    var method = (options.method || "GET").toUpperCase();
    if (!secret && method !== "GET" && method !== "HEAD" && SafeMap.csrfToken()) {
      headers["X-CSRF-Token"] = SafeMap.csrfToken();
    }
    var extra = options.headers || {};
    Object.keys(extra).forEach(function (k) { headers[k] = extra[k]; });
    return fetch(SafeMap.url(path), {
      method: options.method || "GET", headers: headers, body: body, credentials: "same-origin"
    }).then(function (r) {
      var type = r.headers.get("content-type") || "";
      if (!r.ok) {
        var parse = type.indexOf("json") >= 0 ? r.json() : r.text().then(function (t) { return { message: t }; });
        return parse.then(function (err) {
          var e = new Error((err && err.message) || ("请求失败（" + r.status + "）"));
          e.status = r.status;
          e.problems = err && err.problems;
          throw e;
        });
      }
      if (r.status === 204) return null;
      return type.indexOf("json") >= 0 ? r.json() : r;
    });
  };
})(window.SafeMap);

/*
 * SafeMap account pages (/admin/users, /account/password): the one JSON helper they share.
 *
 *   SafeMapAccount.root            the app's base path (the page's data-root)
 *   SafeMapAccount.csrf            the session's CSRF token (set from GET api/session)
 *   SafeMapAccount.api(path, method, body)   fetch JSON with the session cookie; writes carry
 *                                  X-CSRF-Token; a failure rejects with an Error whose
 *                                  message is the server's Chinese message, with .status
 *                                  and .field (the first problem's field)
 */
(function () {
  "use strict";

  var A = window.SafeMapAccount = {
    root: document.body.getAttribute("data-root") || "./",
    csrf: ""
  };

  A.api = function (path, method, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method && method !== "GET") headers["X-CSRF-Token"] = A.csrf;
    return fetch(A.root + path, {
      method: method || "GET",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var e = new Error((data && data.message) || ("请求失败（" + r.status + "）"));
          e.status = r.status;
          e.field = data && data.problems && data.problems[0] ? data.problems[0].field : "";
          throw e;
        }
        return data;
      });
    });
  };
})();

/*
 * SafeMap sign-in page (/login): posts the name and password as JSON to api/session; the
 * server sets the session cookie (HttpOnly) and its CSRF cookie, then the page goes to the
 * map (or to ?next=, a path of this app only).
 */
(function () {
  "use strict";

  var form = document.querySelector(".sm-login-form");
  var error = form.querySelector(".sm-login-error");
  var submit = form.querySelector(".sm-login-submit");

  function target() {
    var next = new URLSearchParams(window.location.search).get("next") || "";
    // Only a path of this app: never another site (open redirect).
    return /^\/(?!\/)[^\\]*$/.test(next) ? next : "./";
  }

  function show(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = form.elements.name.value.trim();
    var password = form.elements.password.value;
    if (!name || !password) { show("请输入用户名和密码"); return; }
    show("");
    submit.disabled = true;
    submit.textContent = "正在登录…";
    fetch("api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ name: name, password: password }),
      credentials: "same-origin"
    }).then(function (r) {
      if (r.ok) { window.location.assign(target()); return null; }
      return r.json().catch(function () { return {}; }).then(function (body) {
        var msg = body && body.message ? body.message : "登录失败（" + r.status + "）";
        if (r.status === 422) msg = "请输入用户名和密码";
        show(msg);
        form.elements.password.value = "";
        form.elements.password.focus();
      });
    }, function () {
      show("无法连接服务器，请检查网络后重试");
    }).then(function () {
      submit.disabled = false;
      submit.textContent = "登录";
    });
  });
})();

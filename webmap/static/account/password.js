/*
 * SafeMap: change one's own password (/account/password). Asks api/session who is signed in
 * (and for the CSRF token), then posts the current and the new password as JSON to
 * api/me/password with X-CSRF-Token. The server keeps this session and ends the others.
 */
(function () {
  "use strict";

  var A = window.SafeMapAccount, api = A.api, root = A.root;
  var main = document.querySelector(".sm-account");
  var blocked = document.querySelector(".sm-blocked");
  var form = document.querySelector(".sm-passwd-form");
  var error = form.querySelector(".sm-passwd-error");
  var submit = form.querySelector(".sm-passwd-submit");
  var done = document.querySelector(".sm-passwd-done");
  var f = form.elements;

  function show(message, input) {
    error.textContent = message;
    error.hidden = !message;
    [f.current_password, f.new_password, f.confirm_password].forEach(function (el) {
      if (el === input) el.setAttribute("aria-invalid", "true");
      else el.removeAttribute("aria-invalid");
    });
    if (input) input.focus();
  }

  function check() {
    var current = f.current_password.value;
    var next = f.new_password.value;
    var again = f.confirm_password.value;
    if (!current) return ["请输入当前密码", f.current_password];
    if (!next) return ["请输入新密码", f.new_password];
    if (next.length < 8) return ["新密码至少 8 个字符", f.new_password];
    if (next.length > 256) return ["新密码最多 256 个字符", f.new_password];
    if (!again) return ["请再次输入新密码", f.confirm_password];
    if (again !== next) return ["两次输入的新密码不一致", f.confirm_password];
    if (next === current) return ["新密码不能与当前密码相同", f.new_password];
    return null;
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var wrong = check();
    if (wrong) { show(wrong[0], wrong[1]); return; }
    show("");
    submit.disabled = true;
    submit.textContent = "正在保存…";
    var body = { current_password: f.current_password.value, new_password: f.new_password.value };
    api("api/me/password", "POST", body).then(function (data) {
      form.reset();
      form.hidden = true;
      var others = data && data.sessions_ended ? "您在其他 " + data.sessions_ended + " 处的登录已退出，" : "";
      done.querySelector(".sm-passwd-done-text").textContent =
        "新密码已生效。" + others + "本机保持登录，下次登录请使用新密码。";
      done.hidden = false;
      done.querySelector(".sm-back").focus();
    }, function (e) {
      if (e.status === 401) {
        blocked.querySelector(".sm-blocked-text").textContent = "登录已过期或已在别处退出，请重新登录后再修改密码。";
        blocked.hidden = false;
        main.hidden = true;
        return;
      }
      var input = null;
      if (e.status === 403 && e.field === "current_password") {
        f.current_password.value = "";
        input = f.current_password;
      } else if (e.field === "new_password") {
        input = f.new_password;
      } else if (e.field === "current_password") {
        input = f.current_password;
      }
      show(e.status ? e.message : "无法连接服务器，请检查网络后重试", input);
    }).then(function () {
      submit.disabled = false;
      submit.textContent = "保存";
    });
  });

  document.querySelector(".sm-signout").addEventListener("click", function () {
    api("api/session", "DELETE").then(function () { window.location.assign(root + "login"); },
      function () { window.location.assign(root + "login"); });
  });

  api("api/session").then(function (data) {
    if (!data.user) { blocked.hidden = false; return; }
    A.csrf = data.csrf_token;
    document.querySelector(".sm-whoami").textContent = data.user.display_name + "（" + data.user.role_label + "）";
    document.querySelector(".sm-signout").hidden = false;
    main.hidden = false;
    f.current_password.focus();
  }, function () {
    blocked.querySelector(".sm-blocked-text").textContent = "无法连接服务器，请检查网络后刷新页面";
    blocked.hidden = false;
  });
})();

/*
 * SafeMap user management (/admin/users, admins only): add accounts, reset passwords,
 * disable (revoke) and enable them. Writes are authenticated by the session cookie and
 * carry its CSRF token (X-CSRF-Token, from GET api/session) as the server requires.
 */
(function () {
  "use strict";

  var A = window.SafeMapAccount, api = A.api, root = A.root;
  var me = null;
  var main = document.querySelector(".sm-admin");
  var blocked = document.querySelector(".sm-blocked");
  var tbody = document.querySelector(".sm-users tbody");
  var addForm = document.querySelector(".sm-add");
  var addMsg = document.querySelector(".sm-add-msg");
  var listMsg = document.querySelector(".sm-list-msg");

  function say(el, text, ok) {
    el.textContent = text;
    el.className = "sm-msg " + (ok ? "sm-ok" : "sm-err") + (el === addMsg ? " sm-add-msg" : " sm-list-msg");
  }

  function cell(tr, label, text) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function button(td, text, cls, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener("click", onClick);
    td.appendChild(b);
    return b;
  }

  function resetForm(td, user) {
    if (td.querySelector(".sm-reset")) return;
    var box = document.createElement("div");
    box.className = "sm-reset";
    var input = document.createElement("input");
    input.type = "password";
    input.autocomplete = "new-password";
    input.placeholder = "新密码（至少 8 位）";
    input.setAttribute("aria-label", user.display_name + " 的新密码");
    box.appendChild(input);
    button(box, "确定", "sm-primary", function () {
      api("api/users/" + encodeURIComponent(user.name) + "/password", "POST", { password: input.value }).then(function () {
        say(listMsg, "已重设 " + user.display_name + " 的密码，其已登录的会话均已结束", true);
        load();
      }, function (e) { say(listMsg, e.message, false); });
    });
    button(box, "取消", "", function () { box.remove(); });
    td.appendChild(box);
    input.focus();
  }

  function render(users) {
    tbody.textContent = "";
    users.forEach(function (u) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-user", u.name);
      if (u.status === "disabled") tr.className = "sm-disabled";
      cell(tr, "用户名", u.name);
      cell(tr, "姓名", u.display_name);
      cell(tr, "角色", u.role_label);
      var st = cell(tr, "状态", "");
      var badge = document.createElement("span");
      badge.className = "sm-status";
      badge.textContent = u.status_label;
      st.appendChild(badge);
      cell(tr, "在线会话", String(u.sessions));
      cell(tr, "创建时间", u.created_label);
      var actions = cell(tr, "操作", "");
      actions.className = "sm-actions";
      button(actions, "重设密码", "sm-passwd", function () { resetForm(actions, u); });
      if (u.status === "disabled") {
        button(actions, "启用", "sm-enable", function () {
          api("api/users/" + encodeURIComponent(u.name) + "/enable", "POST").then(function () {
            say(listMsg, "已启用 " + u.display_name, true);
            load();
          }, function (e) { say(listMsg, e.message, false); });
        });
      } else if (!me || u.name !== me.name) {
        button(actions, "停用", "sm-danger sm-disable", function () {
          if (!window.confirm("停用 " + u.display_name + "（" + u.name + "）？其已登录的会话将立即结束。")) return;
          api("api/users/" + encodeURIComponent(u.name) + "/disable", "POST").then(function () {
            say(listMsg, "已停用 " + u.display_name + "，其会话已结束", true);
            load();
          }, function (e) { say(listMsg, e.message, false); });
        });
      }
      tbody.appendChild(tr);
    });
  }

  function load() {
    return api("api/users").then(function (data) {
      var select = addForm.elements.role;
      if (!select.options.length) {
        data.roles.forEach(function (r) {
          var o = document.createElement("option");
          o.value = r.code;
          o.textContent = r.label;
          select.appendChild(o);
        });
        select.value = "viewer";
      }
      render(data.users);
    });
  }

  addForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = addForm.elements;
    var body = {
      name: f.name.value.trim(),
      display_name: f.display_name.value.trim(),
      role: f.role.value,
      password: f.password.value
    };
    if (!body.name) { say(addMsg, "请填写用户名", false); return; }
    if (body.password.length < 8) { say(addMsg, "初始密码至少 8 个字符", false); return; }
    api("api/users", "POST", body).then(function () {
      say(addMsg, "已新增用户 " + (body.display_name || body.name), true);
      addForm.reset();
      f.role.value = "viewer";
      load();
    }, function (e) { say(addMsg, e.message, false); });
  });

  document.querySelector(".sm-signout").addEventListener("click", function () {
    api("api/session", "DELETE").then(function () { window.location.assign(root + "login"); },
      function () { window.location.assign(root + "login"); });
  });

  api("api/session").then(function (data) {
    if (!data.user) { blocked.hidden = false; return null; }
    me = data.user;
    A.csrf = data.csrf_token;
    document.querySelector(".sm-whoami").textContent = me.display_name + "（" + me.role_label + "）";
    document.querySelector(".sm-signout").hidden = false;
    if (me.role !== "admin") {
      document.querySelector(".sm-blocked-text").textContent =
        "当前登录的 " + me.display_name + "（" + me.role_label + "）不是系统管理员。";
      blocked.hidden = false;
      return null;
    }
    main.hidden = false;
    return load();
  }, function () {
    blocked.hidden = false;
  });
})();

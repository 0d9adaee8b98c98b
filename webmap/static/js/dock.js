/*
 * SafeMap map page: the tool dock (panel tabs, signed-in user with 修改密码 and 登录/退出).
 *
 * Panel scripts (webmap/static/panels/*.js, listed in webmap/panels.py) call
 *   SafeMap.registerPanel(name, build)
 * and build(container, state) fills the panel's body the first time it is opened. It may
 * return the panel's handle (its drawings and entry points, for links and the browser
 * tests), available afterwards as SafeMap.panel(name). Panels read SafeMap.state but do
 * not write to it or to each other; what they share goes through SafeMap.hooks.
 */
(function (SafeMap) {
  "use strict";

  var builders = {};

  SafeMap.Dock = L.Control.extend({
    options: { position: "topleft" },

    onAdd: function () {
      var div = L.DomUtil.create("div", "sm-dock leaflet-bar");
      div.innerHTML =
        '<button type="button" class="sm-dock-handle" title="展开/收起工具面板" aria-label="展开/收起工具面板"><i></i></button>' +
        '<button type="button" class="sm-dock-grow" title="面板展开到全屏">展开</button>' +
        '<div class="sm-dock-tabs" role="tablist"></div>' +
        '<div class="sm-dock-user"><span class="sm-user"></span>' +
        '<a class="sm-admin-link" href="' + SafeMap.url("admin/users") + '" hidden>用户管理</a>' +
        '<a class="sm-passwd-link" href="' + SafeMap.url("account/password") + '" hidden>修改密码</a>' +
        '<button type="button" class="sm-token-btn sm-sign-btn" title="登录后可编辑、调度">登录</button></div>' +
        '<div class="sm-dock-body" hidden></div>';
      this._tabs = div.querySelector(".sm-dock-tabs");
      this._body = div.querySelector(".sm-dock-body");
      this._user = div.querySelector(".sm-user");
      this._panels = {};
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      this._sign = div.querySelector(".sm-sign-btn");
      this._admin = div.querySelector(".sm-admin-link");
      this._passwd = div.querySelector(".sm-passwd-link");
      L.DomEvent.on(this._sign, "click", this._signInOut, this);
      this._sheet(div);
      this.showUser();
      return div;
    },

    /**
     * Phones (≤ 600 px): the dock is a bottom sheet (safemap.css) at one of three heights:
     * 0 folded to its tab row, 1 half the screen (the map above it), 2 nearly full (long
     * results, forms). Tapping the handle folds or opens it; its 展开/收起 button switches
     * half and full; dragging the handle up or down moves one height (two for a long drag).
     * Its height is published as --sm-sheet so the bottom controls (legend, scale) sit above it.
     * Larger screens: the panel body gets the room left below it, and scrolls inside.
     */
    _sheet: function (div) {
      var self = this, handle = div.querySelector(".sm-dock-handle"), grow = div.querySelector(".sm-dock-grow"), startY = null;
      this._narrow = window.matchMedia("(max-width: 600px)");
      this._level = 1;
      L.DomEvent.on(handle, "click", function () { self.sheet(self._level === 0 ? 1 : 0); });
      L.DomEvent.on(grow, "click", function () { self.sheet(self._level === 2 ? 1 : 2); });
      L.DomEvent.on(handle, "touchstart", function (e) { startY = e.touches[0].clientY; });
      L.DomEvent.on(handle, "touchend", function (e) {
        if (startY === null) return;
        var dy = e.changedTouches[0].clientY - startY, steps = Math.abs(dy) > window.innerHeight / 3 ? 2 : 1;
        startY = null;
        if (Math.abs(dy) > 24) {
          L.DomEvent.preventDefault(e);
          self.sheet(Math.max(0, Math.min(2, self._level + (dy < 0 ? steps : -steps))));
        }
      });
      var refit = function () { self.fit(); };
      window.addEventListener("resize", refit);
      if (this._narrow.addEventListener) this._narrow.addEventListener("change", refit);
      if (window.ResizeObserver) new window.ResizeObserver(refit).observe(div);
    },

    /** The bottom sheet's height on a phone: 0 folded to its tabs, 1 half, 2 nearly full. */
    sheet: function (level) {
      var div = this.getContainer();
      this._level = level;
      div.classList.toggle("sm-sheet-min", level === 0);
      div.classList.toggle("sm-sheet-full", level === 2);
      // At full height the sheet covers the top-right controls (layers, basemaps): above them.
      if (this._map) this._map.getContainer().classList.toggle("sm-with-full-sheet", level === 2);
      var grow = div.querySelector(".sm-dock-grow");
      grow.textContent = level === 2 ? "收起" : "展开";
      grow.title = level === 2 ? "面板收回半屏，露出地图" : "面板展开到全屏";
      this.fit();
    },

    /** Fold (``true``) or unfold (half height) the bottom sheet (phones). */
    fold: function (folded) {
      this.sheet(folded ? 0 : 1);
    },

    fit: function () {
      var div = this.getContainer(), map = this._map;
      if (!div || !map) return;
      var box = map.getContainer();
      if (this._narrow && this._narrow.matches) {
        this._body.style.maxHeight = "";
        box.style.setProperty("--sm-sheet", div.offsetHeight + "px");
        return;
      }
      box.style.removeProperty("--sm-sheet");
      var top = this._body.getBoundingClientRect().top;
      if (this._body.hidden || !top) return;
      var below = box.querySelector(".leaflet-bottom.leaflet-left");
      var room = window.innerHeight - top - (below ? below.offsetHeight : 40) - 8;  // the scale bar and coordinates
      this._body.style.maxHeight = Math.max(room, 160) + "px";
    },

    add: function (name, title, build) {
      var tab = L.DomUtil.create("button", "sm-dock-tab", this._tabs);
      tab.type = "button";
      tab.textContent = title;
      tab.setAttribute("data-panel", name);
      var pane = L.DomUtil.create("div", "sm-panel sm-panel-" + name, this._body);
      pane.hidden = true;
      var heading = L.DomUtil.create("div", "sm-panel-title", pane);
      heading.textContent = title;
      var content = L.DomUtil.create("div", "sm-panel-body", pane);
      this._panels[name] = { tab: tab, pane: pane, built: false, build: build, content: content, handle: null };
      L.DomEvent.on(tab, "click", function () { this.toggle(name); }, this);
    },

    toggle: function (name, open) {
      var self = this;
      Object.keys(this._panels).forEach(function (key) {
        var p = self._panels[key];
        var show = key === name ? (open === undefined ? p.pane.hidden : open) : false;
        p.pane.hidden = !show;
        p.tab.classList.toggle("sm-active", show);
        if (show && !p.built) {
          p.built = true;
          try {
            p.handle = p.build(p.content, SafeMap.state) || null;
          } catch (err) {
            p.content.textContent = "面板加载失败：" + err.message;
            throw err;
          }
        }
      });
      this._body.hidden = !Object.keys(this._panels).some(function (k) { return !self._panels[k].pane.hidden; });
      if (!this._body.hidden && this._level === 0) this.sheet(1);
      this.fit();
      return this._panels[name] ? this._panels[name].content : null;
    },

    handle: function (name) {
      return this._panels[name] ? this._panels[name].handle : null;
    },

    /** Show who is signed in (session cookie, or a script's token) with 登录 / 退出. */
    showUser: function () {
      var el = this._user, sign = this._sign, admin = this._admin, passwd = this._passwd;
      function show(user) {
        SafeMap.user = user;  // {name, display_name, role, role_label} or null (read-only)
        el.textContent = user ? user.display_name + "（" + (user.role_label || SafeMap.roleLabel(user.role)) + "）" : "只读";
        el.title = user ? "用户名 " + user.name : "未登录：只能浏览";
        sign.textContent = user ? "退出" : "登录";
        sign.title = user ? "退出登录" : "登录后可编辑、调度";
        admin.hidden = !(user && user.role === "admin");
        passwd.hidden = !user || !!user.token;  // a script's token has no password of its own
        SafeMap.hooks.fire("user", user);
      }
      if (SafeMap.token()) {
        SafeMap.api("api/me").then(function (me) {
          show({ name: me.name, display_name: me.name, role: me.role, role_label: SafeMap.roleLabel(me.role), token: true });
        }, function () { show(null); el.textContent = "令牌无效"; });
        return;
      }
      SafeMap.api("api/session").then(function (s) { show(s.user); }, function () { show(null); });
    },

    _signInOut: function () {
      if (!SafeMap.user) {
        var here = window.location.pathname + window.location.search + window.location.hash;
        window.location.assign(SafeMap.url("login") + "?next=" + encodeURIComponent(here));
        return;
      }
      var self = this;
      if (SafeMap.user.token) {  // a script's token: forget it in this browser
        SafeMap.setToken("");
        self.showUser();
        return;
      }
      SafeMap.api("api/session", { method: "DELETE" }).then(function () { self.showUser(); }, function () { self.showUser(); });
    }
  });

  /** Called by each panel script: ``build(container, state)`` fills the panel when first opened. */
  SafeMap.registerPanel = function (name, build) {
    builders[name] = build;
  };

  /** name -> build of every registered panel (SafeMap.populate docks those the page lists). */
  SafeMap.panelBuilders = function () {
    return builders;
  };

  /** Open (or close with ``open=false``) a tool panel; returns its content element. */
  SafeMap.openPanel = function (name, open) {
    var state = SafeMap.state;
    return state && state.dock ? state.dock.toggle(name, open === undefined ? true : open) : null;
  };

  /** The handle a panel's build returned (null before it was first opened). */
  SafeMap.panel = function (name) {
    var state = SafeMap.state;
    return state && state.dock ? state.dock.handle(name) : null;
  };
})(window.SafeMap);

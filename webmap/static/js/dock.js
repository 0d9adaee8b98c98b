/*
 * SafeMap map page, module 8 of 10: the tool dock (panel tabs, 令牌 button, signed-in user).
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
        '<div class="sm-dock-tabs" role="tablist"></div>' +
        '<div class="sm-dock-user"><button type="button" class="sm-token-btn" title="输入令牌后可编辑、调度">令牌</button>' +
        '<span class="sm-user"></span></div>' +
        '<div class="sm-dock-body" hidden></div>';
      this._tabs = div.querySelector(".sm-dock-tabs");
      this._body = div.querySelector(".sm-dock-body");
      this._user = div.querySelector(".sm-user");
      this._panels = {};
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(div.querySelector(".sm-token-btn"), "click", this._askToken, this);
      this.showUser();
      return div;
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
      return this._panels[name] ? this._panels[name].content : null;
    },

    handle: function (name) {
      return this._panels[name] ? this._panels[name].handle : null;
    },

    showUser: function () {
      var el = this._user;
      if (!SafeMap.token()) { el.textContent = "只读"; return; }
      SafeMap.api("api/me").then(function (me) {
        el.textContent = me.name + "（" + SafeMap.roleLabel(me.role) + "）";
      }, function () { el.textContent = "令牌无效"; });
    },

    _askToken: function () {
      var value = window.prompt("请输入管理员发放的令牌（留空则退出登录）：", "");
      if (value === null) return;
      SafeMap.setToken(value.trim());
      this.showUser();
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

"""folium/branca elements of the map page that folium does not ship.

Each element is a thin template; the behaviour lives in the scripts under ``static/js/``
(see :data:`webmap.assets.PAGE_SCRIPTS`) so it can be read and debugged as ordinary JavaScript.
"""

from __future__ import annotations

from typing import Any

import orjson
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import MeasureControl
from folium.template import Template


def json_for_script(value: Any) -> str:
    """JSON safe to embed in a ``<script>`` block (no ``</script>`` or ``<!--`` can close it)."""
    text = orjson.dumps(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def use_assets(element: JSCSSMixin, js: list[tuple[str, str]], css: list[tuple[str, str]]) -> JSCSSMixin:
    """Point an element's JS/CSS links at our static files instead of folium's CDN defaults.

    Set on the instance: the class-level lists are shared by every map in the process.
    """
    element.default_js = list(js)
    element.default_css = list(css)
    return element


class Verbatim(Element):
    """Text put into the page as is.

    branca wraps macro output in ``Element(text)``, which compiles the text as a Jinja
    template again: a feature name containing ``{{`` would then be evaluated on the
    server. Our elements hand their output over through this class instead.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the text unchanged."""
        return self.text


class VerbatimMacro(MacroElement):
    """A macro element whose output (and data) is never re-read as a template.

    ``js``/``css`` list (name, url) links added to the page head.
    """

    js: tuple[tuple[str, str], ...] = ()
    css: tuple[tuple[str, str], ...] = ()

    def render(self, **kwargs: Any) -> None:
        """Add this element's links, header, body HTML and script to the figure."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "render the element inside a Figure"
        for name, url in self.js:
            figure.header.add_child(JavascriptLink(url), name=name)
        for name, url in self.css:
            figure.header.add_child(CssLink(url), name=name)
        parts = (("header", figure.header), ("html", figure.html), ("script", figure.script))
        for part, target in parts:
            macro = self._template.module.__dict__.get(part)
            if macro is not None:
                target.add_child(Verbatim(str(macro(self, kwargs))), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class PageFigure(Figure):
    """The HTML document: folium's figure with ``lang="zh-CN"``.

    The language matters for display, not just metadata: without it Chromium may
    draw Han characters with Japanese glyph forms from the Noto CJK fonts.
    """

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n'
        "<head>\n"
        '<meta charset="utf-8" />\n'
        # No favicon request (and no 404 in the console); the title bar carries the brand.
        '<link rel="icon" href="data:," />\n'
        "{% if this.title %}<title>{{ this.title|e }}</title>{% endif %}"
        "    {{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        "<body>\n"
        "    {{ this.html.render(**kwargs) }}\n"
        "</body>\n"
        "<script>\n"
        "    {{ this.script.render(**kwargs) }}\n"
        "</script>\n"
        "</html>\n",
    )

    def __init__(self, title: str) -> None:
        super().__init__(title=title)
        # branca adds an http-equiv charset tag; the <meta charset> above replaces it.
        self.header._children.pop("meta_http", None)


class PageChrome(VerbatimMacro):
    """Title bar above the map and the message shown when the scripts did not load."""

    _template = Template(
        """
{% macro html(this, kwargs) %}
<header class="sm-header">
  <div class="sm-brand" aria-hidden="true"></div>
  <h1 class="sm-title">{{ this.title|e }}</h1>
  {%- if this.subtitle %}<div class="sm-subtitle">{{ this.subtitle|e }}</div>{% endif %}
  <div class="sm-header-right">{{ this.status|e }}</div>
</header>
{%- if this.warning %}
<div class="sm-warning" role="alert">{{ this.warning|e }}</div>
{%- endif %}
<div id="sm-fail" class="sm-fail" role="alert" hidden>
  地图组件未能加载（{{ this.static_prefix|e }}/vendor/ 不可用）。请联系系统管理员在服务器上运行
  <code>python -m webmap.vendor</code> 后刷新本页。
</div>
{% endmacro %}
"""
    )

    def __init__(
        self,
        title: str,
        *,
        subtitle: str = "",
        status: str = "",
        warning: str = "",
        static_prefix: str = "/static",
    ) -> None:
        super().__init__()
        self._name = "PageChrome"
        self.title = title
        self.subtitle = subtitle
        self.status = status
        self.warning = warning
        self.static_prefix = static_prefix


class SafeMapSetup(VerbatimMacro):
    """The page's configuration block and the call of ``SafeMap.setup`` on it.

    The configuration (bounds, attribution, basemap, API base, catalogue enums and role
    names: see :func:`webmap.page.page_config`) travels as ``<script type="application/json"
    id="safemap-config">``. Rendered right after the map so the search box and zoom
    buttons sit above the plugin buttons (Leaflet stacks controls in the order they are added).
    """

    _template = Template(
        """
{% macro html(this, kwargs) %}
<script type="application/json" id="safemap-config">{{ this.config_json }}</script>
{% endmacro %}
{% macro script(this, kwargs) %}
    var {{ this.get_name() }} = SafeMap.setup(
        {{ this._parent.get_name() }},
        JSON.parse(document.getElementById("safemap-config").textContent));
{% endmacro %}
"""
    )

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "SafeMapSetup"
        self.config_json = json_for_script(config)


class SafeMapData(VerbatimMacro):
    """The embedded features, drawn into the folium groups by ``SafeMap.populate``.

    The data travels as a ``<script type="application/json">`` block: ``JSON.parse``
    of one string is much faster for V8 than compiling the same data as a JS literal.
    """

    _template = Template(
        """
{% macro html(this, kwargs) %}
<script type="application/json" id="safemap-data">{{ this.data_json }}</script>
{% endmacro %}
{% macro script(this, kwargs) %}
    SafeMap.populate(
        {{ this._parent.get_name() }},
        {
        {%- for name, group in this.groups.items() %}
            {{ name|tojson }}: {{ group.get_name() }},
        {%- endfor %}
        },
        JSON.parse(document.getElementById("safemap-data").textContent)
    );
{% endmacro %}
"""
    )

    def __init__(self, data: dict[str, Any], groups: dict[str, Any]) -> None:
        super().__init__()
        self._name = "SafeMapData"
        self.data_json = json_for_script(data)
        self.groups = groups


class LoadCheck(VerbatimMacro):
    """Shows ``#sm-fail`` when Leaflet or the page's scripts are missing (vendor step not run)."""

    _template = Template(
        """
{% macro html(this, kwargs) %}
<script>
  window.addEventListener("load", function () {
    if (!window.L || !window.SafeMap) {
      document.getElementById("sm-fail").hidden = false;
    }
  });
</script>
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "LoadCheck"


class Measure(MeasureControl):
    """folium's measuring control with its Leaflet >= 1.8 fix, minus a comment holding a URL.

    The page names no outside address at all (the tests check for any ``http(s)://``
    besides the basemap's tiles); the fix itself is unchanged: without it the capture
    marker pans the map (ljagis/leaflet-measure issue 171).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = new L.Control.Measure(
                {{ this.options|tojavascript }});
            {{this._parent.get_name()}}.addControl({{this.get_name()}});
            L.Control.Measure.include({
                _setCaptureMarkerIcon: function () {
                    this._captureMarker.options.autoPanOnFocus = false;
                    this._captureMarker.setIcon(
                        L.divIcon({
                            iconSize: this._map.getSize().multiplyBy(2)
                        })
                    );
                },
            });
        {% endmacro %}
        """
    )

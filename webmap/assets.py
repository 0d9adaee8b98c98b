"""Where the map page's browser assets live, and which vendored files it needs.

Everything the page loads is served by the app from :data:`STATIC_DIR` (mounted at
``/static``): our own ``safemap.css`` and the scripts of :data:`PAGE_SCRIPTS`
(committed) and the npm libraries copied into ``static/vendor/`` by
``python -m webmap.vendor`` (not committed). Government intranets are offline, so no
asset may come from a CDN.

The page's own JavaScript is a set of small ES2015 scripts, each adding one part to the
single global ``window.SafeMap``, loaded with plain ``<script>`` tags in the order of
:data:`PAGE_SCRIPTS`. Not ES modules: module scripts are deferred, so they would run
after folium's inline script that calls ``SafeMap.setup``, and the Chromium 4x–5x cores
of some browsers still on government PCs do not load them at all. No bundler: the files
are served as written, so what a developer reads is what the browser runs.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

#: Directory mounted at ``/static`` by the app.
STATIC_DIR: Path = Path(__file__).resolve().parent / "static"
#: Where ``python -m webmap.vendor`` copies the npm files.
VENDOR_DIR: Path = STATIC_DIR / "vendor"
#: The npm project whose ``node_modules`` the vendored files come from.
NPM_DIR: Path = Path(__file__).resolve().parent

_MEASURE_ICONS = ("cancel", "check", "focus", "rulers", "start", "trash")

#: Vendored file (relative to ``static/vendor``) -> its source (relative to ``node_modules``).
#: Sub-directories keep each package's own layout so the relative ``url(...)``s in
#: its CSS keep working.
VENDOR_FILES: dict[str, str] = {
    "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
    **{
        f"leaflet/images/{name}": f"leaflet/dist/images/{name}"
        for name in (
            "layers.png",
            "layers-2x.png",
            "marker-icon.png",
            "marker-icon-2x.png",
            "marker-shadow.png",
        )
    },
    "leaflet/LICENSE": "leaflet/LICENSE",
    "markercluster/leaflet.markercluster.js": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markercluster/MarkerCluster.css": "leaflet.markercluster/dist/MarkerCluster.css",
    "markercluster/LICENSE.txt": "leaflet.markercluster/MIT-LICENCE.txt",
    # The 'cn' build carries the Chinese strings (测量, 路径长度, 面积 …).
    "measure/leaflet-measure.cn.js": "leaflet-measure/dist/leaflet-measure.cn.js",
    "measure/leaflet-measure.css": "leaflet-measure/dist/leaflet-measure.css",
    **{
        f"measure/assets/{icon}{suffix}.png": f"leaflet-measure/dist/assets/{icon}{suffix}.png"
        for icon in _MEASURE_ICONS
        for suffix in ("", "_@2X")
    },
    "measure/LICENSE": "leaflet-measure/LICENSE",
    # The UMD build works from a plain <script> tag (the default build is an ES module).
    "fullscreen/Control.FullScreen.js": "leaflet.fullscreen/dist/Control.FullScreen.umd.js",
    "fullscreen/Control.FullScreen.css": "leaflet.fullscreen/dist/Control.FullScreen.css",
    "fullscreen/LICENSE.md": "leaflet.fullscreen/LICENSE.md",
    # Vector tiles for layers too large to embed in the page (roads, targets, enterprises).
    "vectorgrid/Leaflet.VectorGrid.bundled.min.js": "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
    "vectorgrid/README.md": "leaflet.vectorgrid/README.md",  # licence (Beerware) and bundled deps
    **{
        f"layers-tree/{name}": f"leaflet.control.layers.tree/{name}"
        for name in ("L.Control.Layers.Tree.js", "L.Control.Layers.Tree.css", "LICENSE")
    },
    # Drawing and editing features on the map (js/edit.js): geoman's bundle carries its
    # own dependencies (turf, lodash) and Chinese strings (map.pm.setLang("zh")).
    "geoman/leaflet-geoman.js": "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js",
    "geoman/leaflet-geoman.css": "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css",
    "geoman/LICENSE": "@geoman-io/leaflet-geoman-free/LICENSE",
    # The API documentation pages /docs (Swagger UI) and /redoc (the standalone bundle:
    # React and the rest inlined, no other file fetched); see api/http/routers/docs.py.
    **{
        f"swagger-ui/{name}": f"swagger-ui-dist/{name}"
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "oauth2-redirect.js", "LICENSE", "NOTICE")
    },
    "redoc/redoc.standalone.js": "redoc/bundles/redoc.standalone.js",
    "redoc/redoc.standalone.js.LICENSE.txt": "redoc/bundles/redoc.standalone.js.LICENSE.txt",
    "redoc/LICENSE": "redoc/LICENSE",
}

#: Replacements made while copying (vendored file -> (regular expression, replacement) pairs),
#: each removing a URL a library would fetch from the internet at run time. Redoc 2.5 has no
#: option to hide its sidebar's "API docs by Redocly" logo, an <img> loaded from its vendor's
#: server: ``data:,`` loads nothing, so the image's error handler hides it and no request
#: leaves the intranet. A pattern that no longer matches stops vendoring.
VENDOR_PATCHES: dict[str, tuple[tuple[bytes, bytes], ...]] = {
    "redoc/redoc.standalone.js": ((rb"https?://[^\"'\s]+/logo-mini\.svg", b"data:,"),),
}

#: The page's own scripts, in load order (each needs only those before it).
PAGE_SCRIPTS: tuple[str, ...] = (
    "js/core.js",  # the SafeMap namespace, config and catalogue look-ups, hooks
    "js/compat.js",  # fixes for the vendored Leaflet plugins
    "js/api.js",  # URLs under the app's base, the API helper, the user's token
    "js/draw.js",  # catalogue layers drawn from the data block or vector tiles
    "js/popups.js",  # the feature popup: clicks, tiled picks, search results
    "js/search.js",  # the name search box
    "js/controls.js",  # pointer coordinates and the legend
    "js/dock.js",  # the tool dock: panel tabs, token button, signed-in user
    "js/events.js",  # live server-sent events
    "js/coords.js",  # 坐标定位: typed coordinates, copy a point's coordinates
    "js/edit.js",  # editing features on the map (geoman) with the catalogue's attribute form
    "js/sync.js",  # every open map redraws what others change (event stream ``features``)
    "js/table.js",  # 属性表: a layer's features as a sortable, filterable, exportable table
    "js/importer.js",  # 导入: a file into a layer, from the attribute table (editors)
    "js/print.js",  # the print layout and the 打印 button (browser print, server PDF/PNG)
    "js/results.js",  # 分析结果: panel results as layer-control entries with legend and 清除
    "js/main.js",  # SafeMap.setup / populate: the entry points the page calls
)

#: Our own assets, committed in ``static/``.
OWN_FILES: tuple[str, ...] = ("safemap.css", "print.css", "edit.css", "table.css", *PAGE_SCRIPTS)


def missing_assets() -> list[Path]:
    """Return every asset the page needs that is not on disk (empty when all are there).

    Returns
    -------
    list of Path
        Absolute paths of missing files, own assets first.
    """
    wanted = [STATIC_DIR / name for name in OWN_FILES]
    wanted += [VENDOR_DIR / rel for rel in VENDOR_FILES]
    return [path for path in wanted if not path.is_file()]


def vendored() -> bool:
    """Whether every vendored and own asset exists (``python -m webmap.vendor`` was run).

    Returns
    -------
    bool
        ``True`` when the page can be served fully offline.
    """
    return not missing_assets()


@lru_cache(maxsize=64)
def _version(path: Path, mtime_ns: int) -> str:
    """Short content hash: a new release gets new URLs, so browsers do not keep stale files."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def _versioned(url: str, path: Path) -> str:
    try:
        return f"{url}?v={_version(path, path.stat().st_mtime_ns)}"
    except OSError:  # not vendored yet: the page says so (LoadCheck) instead of failing here
        return url


def vendor_url(static_prefix: str, rel: str) -> str:
    """URL of a vendored file under the app's static mount.

    Parameters
    ----------
    static_prefix
        Where :data:`STATIC_DIR` is mounted, e.g. ``/static``.
    rel
        Path relative to ``static/vendor`` (a key of :data:`VENDOR_FILES`).

    Returns
    -------
    str
        e.g. ``/static/vendor/leaflet/leaflet.js?v=1a2b3c4d5e``.
    """
    if rel not in VENDOR_FILES:
        raise KeyError(f"{rel} is not a vendored file; add it to VENDOR_FILES")
    return _versioned(f"{static_prefix.rstrip('/')}/vendor/{rel}", VENDOR_DIR / rel)


def own_url(static_prefix: str, name: str) -> str:
    """URL of one of our own assets (``safemap.css``, page and panel scripts) under the static mount."""
    if name not in OWN_FILES and not (name.startswith("panels/") and (STATIC_DIR / name).is_file()):
        raise KeyError(name)
    return _versioned(f"{static_prefix.rstrip('/')}/{name}", STATIC_DIR / name)

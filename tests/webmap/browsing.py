"""Headless Chromium against the real app, every other host blocked: shared by the browser tests.

``LiveServer`` runs ``api.app.create_app`` on a free 127.0.0.1 port in a daemon thread;
``Visit`` loads a page, aborts and records any request to another host, and collects page
and console errors. Tests wait on conditions (``wait_for_function``, Playwright ``expect``,
:meth:`Visit.painted`), never for a fixed time. The page's one global is ``SafeMap``; its
running state is ``SafeMap.state`` (map, layers, features …). The ``browser`` fixture
(tests/webmap/conftest.py) launches Debian's Chromium once per session (never
Playwright's own download).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from safemap.layers.store import FeatureStore
from tests.support.background_server import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = "http://127.0.0.1:"
#: The page has drawn its features (SafeMap.populate, two frames later).
READY = "() => !!(window.SafeMap && SafeMap.state && SafeMap.state.ready === true)"


class LiveServer:
    """uvicorn serving ``app`` from a daemon thread until :meth:`stop`."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.url = f"{LOCAL}{self.port}/"

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no client is connected (closed pages' event streams have ended)."""
        deadline = time.monotonic() + timeout
        state = self.server.server_state
        while state.connections and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def app_for(store: FeatureStore, basemap: str = "none", **settings: Any) -> Any:
    """The product's app serving ``store`` with the given settings (Yumin extent, no live worker by default)."""
    from safemap.api.http.app import create_app
    from safemap.api.settings import YUMIN_EXTENT, Settings

    settings.setdefault("extent", YUMIN_EXTENT)
    # The live worker writes on its own (devices gone silent, overdue findings raised as alarms every
    # 30 s): a page test serving the shared demo store must not; a test of that work asks for it.
    settings.setdefault("live_worker", False)
    return create_app(Settings(basemap=basemap, gpkg_path=Path("unused.gpkg"), **settings), store=store)


class Visit:
    """One page load: blocked requests, page errors and console errors recorded."""

    def __init__(self, browser: Any, url: str, size: tuple[int, int] = (1600, 900), ready: str | None = READY) -> None:
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.goto(url)
        if ready is not None:  # None: a page other than the map (the caller waits for its own sign)
            self.page.wait_for_function(ready, timeout=20_000)

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def screen_point(self, layer: str, feature_id: int) -> tuple[float, float]:
        """Where feature ``feature_id`` of ``layer`` is drawn, in page pixels."""
        return tuple(
            self.js(
                """([name, id]) => {
                  const m = SafeMap.state.map, lyr = SafeMap.find(name, id);
                  const ll = lyr.getLatLng ? lyr.getLatLng() : lyr.getCenter();
                  const p = m.latLngToContainerPoint(ll), r = m.getContainer().getBoundingClientRect();
                  return [r.left + p.x, r.top + p.y];
                }""",
                [layer, feature_id],
            )
        )

    def painted(self) -> None:
        """Wait until the browser has painted twice (a view change drawn, a click's effects shown)."""
        self.page.wait_for_function(
            "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"
        )

    def popup_shown(self) -> Any:
        """The open feature popup, once it has faded in."""
        from playwright.sync_api import expect

        popup = self.page.locator(".leaflet-popup")
        expect(popup).to_have_css("opacity", "1")
        return self.page.locator(".leaflet-popup-content")

    def close(self) -> None:
        self.context.close()

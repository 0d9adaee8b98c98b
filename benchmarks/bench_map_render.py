"""First full render of the map page in headless Chromium (target: under 2 s).

Usage::

    python benchmarks/bench_map_render.py [--runs 5] [--basemap none] [--synthetic]

Fills a GeoPackage with the demo county (``layers.demo.build_demo`` when it exists
and works) or, failing that or with ``--synthetic``, with a synthetic county of the
same size (~3,000 road segments, ~650 points and polygons inside Yumin's extent).
Then serves the product app (``api.app.create_app``) from a separate process on
127.0.0.1, loads ``/`` in fresh browser contexts
(empty cache, every other host blocked) and prints:

* server render: ``render_map`` time in Python (first request after a write);
* page size;
* first full render: navigation start -> ``SafeMap.state.ready`` (all layers drawn),
  for the first load (includes the server render) and the median of later loads.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from safemap.layers.store import FeatureStore, open_store  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_county import EXTENT, build_synthetic  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --------------------------------------------------------------------------- data
def demo_store(path: Path, synthetic: bool) -> tuple[FeatureStore, str]:
    """A store with the demo county (or the synthetic stand-in) and which one it is."""
    store = open_store(path, extent=EXTENT)
    if not synthetic:
        try:
            from safemap.layers.demo import build_demo  # type: ignore[attr-defined]

            build_demo(store)
            return store, "safemap.layers.demo.build_demo"
        except Exception as exc:  # the demo builder is optional here
            print(f"(demo builder not usable: {type(exc).__name__}: {exc}; using synthetic data)")
            store.close()
            path.unlink(missing_ok=True)
            store = open_store(path, extent=EXTENT)
    build_synthetic(store)
    return store, "synthetic"


# --------------------------------------------------------------------------- serving
def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_server(store_path: str, options: Any, port: int) -> None:
    """Child process: serve the product app (``api.app.create_app``) on the store.

    Falls back to :func:`map_app` (the page alone) when the API package cannot be
    imported, so the page can be timed while the API is being rebuilt.
    """
    import uvicorn

    try:
        from safemap.api.http.app import create_app
        from safemap.api.settings import Settings
    except ImportError as exc:
        print(f"(api.app not importable: {exc}; serving the page alone)")
        app = map_app(open_store(store_path, extent=EXTENT), options)
    else:
        settings = Settings(database_url=None, gpkg_path=Path(store_path), basemap=options.basemap, extent=EXTENT)
        app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def serve(store_path: Path, options: Any) -> tuple[str, Any]:
    """Serve the page from a separate process (no GIL shared with the browser driver)."""
    import multiprocessing
    import urllib.request

    port = free_port()
    proc = multiprocessing.get_context("spawn").Process(
        target=_run_server, args=(str(store_path), options, port), daemon=True
    )
    proc.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            return base, proc
        except OSError:
            if time.monotonic() > deadline or not proc.is_alive():
                proc.kill()
                raise RuntimeError("map server did not start") from None
            time.sleep(0.1)


def map_app(store: FeatureStore, options: Any) -> Any:
    """The page and its static files alone, cached like ``api.app`` does it.

    The HTML is rendered again only after the store changed (``store.generation()``),
    so the first request pays for ``render_map``.
    """
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    from safemap.webmap.assets import STATIC_DIR
    from safemap.webmap.page import render_map

    app = FastAPI()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    cache: dict[str, Any] = {}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        generation = store.generation()
        if cache.get("generation") != generation:
            cache["html"], cache["generation"] = render_map(store, options), generation
        return str(cache["html"])

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def load_once(browser: Any, url: str) -> dict[str, float]:
    """Load the page in a fresh context; return timings (ms from navigation start)."""
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else r.abort(),
    )
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="commit")
    page.wait_for_function("window.SafeMap && SafeMap.state && SafeMap.state.ready === true", timeout=30_000)
    t = page.evaluate(
        """() => ({ready: SafeMap.state.readyMs, populate: SafeMap.state.populateMs, setup: SafeMap.state.setupMs,
        response: performance.timing.responseEnd - performance.timing.navigationStart,
        dcl: performance.timing.domContentLoadedEventEnd - performance.timing.navigationStart})"""
    )
    context.close()
    if errors:
        raise RuntimeError(f"page errors: {errors}")
    return t


@report.recorded("bench_map_render")
def main() -> None:
    """Build the store, serve the page, time it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--basemap", default="none", choices=["none", "osm"])
    parser.add_argument("--synthetic", action="store_true", help="skip layers.demo.build_demo")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from safemap.webmap.assets import missing_assets
    from safemap.webmap.page import MapOptions, render_map

    if missing_assets():
        sys.exit("vendored assets missing: run `python -m webmap.vendor` first")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store, kind = demo_store(Path(tmp) / "bench.gpkg", args.synthetic)
        counts = store.counts()
        print(
            f"store: {kind}, built in {time.perf_counter() - t0:.1f} s; "
            f"{sum(counts.values())} features ({counts.get('roads', 0)} road segments)"
        )
        options = MapOptions(basemap=args.basemap, extent=EXTENT)
        renders = []
        for _ in range(3):
            t = time.perf_counter()
            html = render_map(store, options)
            renders.append(time.perf_counter() - t)
        size_kb = len(html.encode()) / 1024
        print(f"server render (render_map): {min(renders) * 1000:.0f} ms; page {size_kb:.0f} KB")
        store.close()
        base, server = serve(Path(tmp) / "bench.gpkg", options)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                runs = [load_once(browser, base + "/") for _ in range(args.runs + 1)]
                browser.close()
        finally:
            server.kill()
    first, later = runs[0], runs[1:]
    print(
        f"first load after a write (server renders the page): {first['ready']:.0f} ms "
        f"(server response {first['response']:.0f} ms)"
    )
    ready = [r["ready"] for r in later]
    print(f"first full render (navigation start -> all layers drawn), {len(later)} loads with an empty browser cache:")
    median = statistics.median(ready)
    print(f"  median {median:.0f} ms, min {min(ready):.0f} ms, max {max(ready):.0f} ms")
    print(
        f"  of which server response {statistics.median(r['response'] for r in later):.0f} ms, "
        f"scripts loaded {statistics.median(r['setup'] for r in later):.0f} ms, "
        f"drawing features {statistics.median(r['populate'] for r in later):.0f} ms"
    )
    worst = max(first["ready"], statistics.median(ready))
    print(f"  target < 2000 ms: {'OK' if worst < 2000 else 'OVER'}")


if __name__ == "__main__":
    main()

"""/docs (Swagger UI) and /redoc work offline (issue 10, item 8): vendored assets, no CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safemap.layers.store import FeatureStore
from safemap.webmap.assets import STATIC_DIR
from tests.webmap.browsing import LiveServer, Visit, app_for

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""")


@pytest.fixture
def docs_server(gpkg_store: FeatureStore) -> Iterator[LiveServer]:
    server = LiveServer(app_for(gpkg_store))
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_docs_pages_reference_only_our_static_files(gpkg_store: FeatureStore, path: str) -> None:
    with TestClient(app_for(gpkg_store)) as client:
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        html = r.text
        assert "cdn" not in html.lower() and "googleapis" not in html and "//" not in html.replace("://127", "")
        urls = [a or b for a, b in URL.findall(html)]
        if path != "/docs/oauth2-redirect":
            assert urls
        for url in urls:
            assert url.startswith("/static/") or url == "/openapi.json", url
            if url.startswith("/static/"):
                assert (STATIC_DIR / url.removeprefix("/static/")).is_file(), url
                assert client.get(url).status_code == 200, url
        assert client.get("/openapi.json").status_code == 200


def test_default_cdn_docs_are_gone(gpkg_store: FeatureStore) -> None:
    app = app_for(gpkg_store)
    assert app.docs_url is None and app.redoc_url is None
    assert app.openapi_url == "/openapi.json"
    assert not any(p.startswith(("/docs", "/redoc")) for p in app.openapi()["paths"])


def _offline(v: Visit) -> None:
    assert v.blocked == [], f"requests left localhost: {v.blocked}"
    assert v.errors == [], v.errors
    assert v.console == [], v.console


@pytest.mark.browser
def test_swagger_ui_renders_offline(browser: Any, docs_server: LiveServer) -> None:
    v = Visit(browser, docs_server.url + "docs", ready=None)
    try:
        # One .opblock per operation; Swagger UI renders the tags as they scroll into view.
        v.page.wait_for_function("document.querySelectorAll('.opblock').length >= 5", timeout=30_000)
        assert "/api/layers" in v.page.inner_text(".opblock-summary-path >> nth=0")
        shown = v.page.locator(".opblock").count()
        v.page.mouse.wheel(0, 5000)
        v.page.wait_for_function(f"document.querySelectorAll('.opblock').length > {shown}", timeout=30_000)
        assert "SafeMap" in v.page.inner_text(".info .title")
        v.page.screenshot(path="/tmp/safemap-docs.png")
        _offline(v)
    finally:
        v.close()


@pytest.mark.browser
def test_redoc_renders_offline(browser: Any, docs_server: LiveServer) -> None:
    v = Visit(browser, docs_server.url + "redoc", ready=None)
    try:
        v.page.wait_for_function("document.querySelectorAll('.menu-content li').length > 20", timeout=60_000)
        assert "SafeMap" in v.page.inner_text("h1")
        v.page.screenshot(path="/tmp/safemap-redoc.png")
        _offline(v)
    finally:
        v.close()


def test_vendored_redoc_fetches_no_logo_from_its_cdn() -> None:
    bundle = (STATIC_DIR / "vendor/redoc/redoc.standalone.js").read_text(encoding="utf-8")
    assert "cdn.redoc.ly" not in bundle and "fonts.googleapis" not in bundle

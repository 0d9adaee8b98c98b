"""Browser fixtures: Debian's Chromium once per session, and the graded demo county served read-only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from safemap.layers.store import FeatureStore
from safemap.webmap.assets import missing_assets
from tests.webmap.browsing import ARGS, CHROMIUM, LiveServer, app_for


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is not installed (/usr/bin/chromium): `make test` installs it")
    if missing_assets():
        pytest.fail("vendored assets missing: run `python -m webmap.vendor` (make does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def graded_county(demo_store: FeatureStore) -> FeatureStore:
    """The demo county with GB 18218 grades, for panels that only read (planner, coverage).

    The session's shared ``demo_store`` (tests/conftest.py); a panel test that writes
    takes ``demo_copy`` and serves it itself.
    """
    return demo_store


@pytest.fixture(scope="session")
def county_server(graded_county: FeatureStore) -> Iterator[LiveServer]:
    server = LiveServer(app_for(graded_county))
    yield server
    server.stop()

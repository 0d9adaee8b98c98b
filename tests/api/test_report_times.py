"""Reports and exported file names are dated in ``SAFEMAP_TIMEZONE``, not in the server's zone.

The server runs in UTC here (``TZ=UTC``, as county servers often do) while the store's zone is
Asia/Shanghai: a report dated from a naive ``datetime.now()`` would be eight hours behind.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from safemap.api.reports import access, clock, safety
from safemap.api.services.access_review import late_sites
from safemap.layers.store import FeatureStore
from tests.api.test_reports import UTM44, review, site_result

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def utc_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone is UTC for the test (restored after)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _minutes(zone: dt.tzinfo) -> set[str]:
    """``YYYY-MM-DD HH:MM`` now in ``zone``, and a minute either side (a test may cross one)."""
    now = dt.datetime.now(dt.UTC).astimezone(zone)
    return {(now + dt.timedelta(minutes=d)).strftime("%Y-%m-%d %H:%M") for d in (-1, 0, 1)}


def _printed(html: str) -> str:
    found = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", html)
    assert found, "the report prints no time"
    return found.group(0)


def test_access_report_is_dated_in_the_store_zone_on_a_utc_server(utc_server: None) -> None:
    html = access.render_html(review(), "裕民县", late_sites(review()), SHANGHAI)
    assert _printed(html) in _minutes(SHANGHAI)
    assert _printed(html) not in _minutes(dt.UTC)


def test_site_report_is_dated_in_the_store_zone_on_a_utc_server(utc_server: None) -> None:
    html = safety.site_report_html(site_result(), UTM44, tz=SHANGHAI)
    assert _printed(html) in _minutes(SHANGHAI)


def test_without_a_zone_reports_use_safemap_timezone(utc_server: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEMAP_TIMEZONE", "Asia/Shanghai")
    assert _printed(access.render_html(review(), "裕民县", late_sites(review()))) in _minutes(SHANGHAI)
    assert _printed(safety.site_report_html(site_result(), UTM44)) in _minutes(SHANGHAI)
    # A given time is printed in the zone too (an aware UTC time is converted, not just formatted).
    noon_utc = dt.datetime(2026, 12, 1, 20, 5, tzinfo=dt.UTC)
    assert clock.stamp(noon_utc) == "2026-12-02 04:05"


def test_access_review_html_and_export_names_use_the_store_zone(utc_server: None, demo_store: FeatureStore) -> None:
    from tests.webmap.browsing import app_for

    with TestClient(app_for(demo_store)) as client:
        r = client.get("/api/access/review", params={"format": "html"})
        assert r.status_code == 200
        assert _printed(r.text) in _minutes(demo_store.tz)
        r = client.get("/api/layers/townships/export", params={"format": "geojson"})
        assert r.status_code == 200
        days = {m[:10].replace("-", "") for m in _minutes(demo_store.tz)}
        named = re.search(r"townships_(\d{8})", r.headers["content-disposition"])
        assert named and named.group(1) in days

"""Region-wide analyses (api/services/region_analysis.py): in-process and on a Dask LocalCluster, equal.

One ``dask.distributed.LocalCluster`` (2 worker processes, 1 thread each) serves the whole
module. The demo county is split into tiles so that several partitions run on several
workers; a synthetic two-county case checks pairs across a county border.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.services import region_analysis as ra
from safemap.api.services import safety
from safemap.api.services.coverage_report import coverage_report
from safemap.api.services.region_executor import Executor, close_clients, duration_text, executor
from safemap.api.settings import Settings
from safemap.gis.separation import audit as one_audit
from safemap.gis.separation import evaluate
from safemap.layers.errors import BadQuery
from safemap.layers.store import FeatureStore
from tests.gis.standards import substance_properties, table
from tests.support.cli import cli_env, run
from tests.support.demo import YUMIN_EXTENT, DemoCounty, copy_demo

RULES = table("separation_rules")
PROPS = substance_properties()
#: Tiles small enough to cut the demo county (≈ 70 km across) into several partitions.
TILE_M = 15_000.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from dask.distributed import LocalCluster

    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        yield lc
    finally:
        close_clients()
        lc.close()


@pytest.fixture(scope="module")
def on_dask(cluster: object) -> Settings:
    return Settings(dask_scheduler=cluster.scheduler_address)  # type: ignore[attr-defined]


LOCAL = Settings(dask_scheduler=None)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns as Python objects, missing as None: partitions with no class basis concatenate to
    ``object`` columns of None where one run gives a ``str`` column of NaN — the same values."""
    out = pd.DataFrame({c: frame[c].astype(object) for c in frame.columns})
    return out.where(out.notna(), None)


def test_demo_audit_dask_equals_in_process_and_the_county_audit(demo_store: FeatureStore, on_dask: Settings) -> None:
    """The demo audit split into 15 km tiles: in-process, on 2 Dask workers, and unsplit — equal row for row.

    Known answer: the demo county's own audit (``safety.violations``: 6 pairs 不符合 at the
    time of writing), re-ordered on the region's total order; the issues (source-level
    无法核查) each once.
    """
    here = ra.audit(demo_store, LOCAL, tile_m=TILE_M)
    there = ra.audit(demo_store, on_dask, tile_m=TILE_M)
    assert here.run.engine == "local" and there.run.engine == "dask" and there.run.workers == 2
    assert here.run.partitions == there.run.partitions > 2
    pd.testing.assert_frame_equal(here.frame, there.frame)
    pd.testing.assert_frame_equal(here.issues, there.issues)
    assert here.counties == there.counties
    whole = ra.canonical(safety.violations(demo_store)).drop(columns=ra.COUNTY)
    assert len(whole) > 0
    pd.testing.assert_frame_equal(_plain(here.frame.drop(columns=ra.COUNTY)), _plain(whole))
    issues = safety.separation_issues(demo_store)
    assert len(here.issues) == len(issues) and sum(r["issues"] for r in here.counties) == len(issues)
    assert sum(r["targets"] for r in here.counties) == len(safety.load(demo_store).targets)


def test_demo_audit_by_county(demo_store: FeatureStore, on_dask: Settings) -> None:
    """By 行政区划代码: the demo holds one county (654225), so one partition with every pair."""
    result = ra.audit(demo_store, on_dask)
    assert [(r[ra.COUNTY], r["county_name"]) for r in result.counties] == [("654225", "裕民县")]
    assert result.summary()["fail"] == safety.audit_summary(demo_store)["fail"]
    assert ra.audit(demo_store, LOCAL, counties="654221").frame.empty  # 额敏县: none of its rows here
    with pytest.raises(BadQuery, match="行政区划代码"):
        ra.audit(demo_store, LOCAL, counties="65422x")


def test_demo_risk_raster_strips_equal(demo_store: FeatureStore, on_dask: Settings) -> None:
    """The individual-risk raster in 2 and 4 strips on Dask equals the one-run raster cell for cell."""
    whole = safety.risk(demo_store, cell_m=20.0)
    assert whole.ir.max() > 0
    for n in (2, 4):
        part = ra.risk_raster(demo_store, on_dask, cell_m=20.0, n_strips=n)
        assert part.run.partitions == n and part.result.grid == whole.grid
        assert np.array_equal(part.result.ir, whole.ir)
    here = ra.risk_raster(demo_store, LOCAL, cell_m=20.0, n_strips=3)
    assert np.array_equal(here.result.ir, whole.ir)
    assert here.counties[0]["max_ir_per_year"] <= float(whole.ir.max())


def test_demo_coverage_equal(demo_store: FeatureStore, on_dask: Settings) -> None:
    """Response times of every site in 15 km tiles on Dask equal in-process, and the report's shares.

    Known answer: the coverage report (``coverage_report``) of the demo county: the same
    count and number covered per layer.
    """
    here = ra.coverage(demo_store, LOCAL, tile_m=TILE_M)
    there = ra.coverage(demo_store, on_dask, tile_m=TILE_M)
    assert there.run.partitions > 2
    pd.testing.assert_frame_equal(here.sites, there.sites)
    report = coverage_report(demo_store)
    for rec in report["summary"]:
        row = here.tables["by_layer"].loc[rec["layer"]]
        assert (int(row["count"]), int(row["covered"])) == (rec["count"], rec["covered"])
    assert sum(r["sites"] for r in here.counties) == len(here.sites)


def test_the_maps_coverage_report_on_dask_equals_in_process(demo_store: FeatureStore, on_dask: Settings) -> None:
    """``/api/coverage/report`` (the 覆盖与通道 panel) with a scheduler: the same report, every number.

    The demo county's sites all carry 654225, so they are one partition; the answer must not
    change by where the sites were snapped and timed.
    """
    here = coverage_report(demo_store)
    there = coverage_report(demo_store, scheduler=on_dask.dask_scheduler)
    assert there == here
    assert here["summary"] and any(r["covered"] < r["count"] for r in here["summary"])


def _two_counties() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Chlorine warehouses on both sides of a county border at x = 0 and fire stations beside them."""
    hz = gpd.GeoDataFrame(
        [
            {"id": i + 1, "name": f"H{i + 1}", "kind": "warehouse", "enterprise_id": i + 1, "county_code": c}
            | {"gasoline_m3": None, "diesel_m3": None, "max_tank_m3": None, "vapour_recovery": None}
            | {"substances": [{"name": "氯", "quantity_t": 1}]}
            for i, c in enumerate(["654225", "654221", "654225"])
        ],
        geometry=[shapely.Point(-5, 0), shapely.Point(50, 1_000), shapely.Point(-3_000, 0)],
        crs="EPSG:32644",
    )
    base = {"layer": "rescue_teams", "kind": "fire_station", "category": None, "gb50156_class": None}
    tg = gpd.GeoDataFrame(
        [
            base | {"id": i + 1, "name": f"T{i + 1}", "county_code": c, "road_class": None, "gb36894_class": None}
            for i, c in enumerate(["654221", "654225", "654221", "654225"])
        ],
        geometry=[shapely.Point(5, 0), shapely.Point(-100, 1_000), shapely.Point(500, 0), shapely.Point(-3_200, 0)],
        crs="EPSG:32644",
    )
    return hz, tg


def test_two_counties_pairs_across_the_border_once(on_dask: Settings) -> None:
    """Pairs across a county border are found once, by the target's county; Dask equals in-process.

    Known answer (300 m to a fire station for a toxic store, see test_separation): T1 (654221)
    10 m from H1 (654225); T2 (654225) 150 m from H2 (654221); T4 200 m from H3 (same
    county); T3 505 m from H1 and 461 m from H2 passes — three violations.
    """
    hz, tg = _two_counties()
    whole = one_audit(hz, tg, RULES, PROPS)
    assert sorted(zip(whole["hazard_id"], whole["target_id"], strict=True)) == [(1, 1), (2, 2), (3, 4)]
    results = []
    for settings in (LOCAL, on_dask):
        with executor(settings.dask_scheduler) as ex:
            results.append(ra.audit_frames(hz, tg, RULES, PROPS, ex))
    (f1, i1, rows1), (f2, i2, rows2) = results
    pd.testing.assert_frame_equal(f1, f2)
    pd.testing.assert_frame_equal(i1, i2)
    assert rows1 == rows2
    assert sorted(zip(f1["hazard_id"], f1["target_id"], f1[ra.COUNTY], strict=True)) == [
        (1, 1, "654221"),
        (2, 2, "654225"),
        (3, 4, "654225"),
    ]
    by_county = {r[ra.COUNTY]: r for r in rows1}
    assert (by_county["654221"]["fail"], by_county["654225"]["fail"]) == (1, 2)
    assert (by_county["654221"]["halo_sources"], by_county["654225"]["halo_sources"]) == (1, 1)
    assert len(i1) == len(evaluate(hz, tg, RULES, PROPS)[1])


def test_executor_in_process_and_durations() -> None:
    """The in-process executor maps in order; durations read X分Y秒 (125 s → 2分5秒)."""
    ex = Executor()
    assert ex.map(pow, [2, 3], exp=2) == [4, 9] and ex.engine == "local" and ex.workers == 1
    assert duration_text(125) == "2分5秒" and duration_text(3.3) == "3.3秒"


def _client(store: FeatureStore, settings: Settings) -> TestClient:
    app_settings = Settings(basemap="none", gpkg_path=Path("unused.gpkg"), dask_scheduler=settings.dask_scheduler)
    return TestClient(create_app(app_settings, store=store))


def test_map_routes_reach_dask(demo_store: FeatureStore, on_dask: Settings) -> None:
    """With a scheduler set, the map's audit and risk routes run on Dask and answer as in-process.

    Known answer: the in-process ``/api/safety/violations`` (same features, same summary
    counts) and ``/api/safety/risk-contours`` (same contour features); the region routes name
    the engine (Dask, 2 workers) and refuse a bad county code with 400 naming 行政区划代码.
    """
    with _client(demo_store, LOCAL) as here, _client(demo_store, on_dask) as there:
        a, b = here.get("/api/safety/violations").json(), there.get("/api/safety/violations").json()
        assert b["summary"]["run"]["engine_label"] == "Dask" and "run" not in a["summary"]
        assert {k: b["summary"][k] for k in ("fail", "cannot_check", "issues")} == {
            k: a["summary"][k] for k in ("fail", "cannot_check", "issues")
        }
        key = lambda f: (f["properties"]["hazard_id"], f["properties"]["target_id"], f["properties"]["rule_id"])  # noqa: E731
        assert sorted(a["features"], key=key) == sorted(b["features"], key=key)
        issue_key = lambda i: json.dumps(i, sort_keys=True, ensure_ascii=False)  # noqa: E731
        assert sorted(map(issue_key, a["issues"])) == sorted(map(issue_key, b["issues"])) and a["issues"]
        c1 = here.get("/api/safety/risk-contours?cell_m=40").json()
        c2 = there.get("/api/safety/risk-contours?cell_m=40").json()
        assert c1 == c2 and len(c1["features"]) > 0
        r = there.get("/api/region/audit").json()
        assert r["run"]["engine"] == "dask" and r["run"]["workers"] == 2
        assert r["summary"]["fail"] == a["summary"]["fail"] and r["counties"][0]["county_code"] == "654225"
        assert there.get("/api/region/risk?cell_m=40").json()["counties"][0]["protected_targets"] > 0
        cov = there.get("/api/region/coverage").json()
        assert cov["counties"][0]["sites"] > 0 and cov["run"]["engine_label"] == "Dask"
        bad = there.get("/api/region/audit?counties=65422")
        assert bad.status_code == 400 and "行政区划代码" in bad.json()["message"]


def test_cli_region_commands(
    demo_county: DemoCounty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_dask: Settings
) -> None:
    """``safemap region audit|risk|coverage``: the same counts in-process and with ``--scheduler``.

    Known answer: the service's own audit summary of the demo county (``safety.audit_summary``
    on the same file); a scheduler address without ``tcp://`` is refused with exit code 2.
    """
    from safemap.layers.store import open_store

    path = cli_env(copy_demo(demo_county, tmp_path / "demo.gpkg"), monkeypatch)
    store = open_store(path, extent=YUMIN_EXTENT)
    try:
        want = safety.audit_summary(store)
    finally:
        store.close()
    code, out = run("region", "audit", "--json")
    assert code == 0, out
    local = json.loads(out)
    code, out = run("region", "audit", "--json", "--scheduler", on_dask.dask_scheduler or "")
    assert code == 0, out
    remote = json.loads(out)
    assert local["summary"] == remote["summary"] and local["summary"]["fail"] == want["fail"]
    assert (local["run"]["engine_label"], remote["run"]["engine_label"]) == ("进程内", "Dask")
    code, out = run("region", "risk", "--cell", "40", "--scheduler", on_dask.dask_scheduler or "")
    assert code == 0 and "计算方式：Dask，2 个进程" in out
    code, out = run("region", "coverage")
    assert code == 0 and "裕民县：对象" in out
    code, out = run("region", "audit", "--scheduler", "localhost:8786")
    assert code == 2 and "--scheduler" in out


def test_unreachable_scheduler_is_503(demo_store: FeatureStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler nobody listens on (port 9, discard) answers 503 naming the Dask scheduler, not a 500."""
    from safemap.api.services import region_executor

    monkeypatch.setattr(region_executor, "CONNECT_TIMEOUT_S", 1.0)
    with _client(demo_store, Settings(dask_scheduler="tcp://127.0.0.1:9")) as client:
        r = client.get("/api/region/audit")
    assert r.status_code == 503 and "Dask 调度器" in r.json()["message"]

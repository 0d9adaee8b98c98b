"""Counties report to the prefecture and the region over PostgreSQL logical replication (issue 19).

Four real PostgreSQL clusters on different ports, each with ``wal_level = logical``: two
counties (裕民县 654225, 额敏县 654221), the prefecture (塔城地区 654200) subscribing to both,
and the region (新疆 650000) subscribing to the prefecture. The same local ids exist in both
counties (each starts at 1): the prefecture holds them as (county_code, id).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from safemap.api.services import replication as service
from safemap.layers.errors import Forbidden
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.support.replication_region import Region

pytestmark = [pytest.mark.cluster, pytest.mark.postgis]

EDITOR = Actor("测试", "admin")
WAIT_S = 60.0


def enterprise(name: str, lon: float, lat: float) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": name, "industry": "fuel_station", "risk_level": "yellow"},
    }


def wait_for(check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> tuple[Any, float]:
    """Poll ``check`` until it returns something truthy; (its value, seconds waited)."""
    t0 = time.monotonic()
    while True:
        value = check()
        if value:
            return value, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what}: not replicated within {timeout} s")
        time.sleep(0.1)


def rows(store: FeatureStore, table: str) -> set[tuple[str, int, str]]:
    with store.backend.read() as conn:
        return {(r[0], int(r[1]), r[2]) for r in conn.execute(text(f"SELECT county_code, id, name FROM {table}"))}


@pytest.fixture(scope="module")
def region() -> Iterator[Region]:
    r = Region()
    try:
        yield r
    finally:
        r.close()


def test_two_counties_edits_reach_the_prefecture_and_the_region_under_their_county(region: Region) -> None:
    """The same local id 1 in both counties arrives as two rows, (654225, 1) and (654221, 1)."""
    print(f"\ninitial copy of every table: {region.wait_synced():.2f} s")
    a = region.yumin.create("enterprises", enterprise("裕民县加油站甲", 82.98, 46.20), EDITOR)
    b = region.emin.create("enterprises", enterprise("额敏县加油站乙", 83.62, 46.52), EDITOR)
    assert a["id"] == b["id"] == 1
    want = {("654225", 1, "裕民县加油站甲"), ("654221", 1, "额敏县加油站乙")}
    _, seconds = wait_for(lambda: want <= rows(region.tacheng, "enterprises"), "counties → prefecture")
    print(f"county → prefecture: {seconds:.2f} s")
    _, seconds = wait_for(lambda: want <= rows(region.xj, "enterprises"), "prefecture → region")
    print(f"prefecture → region: {seconds:.2f} s")

    # An edit and a delete travel too, matched by (county_code, id), not by the bare id.
    region.yumin.update("enterprises", 1, {"properties": {"name": "裕民县加油站甲（改）"}}, EDITOR, expected_version=1)
    region.emin.delete("enterprises", 1, EDITOR, expected_version=1)
    wait_for(
        lambda: rows(region.tacheng, "enterprises") == {("654225", 1, "裕民县加油站甲（改）")},
        "edit and delete → prefecture",
    )
    wait_for(
        lambda: rows(region.xj, "enterprises") == {("654225", 1, "裕民县加油站甲（改）")},
        "edit and delete → region",
    )


def test_child_rows_travel_with_their_parent(region: Region) -> None:
    """A hazard source's substances (a child table) reach the prefecture keyed by county."""
    owner = region.emin.create("enterprises", enterprise("额敏县化工有限公司", 83.61, 46.51), EDITOR)
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [83.61, 46.51]},
        "properties": {
            "name": "额敏县液氨储罐",
            "kind": "storage_tank",
            "enterprise_id": owner["id"],
            "substances": [{"name": "氨", "quantity_t": 12.5}],
        },
    }
    src = region.emin.create("hazard_sources", feature, EDITOR)
    got, _ = wait_for(
        lambda: rows(region.tacheng, "hazard_sources") & {("654221", src["id"], "额敏县液氨储罐")}, "hazard source"
    )
    assert got

    def substances() -> list[Any]:
        with region.tacheng.backend.read() as conn:
            return conn.execute(
                text("SELECT county_code, name, quantity_t FROM hazard_sources__substances WHERE parent_id = :p"),
                {"p": src["id"]},
            ).all()

    found, _ = wait_for(substances, "substances")
    assert [tuple(r) for r in found] == [("654221", "氨", 12.5)]


def test_a_county_cannot_write_another_countys_rows(region: Region) -> None:
    """The own-rows CHECK refuses a row of 额敏县 in 裕民县's database (here: a row moved to it)."""
    with pytest.raises(IntegrityError, match="own_county"), region.yumin.backend.write() as conn:
        conn.execute(text("UPDATE enterprises SET county_code = '654221' WHERE id = 1"))


def test_the_prefecture_refuses_local_edits(region: Region) -> None:
    """Only replication writes the hub: an edit made there would be overwritten or conflict."""
    with pytest.raises(Forbidden, match="上级汇聚库只读"):
        region.tacheng.create("enterprises", enterprise("地区直接录入", 83.0, 46.0), EDITOR)
    with pytest.raises(Forbidden, match="上级汇聚库只读"):
        region.xj.delete("enterprises", 1, EDITOR, expected_version=2)


def test_status_shows_each_countys_lag_from_its_heartbeat(region: Region) -> None:
    """Both counties stream; a fresh heartbeat shows a lag of seconds, named by the county."""
    service.beat(region.yumin)
    service.beat(region.emin)

    def fresh() -> list[dict[str, Any]]:
        counties = service.status(region.tacheng)["counties"]
        return counties if all(c["state"] == "streaming" for c in counties) and len(counties) == 2 else []

    counties, _ = wait_for(fresh, "heartbeats")
    assert [(c["county_code"], c["county_name"]) for c in counties] == [("654221", "额敏县"), ("654225", "裕民县")]
    assert all(c["lag_s"] is not None and c["lag_s"] < 30 for c in counties)
    assert all(c["state_label"] == "实时同步" for c in counties)
    # The county sees the prefecture's subscription connected, with the WAL it keeps for it.
    subscribers = service.status(region.yumin)["subscribers"]
    assert [s["connected"] for s in subscribers] == [True]
    # The region sees the counties' heartbeats relayed by the prefecture.
    relayed, _ = wait_for(
        lambda: {c["county_code"] for c in service.status(region.xj)["counties"]} >= {"654221", "654225"},
        "heartbeats → region",
    )
    assert relayed


def test_resync_copies_one_county_afresh_and_leaves_the_other(region: Region) -> None:
    """After a county's failover its slot is gone; resync re-copies its rows, 额敏县's stay as they were."""
    region.wait_synced()
    before = rows(region.tacheng, "enterprises")
    emin = {r for r in before if r[0] == "654221"}
    assert {r for r in before if r[0] == "654225"}
    service.resync(region.tacheng, "654225", region.clusters["yumin"].dsn())
    assert {r for r in rows(region.tacheng, "enterprises") if r[0] == "654221"} == emin
    wait_for(lambda: rows(region.tacheng, "enterprises") == before, "resync")
    # Streaming again: a new edit arrives.
    made = region.yumin.create("enterprises", enterprise("裕民县重新复制后", 82.97, 46.19), EDITOR)
    wait_for(lambda: ("654225", made["id"], "裕民县重新复制后") in rows(region.tacheng, "enterprises"), "after resync")


def test_the_command_line_prints_each_countys_state(region: Region, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.cli import run

    service.beat(region.yumin)
    service.beat(region.emin)
    monkeypatch.setenv("SAFEMAP_DATABASE_URL", region.clusters["tacheng"].url)
    monkeypatch.setenv("SAFEMAP_COUNTY_CODE", "654200")
    monkeypatch.delenv("SAFEMAP_EXTENT", raising=False)

    def printed() -> str:
        code, out = run("replication", "status")
        assert code == 0
        return out if out.count("实时同步") == 2 else ""

    out, _ = wait_for(printed, "status on the command line")
    assert "本库：塔城地区（654200），上级汇聚库" in out
    assert "裕民县" in out and "额敏县" in out
    # A county's server says who subscribes to it.
    monkeypatch.setenv("SAFEMAP_DATABASE_URL", region.clusters["yumin"].url)
    monkeypatch.setenv("SAFEMAP_COUNTY_CODE", "654225")
    code, out = run("replication", "status")
    assert code == 0 and "区县库（向上级发布）" in out and "已连接" in out
    # The wrong county code for a database is refused in Chinese, naming both.
    monkeypatch.setenv("SAFEMAP_COUNTY_CODE", "654221")
    code, out = run("replication", "status")
    assert code != 0 and "此数据库属于行政区划代码 654225（裕民县）" in out


def test_the_prefectures_map_and_api_show_each_countys_lag_to_whom_may_see_it(region: Region) -> None:
    """GET /api/replication/status and /map on the prefecture's server, for an account limited to 额敏县."""
    from fastapi.testclient import TestClient

    from safemap.api.http.app import create_app
    from safemap.api.services import accounts
    from safemap.api.settings import Settings
    from safemap.layers.users import find_user

    password = "correct horse 1"
    for name, codes in (("tc_admin", None), ("tc_emin", "654221")):
        if find_user(region.tacheng, name) is None:
            accounts.add_user(region.tacheng, name, name, "viewer", password, EDITOR)
        accounts.set_counties(region.tacheng, name, codes, EDITOR)
    service.beat(region.yumin)
    service.beat(region.emin)
    settings = Settings(basemap="none", county_code="654200", heartbeat_s=0)
    with TestClient(create_app(settings, store=region.tacheng)) as client:
        assert client.post("/api/session", json={"name": "tc_admin", "password": password}).status_code == 200

        def both() -> list[dict[str, Any]]:
            counties = client.get("/api/replication/status").json()["counties"]
            return counties if [c["state"] for c in counties] == ["streaming", "streaming"] else []

        counties, _ = wait_for(both, "status over the API")
        assert [c["county_name"] for c in counties] == ["额敏县", "裕民县"]
        fc = client.get("/api/replication/map").json()
        states = {f["properties"]["county_name"]: f["properties"]["state_label"] for f in fc["features"]}
        assert states["裕民县"] == states["额敏县"] == "实时同步"
        assert states["托里县"] == "未接入" and len(states) == 7
        client.delete("/api/session")
        assert client.post("/api/session", json={"name": "tc_emin", "password": password}).status_code == 200
        assert [c["county_code"] for c in client.get("/api/replication/status").json()["counties"]] == ["654221"]
        assert [f["properties"]["county_code"] for f in client.get("/api/replication/map").json()["features"]] == [
            "654221"
        ]
        # And the prefecture's layers show this account 额敏县's rows only.
        names = {f["properties"]["county_code"] for f in client.get("/api/layers/enterprises").json()["features"]}
        assert names == {"654221"}


def test_every_acknowledged_edit_under_load_reaches_the_prefecture_and_the_region(region: Region) -> None:
    """Two writers per county for a few seconds (a minute in ``make test-cluster``): none missing upstream."""
    import threading

    seconds = 60.0 if os.environ.get("SAFEMAP_CLUSTER_FULL") else 4.0
    acked: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    until = time.monotonic() + seconds

    def write(store: FeatureStore, code: str, n: int) -> None:
        i = 0
        while time.monotonic() < until:
            name = f"负载{code}-{n}-{i}"
            made = store.create("enterprises", enterprise(name, 82.95 + 0.001 * (i % 50), 46.1), EDITOR)
            with lock:
                acked.append((code, made["id"], name))
            i += 1

    threads = [
        threading.Thread(target=write, args=(store, code, n))
        for store, code in ((region.yumin, "654225"), (region.emin, "654221"))
        for n in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(acked) > 10
    for hub in (region.tacheng, region.xj):
        wait_for(lambda hub=hub: set(acked) <= rows(hub, "enterprises"), "every acknowledged edit")
    print(f"\n{len(acked)} acknowledged creates in {seconds:.0f} s, all upstream")


def test_a_county_upgraded_before_its_hub_loses_nothing(region: Region) -> None:
    """A new column on the county first: its changes wait (apply retries) until the hub has the column too.

    The order the migrations must follow (docs/deployment.md): hub first. Done the other way round,
    额敏县 keeps flowing and 裕民县's rows arrive, none lost, as soon as the hub is upgraded.
    """
    with region.yumin.backend.write() as conn:
        conn.execute(text("ALTER TABLE enterprises ADD COLUMN drill_note text"))
    made = region.yumin.create("enterprises", enterprise("升级后新增", 82.96, 46.18), EDITOR)
    other = region.emin.create("enterprises", enterprise("额敏县照常上报", 83.6, 46.5), EDITOR)
    wait_for(lambda: ("654221", other["id"], "额敏县照常上报") in rows(region.tacheng, "enterprises"), "额敏县")
    time.sleep(3)
    assert ("654225", made["id"], "升级后新增") not in rows(region.tacheng, "enterprises")
    # The hub (and the region behind it) upgraded: the waiting change arrives.
    for hub in (region.tacheng, region.xj):
        with hub.backend.write() as conn:
            conn.execute(text("ALTER TABLE enterprises ADD COLUMN drill_note text"))
    wait_for(lambda: ("654225", made["id"], "升级后新增") in rows(region.tacheng, "enterprises"), "after the upgrade")
    wait_for(lambda: ("654225", made["id"], "升级后新增") in rows(region.xj, "enterprises"), "region")

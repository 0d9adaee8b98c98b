"""Experts (应急专家) offered by incident kind: service, ``GET /api/dispatch/experts``, the plan, ``safemap experts``.

Known answers come from the demo roster (layers/demo/experts.py): for a 泄漏中毒 the fields are
危险化学品, 环境监测, 气象, 医疗救护, 消防 in that order (layers/park_tables.EXPERT_FIELDS_BY_INCIDENT);
of the three 危险化学品 experts the one who cannot be reached comes last; at the county seat the
应急管理局's expert (≈ 0.6 km) comes before the park's (≈ 4 km).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.services import experts
from safemap.api.settings import Settings
from safemap.layers.errors import Unprocessable
from safemap.layers.park_tables import EXPERT_FIELDS_BY_INCIDENT
from safemap.layers.store import FeatureStore
from tests.support.cli import cli_env, run

SEAT = (82.97964, 46.20041)


@pytest.fixture(scope="module")
def client(demo_store: FeatureStore) -> Iterator[TestClient]:
    settings = Settings(basemap="none", gpkg_path=Path("unused.gpkg"))
    with TestClient(create_app(settings, store=demo_store)) as c:
        yield c


def test_a_leak_calls_chemical_experts_first_reachable_and_near_first(demo_store: FeatureStore) -> None:
    offer = experts.offered(demo_store, "leak", SEAT)
    assert [g["field"] for g in offer["groups"]] == list(EXPERT_FIELDS_BY_INCIDENT["leak"])
    assert offer["groups"][0]["field_label"] == "危险化学品" and offer["kind_label"] == "泄漏中毒"
    chem = offer["groups"][0]["experts"]
    assert [e["employer"] for e in chem] == ["裕民县应急管理局", "裕民县工业园区管委会", "塔城地区应急管理局（驻县）"]
    assert [e["available"] for e in chem] == [True, True, False]
    assert 400 < chem[0]["distance_m"] < 800 and 3000 < chem[1]["distance_m"] < 5000


def test_every_kind_has_a_group_and_a_mine_accident_reaches_the_mine(demo_store: FeatureStore) -> None:
    offer = experts.offered(demo_store, "mine", (82.560, 45.635))
    assert offer["groups"][0]["field_label"] == "非煤矿山"
    assert offer["groups"][0]["experts"][0]["employer"] == "铜矿安全环保部"  # at the mine, 200 m away
    assert offer["groups"][0]["experts"][0]["distance_m"] < 1000
    # 其他: every field, nothing dropped.
    assert len(experts.offered(demo_store, "other")["groups"]) == 12
    with pytest.raises(Unprocessable) as err:
        experts.offered(demo_store, "chlorine")
    assert err.value.problems[0].field == "incident_kind"


def test_api_lists_experts_and_refuses_half_a_position(client: TestClient) -> None:
    r = client.get("/api/dispatch/experts", params={"kind": "fire", "lon": SEAT[0], "lat": SEAT[1]})
    assert r.status_code == 200, r.text
    assert r.json()["groups"][0]["field_label"] == "消防"
    assert all(e["distance_m"] is not None for e in r.json()["groups"][0]["experts"])
    # Query parameters the app cannot use are a 400 naming the parameter (as on every other route).
    half = client.get("/api/dispatch/experts", params={"kind": "fire", "lon": SEAT[0]})
    assert half.status_code == 400 and "经度和纬度须同时给出" in half.text
    bad = client.get("/api/dispatch/experts", params={"kind": "火灾x"})
    assert bad.status_code == 400 and "kind" in bad.text


def test_dispatch_plan_offers_experts_by_kind(client: TestClient) -> None:
    body = {"incident": list(SEAT), "needs": [{"kinds": ["fire_station"], "count": 1}], "incident_kind": "explosion"}
    r = client.post("/api/dispatch/plan", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["experts"]["groups"][0]["field_label"] == "民用爆炸物品"
    body.pop("incident_kind")
    assert client.post("/api/dispatch/plan", json=body).json()["experts"] is None


def test_cli_takes_the_kind_as_people_type_it(demo_county: object, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(demo_county.path, monkeypatch)  # type: ignore[attr-defined]
    code, out = run("experts", "--kind", " 泄漏 ", "--at", "82.97964，46.20041")
    assert code == 0, out
    assert out.startswith("泄漏中毒：建议联系的应急专家") and "【危险化学品】" in out and "距事发地 0." in out
    assert "暂不可联系" in out
    code, out = run("experts", "--kind", "火山")
    assert code == 2 and "事件类型应为" in out

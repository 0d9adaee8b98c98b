"""What the incident pages read is plain, local and in Chinese: numbers as numbers, times in
SAFEMAP_TIMEZONE, roles by their names (found by the map panel; each was wrong before)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token

PLUME = {"model": "gaussian_plume", "rate_kg_s": 1.0, "wind_m_s": 3.0, "wind_from_deg": 90.0, "stability": "D"}


@pytest.fixture
def client(demo_copy: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none", warning_worker=False), store=demo_copy)) as c:
        yield c


def test_warnings_and_evacuation_answer_local_times_and_numbers(client: TestClient, demo_copy: FeatureStore) -> None:
    auth = {"Authorization": f"Bearer {create_token(demo_copy, '值班员', 'dispatcher')}"}
    inc = client.post(
        "/api/incidents", json={"kind": "泄漏中毒", "location": [83.005, 46.205], "substance": "氯"}, headers=auth
    ).json()
    iid = inc["id"]
    zone = client.post(f"/api/incidents/{iid}/zone", json={"substance": "氯", **PLUME}, headers=auth).json()
    body = {
        "template": "shelter_in_place",
        "bands": [b["label"] for b in zone["bands"]],
        "channels": ["call_list"],
        "values": {"物质": "氯气", "方向": "西", "联系电话": "0901-6521234"},
    }
    r = client.post(f"/api/incidents/{iid}/warnings", json=body, headers=auth)
    assert r.status_code == 201, r.text
    created = r.json()["warning"]["created_at"]
    assert created.endswith("+08:00"), created  # Asia/Shanghai, like the incident's own times
    listed = client.get(f"/api/incidents/{iid}/warnings").json()["warnings"][0]
    assert listed["warning"]["created_at"].endswith("+08:00")
    evac = client.get(f"/api/incidents/{iid}/evacuation").json()
    assert evac["assignments"]
    for a in evac["assignments"]:
        assert isinstance(a["duration_s"], float | int) and isinstance(a["distance_m"], float | int), a


def test_forbidden_names_the_roles_in_chinese(client: TestClient, demo_copy: FeatureStore) -> None:
    viewer = {"Authorization": f"Bearer {create_token(demo_copy, '查看员', 'viewer')}"}
    r = client.post("/api/incidents", json={"kind": "火灾", "location": [83.005, 46.205]}, headers=viewer)
    assert r.status_code == 403
    message = r.json()["message"]
    assert "调度" in message and "dispatcher" not in message and "admin" not in message, message

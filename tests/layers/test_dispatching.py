"""Atomic dispatch: one winner under real concurrency on both stores, stock checked, all or nothing."""

from __future__ import annotations

import threading
import time

import pytest
from shapely.geometry import LineString
from sqlalchemy import event

from safemap.layers.dispatching import DispatchItem, active_dispatches, changes_since, confirm, fingerprint, set_status
from safemap.layers.errors import VersionConflict
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

ALICE = Actor("调度员甲", "dispatcher")
BOB = Actor("调度员乙", "dispatcher")
ADMIN = Actor("admin", "admin")
INCIDENT = (82.99, 46.20)
ROUTE = LineString([(82.98, 46.19), (82.99, 46.20)])


def _team(store: FeatureStore, name: str = "城区消防救援站") -> int:
    f = store.create(
        "rescue_teams",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [82.98, 46.19]},
            "properties": {
                "name": name,
                "kind": "fire_station",
                "headcount": 20,
                "status": "available",
                "vehicles": [{"profile": "fire_engine", "count": 2}],
            },
        },
        ADMIN,
    )
    return int(f["id"])


def _depot(store: FeatureStore) -> int:
    f = store.create(
        "material_depots",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [82.97, 46.18]},
            "properties": {
                "name": "县级储备库",
                "level": "county",
                "inventory": [{"item": "重型防化服", "unit": "套", "quantity": 20}],
            },
        },
        ADMIN,
    )
    return int(f["id"])


def test_confirm_release_cycle(store: FeatureStore) -> None:
    team, depot = _team(store), _depot(store)
    before = fingerprint(store, ["rescue_teams"])
    plan, rows = confirm(
        store,
        ALICE,
        INCIDENT,
        [
            DispatchItem(ROUTE, team_id=team, vehicle="fire_engine", eta_s=321.5, distance_m=4200),
            DispatchItem(ROUTE, depot_id=depot, vehicle="materials_truck", materials=[("重型防化服", "套", 12)]),
        ],
    )
    assert len(rows) == 2 and {r["properties"]["plan_id"] for r in rows} == {plan}
    assert rows[0]["properties"]["status"] == "confirmed" and rows[0]["properties"]["dispatcher"] == "调度员甲"
    assert rows[1]["properties"]["materials"] == "重型防化服 12套"
    t = store.get("rescue_teams", team)["properties"]
    assert t["status"] == "dispatched" and t["version"] == 2
    assert store.get("material_depots", depot)["properties"]["inventory"][0]["quantity"] == 8
    assert fingerprint(store, ["rescue_teams"]) != before
    assert [f["id"] for f in active_dispatches(store)] == sorted((r["id"] for r in rows), reverse=True)
    # The audit tells every screen what changed.
    changes = changes_since(store, 0, ["rescue_teams", "dispatches"])
    assert [c["action"] for c in changes][-3:] == ["create", "create", "dispatch"]
    # Not enough stock left: 409 and nothing written (the team stays as it was).
    with pytest.raises(VersionConflict, match="库存不足"):
        confirm(store, BOB, INCIDENT, [DispatchItem(ROUTE, depot_id=depot, materials=[("重型防化服", "套", 9)])])
    assert store.get("material_depots", depot)["properties"]["inventory"][0]["quantity"] == 8
    # Arrive, then release: the team is available again.
    set_status(store, ALICE, [rows[0]["id"]], "arrived")
    with pytest.raises(VersionConflict):
        set_status(store, ALICE, [rows[0]["id"]], "arrived")
    released = set_status(store, ALICE, [rows[0]["id"]], "released")
    assert released[0]["properties"]["status"] == "released" and released[0]["properties"]["released_at"]
    assert store.get("rescue_teams", team)["properties"]["status"] == "available"
    with pytest.raises(VersionConflict, match="已解除调度"):
        set_status(store, BOB, [rows[0]["id"]], "released")


def test_second_confirm_of_same_team_is_409_with_reason(store: FeatureStore) -> None:
    team, other = _team(store), _team(store, "新地乡专职消防队")
    confirm(store, ALICE, INCIDENT, [DispatchItem(ROUTE, team_id=team, vehicle="fire_engine")])
    with pytest.raises(VersionConflict) as exc:
        # Two teams, one already gone: all or nothing, the free one is not taken either.
        confirm(store, BOB, INCIDENT, [DispatchItem(ROUTE, team_id=other), DispatchItem(ROUTE, team_id=team)])
    assert "调度员甲" in exc.value.message and "城区消防救援站" in exc.value.message
    assert store.get("rescue_teams", other)["properties"]["status"] == "available"
    assert len(store.query("dispatches", limit=None).rows) == 1


def test_concurrent_confirms_one_winner(store: FeatureStore) -> None:
    """Two dispatchers in two threads (two connections) confirm the same team at the same moment."""
    team = _team(store)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}
    if store.kind == "postgis":
        # Hold the winner's transaction open a moment after its row lock, so the other really waits on it.
        @event.listens_for(store.backend.engine, "before_cursor_execute")
        def slow(conn, cursor, statement, params, context, executemany):
            if statement.lstrip().upper().startswith("UPDATE RESCUE_TEAMS"):
                time.sleep(0.2)

    def run(actor: Actor) -> None:
        barrier.wait()
        try:
            results[actor.name] = confirm(store, actor, INCIDENT, [DispatchItem(ROUTE, team_id=team)])[0]
        except VersionConflict as exc:
            results[actor.name] = exc

    threads = [threading.Thread(target=run, args=(a,)) for a in (ALICE, BOB)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    if store.kind == "postgis":
        event.remove(store.backend.engine, "before_cursor_execute", slow)
    wins = [v for v in results.values() if isinstance(v, str)]
    losses = [v for v in results.values() if isinstance(v, VersionConflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].status == 409 and "已被" in losses[0].message
    assert len(store.query("dispatches", limit=None).rows) == 1
    assert store.get("rescue_teams", team)["properties"]["version"] == 2

"""A PostGIS server gone away or refusing writes is :class:`StoreUnavailable` (503 + Retry-After), never a 500.

These are the single-server halves of the failover drill (``tests/cluster/test_failover.py``): a
connection killed mid-transaction (what a primary's crash does to the app), a server that accepts
no writes (a demoted primary still answering) and no server at all. Each time the pool is emptied,
so the next request connects afresh — and succeeds once a writable server is back.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.errors import StoreBusy, StoreUnavailable
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.tokens import create_token
from tests.support.pg_cluster import _free_port

FIRE = Actor("消防测试", "fire")


def hydrant(name: str) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [82.98, 46.20]},
        "properties": {"name": name, "status": "ok"},
    }


def _database(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _set_read_only(pg_cluster: object, url: str, on: bool) -> None:
    """Make new sessions of the database read-only (as a standby's are), or writable again."""
    with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as con:  # type: ignore[attr-defined]
        value = "on" if on else "off"
        con.execute(f'ALTER DATABASE "{_database(url)}" SET default_transaction_read_only = {value}')
        # Sessions already open keep their settings: end them, as a demotion restarts the server.
        con.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (_database(url),),
        )


def test_connection_killed_mid_write_is_unavailable_and_nothing_is_kept(pg_store: FeatureStore) -> None:
    """The server ends the session inside a write transaction (SQLSTATE 57P01, as on shutdown).

    Known answer: the write raises StoreUnavailable with retry_after 2 s, the hydrant inserted in
    that transaction is not stored (0 rows named 甲), and the next create on the same store
    succeeds (1 row named 乙) through a fresh connection.
    """
    with pytest.raises(StoreUnavailable) as caught, pg_store.transaction() as tx:
        tx.execute(
            text(
                "INSERT INTO hydrants (name, status, updated_at, geom)"
                " VALUES ('甲', 'ok', now(), ST_SetSRID(ST_MakePoint(82.98, 46.2), 4326))"
            )
        )
        tx.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    assert caught.value.retry_after == 2
    assert caught.value.status == 503
    assert "秒后重试" in caught.value.message
    created = pg_store.create("hydrants", hydrant("乙"), FIRE)
    names = [row["name"] for row in pg_store.query("hydrants").rows]
    assert names.count("甲") == 0
    assert names.count("乙") == 1
    assert created["properties"]["name"] == "乙"


def test_read_only_server_refuses_writes_as_unavailable_but_reads_go_on(
    pg_cluster: object, pg_url: str, pg_store: FeatureStore
) -> None:
    """A server in read-only mode (a demoted primary still answering) refuses the write with 25006.

    Known answer: create raises StoreUnavailable (not a 500, not StoreBusy); reads still work and
    show the 1 hydrant written before; once writable again a second create makes it 2.
    """
    pg_store.create("hydrants", hydrant("前"), FIRE)
    _set_read_only(pg_cluster, pg_url, True)
    try:
        with pytest.raises(StoreUnavailable):
            pg_store.create("hydrants", hydrant("只读期间"), FIRE)
        assert len(pg_store.query("hydrants")) == 1
    finally:
        _set_read_only(pg_cluster, pg_url, False)
    pg_store.create("hydrants", hydrant("后"), FIRE)
    assert sorted(row["name"] for row in pg_store.query("hydrants").rows) == ["前", "后"]


def test_no_server_is_unavailable_not_a_crash() -> None:
    """Nothing listens on the port (a stopped primary): opening the store is StoreUnavailable, not busy."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/safemap?connect_timeout=2"
    with pytest.raises(StoreUnavailable) as caught:
        open_store(url)
    assert not isinstance(caught.value, StoreBusy)
    assert caught.value.retry_after == 2


@pytest.fixture
def client(pg_store: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none"), store=pg_store)) as c:
        yield c


def test_api_answers_503_with_retry_after_then_the_retry_succeeds(
    pg_cluster: object, pg_url: str, pg_store: FeatureStore, client: TestClient
) -> None:
    """POST during a read-only spell → 503, ``error`` unavailable, ``Retry-After: 2``, Chinese message.

    Known answer: the retry after the server is writable again is 201 and the layer then holds
    exactly 1 hydrant (the refused one was not kept).
    """
    auth = {"Authorization": "Bearer " + create_token(pg_store, "消防员", "fire")}
    _set_read_only(pg_cluster, pg_url, True)
    try:
        r = client.post("/api/layers/hydrants", json=hydrant("切换中"), headers=auth)
    finally:
        _set_read_only(pg_cluster, pg_url, False)
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "2"
    assert r.json()["error"] == "unavailable"
    assert "数据库暂时不可用" in r.json()["message"]
    r = client.post("/api/layers/hydrants", json=hydrant("切换中"), headers=auth)
    assert r.status_code == 201, r.text
    assert len(pg_store.query("hydrants")) == 1


def test_a_bad_statement_is_not_mistaken_for_a_lost_server(pg_store: FeatureStore) -> None:
    """A read-only transaction that tries to write (25006 in a read) is a bug, raised as it is, not 503."""
    with pytest.raises(DBAPIError) as caught, pg_store.transaction(readonly=True) as tx:
        tx.execute(text("CREATE TABLE nope (id int)"))
    assert not isinstance(caught.value, StoreUnavailable)

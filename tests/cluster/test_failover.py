"""Failover drill (issue 19): the primary stops, writes go on on the promoted standby, nothing acknowledged is lost.

A real pg_auto_failover formation (monitor + two data nodes, synchronous replication) and the
real app: a writer creating hydrants through the store (``open_store`` on the multi-host URL),
a second writer through the HTTP API of a live server on the same URL, and an event stream
opened before the failover. The primary is killed (keeper killed, PostgreSQL stopped
``immediate``, as a crash); writes get :class:`StoreUnavailable` / 503 with ``Retry-After``
for a few seconds, then succeed on the promoted standby.

Known answers: every hydrant whose create returned (store) or answered 201 (API) is on the new
primary; the new primary is the old standby (node2); the HTTP writer never gets another status
than 201 or 503; a hydrant created after the failover reaches the stream opened before it.

``make test`` runs the short drill (one failover); ``make test-cluster`` sets
``SAFEMAP_CLUSTER_FULL=1`` for the full drill: a longer writer, the old primary rejoined as
standby, and a second failover back to it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from safemap.layers.errors import StoreUnavailable
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.tokens import create_token
from tests.support.background_server import BackgroundServer
from tests.support.ha_cluster import HACluster

pytestmark = pytest.mark.cluster

FULL = os.environ.get("SAFEMAP_CLUSTER_FULL") == "1"
FIRE = Actor("消防演练", "fire")


def hydrant(name: str, i: int = 0) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [82.9 + (i % 1000) / 10000, 46.2]},
        "properties": {"name": name, "status": "ok"},
    }


@dataclass
class Writer:
    """A thread creating hydrants until stopped; records what was acknowledged and what was refused."""

    label: str
    acked: list[int] = field(default_factory=list)
    acked_at: list[float] = field(default_factory=list)
    refused: int = 0
    unexpected: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def acked_after(self, moment: float) -> int:
        """How many creates were acknowledged after ``moment`` (``time.monotonic()``)."""
        return sum(1 for t in self.acked_at if t > moment)

    def record(self, fid: int) -> None:
        self.acked.append(fid)
        self.acked_at.append(time.monotonic())


def store_writer(store: FeatureStore, writer: Writer) -> None:
    """Create through the store; a create counts once it returned (its COMMIT returned)."""
    i = 0
    while not writer.stop.is_set():
        i += 1
        try:
            made = store.create("hydrants", hydrant(f"{writer.label}{i}", i), FIRE)
        except StoreUnavailable as exc:
            writer.refused += 1
            writer.stop.wait(min(exc.retry_after, 0.5))
            continue
        except Exception as exc:  # anything else is a failure of the drill: keep it for the assertion
            writer.unexpected.append(repr(exc))
            writer.stop.wait(0.5)
            continue
        writer.record(int(made["id"]))
        writer.stop.wait(0.02)


def http_writer(base: str, token: str, writer: Writer) -> None:
    """Create through the API as a client would: 201 is acknowledged, 503 is retried after Retry-After."""
    auth = {"Authorization": f"Bearer {token}"}
    i = 0
    with httpx.Client(base_url=base, timeout=30) as client:
        while not writer.stop.is_set():
            i += 1
            try:
                r = client.post("/api/layers/hydrants", json=hydrant(f"{writer.label}{i}", i), headers=auth)
            except httpx.TransportError as exc:
                writer.unexpected.append(repr(exc))
                writer.stop.wait(0.5)
                continue
            if r.status_code == 201:
                writer.record(int(r.json()["id"]))
                writer.stop.wait(0.05)
            elif r.status_code == 503 and r.json().get("error") == "unavailable":
                writer.refused += 1
                writer.stop.wait(float(r.headers["Retry-After"]))
            else:
                writer.unexpected.append(f"{r.status_code} {r.text[:200]}")
                writer.stop.wait(0.5)


class Stream:
    """The server's event stream read in a thread: the ids of ``features`` events of hydrants."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.hydrant_ids: set[int] = set()
        self.comments: list[str] = []
        self.opened = threading.Event()
        self.closed_early = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import orjson

        event = ""
        with httpx.stream("GET", self.base + "/api/events", timeout=httpx.Timeout(60, read=60)) as r:
            for line in r.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "snapshot":
                        self.opened.set()
                elif line.startswith("data: ") and event == "features":
                    data = orjson.loads(line[6:])
                    if data.get("layer") == "hydrants":
                        self.hydrant_ids.add(int(data["id"]))
                elif line.startswith(":"):
                    self.comments.append(line)
        self.closed_early = not self.stop.is_set()

    def wait_for(self, fid: int, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if fid in self.hydrant_ids:
                return True
            time.sleep(0.1)
        return False


@contextmanager
def running(*threads: threading.Thread) -> Iterator[None]:
    for t in threads:
        t.start()
    try:
        yield
    finally:
        for t in threads:
            t.join(timeout=60)


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"超时：{what}"
        time.sleep(0.1)


def stored_ids(ha: HACluster, node: str, ids: list[int]) -> set[int]:
    """The ids among ``ids`` present in ``node``'s hydrants table, read from that node alone."""
    with psycopg.connect(ha.nodes[node].dsn()) as con:
        rows = con.execute("SELECT id FROM hydrants WHERE id = ANY(%s)", (ids,)).fetchall()
    return {int(r[0]) for r in rows}


def failover(ha: HACluster, writers: list[Writer], stream: Stream, base: str, token: str, before: int) -> str:
    """Kill the primary once every writer has ``before`` acknowledged creates; return the new primary.

    Waits until each writer has an acknowledged create after the kill, then checks a hydrant
    created through the API after the failover reaches the stream opened before it.
    """
    old = ha.primary()
    wait_until(lambda: all(len(w.acked) >= before for w in writers), 120, f"每个写入线程确认 {before} 条")
    stopped = ha.stop_primary()
    assert stopped == old
    killed = time.monotonic()
    wait_until(lambda: all(w.acked_after(killed) >= 3 for w in writers), 120, "主库切换后写入恢复")
    new = ha.wait_for({n: "wait_primary" for n in ha.nodes if n != stopped}, 60)
    promoted = next(n for n in new if n != stopped)
    assert promoted != stopped
    r = httpx.post(
        base + "/api/layers/hydrants",
        json=hydrant(f"切换后-{promoted}"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    assert stream.wait_for(int(r.json()["id"])), f"切换后写入的消火栓 {r.json()['id']} 未到达事件流"
    return promoted


def test_failover_loses_nothing_acknowledged(ha: HACluster) -> None:
    """Short drill (one failover), in ``make test``; the full drill with ``SAFEMAP_CLUSTER_FULL=1``."""
    assert ha.primary() == "node1"
    uri = ha.formation_uri()
    assert "target_session_attrs=read-write" in uri
    assert all(f"127.0.0.1:{n.port}" in uri for n in ha.nodes.values()), uri
    assert ha.wait_sync("node1").startswith("ANY 1")
    with psycopg.connect(ha.nodes["node1"].dsn()) as con:
        # A COMMIT returns once the standby has flushed its WAL: that is what "acknowledged" means here.
        assert con.execute("SHOW synchronous_commit").fetchone() == ("on",)
    store = open_store(ha.url)
    token = create_token(store, "演练调度员", "fire")
    direct, api = Writer("直写"), Writer("接口")
    try:
        with BackgroundServer(ha.url) as base:
            stream = Stream(base)
            stream.thread.start()
            assert stream.opened.wait(60), "事件流未打开"
            threads = [
                threading.Thread(target=store_writer, args=(store, direct), daemon=True),
                threading.Thread(target=http_writer, args=(base, token, api), daemon=True),
            ]
            try:
                with running(*threads):
                    first = failover(ha, [direct, api], stream, base, token, before=100 if FULL else 20)
                    assert first == "node2"
                    if FULL:
                        # The old primary rejoins as standby of the new one; then fail over back to it.
                        ha.rejoin("node1")
                        ha.wait_for({"node1": "secondary", "node2": "primary"}, 180, checkpoint_on="node2")
                        assert ha.wait_sync("node2").startswith("ANY 1")
                        second = failover(ha, [direct, api], stream, base, token, before=len(direct.acked) + 50)
                        assert second == "node1"
                    # A few more writes on the promoted standby, then stop.
                    goal = len(direct.acked) + 10
                    wait_until(lambda: len(direct.acked) >= goal, 60, "切换后继续写入")
                    direct.stop.set()
                    api.stop.set()
            finally:
                direct.stop.set()
                api.stop.set()
                stream.stop.set()
            assert not stream.closed_early, "事件流在切换中断开"
            # The stream did live through the outage: it said so (an SSE comment) and went on.
            assert any("数据库暂时不可用" in c for c in stream.comments), stream.comments
    finally:
        store.close()

    primary = ha.primary()
    assert primary == ("node1" if FULL else "node2")
    assert direct.unexpected == [] and api.unexpected == []
    # Unavailability was seen (the drill did interrupt the writers) and answered 503/StoreUnavailable.
    assert direct.refused + api.refused > 0
    acked = direct.acked + api.acked
    assert len(acked) == len(set(acked))
    missing = set(acked) - stored_ids(ha, primary, acked)
    assert not missing, f"已确认的写入丢失：{sorted(missing)}"
    print(
        f"\nfailover drill: {len(direct.acked)} store + {len(api.acked)} API creates acknowledged, none lost; "
        f"{direct.refused} StoreUnavailable, {api.refused} × 503; stream comments {len(stream.comments)}"
    )

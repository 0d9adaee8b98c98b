"""Two counties, a prefecture and a region on four real PostgreSQL clusters, replicating upward.

Used by the replication tests (``tests/cluster/test_replication.py``) and the lag benchmark
(``benchmarks/bench_replication.py``). Each cluster runs with ``wal_level = logical`` on its own
port; 裕民县 (654225) and 额敏县 (654221) publish, 塔城地区 (654200) subscribes to both and
publishes on (counties 6542xx), 新疆 (650000) subscribes to the prefecture.
"""

from __future__ import annotations

import time

import psycopg

from safemap.api.services import replication as service
from safemap.layers import replication
from safemap.layers.store import open_store
from tests.support import pg_cluster

LOGICAL = (
    "-c wal_level=logical -c max_replication_slots=20 -c max_wal_senders=20 "
    "-c max_logical_replication_workers=16 -c max_worker_processes=32 -c wal_sender_timeout=10s"
)
"""Server options of every cluster (the throwaway clusters add fsync=off unless ``durable``)."""

DURABLE = " -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
"""Options that put back what a production server has (the benchmark measures with them)."""


class Region:
    """Two counties, a prefecture and a region, replicating upward."""

    def __init__(self, *, durable: bool = False) -> None:
        options = LOGICAL + (DURABLE if durable else "")
        self.clusters: dict[str, pg_cluster.Cluster] = {}
        try:
            for name in ("yumin", "emin", "tacheng", "xj"):
                self.clusters[name] = pg_cluster.start(settings=options)
        except BaseException:
            for cluster in self.clusters.values():
                cluster.stop()
            raise
        try:
            self._connect()
        except BaseException:
            for cluster in self.clusters.values():
                cluster.stop()
            raise

    def _connect(self) -> None:
        self.yumin = open_store(self.clusters["yumin"].url, county_code="654225")
        self.emin = open_store(self.clusters["emin"].url, county_code="654221")
        self.tacheng = open_store(self.clusters["tacheng"].url, county_code="654200")
        self.xj = open_store(self.clusters["xj"].url, county_code="650000")
        service.publish(self.yumin)
        service.publish(self.emin)
        service.make_hub(self.tacheng, publish_prefix="6542")
        service.make_hub(self.xj)
        for code, name in (("654225", "yumin"), ("654221", "emin")):
            service.subscribe(self.tacheng, code, self.clusters[name].dsn())
        # The region subscribes to the prefecture's publication (its rows and its counties' heartbeats).
        replication.subscribe(
            self.xj.backend.engine,  # type: ignore[attr-defined]
            "654200",
            self.clusters["tacheng"].dsn(),
        )

    def synced(self) -> bool:
        """Whether both hubs finished the initial copy of every table (all in state ``r``)."""
        for name in ("tacheng", "xj"):
            with psycopg.connect(self.clusters[name].dsn(), autocommit=True) as con:
                row = con.execute("SELECT count(*) FILTER (WHERE srsubstate <> 'r'), count(*) FROM pg_subscription_rel")
                waiting, total = row.fetchone() or (1, 0)
                if waiting or not total:
                    return False
        return True

    def wait_synced(self, timeout: float = 120.0) -> float:
        """Wait for :meth:`synced`; the seconds it took."""
        t0 = time.monotonic()
        while not self.synced():
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"initial copy not finished within {timeout} s")
            time.sleep(0.2)
        return time.monotonic() - t0

    def close(self) -> None:
        for store in (self.yumin, self.emin, self.tacheng, self.xj):
            store.close()
        # Subscriptions first: a hub's apply workers hold connections to the publishers.
        for name in ("xj", "tacheng"):
            with psycopg.connect(self.clusters[name].dsn(), autocommit=True) as con:
                for (sub,) in con.execute("SELECT subname FROM pg_subscription").fetchall():
                    con.execute(f'ALTER SUBSCRIPTION "{sub}" DISABLE')
                    con.execute(f'ALTER SUBSCRIPTION "{sub}" SET (slot_name = NONE)')
                    con.execute(f'DROP SUBSCRIPTION "{sub}"')
        for cluster in self.clusters.values():
            cluster.stop()

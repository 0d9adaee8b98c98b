"""Failover time of the command centre's HA store (issue 19): primary stopped → first successful write.

Each drill starts a fresh pg_auto_failover formation (:mod:`tests.support.ha_cluster`: monitor +
two data nodes on this machine, synchronous replication, fsync on, the monitor's timeouts as in
:data:`tests.support.ha_cluster.MONITOR_SETTINGS`), opens the SafeMap store on its multi-host
URL (``target_session_attrs=read-write``) and creates hydrants through
``FeatureStore.create`` until the primary is killed (keeper killed, PostgreSQL stopped
``immediate``). Then, from the moment the kill began:

* ``write`` — until the first ``store.create`` that returns (acknowledged) on the promoted
  standby; attempts every 50 ms (a real client waits the ``Retry-After`` of 2 s, which would
  only round the figure up to its next multiple of 2 s);
* ``monitor`` — until the monitor reports the standby as the writable primary
  (``wait_primary``), polled every 100 ms;
* ``kill`` — how long the kill itself took (included in both).

Every acknowledged create is then looked up on the new primary (a lost one fails the run).
No peer engine: the issue asks for the failover time itself; the figures are absolute.

Run: ``python -m benchmarks bench_failover [--drills 3]`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import psycopg

from benchmarks import report
from safemap.layers.errors import StoreUnavailable
from safemap.layers.model import Actor
from safemap.layers.store import open_store
from tests.support import ha_cluster

FIRE = Actor("消防演练", "fire")
WARMUP = 50


def _hydrant(i: int) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [82.9 + (i % 1000) / 10000, 46.2]},
        "properties": {"name": f"演练{i}", "status": "ok"},
    }


def drill(n: int) -> dict[str, float]:
    """One failover on a fresh formation; the seconds from the kill to each milestone."""
    ha = ha_cluster.start()
    try:
        store = open_store(ha.url)
        try:
            acked: list[int] = []
            for i in range(WARMUP):
                acked.append(int(store.create("hydrants", _hydrant(i), FIRE)["id"]))
            old = ha.primary()
            promoted: dict[str, float] = {}
            done = threading.Event()

            def watch() -> None:
                while not done.is_set():
                    name = ha.primary()
                    if name is not None and name != old:
                        promoted["at"] = time.monotonic()
                        return
                    time.sleep(0.1)

            begun = time.monotonic()
            ha.stop_primary()
            killed = time.monotonic()
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            i, refused = WARMUP, 0
            while True:
                i += 1
                try:
                    acked.append(int(store.create("hydrants", _hydrant(i), FIRE)["id"]))
                    break
                except StoreUnavailable:
                    refused += 1
                    time.sleep(0.05)
                if time.monotonic() - begun > 300:
                    raise RuntimeError(f"no write succeeded within 300 s of the kill\n{ha.logs()}")
            written = time.monotonic()
            watcher.join(timeout=120)
            done.set()
            new = ha.primary()
            with psycopg.connect(ha.nodes[str(new)].dsn()) as con:
                found = {r[0] for r in con.execute("SELECT id FROM hydrants WHERE id = ANY(%s)", (acked,))}
            lost = sorted(set(acked) - found)
            if lost:
                raise RuntimeError(f"acknowledged writes lost: {lost}")
        finally:
            store.close()
    finally:
        ha.stop()
    out = {
        "kill": killed - begun,
        "write": written - begun,
        "monitor": promoted.get("at", float("nan")) - begun,
    }
    one, five, fifteen = report.load()
    print(
        f"  drill {n}: {old} → {new}; first write after {out['write']:.2f} s, monitor reports new primary after "
        f"{out['monitor']:.2f} s (kill took {out['kill']:.2f} s); {refused} attempts refused (StoreUnavailable), "
        f"{len(acked)} acknowledged creates, none lost; load {one:.2f}/{five:.2f}/{fifteen:.2f}",
        flush=True,
    )
    return out


def duration(seconds: float) -> str:
    """Seconds as the reports say it: X分Y秒 (with tenths below a minute)."""
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}分{rest:.1f}秒" if minutes else f"{rest:.1f}秒"


@report.recorded("bench_failover")
def main() -> None:
    """N failover drills; each figure and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drills", type=int, default=3, help="number of failover drills (a fresh formation each)")
    args = parser.parse_args()
    settings = ", ".join(f"{k.split('.')[1]}={v}" for k, v in ha_cluster.MONITOR_SETTINGS.items())
    print(f"pg_auto_failover failover drills: {args.drills}; monitor {settings}; keeper {ha_cluster.KEEPER_SETTINGS}")
    runs = [drill(n + 1) for n in range(args.drills)]
    for key, label in (("write", "停主库 → 首次写入成功"), ("monitor", "停主库 → 监控确认新主库")):
        values = [r[key] for r in runs]
        median = statistics.median(values)
        print(f"  {label}: median {median:.2f} s ({duration(median)}); each: {', '.join(f'{v:.2f}' for v in values)}")
        report.figure(f"failover.{key}.median", round(median, 3), "s", drills=len(runs))
        for n, v in enumerate(values, 1):
            report.figure(f"failover.{key}.drill{n}", round(v, 3), "s")


if __name__ == "__main__":
    main()

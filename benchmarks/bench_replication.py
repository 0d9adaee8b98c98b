"""Replication lag under a soak load: county edits → the prefecture (and on to the region), p50/p99.

Four PostgreSQL clusters on this machine (:class:`tests.support.replication_region.Region`,
durable settings: ``fsync``, ``synchronous_commit`` and ``full_page_writes`` on): 裕民县 and
额敏县 publish, 塔城地区 subscribes to both and publishes on, 新疆 subscribes to 塔城地区.
``--writers`` threads per county create enterprises through SafeMap's own store (validation,
audit row, one transaction each) for ``--seconds``; the moment each create returns
(acknowledged) is kept. A poller on the prefecture (and one on the region) reads the new rows
every ``--poll`` seconds and notes when each first appears. Lag = first seen − acknowledged,
so it includes up to one poll interval (stated in the output).

There is no peer: the replication is PostgreSQL's own (``CREATE PUBLICATION … WHERE (county_code
= …)`` / ``CREATE SUBSCRIPTION``), and this measures it as SafeMap deploys it.

Run: ``python -m benchmarks bench_replication [--seconds 60] [--writers 4] [--poll 0.02]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from typing import Any

from sqlalchemy import text

from benchmarks import report
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

EDITOR = Actor("bench", "admin")
LOOKBACK = 500


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _writer(
    store: FeatureStore, county: str, n: int, until: float, acked: dict[str, float], lock: threading.Lock
) -> None:
    i = 0
    lon = 82.9 if county == "654225" else 83.6
    while time.time() < until:
        name = f"soak-{county}-{n}-{i}"
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon + (i % 100) * 1e-4, 46.2]},
            "properties": {"name": name, "industry": "fuel_station", "risk_level": "blue", "source": "synthetic"},
        }
        store.create("enterprises", feature, EDITOR)
        with lock:
            acked[name] = time.time()
        i += 1


def _poller(store: FeatureStore, seen: dict[str, float], stop: threading.Event, poll: float) -> None:
    last: dict[str, int] = {}
    engine = store.backend.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        while not stop.is_set():
            for code in ("654225", "654221"):
                rows = conn.execute(
                    text("SELECT id, name FROM enterprises WHERE county_code = :c AND id > :i ORDER BY id"),
                    # Ids are drawn at insert and committed out of order: read back behind the newest seen.
                    {"c": code, "i": last.get(code, 0) - LOOKBACK},
                ).all()
                now = time.time()
                for fid, name in rows:
                    seen.setdefault(name, now)
                    last[code] = max(last.get(code, 0), int(fid))
            conn.commit()
            time.sleep(poll)


def _summary(label: str, acked: dict[str, float], seen: dict[str, float]) -> dict[str, Any]:
    lags = [seen[n] - t for n, t in acked.items() if n in seen]
    missing = len(acked) - len(lags)
    out = {
        "label": label,
        "writes": len(acked),
        "arrived": len(lags),
        "missing": missing,
        "p50_s": _quantile(lags, 0.5) if lags else None,
        "p95_s": _quantile(lags, 0.95) if lags else None,
        "p99_s": _quantile(lags, 0.99) if lags else None,
        "max_s": max(lags) if lags else None,
        "mean_s": statistics.fmean(lags) if lags else None,
    }
    print(
        f"{label:<22} writes {out['writes']:>6}  arrived {out['arrived']:>6}  missing {missing}  "
        f"p50 {out['p50_s'] * 1000:7.1f} ms  p95 {out['p95_s'] * 1000:7.1f} ms  "
        f"p99 {out['p99_s'] * 1000:7.1f} ms  max {out['max_s'] * 1000:7.1f} ms"
        if lags
        else f"{label}: nothing arrived"
    )
    return out


@report.recorded("bench_replication")
def main() -> None:
    """Run the soak and print the lag percentiles per hop."""
    from tests.support.replication_region import Region

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SAFEMAP_REPL_SECONDS", 60)))
    parser.add_argument("--writers", type=int, default=4, help="writer threads per county")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between reads of the hubs")
    args = parser.parse_args()

    t0 = time.monotonic()
    region = Region(durable=True)
    try:
        print(f"4 clusters up, published and subscribed in {time.monotonic() - t0:.1f} s; ", end="")
        print(f"initial copy {region.wait_synced():.1f} s")
        acked: dict[str, float] = {}
        lock = threading.Lock()
        seen_p: dict[str, float] = {}
        seen_r: dict[str, float] = {}
        stop = threading.Event()
        pollers = [
            threading.Thread(target=_poller, args=(region.tacheng, seen_p, stop, args.poll), daemon=True),
            threading.Thread(target=_poller, args=(region.xj, seen_r, stop, args.poll), daemon=True),
        ]
        for p in pollers:
            p.start()
        until = time.time() + args.seconds
        writers = [
            threading.Thread(target=_writer, args=(store, code, n, until, acked, lock), daemon=True)
            for store, code in ((region.yumin, "654225"), (region.emin, "654221"))
            for n in range(args.writers)
        ]
        load0 = os.getloadavg()
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        # Let the tail arrive before stopping the pollers.
        deadline = time.time() + 30
        while time.time() < deadline and (len(seen_p) < len(acked) or len(seen_r) < len(acked)):
            time.sleep(0.1)
        stop.set()
        for p in pollers:
            p.join(timeout=5)
        load1 = os.getloadavg()
        rate = len(acked) / args.seconds
        print(
            f"soak: {2 * args.writers} writers ({args.writers} per county) for {args.seconds:.0f} s, "
            f"{rate:.0f} acknowledged creates/s; poll every {args.poll * 1000:.0f} ms (lag includes up to one poll)"
        )
        print(f"load average {load0[0]:.2f} → {load1[0]:.2f} on {os.cpu_count()} cores (the 4 clusters share them)")
        prefecture = _summary("county → prefecture", acked, seen_p)
        region_ = _summary("county → region (2 hops)", acked, seen_r)
        for key, hop in (("prefecture", prefecture), ("region", region_)):
            for q in ("p50_s", "p99_s"):
                report.figure(f"lag_{key}_{q}", hop[q], "s")
            report.figure(f"missing_{key}", hop["missing"])
        report.figure("writes_per_s", rate, "1/s")
    finally:
        region.close()


if __name__ == "__main__":
    main()

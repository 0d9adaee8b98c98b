"""Soak benchmark: mixed reads and versioned writes at 16 concurrent clients, both stores.

Each store gets the demo county, an admin token and a live server on loopback
(:class:`~tests.support.background_server.BackgroundServer`: one uvicorn worker
process). ``SAFEMAP_SOAK_CLIENTS`` threads (default 16), each with its own kept-alive
``httpx.Client``, run for ``SAFEMAP_SOAK_SECONDS`` (default 60) a mix of

* reads: ``GET /api/layers/{layer}?bbox=…&limit=…``, OGC items pages
  ``/ogc/collections/{c}/items?limit=…&offset=…`` and vector tiles
  ``/tiles/{layer}/{z}/{x}/{y}.mvt`` around the county seat;
* versioned writes: ``GET /api/layers/enterprises/{id}`` for the version, then
  ``PATCH`` with ``If-Match`` of it; on 409 re-read and retry, on 503 wait
  ``Retry-After`` and retry. The writes go to a few enterprises only, so they collide.

Reported per store: requests, throughput, p50/p99 per kind (read = every GET, write =
every PATCH), errors by status (5xx and transport errors must be 0), 409s and 503s
(expected, counted apart) and lost writes (must be 0): after the run every acknowledged
write — the version the server returned and the value written — is checked in the store
itself: the feature is at that version or a later one, no two acknowledgements share a
version, the audit log has an entry whose ``after`` is that version with that value, and
the feature holds the value of its newest acknowledged write if nothing newer exists.

With ``--import-rows N`` (``SAFEMAP_SOAK_IMPORT_ROWS``) one more client uploads a CSV of
``N`` enterprises to ``POST /api/layers/enterprises/import`` again and again for the whole
run, so the writes meet a long import (the 503 path: a write that cannot get the lock in
time is told to retry). Afterwards the layer must hold exactly ``N`` more rows per
acknowledged import: an import is all or nothing and none is lost.

Run: ``python -m benchmarks bench_load`` or ``python -m benchmarks.bench_load
[--seconds 20] [--clients 16] [--stores gpkg,postgis] [--import-rows 20000]`` (environment:
``SAFEMAP_SOAK_SECONDS``, ``SAFEMAP_SOAK_CLIENTS``, ``SAFEMAP_SOAK_STORES``).
Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks import report
from benchmarks.bench_ogc import seat_tile
from safemap.api.services.editing import build_demo
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.tokens import create_token
from tests.support import pg_cluster
from tests.support.background_server import BackgroundServer

SEAT = (82.985, 46.205)
WRITE_LAYER = "enterprises"
WRITE_FIELD = "address"  # free text, not an input of any derived value
HOT_FEATURES = 8  # writes spread over this many enterprises: 16 clients collide often
WRITE_SHARE = 0.2
READ_LAYERS = ("enterprises", "roads", "hazard_sources", "protected_targets")
OGC_COLLECTIONS = ("enterprises", "roads", "protected_targets")
TILE_LAYERS = ("roads", "enterprises", "protected_targets")
MAX_RETRIES = 50


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``samples`` by nearest rank; nan when empty."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


@dataclass
class Tally:
    """What the clients saw, merged under a lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latency: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    samples: dict[str, str] = field(default_factory=dict)  # first failing request of each error kind
    conflicts: int = 0
    busy: int = 0
    gave_up: int = 0
    acked: list[tuple[int, int, str]] = field(default_factory=list)  # (feature id, version, value)


class Client:
    """One soak client: its own connection pool, random generator and counters."""

    def __init__(self, base: str, token: str, n: int, ids: list[int], tally: Tally, seed: int) -> None:
        self.http = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})
        self.n, self.ids, self.tally = n, ids, tally
        self.rng = random.Random(seed)
        self.seq = 0
        self.lat: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: collections.Counter[tuple[str, int]] = collections.Counter()
        self.acked: list[tuple[int, int, str]] = []
        self.conflicts = self.busy = self.gave_up = 0

    def request(self, kind: str, method: str, url: str, **kw: Any) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            r = self.http.request(method, url, **kw)
            r.read()
        except httpx.HTTPError as exc:
            name = f"transport {type(exc).__name__}"
            with self.tally.lock:
                self.tally.errors[name] += 1
                self.tally.samples.setdefault(name, f"{method} {url} {kw.get('params') or ''}: {exc!r}")
            return None
        self.lat[kind].append(time.perf_counter() - t0)
        self.statuses[(kind, r.status_code)] += 1
        ok = r.status_code in (200, 204) or (kind == "write" and r.status_code in (409, 503))
        if not ok:
            name = f"HTTP {r.status_code}"
            with self.tally.lock:
                self.tally.errors[name] += 1
                self.tally.samples.setdefault(
                    name, f"{method} {url} params={kw.get('params')} json={kw.get('json')}: {r.text[:300]}"
                )
        return r

    def read(self) -> None:
        rng = self.rng
        pick = rng.random()
        if pick < 0.4:
            w, h = rng.uniform(0.02, 0.2), rng.uniform(0.02, 0.2)
            x0, y0 = SEAT[0] + rng.uniform(-0.3, 0.2), SEAT[1] + rng.uniform(-0.3, 0.2)
            bbox = f"{x0:.5f},{y0:.5f},{x0 + w:.5f},{y0 + h:.5f}"
            layer = rng.choice(READ_LAYERS)
            self.request(
                "read", "GET", f"/api/layers/{layer}", params={"bbox": bbox, "limit": rng.choice((50, 200, 1000))}
            )
        elif pick < 0.7:
            c = rng.choice(OGC_COLLECTIONS)
            params = {"limit": rng.choice((10, 100, 500)), "offset": rng.choice((0, 0, 100, 500))}
            self.request("read", "GET", f"/ogc/collections/{c}/items", params=params)
        else:
            z = rng.choice((12, 13, 14, 15))
            _, x, y = seat_tile(z)
            x, y = x + rng.randint(-2, 2), y + rng.randint(-2, 2)
            self.request("read", "GET", f"/tiles/{rng.choice(TILE_LAYERS)}/{z}/{x}/{y}.mvt")

    def write(self, deadline: float) -> None:
        fid = self.rng.choice(self.ids)
        self.seq += 1
        value = f"soak c{self.n:02d} #{self.seq}"
        for _ in range(MAX_RETRIES):
            got = self.request("read", "GET", f"/api/layers/{WRITE_LAYER}/{fid}")
            if got is None or got.status_code != 200:
                return
            version = got.json()["properties"]["version"]
            r = self.request(
                "write",
                "PATCH",
                f"/api/layers/{WRITE_LAYER}/{fid}",
                json={"type": "Feature", "properties": {WRITE_FIELD: value}},
                headers={"If-Match": f'"{version}"'},
            )
            if r is None:
                return  # unknown outcome: not acknowledged, not counted as a write
            if r.status_code == 200:
                props = r.json()["properties"]
                self.acked.append((fid, int(props["version"]), value))
                if props.get(WRITE_FIELD) != value:
                    with self.tally.lock:
                        self.tally.errors["200 without the written value"] += 1
                return
            if r.status_code == 409:
                self.conflicts += 1
                continue
            if r.status_code == 503:
                self.busy += 1
                try:
                    wait = float(r.headers.get("Retry-After", "1"))
                except ValueError:
                    wait = 1.0
                if time.monotonic() + wait > deadline + 30:
                    break
                time.sleep(wait)
                continue
            return  # another status: already counted as an error
        self.gave_up += 1

    def run(self, deadline: float) -> None:
        try:
            while time.monotonic() < deadline:
                if self.rng.random() < WRITE_SHARE:
                    self.write(deadline)
                else:
                    self.read()
        finally:
            self.http.close()
            with self.tally.lock:
                for kind, values in self.lat.items():
                    self.tally.latency[kind].extend(values)
                    self.tally.requests[kind] += len(values)
                self.tally.statuses.update(self.statuses)
                self.tally.acked.extend(self.acked)
                self.tally.conflicts += self.conflicts
                self.tally.busy += self.busy
                self.tally.gave_up += self.gave_up


def import_csv(rows: int) -> bytes:
    """``rows`` enterprises around the county seat as a CSV (synthetic: a load test's own rows)."""
    lines = ["name,industry,risk_level,employees,lon,lat"]
    for i in range(rows):
        lines.append(
            f"压测导入企业{i},其他,蓝,{i % 500},{SEAT[0] + (i % 200) * 1e-4:.6f},{SEAT[1] + (i // 200) * 1e-4:.6f}"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


class Importer:
    """Uploads the same CSV again and again until the deadline; counts what the server said."""

    def __init__(self, base: str, token: str, rows: int) -> None:
        self.http = httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {token}"})
        self.rows, self.body = rows, import_csv(rows)
        self.statuses: collections.Counter[int] = collections.Counter()
        self.durations: list[float] = []
        self.samples: dict[int, str] = {}
        self.transport = 0

    def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                r = self.http.post(
                    "/api/layers/enterprises/import", files={"file": ("压测.csv", self.body, "text/csv")}
                )
            except httpx.HTTPError:
                self.transport += 1
                continue
            self.statuses[r.status_code] += 1
            if r.status_code in (200, 201):
                self.durations.append(time.perf_counter() - t0)
            else:
                self.samples.setdefault(r.status_code, r.text[:300])
                if r.status_code == 503:
                    time.sleep(float(r.headers.get("Retry-After", "1")))
        self.http.close()

    @property
    def acknowledged(self) -> int:
        return self.statuses[200] + self.statuses[201]


def check_writes(store: FeatureStore, acked: list[tuple[int, int, str]]) -> list[str]:
    """Every acknowledged write present (version, value, audit entry); the problems found."""
    problems: list[str] = []
    by_fid: dict[int, list[tuple[int, str]]] = collections.defaultdict(list)
    for fid, version, value in acked:
        by_fid[fid].append((version, value))
    for fid, writes in sorted(by_fid.items()):
        current = store.get(WRITE_LAYER, fid)["properties"]
        audit = store.audit_log(layer=WRITE_LAYER, feature_id=fid, limit=1_000_000)
        audited: dict[int, list[Any]] = collections.defaultdict(list)
        for entry in audit:
            after = entry.get("after") or {}
            props = after.get("properties", after) if isinstance(after, dict) else {}
            if isinstance(props, dict) and props.get("version") is not None:
                audited[int(props["version"])].append(props.get(WRITE_FIELD))
        seen = collections.Counter(v for v, _ in writes)
        for version, n in seen.items():
            if n > 1:
                problems.append(f"{WRITE_LAYER}/{fid}: version {version} acknowledged {n} times (a lost update)")
        for version, value in writes:
            if int(current["version"]) < version:
                problems.append(
                    f"{WRITE_LAYER}/{fid}: acknowledged v{version} but the store is at v{current['version']}"
                )
            if value not in audited.get(version, []):
                problems.append(
                    f"{WRITE_LAYER}/{fid}: no audit entry for v{version} = {value!r} (audit has {audited.get(version)})"
                )
        newest_version, newest_value = max(writes)
        if int(current["version"]) == newest_version and current.get(WRITE_FIELD) != newest_value:
            problems.append(
                f"{WRITE_LAYER}/{fid}: at v{newest_version} holds {current.get(WRITE_FIELD)!r}, acknowledged {newest_value!r}"
            )
    return problems


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def soak(label: str, target: str, seconds: float, clients: int, import_rows: int = 0) -> dict[str, Any]:
    """Prepare ``target`` (demo county, token), run the soak against a live server, report."""
    store = open_store(target)
    t0 = time.perf_counter()
    build_demo(store)
    token = create_token(store, "soak benchmark", "admin", expires_days=1)
    page = store.query(WRITE_LAYER, limit=HOT_FEATURES, count=False, children=False)
    ids = [int(row["id"]) for row in page.rows]
    start_versions = {fid: int(store.get(WRITE_LAYER, fid)["properties"]["version"]) for fid in ids}
    start_rows = store.counts()[WRITE_LAYER]
    store.close()
    print(f"\n[{label}] demo county built in {time.perf_counter() - t0:.1f} s; writes go to {WRITE_LAYER} ids {ids}")
    tally = Tally()
    server = BackgroundServer(target)
    with server as base:
        pid = server.proc.pid if server.proc else None
        print(
            f"[{label}] server: {sys.executable} -m uvicorn safemap.api.http.app:create_app --factory "
            f"--host 127.0.0.1 --port {base.rsplit(':', 1)[1]} --log-level warning (1 worker process, "
            f"pid {pid}), store {'SAFEMAP_DATABASE_URL=' + target if target.startswith('postgresql') else 'SAFEMAP_GPKG_PATH=' + target}"
        )
        with httpx.Client(base_url=base, timeout=60) as warm:  # one of each, so first-call costs are not measured
            warm.get("/api/layers/enterprises", params={"limit": 10}).raise_for_status()
            warm.get("/ogc/collections/roads/items", params={"limit": 10}).raise_for_status()
            warm.get(f"/tiles/roads/{'/'.join(map(str, seat_tile(14)))}.mvt").raise_for_status()
        load_before = os.getloadavg()
        server_cpu0 = cpu_seconds(pid) if pid else float("nan")
        client_cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        workers = [Client(base, token, n, ids, tally, seed=1000 + n) for n in range(clients)]
        t_start = time.monotonic()
        deadline = t_start + seconds
        threads = [threading.Thread(target=w.run, args=(deadline,), name=f"soak-{w.n}") for w in workers]
        importer = Importer(base, token, import_rows) if import_rows else None
        if importer is not None:
            threads.append(threading.Thread(target=importer.run, args=(deadline,), name="soak-import"))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t_start
        load_after = os.getloadavg()
        server_cpu = (cpu_seconds(pid) if pid else float("nan")) - server_cpu0
        ru = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = ru.ru_utime + ru.ru_stime - client_cpu0.ru_utime - client_cpu0.ru_stime
    # The server is gone: what is left is what the store kept.
    store = open_store(target)
    try:
        problems = check_writes(store, tally.acked)
        end_versions = {fid: int(store.get(WRITE_LAYER, fid)["properties"]["version"]) for fid in ids}
        end_rows = store.counts()[WRITE_LAYER]
    finally:
        store.close()
    total = sum(tally.requests.values())
    five = sum(n for (_, status), n in tally.statuses.items() if status >= 500 and status != 503)
    transport = sum(n for k, n in tally.errors.items() if k.startswith("transport"))
    print(f"[{label}] {clients} clients for {elapsed:.1f} s (deadline {seconds:g} s + requests in flight)")
    print(f"  requests {total}  throughput {total / elapsed:7.1f} req/s")
    for kind in ("read", "write"):
        lat = tally.latency.get(kind, [])
        print(
            f"  {kind:<5} n={len(lat):6d}  p50 {percentile(lat, 0.5) * 1000:8.1f} ms  p99 {percentile(lat, 0.99) * 1000:8.1f} ms"
            f"  mean {statistics.fmean(lat) * 1000 if lat else float('nan'):8.1f} ms"
        )
    print(f"  statuses {dict(sorted(tally.statuses.items()))}")
    print(
        f"  acknowledged writes {len(tally.acked)}; 409 conflicts {tally.conflicts} (expected, retried); "
        f"503 busy {tally.busy}; gave up after {MAX_RETRIES} tries {tally.gave_up}"
    )
    bumped = sum(end_versions[f] - start_versions[f] for f in ids)
    print(f"  versions advanced on the hot features: {bumped} (acknowledged {len(tally.acked)})")
    print(f"  errors {dict(tally.errors) or 0}  (5xx other than 503: {five}, transport: {transport})")
    for name, sample in tally.samples.items():
        print(f"    first {name}: {sample}")
    lost_rows = 0
    if importer is not None:
        expected_rows = start_rows + importer.rows * importer.acknowledged
        lost_rows = abs(end_rows - expected_rows)
        took = sorted(importer.durations)
        print(
            f"  imports of {importer.rows} rows: statuses {dict(sorted(importer.statuses.items()))}, "
            f"transport errors {importer.transport}; each took p50 {percentile(took, 0.5):.1f} s; "
            f"rows {start_rows} → {end_rows} (expected {expected_rows})"
        )
        for status, sample in importer.samples.items():
            print(f"    first import {status}: {sample}")
        if importer.transport or any(s >= 500 and s != 503 for s in importer.statuses):
            tally.errors["import"] += importer.transport + sum(
                n for s, n in importer.statuses.items() if s >= 500 and s != 503
            )
    print(f"  lost writes {len(problems)}; lost or extra import rows {lost_rows}")
    for p in problems[:20]:
        print(f"    {p}")
    print(
        f"  machine: {os.cpu_count()} cores, loadavg before {'/'.join(f'{v:.2f}' for v in load_before)} "
        f"after {'/'.join(f'{v:.2f}' for v in load_after)}; CPU used: server {server_cpu:.1f} s, "
        f"clients {client_cpu:.1f} s over {elapsed:.1f} s wall"
    )
    return {
        "five": five,
        "transport": transport,
        "lost": len(problems) + lost_rows,
        "other": sum(tally.errors.values()),
    }


@report.recorded("bench_load")
def main(
    seconds: float | None = None, clients: int | None = None, stores: str | None = None, import_rows: int | None = None
) -> bool:
    """Soak each store in turn; False (and a SOAK FAILED line) on a 5xx, transport error or lost write."""
    seconds = seconds or float(os.environ.get("SAFEMAP_SOAK_SECONDS", "60"))
    clients = clients or int(os.environ.get("SAFEMAP_SOAK_CLIENTS", "16"))
    import_rows = import_rows if import_rows is not None else int(os.environ.get("SAFEMAP_SOAK_IMPORT_ROWS", "0"))
    wanted = [s.strip().lower() for s in (stores or os.environ.get("SAFEMAP_SOAK_STORES", "gpkg,postgis")).split(",")]
    print(
        f"SafeMap soak: {clients} clients x {seconds:g} s per store, {1 - WRITE_SHARE:.0%} reads "
        f"(layers bbox / OGC items / tiles) and {WRITE_SHARE:.0%} versioned writes to {HOT_FEATURES} enterprises"
    )
    bad: dict[str, dict[str, Any]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="safemap-soak-"))
    cluster = pg_cluster.start() if "postgis" in wanted else None
    try:
        if "gpkg" in wanted or "geopackage" in wanted:
            result = soak("GeoPackage", str(tmp / "soak.gpkg"), seconds, clients, import_rows)
            if result["five"] or result["transport"] or result["lost"] or result["other"]:
                bad["GeoPackage"] = result
        if cluster is not None:
            result = soak("PostGIS", cluster.url, seconds, clients, import_rows)
            if result["five"] or result["transport"] or result["lost"] or result["other"]:
                bad["PostGIS"] = result
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if bad:
        print(f"\nSOAK FAILED: {bad}")
    return not bad


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--stores", default=None, help="gpkg,postgis (default both)")
    parser.add_argument("--import-rows", type=int, default=None, help="rows per repeated CSV import beside the soak")
    args = parser.parse_args()
    sys.exit(0 if main(args.seconds, args.clients, args.stores, args.import_rows) else 1)

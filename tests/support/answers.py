"""Record the answers of every GET and analysis POST on the demo county, and compare two records.

Used to prove a refactoring changes no behaviour::

    python -m tests.support.answers record before.json
    … refactor …
    python -m tests.support.answers record after.json
    python -m tests.support.answers compare before.json after.json

Binary answers (GeoTIFF, PNG, vector tiles, GeoPackage) are recorded as a SHA-256; HTML as
its visible text; volatile keys (time stamps, build times) are dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?")
VOLATILE = {
    "seconds",
    "timeStamp",
    "built_at",
    "build_s",
    "elapsed_s",
    "elapsed_ms",
    "generated_at",
    "computed_at",
    "took_ms",
    "updated_at",
    "created_at",
    "dispatched_at",
    "released_at",
    "arrived_at",
    "at",
    "solve_s",
    "time_s",
}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return TIME.sub("<time>", value)
    if isinstance(value, float):
        return float(f"{value:.9g}") if math.isfinite(value) else str(value)
    return value


def _text_of_html(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    text = TIME.sub("<time>", text)
    return re.sub(r"\s+", " ", text).strip()


def _answer(r: Any) -> Any:
    ctype = r.headers.get("content-type", "")
    out: dict[str, Any] = {"status": r.status_code, "type": ctype.split(";")[0]}
    if "json" in ctype:
        out["body"] = _clean(r.json())
    elif "html" in ctype:
        out["text"] = _text_of_html(r.text)
    elif "svg" in ctype:  # matplotlib's ids differ run to run: keep the text it draws
        out["text"] = " ".join(re.findall(r"<!-- (.*?) -->", r.text))
    elif ctype.startswith("text/"):
        out["text"] = TIME.sub("<time>", r.text)
    else:
        out["sha256"] = hashlib.sha256(r.content).hexdigest()
        out["bytes"] = len(r.content)
    return out


@contextlib.contextmanager
def _demo_client() -> Iterator[tuple[Any, Any]]:
    from fastapi.testclient import TestClient

    from safemap.api.http.app import create_app
    from safemap.api.services.editing import build_demo
    from safemap.api.settings import YUMIN_EXTENT, Settings
    from safemap.layers.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "demo.gpkg", extent=YUMIN_EXTENT)
        build_demo(store)  # builds and grades, as `safemap demo` does
        settings = Settings(basemap="none", gpkg_path=Path(tmp) / "unused.gpkg")
        with TestClient(create_app(settings, store=store)) as client:
            yield client, store
        store.close()


def requests(store: Any) -> list[tuple[str, str, Any]]:
    """The (method, path, body) of every recorded request, built from the demo's own features."""
    from shapely.geometry import shape

    layers = [name for name in store.counts()]
    reqs: list[tuple[str, str, Any]] = [("GET", "/healthz", None), ("GET", "/api/layers", None)]
    for name in layers:
        reqs += [
            ("GET", f"/api/layers/{name}?limit=10000", None),
            ("GET", f"/api/layers/{name}/schema", None),
            ("GET", f"/api/layers/{name}/export?format=csv", None),
        ]
    reqs += [
        ("GET", "/api/layers/enterprises?risk_level=red,橙&limit=50", None),
        ("GET", "/api/layers/protected_targets?bbox=82.9,46.1,83.1,46.3&limit=20&offset=5", None),
        ("GET", "/api/layers/enterprises?q=加油&limit=20", None),
        ("GET", "/api/layers/enterprises/1", None),
        ("GET", "/api/layers/nothing", None),
        ("GET", "/api/layers/enterprises/999999", None),
    ]
    reqs += [
        ("GET", "/ogc", None),
        ("GET", "/ogc/conformance", None),
        ("GET", "/ogc/collections", None),
        ("GET", "/ogc?f=html", None),
    ]
    for name in ("enterprises", "roads", "hazard_sources", "rescue_teams"):
        reqs += [
            ("GET", f"/ogc/collections/{name}", None),
            ("GET", f"/ogc/collections/{name}/queryables", None),
            ("GET", f"/ogc/collections/{name}/schema", None),
            ("GET", f"/ogc/collections/{name}/items?limit=50&bbox=82.9,46.1,83.1,46.3", None),
            ("GET", f"/ogc/collections/{name}/items/1", None),
            ("GET", f"/ogc/collections/{name}/items?f=html&limit=5", None),
        ]
    reqs += [("GET", "/ogc/collections/enterprises/items?colour=red", None)]
    for z, x, y in ((10, 748, 364), (14, 11971, 5829), (12, 2992, 1457)):
        reqs += [("GET", f"/tiles/roads/{z}/{x}/{y}.mvt", None), ("GET", f"/tiles/enterprises/{z}/{x}/{y}.mvt", None)]
    reqs += [("GET", "/map/popup/enterprises/1", None), ("GET", "/map/popup/roads/5", None)]
    # safety
    reqs += [
        ("GET", "/api/safety/violations", None),
        ("GET", "/api/safety/violations?format=csv", None),
        ("GET", "/api/safety/hazard-grades", None),
        ("GET", "/api/safety/site-kinds", None),
        ("GET", "/api/safety/risk-raster?cell_m=50", None),
        ("GET", "/api/safety/risk-raster?cell_m=50&format=png", None),
        ("GET", "/api/safety/risk-contours?cell_m=50", None),
        ("GET", "/api/safety/risk-targets", None),
        ("GET", "/api/safety/fn-curve?format=json", None),
        ("GET", "/api/safety/fn-curve", None),
    ]
    hazards = store.query("hazard_sources", limit=100).features()
    station = next(h for h in hazards if "城东加油站" in (h["properties"].get("name") or ""))
    c = shape(station["geometry"]).centroid
    loc = [c.x, c.y]
    reqs += [
        (
            "POST",
            "/api/safety/major-hazard",
            {"substances": [{"name": "氯", "quantity_t": 50}], "exposed_population": 100},
        ),
        (
            "POST",
            "/api/safety/major-hazard",
            {"substances": [{"cas": "74-98-6", "quantity_t": 30}], "geometry": {"type": "Point", "coordinates": loc}},
        ),
        ("POST", "/api/safety/major-hazard", {"substances": [{"name": "氯", "quantity_t": -1}]}),
    ]
    for body in (
        {"model": "vce", "fuel_mass_kg": 1000, "substance": "液化石油气"},
        {"model": "bleve", "fireball_mass_kg": 1000},
        {"model": "pool_fire", "diameter_m": 20, "substance": "汽油"},
        {
            "model": "gaussian_plume",
            "rate_kg_s": 1.0,
            "wind_m_s": 3,
            "wind_from_deg": 270,
            "stability": "D",
            "substance": "氯",
            "sample_distances_m": [1000],
        },
        {"model": "gaussian_plume", "rate_kg_s": 1.0, "wind_m_s": 0, "stability": "D"},
        {"model": "vce", "fuel_mass_kg": 10, "substance": "不存在的物质"},
    ):
        reqs.append(("POST", "/api/safety/consequence", {"location": loc, **body}))
    school = {"geometry": {"type": "Point", "coordinates": [c.x + 0.0003, c.y]}, "kind": "school", "name": "新学校"}
    ring = [
        [c.x + 0.004, c.y],
        [c.x + 0.005, c.y],
        [c.x + 0.005, c.y + 0.0008],
        [c.x + 0.004, c.y + 0.0008],
        [c.x + 0.004, c.y],
    ]
    lpg = {
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "kind": "lpg_depot",
        "properties": {"volume_m3": 300},
    }
    for body in (school, lpg, {"kind": "school"}):
        reqs.append(("POST", "/api/safety/site-check", body))
    reqs += [
        ("POST", "/api/safety/site-check/report", school),
        ("POST", "/api/safety/site-check/report?format=csv", school),
        ("POST", "/api/safety/site-check/report?format=geojson", school),
    ]
    # coverage and access
    reqs += [
        ("POST", "/api/coverage/service-areas", {}),
        ("POST", "/api/coverage/service-areas", {"thresholds_min": [5, 10], "vehicle": "aerial_ladder"}),
        ("POST", "/api/coverage/service-areas", {"thresholds_min": [-1]}),
        ("GET", "/api/coverage/report", None),
        ("GET", "/api/coverage/report?standard_min=15", None),
        ("GET", "/api/coverage/report?format=csv&table=by_township", None),
        ("GET", "/api/coverage/report?format=csv&table=depots", None),
        ("GET", "/api/coverage/report?kinds=fire_station,ufo", None),
        ("POST", "/api/coverage/locate", {"problem": "mclp", "k": 2}),
        ("POST", "/api/coverage/locate", {"problem": "pcenter", "k": 2, "candidates": {"max": 150}}),
        ("GET", "/api/access/review", None),
        ("GET", "/api/access/review?format=csv", None),
        ("GET", "/api/access/review?format=html", None),
        ("GET", "/api/access/review?township=哈拉布拉镇", None),
        ("GET", "/api/access/review?township=火星乡", None),
    ]
    # routing and dispatch (read-only: plan, never confirm)
    teams = store.query("rescue_teams", limit=100).features()
    t0 = shape(teams[0]["geometry"])
    reqs += [
        ("GET", "/api/network", None),
        ("POST", "/api/route", {"from": [t0.x, t0.y], "to": loc, "vehicle": "fire_engine"}),
        ("POST", "/api/route", {"from": [t0.x, t0.y], "to": loc, "vehicle": "aerial_ladder"}),
        ("POST", "/api/route", {"from": [82.9], "to": loc}),
        ("POST", "/api/route/matrix", {"from": [t0.x, t0.y], "to": [loc, [c.x + 0.01, c.y + 0.01]]}),
        (
            "POST",
            "/api/dispatch/plan",
            {
                "incident": loc,
                "needs": [{"kinds": ["fire_station"], "count": 2}],
                "materials": [{"item": "沙袋", "quantity": 100}],
            },
        ),
        (
            "POST",
            "/api/dispatch/plan",
            {
                "incident": loc,
                "needs": [{"kinds": ["hazmat"], "count": 1}],
                "hazard": {"radius_m": 500, "wind_from_deg": 270},
            },
        ),
        ("GET", "/api/dispatch/active", None),
    ]
    return reqs


def record(out: Path) -> None:
    """Write every answer to ``out`` as JSON."""
    answers: dict[str, Any] = {}
    with _demo_client() as (client, store):
        for method, path, body in requests(store):
            key = f"{method} {path}" + (f" {json.dumps(body, ensure_ascii=False, sort_keys=True)}" if body else "")
            r = client.request(method, path, json=body) if body is not None else client.request(method, path)
            answers[key] = _answer(r)
    out.write_text(json.dumps(answers, ensure_ascii=False, indent=1, sort_keys=True))
    print(f"{len(answers)} answers → {out}")


def compare(a: Path, b: Path) -> int:
    """Print the requests whose answers differ; return how many."""
    before, after = json.loads(a.read_text()), json.loads(b.read_text())
    differ = [k for k in before if before[k] != after.get(k)]
    missing = [k for k in after if k not in before]
    for k in differ:
        print("DIFFERS", k[:200])
    for k in missing:
        print("NEW", k[:200])
    print(
        f"{len(before)} answers before, {len(after)} after; {len(before) - len(differ)} identical, "
        f"{len(differ)} differ, {len(missing)} new"
    )
    return len(differ)


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(Path(sys.argv[2]))
    else:
        sys.exit(1 if compare(Path(sys.argv[2]), Path(sys.argv[3])) else 0)

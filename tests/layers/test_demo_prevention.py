"""Double prevention in the demo county (issue 17): risk points, findings, accidents, indicator years."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from typing import Any

import pytest
from PIL import Image

from safemap.layers.demo import draft_demo
from safemap.layers.demo.plan import Draft, Plan
from safemap.layers.demo.prevention import PREVENTION_LAYER_ORDER, demo_photo
from safemap.layers.store import FeatureStore

LEC = {"L": {10, 6, 3, 1, 0.5, 0.2, 0.1}, "E": {10, 6, 3, 2, 1, 0.5}, "C": {100, 40, 15, 7, 3, 1}}
LS = set(range(1, 6))
AS_OF = dt.date(2026, 12, 1)
OPEN = {"found", "rectifying", "review"}
#: Timeline kinds a finding's status requires, in order (a failed review adds fail + submit).
STEPS = {
    "found": ["found"],
    "rectifying": ["found", "rectify"],
    "review": ["found", "rectify", "submit"],
    "closed": ["found", "rectify", "submit", "closed"],
}


def _level(score: float, bands: tuple[float, float, float]) -> str:
    red, orange, yellow = bands
    if score > red:
        return "red"
    if score > orange:
        return "orange"
    if score > yellow:
        return "yellow"
    return "blue"


def _score(props: dict[str, Any]) -> tuple[float, str]:
    if props["method"] == "lec":
        d = props["lec_l"] * props["lec_e"] * props["lec_c"]
        return d, _level(d, (320, 160, 70))
    r = props["ls_l"] * props["ls_s"]
    return r, _level(r, (16, 12, 8))


def _time(value: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(value)
    assert t.tzinfo is not None, value
    return t


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return draft_demo()


def _of(plan: Plan, layer: str) -> list[Draft]:
    return plan.layers.get(layer, [])


def test_layers_drafted_in_range(plan: Plan) -> None:
    counts = {name: len(_of(plan, name)) for name in PREVENTION_LAYER_ORDER}
    assert 16 <= counts["risk_zones"] <= 40, counts
    assert 3 * counts["risk_zones"] <= counts["risk_points"] <= 6 * counts["risk_zones"], counts
    assert 6 <= counts["inspections"] <= 12, counts
    assert 25 <= counts["hidden_dangers"] <= 40, counts
    assert counts["hidden_danger_events"] >= counts["hidden_dangers"], counts
    assert 20 <= counts["accidents"] <= 60, counts
    assert counts["indicator_years"] == 7, counts


def test_every_record_says_synthetic(plan: Plan) -> None:
    for name in PREVENTION_LAYER_ORDER:
        for d in _of(plan, name):
            assert "synthetic" in d.props.get("source", ""), d.key
            assert d.props.get("name"), d.key


def test_references_point_at_drafts_of_the_right_layer(plan: Plan) -> None:
    target = {
        "enterprise_id": "enterprises",
        "zone_id": "risk_zones",
        "inspection_id": "inspections",
        "danger_id": "hidden_dangers",
    }
    for name in PREVENTION_LAYER_ORDER:
        for d in _of(plan, name):
            for field, key in d.refs.items():
                assert plan.get(key).layer == target[field], (d.key, field, key)
    for d in _of(plan, "risk_zones") + _of(plan, "risk_points"):
        assert "enterprise_id" in d.refs, d.key
    for p in _of(plan, "risk_points"):
        zone = plan.get(p.refs["zone_id"])
        assert zone.refs["enterprise_id"] == p.refs["enterprise_id"], p.key
        assert zone.geom.buffer(0.01).contains(p.geom), p.key


def test_risk_zones_are_enterprise_sized_polygons(plan: Plan) -> None:
    for z in _of(plan, "risk_zones"):
        assert z.geom.geom_type == "Polygon" and z.geom.is_valid, z.key
        x0, y0, x1, y1 = z.geom.bounds
        assert 10 <= x1 - x0 <= 100 and 10 <= y1 - y0 <= 100, (z.key, z.geom.bounds)
    per_zone = Counter(p.refs["zone_id"] for p in _of(plan, "risk_points"))
    assert all(3 <= per_zone[z.key] <= 6 for z in _of(plan, "risk_zones")), per_zone


def test_risk_point_factors_are_allowed_values(plan: Plan) -> None:
    for p in _of(plan, "risk_points"):
        props = p.props
        assert props["kind"] in {"equipment", "activity", "area"}, p.key
        assert "score" not in props and "risk_level" not in props, p.key
        if props["method"] == "lec":
            assert props["lec_l"] in LEC["L"] and props["lec_e"] in LEC["E"] and props["lec_c"] in LEC["C"], p.key
            assert not {"ls_l", "ls_s"} & props.keys(), p.key
        else:
            assert props["method"] == "ls", p.key
            assert props["ls_l"] in LS and props["ls_s"] in LS, p.key
            assert isinstance(props["ls_l"], int) and isinstance(props["ls_s"], int), p.key
            assert not {"lec_l", "lec_e", "lec_c"} & props.keys(), p.key
        assert props["control_level"] in {"公司级", "车间级", "班组级", "岗位级"}, p.key
        assert props["measures"] and props["hazard"] and props["responsible"], p.key
        assert _day(props["assessed_on"]).year == 2026, p.key


def test_all_four_colours_reached_by_both_methods(plan: Plan) -> None:
    levels = Counter((p.props["method"], _score(p.props)[1]) for p in _of(plan, "risk_points"))
    for method in ("lec", "ls"):
        for colour in ("red", "orange", "yellow", "blue"):
            assert levels[(method, colour)] >= 1, (method, colour, levels)


def test_inspections(plan: Plan) -> None:
    insp = _of(plan, "inspections")
    assert {d.props["scope"] for d in insp} == {"township", "industry", "enterprise"}
    assert len({d.props["status"] for d in insp}) >= 2
    for d in insp:
        assert _day(d.props["planned_on"]).year == 2026, d.key
        assert d.geom is None, d.key
        if d.props["scope"] == "enterprise":
            assert "enterprise_id" in d.refs, d.key
        if d.props["scope"] == "township":
            assert d.props.get("township"), d.key
        if d.props["scope"] == "industry":
            assert d.props.get("industry"), d.key


def test_findings_grades_dates_and_people(plan: Plan) -> None:
    findings = _of(plan, "hidden_dangers")
    major = sum(d.props["grade"] == "major" for d in findings)
    assert 0.12 <= major / len(findings) <= 0.3, major
    assert {d.props["status"] for d in findings} == {"found", "rectifying", "review", "closed"}
    assert len({d.props["found_by"] for d in findings}) == 3
    assert len({d.props["township"] for d in findings}) >= 3
    for d in findings:
        p = d.props
        found = _time(p["found_at"])
        assert dt.date(2026, 6, 1) <= found.date() <= dt.date(2026, 11, 30), d.key
        assert "client_uuid" not in p, d.key
        assert p["clause"] and p["checklist_item"], d.key
        days = (_day(p["deadline"]) - found.date()).days
        extended = any(e.props["kind"] == "extend" for e in _events(plan, d))
        assert extended or 15 <= days <= 60, (d.key, days)
        if p["status"] == "closed":
            assert p["reviewer"] and _time(p["closed_at"]) > found, d.key
            if p["grade"] == "major":
                assert p["reviewer"] != p["found_by"], d.key
        else:
            assert "reviewer" not in p and "closed_at" not in p, d.key


def _events(plan: Plan, finding: Draft) -> list[Draft]:
    return [e for e in _of(plan, "hidden_danger_events") if e.refs["danger_id"] == finding.key]


def test_some_open_findings_overdue_and_some_due_in_2027(plan: Plan) -> None:
    open_ = [d for d in _of(plan, "hidden_dangers") if d.props["status"] in OPEN]
    overdue = [d for d in open_ if _day(d.props["deadline"]) < AS_OF]
    future = [d for d in open_ if _day(d.props["deadline"]).year == 2027]
    assert len(overdue) >= 3, [d.key for d in overdue]
    assert len(future) >= 3, [d.key for d in future]


def test_timelines_follow_the_status(plan: Plan) -> None:
    for d in _of(plan, "hidden_dangers"):
        events = _events(plan, d)
        times = [_time(e.props["at"]) for e in events]
        assert times == sorted(times) and len(set(times)) == len(times), d.key
        assert times[0] == _time(d.props["found_at"]), d.key
        assert times[-1].date() < AS_OF, d.key
        kinds = [e.props["kind"] for e in events if e.props["kind"] not in ("extend", "note")]
        while "fail" in kinds:  # a failed review sends the finding back: fail, then submit again
            k = kinds.index("fail")
            assert kinds[k - 1 : k + 2] == ["submit", "fail", "submit"], (d.key, kinds)
            del kinds[k : k + 2]
        assert kinds == STEPS[d.props["status"]], (d.key, kinds)
        for e in events:
            assert e.props["actor"] and e.props["text"], e.key
        if d.props["status"] == "closed":
            assert times[-1] == _time(d.props["closed_at"]), d.key
            assert events[-1].props["actor"] == d.props["reviewer"], d.key
        assert events[0].props["actor"] == d.props["found_by"], d.key


def test_accidents_every_year_and_realistic(plan: Plan) -> None:
    accidents = _of(plan, "accidents")
    years = Counter(_time(a.props["occurred_at"]).year for a in accidents)
    assert set(years) == set(range(2020, 2027)), years
    deaths = Counter()
    for a in accidents:
        p = a.props
        deaths[_time(p["occurred_at"]).year] += p["deaths"]
        assert p["deaths"] < 10 and p.get("serious_injuries", 0) < 10 and p.get("direct_loss_wan", 0) < 1000, a.key
        assert "severity" not in p, a.key
        assert a.geom.geom_type == "Point" and p.get("township"), a.key
    assert deaths[2020] == max(deaths.values()), deaths
    assert deaths[2025] < deaths[2020] and deaths[2026] < deaths[2020], deaths
    large = [a for a in accidents if a.props["deaths"] >= 3]
    assert 1 <= len(large) <= 2, [a.key for a in large]
    industries = Counter(a.props["industry"] for a in accidents)
    assert industries["road_transport"] == max(industries.values()), industries
    assert {"construction", "industry_trade", "non_coal_mine", "hazchem", "fire"} <= set(industries), industries
    road = [a for a in accidents if a.props["industry"] == "road_transport"]
    assert sum(bool(a.props.get("vehicle_operating")) for a in road) > len(road) / 2
    assert any("enterprise_id" in a.refs for a in accidents)


def test_indicator_years(plan: Plan) -> None:
    rows = {d.props["year"]: d.props for d in _of(plan, "indicator_years")}
    assert sorted(rows) == list(range(2020, 2027))
    assert "gdp_100m_yuan" not in rows[2026]
    gdp = [rows[y]["gdp_100m_yuan"] for y in range(2020, 2026)]
    assert all(35 <= g <= 65 for g in gdp) and gdp == sorted(gdp), gdp
    for y, r in rows.items():
        assert 6000 <= r["employees_gmt"] <= 8000, y
        assert 2000 <= r["operating_vehicles"] <= 3000, y
        assert r["coal_output_10kt"] == 0, y


def _fingerprint(plan: Plan) -> list[tuple[Any, ...]]:
    out = []
    for name in PREVENTION_LAYER_ORDER:
        for d in _of(plan, name):
            wkb = None if d.geom is None else d.geom.wkb
            out.append((name, d.key, sorted(d.props.items()), sorted(d.refs.items()), wkb))
    return out


def test_drafting_is_deterministic(plan: Plan) -> None:
    assert _fingerprint(draft_demo()) == _fingerprint(plan)


def test_demo_photo_is_a_deterministic_jpeg() -> None:
    data = demo_photo("测试")
    assert data == demo_photo("测试")
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.size == (640, 480)


def test_built_demo_has_evidence_photos(demo_store: FeatureStore) -> None:
    findings = demo_store.query("hidden_dangers", limit=None, count=False).rows
    wanted = {int(r["id"]) for r in findings if r["status"] in ("review", "closed")}
    photos = demo_store.query("danger_photos", limit=None, count=False).rows
    assert wanted and {int(p["danger_id"]) for p in photos} == wanted
    assert all(p["stage"] == "evidence" and p["content_type"] == "image/jpeg" for p in photos)
    assert all("synthetic" in p["source"] for p in photos)

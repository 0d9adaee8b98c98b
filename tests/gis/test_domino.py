"""Domino escalation (gis/domino.py): thresholds, probits, pairs, chains and escalation frequencies.

Known answers are computed by hand from the published formulas (Cozzani, Gubinelli & Salzano
2006, J. Hazard. Mater. A129:1–21 for the thresholds; Cozzani et al. 2005, J. Hazard. Mater.
A127:14–30 and Cozzani & Salzano 2004, J. Hazard. Mater. A107:67–80 for the probits).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from safemap.gis import domino as dm
from safemap.gis import individual_risk as ir
from safemap.gis.consequence_fire import PoolFire
from safemap.gis.consequence_vce import kb_scaled_distance


def test_radiation_probit_atmospheric_by_hand() -> None:
    """I = 20 kW/m², V = 100 m³, atmospheric.

    ln ttf = −1.128 ln 20 − 2.667×10⁻⁵·100 + 9.877 = −3.37919 − 0.00267 + 9.877 = 6.49515
    → ttf = 661.9 s; Y = 12.54 − 1.847 ln(661.9/60) = 12.54 − 1.847·2.40074 = 8.1057;
    P = Φ(3.1057) = 0.99905.
    """
    assert dm.time_to_failure_s(20.0, "atmospheric", 100.0) == pytest.approx(661.92, abs=0.05)
    assert dm.radiation_probit(20.0, "atmospheric", 100.0) == pytest.approx(8.1057, abs=1e-4)
    assert dm.probability(dm.radiation_probit(20.0, "atmospheric", 100.0)) == pytest.approx(0.99905, abs=1e-5)


def test_radiation_time_to_failure_pressurised_by_hand() -> None:
    """I = 60 kW/m², V = 50 m³: ln ttf = −0.947 ln 60 + 8.835·50^0.032 = −3.87734 + 10.01317 = 6.13583 → 462.1 s."""
    assert dm.time_to_failure_s(60.0, "pressurised", 50.0) == pytest.approx(462.14, abs=0.05)
    # The inverse gives back the flux.
    assert dm.flux_for_time_to_failure(462.14186, "pressurised", 50.0) == pytest.approx(60.0, rel=1e-6)


def test_overpressure_probits_by_hand() -> None:
    """Atmospheric 30 kPa: Y = −18.96 + 2.44 ln 30000 = −18.96 + 2.44·10.30895 = 6.19384 → P = Φ(1.19384) = 0.8837.

    Pressurised 50 kPa: Y = −42.44 + 4.33 ln 50000 = −42.44 + 4.33·10.81978 = 4.40964 → P = Φ(−0.59036) = 0.2775.
    """
    assert dm.overpressure_probit(30.0, "atmospheric") == pytest.approx(6.19384, abs=1e-5)
    assert dm.probability(dm.overpressure_probit(30.0, "atmospheric")) == pytest.approx(0.8837, abs=1e-4)
    assert dm.probability(dm.overpressure_probit(50.0, "pressurised")) == pytest.approx(0.2775, abs=1e-4)
    assert dm.probability(dm.overpressure_probit(0.0, "pressurised")) == 0.0
    assert dm.probability(dm.overpressure_probit(-5.0, "auxiliary")) == 0.0


def test_published_thresholds() -> None:
    """Cozzani et al. (2006) Table 9."""
    assert dm.RADIATION_THRESHOLD_KW_M2["atmospheric"] == 15.0 and dm.RADIATION_THRESHOLD_KW_M2["pressurised"] == 45.0
    assert dm.OVERPRESSURE_THRESHOLD_KPA == {
        "atmospheric": 22.0,
        "pressurised": 16.0,
        "elongated": 31.0,
        "auxiliary": 37.0,
    }


def _unit(uid: int, x: float, vessel: str = "atmospheric", volume: float = 100.0) -> dm.Unit:
    return dm.Unit(uid, f"单元{uid}", shapely.Point(x, 0.0), vessel, volume)


def _scenario(uid: int, x: float, f: float = 1e-6) -> ir.Scenario:
    s = ir.vce_scenario(uid, (x, 0.0), f, 1000.0, 50_000.0, f"单元{uid}：爆炸")
    s.tabulate()
    return s


def test_pool_fire_threshold_met_at_the_hand_computed_distance() -> None:
    """Pool A = 100 m², m″ = 0.055 kg/m²/s, ΔH = 44 000 kJ/kg, η = 0.35 (point-source model).

    E = 0.35·0.055·44 000 000·100 = 84.7 MW; D = √(400/π) = 11.284 m;
    H = 42 D [m″/(1.2 √(9.81 D))]^0.61 = 17.20 m; q(x) = E / (4π (x² + (H/2)²)):
    15 kW/m² at x = √(E/(4π·15 000) − (H/2)²) = √(449.35 − 74.0) = 19.37 m.
    """
    fire = PoolFire(100.0, 0.055, 44_000.0)
    e = 0.35 * 0.055 * 44_000_000.0 * 100.0
    d = math.sqrt(400.0 / math.pi)
    h = 42.0 * d * (0.055 / (1.2 * math.sqrt(9.81 * d))) ** 0.61
    x15 = math.sqrt(e / (4 * math.pi * 15_000.0) - (h / 2) ** 2)
    assert x15 == pytest.approx(19.37, abs=0.02)
    vector = dm.pool_fire_vector(fire)
    assert vector.at(x15) == pytest.approx(15.0, rel=1e-9)
    units = {1: _unit(1, 0.0), 2: _unit(2, x15 - 0.05), 3: _unit(3, -(x15 + 0.05))}
    hits = dm.find_hits([dm.Source(1, _scenario(1, 0.0), vector)], units)
    assert [h.target for h in hits[0]] == [2]  # met just inside, not just outside
    assert hits[0][0].threshold == 15.0 and hits[0][0].gap_m == pytest.approx(x15 - 0.05)
    # A pressurised neighbour at the same distance needs 45 kW/m²: not reached.
    units[2] = _unit(2, x15 - 0.05, "pressurised")
    assert dm.find_hits([dm.Source(1, _scenario(1, 0.0), vector)], units) == {}


def test_overpressure_threshold_from_the_edge_of_a_footprint() -> None:
    """1000 kg TNT: 22 kPa at Z = kb_scaled_distance(22) m/kg^{1/3}, R = 10 Z m from the centre.

    The primary is a 20 m × 20 m square (R_eq = √(400/π) = 11.28 m): the model is evaluated at
    gap + R_eq, so the target is reached up to a gap of 10 Z − 11.28 m.
    """
    r22 = 10.0 * kb_scaled_distance(22.0)
    req = math.sqrt(400.0 / math.pi)
    primary = dm.Unit(1, "甲", shapely.box(-10, -10, 10, 10), "atmospheric", 100.0)
    near = _unit(2, 10.0 + r22 - req - 0.05)
    far = _unit(3, -(10.0 + r22 - req + 0.05))
    vector = dm.vce_vector(1000.0)
    hits = dm.find_hits([dm.Source(1, _scenario(1, 0.0), vector)], {1: primary, 2: near, 3: far})
    assert [h.target for h in hits[0]] == [2]
    assert hits[0][0].value == pytest.approx(22.0, abs=0.05)


def test_a_fireball_does_not_escalate_a_pressurised_tank() -> None:
    """11 690 kg fireball lasts 0.45·11 690^{1/3} = 10.2 s; a 50 m³ pressurised tank fails within 10.2 s only
    above I = exp((8.835·50^0.032 − ln 10.2)/0.947) ≈ 3.4 MW/m², far beyond any fireball flux.
    """
    vector = dm.fireball_vector(11_690.0)
    assert vector.duration_s == pytest.approx(10.2, abs=0.05)
    assert dm.threshold(vector, "pressurised", 50.0) == pytest.approx(
        math.exp((8.835 * 50**0.032 - math.log(vector.duration_s)) / 0.947)
    )
    units = {1: _unit(1, 0.0, "pressurised", 50.0), 2: _unit(2, 20.0, "pressurised", 50.0)}
    assert dm.find_hits([dm.Source(1, _scenario(1, 0.0), vector)], units) == {}


def _line(max_level: int, sources_at: tuple[int, ...] = (1, 2, 3)) -> dm.Escalation:
    """A, B, C on a line 60 m apart; every vector gives 30 kPa within 100 m (P = 0.8837 atmospheric)."""
    step = dm.Vector(dm.OVERPRESSURE, lambda r: np.where(np.asarray(r) < 100.0, 30.0, 0.0))
    units = {i: _unit(i, 60.0 * (i - 1)) for i in (1, 2, 3)}
    sources = [dm.Source(i, _scenario(i, 60.0 * (i - 1)), step) for i in sources_at]
    return dm.analyse(units, sources, max_level=max_level)


def test_three_units_in_a_line_make_a_level_2_chain_without_cycles() -> None:
    """A reaches B, not C (120 m); B reaches A and C; C reaches B. Chains: A→B→C, C→B→A …, never A→B→A."""
    esc = _line(3)
    assert [1, 2, 3] in esc.chains and [3, 2, 1] in esc.chains
    assert [1, 3] not in esc.chains
    for chain in esc.chains:
        assert len(set(chain)) == len(chain)  # a unit fails once in a chain
    assert max(len(c) for c in esc.chains) == 3  # nothing left for a 3rd level
    p = dm.probability(dm.overpressure_probit(30.0, "atmospheric"))
    freq = dict(zip(map(tuple, esc.chains), esc.chain_frequency, strict=True))
    assert freq[(1, 2, 3)] == pytest.approx(1e-6 * p * p)
    # Each (scenario, unit) pair once: A→B, B→A, B→C, C→B.
    assert sorted((x["primary_id"], x["secondary_id"]) for x in esc.pairs) == [(1, 2), (2, 1), (2, 3), (3, 2)]
    b_to_c = next(x for x in esc.pairs if (x["primary_id"], x["secondary_id"]) == (2, 3))
    assert b_to_c["levels"] == [1, 2] and b_to_c["vector"] == "overpressure" and b_to_c["unit"] == "kPa"


def test_failure_frequencies_by_level() -> None:
    """A and B explode (10⁻⁶ /a each); C (no fire scenario of its own) can only suffer.

    C fails at level 1 from B (P) and at level 2 from A through B (P·P):
    F_C = 10⁻⁶ (P + P²) = 10⁻⁶ (0.88373 + 0.78098) = 1.6647×10⁻⁶ /a; with one level only 10⁻⁶ P.
    F_B = 10⁻⁶ P (from A), F_A = 10⁻⁶ P (from B): an initiator never fails again.
    """
    p = dm.probability(dm.overpressure_probit(30.0, "atmospheric"))
    esc = _line(3, (1, 2))
    assert esc.failure_frequency[3] == pytest.approx(1e-6 * (p + p * p))
    assert esc.failure_frequency[3] == pytest.approx(1.6647e-6, abs=1e-10)
    assert esc.failure_frequency[2] == pytest.approx(1e-6 * p)
    assert esc.failure_frequency[1] == pytest.approx(1e-6 * p)
    one = _line(1, (1, 2))
    assert one.failure_frequency[3] == pytest.approx(1e-6 * p)
    assert not [c for c in one.chains if len(c) > 2]
    # The domino scenario at B: B's own explosion at F_B, its lethality table reused; C releases nothing.
    at_b = [s for s in esc.domino_scenarios if s.source_id == 2]
    assert len(at_b) == 1 and at_b[0].frequency == pytest.approx(esc.failure_frequency[2])
    assert at_b[0].name.startswith("多米诺次生事故：") and at_b[0].details["domino"]
    assert sum(f for f, _, _ in at_b[0].outcomes) == pytest.approx(at_b[0].frequency)
    assert not [s for s in esc.domino_scenarios if s.source_id == 3]


def test_failure_probability_per_initiator_stays_below_one() -> None:
    """Every unit escalating every other with P = 0.8837: per initiator a unit fails with P ≤ 1."""
    esc = _line(3)
    for f in esc.failure_frequency.values():
        assert f <= 3 * 1e-6  # three initiators of 10⁻⁶ /a


def test_no_units_and_bad_level() -> None:
    assert dm.analyse({}, []).pairs == []
    with pytest.raises(ValueError):
        dm.analyse({}, [], max_level=4)


_ROWS = {
    "液化石油气": {"qra_category": "liquefied_flammable_gas", "liquid_density_t_m3": 0.55},
    "二甲苯": {"qra_category": "flammable_liquid", "liquid_density_t_m3": 0.86},
    "未知物": {"qra_category": None, "liquid_density_t_m3": float("nan")},
}


class _Props:
    """A substance table: LPG (liquefied, density 0.55 t/m³), xylene (0.86 t/m³), a substance without density."""

    def find(self, name: str | None, cas: str | None) -> dict | None:
        return _ROWS.get(name or "")


def test_vessel_type_and_volume_derivation() -> None:
    """LPG is pressurised (it has a BLEVE scenario); V = 22 t / 0.55 t/m³ = 40 m³; a stored tank size wins."""
    liquefied = {"liquefied_flammable_gas"}
    lpg = [{"name": "液化石油气", "quantity_t": 22.0}]
    xylene = [{"name": "二甲苯", "quantity_t": 8.6}, {"name": "未知物", "quantity_t": 2.0}]
    assert dm.vessel_type_of(None, lpg, _Props(), liquefied) == ("pressurised", True)
    assert dm.vessel_type_of(None, xylene, _Props(), liquefied) == ("atmospheric", True)
    assert dm.vessel_type_of("elongated", lpg, _Props(), liquefied) == ("elongated", False)
    assert dm.vessel_type_of(None, None, _Props(), liquefied) == ("atmospheric", True)
    assert dm.volume_of(None, lpg, _Props()) == pytest.approx(40.0)
    assert dm.volume_of(float("nan"), xylene, _Props()) == pytest.approx(10.0 + 2.0)  # unknown density: water
    assert dm.volume_of(60.0, lpg, _Props()) == 60.0
    assert dm.weights([3.5e-7, 1.5e-7]) == pytest.approx([0.7, 0.3]) and dm.weights([0.0, 0.0]) == [0.5, 0.5]

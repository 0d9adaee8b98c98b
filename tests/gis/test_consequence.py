"""Consequence models against the reference formulas and check values (reference §4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from safemap.gis import consequence_fire as fire
from safemap.gis import consequence_vce as vce
from safemap.gis import plume as pl


def test_tnt_equivalent_and_radii() -> None:
    # W_TNT = 1.8 · 0.04 · W_f · Q_f / 4520 with Q_f(propane) = 50 290.2 kJ/kg.
    w = vce.tnt_equivalent_kg(1000.0, 50290.2)
    assert w == pytest.approx(1.8 * 0.04 * 1000 * 50290.2 / 4520)
    assert w == pytest.approx(801.1, abs=0.1)
    assert vce.death_radius_m(1000.0) == pytest.approx(13.6)
    assert vce.death_radius_m(8000.0) == pytest.approx(13.6 * 8**0.37)
    k = 5.6 * 3175 ** (1 / 3) / 2 ** (1 / 6)
    assert vce.property_damage_radius_m(3175.0) == pytest.approx(k)


@pytest.mark.parametrize("dp", [vce.SERIOUS_INJURY_PA, vce.LIGHT_INJURY_PA])
def test_injury_radii_solve_the_polynomial(dp: float) -> None:
    w = 1000.0
    r = vce.overpressure_radius_m(w, dp)
    z = r / (w * 4520e3 / 101300) ** (1 / 3)
    assert 0.137 / z**3 + 0.119 / z**2 + 0.269 / z - 0.019 == pytest.approx(dp / 101300, rel=1e-9)
    result = vce.vce(1000.0, 50290.2)
    assert result.death_m < result.serious_injury_m < result.light_injury_m


def test_kingery_bulmash_and_kinney_graham_check_values() -> None:
    # reference §4.7: the KB curve gives Z(1 psi) = 18.1; §4.2 Kinney–Graham Z=10 → 0.0985, Z=20 → 0.0434.
    assert vce.kb_scaled_distance(6.895) == pytest.approx(18.1, abs=0.05)
    assert vce.kinney_graham_ratio(10.0) == pytest.approx(0.0985, abs=5e-4)
    assert vce.kinney_graham_ratio(10.0) * 101.325 == pytest.approx(9.99, abs=0.02)
    assert vce.kinney_graham_ratio(20.0) == pytest.approx(0.0434, abs=5e-4)
    assert vce.kinney_graham_ratio(13.4) * 101.325 == pytest.approx(6.895, abs=0.1)  # 1 psi at Z = 13.4
    # The three pieces of the Swisdak fit meet (continuity at 2.9 and 23.8 within 2 %).
    for z in (2.9, 23.8):
        assert vce.kingery_bulmash_kpa(z - 1e-9) == pytest.approx(vce.kingery_bulmash_kpa(z + 1e-9), rel=0.02)
    assert vce.kingery_bulmash_kpa(vce.kb_scaled_distance(2.0)) == pytest.approx(2.0)


def test_fireball_size_and_duration() -> None:
    assert fire.fireball_radius_m(1000.0) == pytest.approx(29.0)
    assert fire.fireball_duration_s(1000.0) == pytest.approx(4.5)
    assert fire.fireball_radius_m(8000.0) * 2 == pytest.approx(5.8 * 20)
    assert fire.fireball_fuel_kg(100.0, 1) == 50 and fire.fireball_fuel_kg(100.0, 2) == 70
    assert fire.fireball_fuel_kg(100.0, 5) == 90


def test_thermal_probits() -> None:
    t = 10.0
    for kind, (a, b) in fire.PROBITS.items():
        q = fire.flux_for_probability(kind, t)
        assert a + b * math.log(t * q ** (4 / 3)) == pytest.approx(5.0)
        assert fire.probability(fire.thermal_probit(kind, q, t)) == pytest.approx(0.5)
    # death needs more flux than a 2nd-degree burn, which needs more than a 1st-degree burn
    assert (
        fire.flux_for_probability("death", t)
        > fire.flux_for_probability("burn_2nd", t)
        > fire.flux_for_probability("burn_1st", t)
    )
    assert fire.ignition_flux_w_m2(1.0) == pytest.approx(6730 + 25400)


def test_bleve_radii_are_where_the_flux_meets_the_probit() -> None:
    res = fire.bleve(11690.0)
    q_death = fire.flux_for_probability("death", res.duration_s)
    assert fire.fireball_flux_w_m2(res.death_m, 11690.0) == pytest.approx(q_death, rel=1e-6)
    assert res.death_m < res.burn_2nd_m < res.burn_1st_m
    with pytest.raises(ValueError):
        fire.bleve(-1.0)


def test_pool_fire_thomas_and_point_source() -> None:
    pf = fire.PoolFire(area_m2=math.pi * 10**2, burning_rate_kg_m2_s=0.055, heat_of_combustion_kj_kg=44000)
    d = 20.0
    assert pf.diameter_m == pytest.approx(d)
    assert pf.flame_height_m == pytest.approx(42 * d * (0.055 / (1.2 * math.sqrt(9.81 * d))) ** 0.61)
    assert pf.radiated_power_w == pytest.approx(0.35 * 0.055 * 44e6 * math.pi * 100)
    x = pf.distance_to_flux_m(5000.0)
    assert pf.flux_w_m2(x) == pytest.approx(5000.0)
    h = pf.flame_height_m / 2
    assert pf.flux_w_m2(0.0) == pytest.approx(pf.radiated_power_w / (4 * math.pi * h**2))
    assert pf.distance_to_flux_m(1e9) == 0.0
    with pytest.raises(ValueError):
        fire.PoolFire(area_m2=-1, burning_rate_kg_m2_s=0.05, heat_of_combustion_kj_kg=44000)


@pytest.mark.parametrize(
    ("stability", "setting", "sy", "sz"),
    [
        ("D", "rural", 0.08 * 1000 / math.sqrt(1.1), 0.06 * 1000 / math.sqrt(2.5)),
        ("F", "rural", 0.04 * 1000 / math.sqrt(1.1), 0.016 * 1000 / 1.3),
        ("A", "rural", 0.22 * 1000 / math.sqrt(1.1), 200.0),
        ("A", "urban", 0.32 * 1000 / math.sqrt(1.4), 0.24 * 1000 * math.sqrt(2)),
        ("E", "urban", 0.11 * 1000 / math.sqrt(1.4), 0.08 * 1000 / math.sqrt(2.5)),
    ],
)
def test_briggs_sigmas_at_1_km(stability: str, setting: str, sy: float, sz: float) -> None:
    got_y, got_z = pl.sigmas(1000.0, stability, setting)
    assert float(got_y) == pytest.approx(sy) and float(got_z) == pytest.approx(sz)


def test_plume_centreline_and_crosswind() -> None:
    p = pl.Plume(rate_kg_s=1.0, wind_m_s=3.0, stability="D")
    sy, sz = pl.sigmas(1000.0, "D")
    assert float(p.centreline(1000.0)) == pytest.approx(1e6 / (math.pi * 3.0 * sy * sz))
    assert float(p.concentration(1000.0, sy)) == pytest.approx(float(p.centreline(1000.0)) * math.exp(-0.5))
    assert float(p.concentration(-10.0, 0.0)) == 0.0
    threshold = pl.ppm_to_mg_m3(3.0, 70.9)
    x = p.max_distance_m(threshold)
    assert float(p.centreline(x)) == pytest.approx(threshold, rel=1e-3)
    shape = p.footprint_local(threshold)
    assert shape is not None and shape.is_valid and shape.bounds[2] == pytest.approx(x)


def test_ppm_conversion_matches_rmp_endpoint() -> None:
    # reference §4.6: Cl2 RMP endpoint 0.0087 mg/L ↔ 3.0 ppm at 25 °C.
    assert pl.ppm_to_mg_m3(3.0, 70.9) / 1000 == pytest.approx(0.0087, abs=1e-4)
    assert float(pl.mg_m3_to_ppm(pl.ppm_to_mg_m3(201, 17.03), 17.03)) == pytest.approx(201)


@pytest.mark.parametrize(
    "kwargs", [{"wind_m_s": 0.0}, {"stability": "G"}, {"rate_kg_s": -1.0}, {"setting": "suburban"}]
)
def test_plume_refuses_out_of_range(kwargs: dict) -> None:
    args = {"rate_kg_s": 1.0, "wind_m_s": 3.0, "stability": "D", **kwargs}
    with pytest.raises(ValueError):
        pl.Plume(**args)


def test_plume_turns_with_the_wind() -> None:
    p = pl.Plume(rate_kg_s=1.0, wind_m_s=3.0, stability="D")
    local = p.footprint_local(10.0)
    north_wind = pl.to_map(local, (1000.0, 1000.0), 0.0)  # wind from the north: the plume goes south
    assert north_wind.bounds[1] < 1000 - 100 and north_wind.bounds[3] <= 1000 + 1e-6
    west_wind = pl.to_map(local, (0.0, 0.0), 270.0)  # from the west: goes east
    assert west_wind.bounds[2] > 100 and np.isclose(west_wind.bounds[0], 0.0, atol=1e-6)


def test_plume_footprint_in_several_parts_turns_whole() -> None:
    """make_valid may split a self-touching outline: every part (and hole) is turned and moved."""
    from shapely.geometry import MultiPolygon, Polygon

    parts = MultiPolygon([Polygon([(0, 0), (10, 0), (10, 2), (0, 2)]), Polygon([(20, -1), (30, -1), (30, 1), (20, 1)])])
    south = pl.to_map(parts, (100.0, 100.0), 0.0)  # wind from the north: downwind is south (−y)
    assert south.geom_type == "MultiPolygon" and np.isclose(south.area, parts.area)
    # Downwind x → south; the plume's left (+y) → east when travelling south.
    assert np.allclose(south.bounds, (99.0, 70.0, 102.0, 100.0))


# ---------------------------------------------------------------------------- VCE overpressure at distances
# Worked example (reference §4.1, the polynomial the model's injury radii use): 1000 kg of
# propane, Q_f = 50 290.2 kJ/kg → W_TNT = 1.8·0.04·1000·50 290.2/4520 = 801.08 kg;
# E = W_TNT·4520 kJ/kg = 3.6209e9 J; (E/p₀)^{1/3} = (3.6209e9/101 300)^{1/3} = 32.941 m.
# At R = 32.941 m, Z = 1: Δp/p₀ = 0.137 + 0.119 + 0.269 − 0.019 = 0.506 → 51.258 kPa.
# At R = 65.882 m, Z = 2: 0.137/8 + 0.119/4 + 0.269/2 − 0.019 = 0.162375 → 16.449 kPa.
# Range ends (【未核实】 0.3 ≤ Z ≤ 12): Z = 0.3 → 7.2740·p₀ = 736.9 kPa; Z = 12 → 0.004322·p₀ = 0.438 kPa.
W_PROPANE_1T = 1.8 * 0.04 * 1000 * 50290.2 / 4520
SCALE_M = (W_PROPANE_1T * 4520e3 / 101300) ** (1 / 3)


def test_vce_worked_example_scaling() -> None:
    assert pytest.approx(801.08, abs=0.01) == W_PROPANE_1T
    assert pytest.approx(32.941, abs=1e-3) == SCALE_M
    assert vce.scaled_distance(W_PROPANE_1T, SCALE_M) == pytest.approx(1.0)


def test_vce_overpressure_at_distances_worked_example() -> None:
    res = vce.vce(1000.0, 50290.2)
    s = vce.overpressure_samples(res.w_tnt_kg, [SCALE_M, 2 * SCALE_M, res.serious_injury_m, res.light_injury_m])
    assert [x["overpressure_kpa"] for x in s] == pytest.approx([51.258, 16.449, 44.0, 17.0], abs=1e-3)
    assert [x["scaled_distance"] for x in s[:2]] == pytest.approx([1.0, 2.0])
    assert all(x["in_range"] for x in s)
    # Monotone: farther is lower.
    many = vce.overpressure_samples(res.w_tnt_kg, [20.0, 40.0, 80.0, 160.0, 320.0])
    values = [x["overpressure_kpa"] for x in many]
    assert values == sorted(values, reverse=True)


def test_vce_samples_at_the_range_boundaries_and_at_zero() -> None:
    w = W_PROPANE_1T
    lo, hi = vce.VALID_Z
    at_lo, at_hi = vce.overpressure_samples(w, [lo * SCALE_M, hi * SCALE_M])
    assert at_lo["in_range"] and at_lo["overpressure_kpa"] == pytest.approx(736.9, abs=0.1)
    assert at_hi["in_range"] and at_hi["overpressure_kpa"] == pytest.approx(0.438, abs=1e-3)
    inside, zero, outside = vce.overpressure_samples(w, [lo * SCALE_M * 0.999, 0.0, hi * SCALE_M * 1.001])
    for near in (inside, zero):
        assert near["overpressure_kpa"] is None and not near["in_range"] and near["bound"] == "above"
        assert near["bound_kpa"] == pytest.approx(736.9, abs=0.1) and "大于" in near["note"]
    assert zero["distance_m"] == 0.0 and zero["scaled_distance"] == 0.0
    assert outside["overpressure_kpa"] is None and outside["bound"] == "below" and "小于" in outside["note"]
    with pytest.raises(ValueError):
        vce.overpressure_samples(w, [-1.0])
    with pytest.raises(ValueError):
        vce.overpressure_samples(0.0, [10.0])

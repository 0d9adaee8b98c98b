"""Domino effect: which fires and explosions make neighbouring units fail, chains, and escalation frequencies.

Method (the simplified first-order approach of Cozzani, Gubinelli, Antonioni, Spadoni & Zanelli
2005, "The assessment of risk caused by domino effect in quantitative area risk analysis",
J. Hazard. Mater. A127:14–30, extended to chains of up to three levels):

1. Every fire or explosion scenario of a unit (pool fire, BLEVE fireball, VCE) carries an
   *escalation vector*: heat radiation (kW/m²) or peak side-on overpressure (kPa) as a
   function of distance.
2. A secondary unit is *reached* when the vector's intensity at its nearest edge is at or above
   the escalation threshold of its equipment category (Cozzani, Gubinelli & Salzano 2006,
   "Escalation thresholds in the assessment of domino accidental events", J. Hazard. Mater.
   A129:1–21; the values as the later literature quotes them — the paper's tables could not be
   re-read offline):
   radiation 15 kW/m² atmospheric, 45 kW/m² pressurised (sustained fires, long exposure);
   overpressure 22 kPa atmospheric, 16 kPa pressurised, 31 kPa elongated, 37 kPa auxiliary.
   The 2006 paper gives radiation thresholds only for atmospheric and pressurised vessels:
   elongated and auxiliary equipment take the atmospheric values here (the lower, conservative).
3. A fireball lasts seconds: Cozzani et al. (2006) find fireball escalation credible only
   when the vessel would fail within the fireball's life. We apply exactly that: a fireball
   escalates when the time to failure (step 4) at its flux is no longer than its duration
   ``0.45 W^{1/3}`` s; the reported threshold is the flux at which the two are equal.
4. Escalation probability by the 2005 probits (Cozzani et al. 2005; Cozzani & Salzano
   2004, J. Hazard. Mater. A107:67–80 for overpressure; likewise not re-read), P = Φ(Y − 5):
   radiation — time to failure ttf (s), I in kW/m², V the vessel volume in m³:
   ``ln ttf = −1.128 ln I − 2.667×10⁻⁵ V + 9.877`` (atmospheric),
   ``ln ttf = −0.947 ln I + 8.835 V^0.032`` (pressurised); ``Y = 12.54 − 1.847 ln(ttf/60)``;
   overpressure Ps in Pa: ``Y = −18.96 + 2.44 ln Ps`` (atmospheric), ``−42.44 + 4.33 ln Ps``
   (pressurised), ``−28.07 + 3.16 ln Ps`` (elongated), ``−17.79 + 2.18 ln Ps`` (auxiliary).
5. Distance: nearest edge to nearest edge (``gap``). The consequence models are centred on the
   primary unit, so they are evaluated at ``gap + R_eq`` with ``R_eq = √(A/π)`` the radius of a
   circle of the primary footprint's area (0 for a point).
6. Chains: a failed secondary unit's own fire/explosion scenarios may reach a third unit
   (level 2), and so on to level 3; a unit fails at most once in a chain (no cycles).
   The failure of a unit is modelled by its fire/explosion scenarios in proportion to their
   base frequencies (their shares of the loss-of-containment event tree).
7. Frequencies (after Cozzani et al. 2005, per initiating scenario s of frequency f_s): units
   fail at level 1 with P(s→B); at level k + 1 a unit not yet failed fails with
   ``1 − Π_B (1 − p_k(B) q(B→C))``, ``q(B→C) = Σ_sB w_sB P(sB→C)``. A unit's domino failure
   frequency is Σ_s f_s Σ_k p_k; it adds *domino scenarios* at that unit: its own scenarios at
   ``f_fail × w``. Listed chains carry ``f_s P(s→B) q(B→C) …`` for ranking; chains below
   :data:`F_CUTOFF` (five orders below the strictest GB 36894 limit, 3×10⁻⁷ /a) are not extended.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely
from scipy.special import ndtr

from safemap.gis.consequence_fire import PoolFire, fireball_duration_s, fireball_flux_w_m2
from safemap.gis.consequence_vce import kingery_bulmash_kpa
from safemap.gis.individual_risk import Scenario
from safemap.gis.numbers import finite

VESSEL_TYPES = ("atmospheric", "pressurised", "elongated", "auxiliary")
RADIATION = "radiation"
OVERPRESSURE = "overpressure"
#: Escalation thresholds, Cozzani, Gubinelli & Salzano (2006): sustained radiation (kW/m²).
RADIATION_THRESHOLD_KW_M2 = {"atmospheric": 15.0, "pressurised": 45.0, "elongated": 15.0, "auxiliary": 15.0}
#: Escalation thresholds, Cozzani, Gubinelli & Salzano (2006): peak static overpressure (kPa).
OVERPRESSURE_THRESHOLD_KPA = {"atmospheric": 22.0, "pressurised": 16.0, "elongated": 31.0, "auxiliary": 37.0}
#: Overpressure probits Y = a + b ln(Ps/Pa), Cozzani & Salzano (2004); Cozzani et al. (2005).
OVERPRESSURE_PROBIT = {
    "atmospheric": (-18.96, 2.44),
    "pressurised": (-42.44, 4.33),
    "elongated": (-28.07, 3.16),
    "auxiliary": (-17.79, 2.18),
}
#: Chains rarer than this (per year) are not extended (see the module docstring, step 7).
F_CUTOFF = 1e-12
#: Chains listed per level ≥ 2 (the most frequent; the frequencies themselves use every path).
MAX_CHAINS_PER_LEVEL = 2000
#: Kingery–Bulmash's fit starts near Z = 0.05 m/kg^{1/3}; closer in, the value at this Z is held.
Z_MIN = 0.1
#: Liquid density (t/m³) of a substance without one in the table: water.
DEFAULT_DENSITY_T_M3 = 1.0
UNIT_LABEL = {RADIATION: "kW/m²", OVERPRESSURE: "kPa"}
VECTOR_LABEL = {RADIATION: "热辐射", OVERPRESSURE: "冲击波超压"}


# ---------------------------------------------------------------------------- probits


def time_to_failure_s(flux_kw_m2: float, vessel_type: str, volume_m3: float) -> float:
    """Time to failure (s) of a vessel engulfed by or exposed to ``flux_kw_m2`` kW/m² (Cozzani et al. 2005).

    Pressurised vessels use ``ln ttf = −0.947 ln I + 8.835 V^0.032``; every other category the
    atmospheric correlation ``ln ttf = −1.128 ln I − 2.667×10⁻⁵ V + 9.877`` (V in m³).
    """
    if not flux_kw_m2 > 0:
        return math.inf
    v = max(float(volume_m3), 0.0)
    if vessel_type == "pressurised":
        return math.exp(-0.947 * math.log(flux_kw_m2) + 8.835 * v**0.032)
    return math.exp(-1.128 * math.log(flux_kw_m2) - 2.667e-5 * v + 9.877)


def flux_for_time_to_failure(seconds: float, vessel_type: str, volume_m3: float) -> float:
    """The flux (kW/m²) at which the time to failure equals ``seconds`` (inverse of :func:`time_to_failure_s`)."""
    v = max(float(volume_m3), 0.0)
    if vessel_type == "pressurised":
        return math.exp((8.835 * v**0.032 - math.log(seconds)) / 0.947)
    return math.exp((9.877 - 2.667e-5 * v - math.log(seconds)) / 1.128)


def radiation_probit(flux_kw_m2: float, vessel_type: str, volume_m3: float) -> float:
    """Y = 12.54 − 1.847 ln(ttf/60), ttf in s (Cozzani et al. 2005)."""
    ttf = time_to_failure_s(flux_kw_m2, vessel_type, volume_m3)
    return -math.inf if math.isinf(ttf) else 12.54 - 1.847 * math.log(ttf / 60.0)


def overpressure_probit(overpressure_kpa: float, vessel_type: str) -> float:
    """Y = a + b ln(Ps), Ps in Pa (Cozzani & Salzano 2004)."""
    if not overpressure_kpa > 0:
        return -math.inf
    a, b = OVERPRESSURE_PROBIT[vessel_type]
    return a + b * math.log(overpressure_kpa * 1000.0)


def probability(probit: float) -> float:
    """P = Φ(Y − 5)."""
    return 0.0 if probit == -math.inf else float(ndtr(probit - 5.0))


# ---------------------------------------------------------------------------- vectors


@dataclass(frozen=True)
class Vector:
    """An escalation vector: intensity (kW/m² or kPa) against distance (m) from the primary's centre."""

    kind: str
    intensity: Callable[[np.ndarray], np.ndarray]
    sustained: bool = True
    duration_s: float | None = None

    def at(self, r_m: float) -> float:
        """Intensity at ``r_m`` metres."""
        return float(np.asarray(self.intensity(np.asarray([max(r_m, 0.0)], dtype=float)))[0])

    def reach_m(self, lowest: float) -> float:
        """Farthest distance (m) where the intensity still reaches ``lowest``; 0 if nowhere."""
        probe = np.concatenate([[0.0], np.geomspace(0.5, 50_000.0, 1200)])
        above = np.nonzero(np.asarray(self.intensity(probe)) >= lowest)[0]
        return 0.0 if not above.size else float(probe[min(above[-1] + 1, probe.size - 1)])


def pool_fire_vector(fire: PoolFire) -> Vector:
    """Sustained radiation of a pool fire (point-source model of :class:`PoolFire`), kW/m²."""
    return Vector(RADIATION, lambda r: np.asarray(fire.flux_w_m2(r)) / 1000.0)


def fireball_vector(fuel_kg: float) -> Vector:
    """Transient radiation of a BLEVE fireball of ``fuel_kg`` kg lasting 0.45 W^{1/3} s, kW/m²."""
    flux = lambda r: np.asarray(fireball_flux_w_m2(r, fuel_kg)) / 1000.0  # noqa: E731
    return Vector(RADIATION, flux, sustained=False, duration_s=fireball_duration_s(fuel_kg))


def vce_vector(w_tnt_kg: float) -> Vector:
    """Peak side-on overpressure (kPa) of a TNT-equivalent surface burst (Kingery–Bulmash, Swisdak 1994)."""
    if not w_tnt_kg > 0:
        return Vector(OVERPRESSURE, lambda r: np.zeros_like(np.asarray(r, dtype=float)))
    scale = w_tnt_kg ** (1.0 / 3.0)
    return Vector(OVERPRESSURE, lambda r: np.asarray(kingery_bulmash_kpa(np.maximum(np.asarray(r) / scale, Z_MIN))))


def threshold(vector: Vector, vessel_type: str, volume_m3: float) -> float:
    """The escalation threshold (kW/m² or kPa) of a ``vessel_type`` target for ``vector``."""
    if vector.kind == OVERPRESSURE:
        return OVERPRESSURE_THRESHOLD_KPA[vessel_type]
    if vector.sustained or vector.duration_s is None:
        return RADIATION_THRESHOLD_KW_M2[vessel_type]
    # Fireball: only if the vessel fails within the fireball's life (module docstring, step 3).
    return flux_for_time_to_failure(vector.duration_s, vessel_type, volume_m3)


def escalation_probability(vector: Vector, value: float, vessel_type: str, volume_m3: float) -> float:
    """Probability that ``value`` (kW/m² or kPa) of ``vector`` makes the target fail."""
    if vector.kind == OVERPRESSURE:
        return probability(overpressure_probit(value, vessel_type))
    return probability(radiation_probit(value, vessel_type, volume_m3))


# ---------------------------------------------------------------------------- units, sources, pairs


@dataclass(frozen=True)
class Unit:
    """A unit that can fail: hazard-source id, name, metric geometry, vessel type, volume (m³)."""

    id: int
    name: str
    geometry: Any
    vessel_type: str
    volume_m3: float

    @property
    def radius_m(self) -> float:
        """Radius (m) of a circle of the footprint's area (0 for a point or a line)."""
        area = float(self.geometry.area) if self.geometry is not None else 0.0
        return math.sqrt(area / math.pi) if area > 0 else 0.0


@dataclass
class Source:
    """One fire/explosion scenario of a unit with its vector and its share ``weight`` of the unit's failures."""

    unit_id: int
    scenario: Scenario
    vector: Vector
    weight: float = 1.0


def weights(frequencies: Sequence[float]) -> list[float]:
    """Shares of a unit's failure modelled by each scenario, proportional to their base frequencies."""
    total = float(sum(frequencies))
    n = len(frequencies)
    return [f / total if total > 0 else 1.0 / n for f in frequencies]


def vessel_type_of(
    stored: str | None, substances: Sequence[Mapping[str, Any]] | None, props: Any, liquefied: set[str]
) -> tuple[str, bool]:
    """(vessel type, derived?) of a unit: ``stored`` when given, else pressurised for a liquefied gas.

    ``props`` finds a substance's properties (``find(name, cas)``); ``liquefied`` are the QRA
    categories with a BLEVE scenario. Anything else is atmospheric.
    """
    if stored in VESSEL_TYPES:
        return str(stored), False
    for sub in substances or []:
        prop = props.find(sub.get("name"), sub.get("cas"))
        if prop is not None and prop.get("qra_category") in liquefied:
            return "pressurised", True
    return "atmospheric", True


def volume_of(max_tank_m3: Any, substances: Sequence[Mapping[str, Any]] | None, props: Any) -> float:
    """Vessel volume V (m³): ``max_tank_m3`` when set, else Σ quantity_t / liquid density (t/m³).

    A substance without a density counts at :data:`DEFAULT_DENSITY_T_M3` (water).
    """
    tank = finite(max_tank_m3)
    if tank and tank > 0:
        return tank
    total = 0.0
    for sub in substances or []:
        prop = props.find(sub.get("name"), sub.get("cas"))
        density = finite(prop.get("liquid_density_t_m3")) if prop is not None else None
        total += float(sub.get("quantity_t") or 0) / (density or DEFAULT_DENSITY_T_M3)
    return total


@dataclass(frozen=True)
class Hit:
    """A source's vector reaching a unit beyond its threshold."""

    source: int  # index into the sources
    target: int  # unit id
    value: float
    threshold: float
    gap_m: float
    probability: float


def find_hits(sources: Sequence[Source], units: Mapping[int, Unit]) -> dict[int, list[Hit]]:
    """For each source index, the units its vector reaches at or beyond their thresholds (STRtree)."""
    ids = list(units)
    geoms = np.array([units[i].geometry for i in ids], dtype=object)
    tree = shapely.STRtree(geoms)
    lowest = {
        RADIATION: min(RADIATION_THRESHOLD_KW_M2.values()),
        OVERPRESSURE: min(OVERPRESSURE_THRESHOLD_KPA.values()),
    }
    out: dict[int, list[Hit]] = {}
    for k, src in enumerate(sources):
        primary = units.get(src.unit_id)
        if primary is None:
            continue
        if src.vector.kind == RADIATION and not src.vector.sustained and src.vector.duration_s:
            # The fireball threshold depends on the target: the lowest one (largest atmospheric tank) bounds it.
            floor = min(flux_for_time_to_failure(src.vector.duration_s, t, 1e5) for t in VESSEL_TYPES)
        else:
            floor = lowest[src.vector.kind]
        reach = src.vector.reach_m(floor)
        if reach <= 0:
            continue
        near = tree.query(primary.geometry, predicate="dwithin", distance=reach)
        near = np.array([j for j in near if ids[int(j)] != primary.id], dtype=np.int64)
        if not near.size:
            continue
        gaps = shapely.distance(primary.geometry, geoms[near])
        values = np.asarray(src.vector.intensity(gaps + primary.radius_m), dtype=float)
        hits = []
        for j, gap, value in zip(near, gaps.tolist(), values.tolist(), strict=True):
            target = units[ids[int(j)]]
            limit = threshold(src.vector, target.vessel_type, target.volume_m3)
            if value >= limit:
                p = escalation_probability(src.vector, value, target.vessel_type, target.volume_m3)
                hits.append(Hit(k, target.id, value, limit, gap, p))
        if hits:
            out[k] = sorted(hits, key=lambda h: h.target)
    return out


# ---------------------------------------------------------------------------- chains


@dataclass
class Escalation:
    """What :func:`analyse` finds (metric, plain data)."""

    pairs: list[dict[str, Any]]
    chains: list[list[int]]
    chain_frequency: list[float]
    failure_frequency: dict[int, float]
    domino_scenarios: list[Scenario]
    edges: list[dict[str, Any]] = field(default_factory=list)


def _pair(src: Source, units: Mapping[int, Unit], hit: Hit, level: int) -> dict[str, Any]:
    s = src.scenario
    return {
        "primary_id": src.unit_id,
        "primary_name": units[src.unit_id].name,
        "scenario": s.name,
        "model": s.model,
        "secondary_id": hit.target,
        "secondary_name": units[hit.target].name,
        "secondary_vessel_type": units[hit.target].vessel_type,
        "vector": src.vector.kind,
        "value": hit.value,
        "threshold": hit.threshold,
        "unit": UNIT_LABEL[src.vector.kind],
        "distance_m": hit.gap_m,
        "probability": hit.probability,
        "level": level,
        "levels": [level],
    }


def analyse(
    units: Mapping[int, Unit],
    sources: Sequence[Source],
    *,
    consequences: Mapping[int, Sequence[tuple[Scenario, float]]] | None = None,
    max_level: int = 3,
    cutoff: float = F_CUTOFF,
    beam: int = MAX_CHAINS_PER_LEVEL,
) -> Escalation:
    """Pairs, chains up to ``max_level`` and domino scenarios (module docstring, steps 1–7).

    ``units`` by hazard-source id (metric geometries); ``sources`` with weights summing to 1 per
    unit; ``consequences`` what a unit's failure releases, (scenario, conditional probability)
    per unit id (default: its sources and weights); ``beam`` the chains listed per level ≥ 2
    (the most frequent; level 1 in full). ``pairs`` are one per (source scenario, unit):
    ``level`` the lowest level of a listed chain it occurs in, ``levels`` all of them.
    """
    if not 1 <= max_level <= 3:
        raise ValueError("max_level must be 1, 2 or 3")
    hits = find_hits(sources, units)
    by_unit: dict[int, list[int]] = {}
    for k, src in enumerate(sources):
        by_unit.setdefault(src.unit_id, []).append(k)
    # q(B→C) = Σ_sB w_sB P(sB→C): the probability that B's failure escalates to C.
    escalates: dict[int, dict[int, float]] = {}
    for k, hs in hits.items():
        row = escalates.setdefault(sources[k].unit_id, {})
        for h in hs:
            row[h.target] = min(row.get(h.target, 0.0) + sources[k].weight * h.probability, 1.0)
    failure = _failure_frequencies(units, sources, hits, escalates, max_level)
    pairs: dict[tuple[int, int], dict[str, Any]] = {}

    def record(unit: int, level: int, path: Sequence[int]) -> None:
        for k in by_unit.get(unit, []):
            for h in hits.get(k, []):
                if h.target not in path:
                    # One record per (scenario, unit): ``level`` is the lowest it occurs at, ``levels`` all of them.
                    pair = pairs.setdefault((k, h.target), _pair(sources[k], units, h, level))
                    if level not in pair["levels"]:
                        pair["levels"].append(level)

    frontier: list[tuple[list[int], float]] = []
    for unit in by_unit:
        record(unit, 1, [unit])
        first: dict[int, float] = {}
        for k in by_unit[unit]:
            for h in hits.get(k, []):
                first[h.target] = first.get(h.target, 0.0) + sources[k].scenario.frequency * h.probability
        frontier.extend(([unit, t], f) for t, f in first.items())
    chains = list(frontier)
    for level in range(2, max_level + 1):
        grown: list[tuple[list[int], float]] = []
        for path, f in frontier:
            if f < cutoff:
                continue
            record(path[-1], level, path)
            grown.extend(([*path, c], f * q) for c, q in escalates.get(path[-1], {}).items() if c not in path and q > 0)
        grown.sort(key=lambda pf: -pf[1])
        frontier = grown[:beam]
        chains.extend(frontier)
    for pair in pairs.values():
        pair["levels"].sort()
        pair["level"] = pair["levels"][0]
    if consequences is None:
        consequences = {u: [(sources[k].scenario, sources[k].weight) for k in ks] for u, ks in by_unit.items()}
    levels: dict[tuple[int, int], set[int]] = {}
    for (k, t), pair in pairs.items():
        levels.setdefault((sources[k].unit_id, t), set()).update(pair["levels"])
    edges = [
        {"from": a, "to": b, "probability": q, "levels": sorted(levels.get((a, b), ()))}
        for a, row in escalates.items()
        for b, q in row.items()
    ]
    ordered = sorted(pairs.values(), key=lambda p: (p["level"], p["primary_id"], p["secondary_id"], p["scenario"]))
    return Escalation(
        ordered,
        [c for c, _ in chains],
        [f for _, f in chains],
        failure,
        domino_scenarios(failure, consequences),
        edges,
    )


def _failure_frequencies(
    units: Mapping[int, Unit],
    sources: Sequence[Source],
    hits: Mapping[int, Sequence[Hit]],
    escalates: Mapping[int, Mapping[int, float]],
    max_level: int,
) -> dict[int, float]:
    """Each unit's domino failure frequency (per year), level by level for every initiating scenario.

    For an initiator s (frequency f_s) the units fail at level 1 with P(s→C); at level k + 1 a unit
    not yet failed fails with ``1 − Π_B (1 − p_k(B) q(B→C))`` (independent escalations from the
    units that failed at level k). The initiating unit cannot fail again. Summing probabilities
    per initiator, not chains, keeps each unit's probability of failing at or below 1. Levels
    are treated as independent: B may be counted again at level 3 through a unit it made fail
    (an echo of order (1 − P)P³ of the initiator's frequency, ≤ 0.11 of it).
    """
    ids = list(units)
    index = {u: i for i, u in enumerate(ids)}
    q = np.zeros((len(ids), len(ids)))
    for a, row in escalates.items():
        for b, p in row.items():
            q[index[a], index[b]] = p
    total = np.zeros(len(ids))
    for k, src in enumerate(sources):
        if not hits.get(k) or src.scenario.frequency <= 0:
            continue
        new = np.zeros(len(ids))
        for h in hits[k]:
            new[index[h.target]] = h.probability
        failed = new.copy()
        failed[index[src.unit_id]] = 1.0
        reached = new.copy()
        for _ in range(2, max_level + 1):
            rows = np.nonzero(new)[0]
            if not rows.size:
                break
            new = (1.0 - failed) * (1.0 - np.prod(1.0 - new[rows, None] * q[rows], axis=0))
            failed += new
            reached += new
        total += src.scenario.frequency * reached
    return {u: float(total[i]) for u, i in index.items() if total[i] > 0}


def domino_scenarios(
    failure: Mapping[int, float], consequences: Mapping[int, Sequence[tuple[Scenario, float]]]
) -> list[Scenario]:
    """The escalation scenarios: each failing unit's scenarios at ``f_fail × w`` per year (tables reused)."""
    out = []
    for unit, f in sorted(failure.items()):
        for s, w in consequences.get(unit, []):
            freq = f * w
            if freq <= 0:
                continue
            if s.table is None:
                s.tabulate()
            # The wind-averaged table is normalised by the frequency: only the weights scale.
            scale = freq / s.frequency if s.frequency > 0 else 0.0
            outcomes = [(fo * scale, k, b) for fo, k, b in s.outcomes]
            out.append(
                replace(
                    s,
                    name=f"多米诺次生事故：{s.name}",
                    frequency=freq,
                    outcomes=outcomes,
                    details={**s.details, "domino": True, "base_frequency": s.frequency, "share": w},
                )
            )
    return out

"""QRA-lite: individual-risk grid, risk at protected targets, and the societal-risk F–N curve.

Individual risk IR(x, y) = Σ_s f_s · P_s(x, y): the yearly probability that an unprotected
person always present at (x, y) dies (GB 36894-2018, reference/safety-standards.md §2).
Each scenario s has a frequency f_s (per year) and a lethality field P_s from a
consequence model (:mod:`gis.consequence_fire`, :mod:`gis.consequence_vce`, :mod:`gis.plume`).

Directional effects (toxic plumes) are averaged over a wind rose. Every scenario's
wind-averaged lethality is tabulated once on a polar grid around its source (``N_R``
distances × ``N_PHI`` bearings, or one bearing when it is isotropic), so filling a grid of
a million cells from hundreds of scenarios is a table lookup per cell within each
scenario's reach, not a model evaluation.

Societal risk: every (scenario, weather, wind direction) outcome kills N = Σ pop_t P(t)
people at frequency f · p_weather · p_direction; F(N) is the frequency of outcomes killing
N or more. Acceptance lines (GB 36894 as read in Cheng et al. 2023, reference §2):
F_upper = 10⁻³/N, F_lower = 10⁻⁵/N.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from safemap.gis.consequence_fire import PoolFire, fireball_fuel_kg, fireball_lethality
from safemap.gis.consequence_vce import death_radius_m, tnt_equivalent_kg
from safemap.gis.plume import Plume, mg_m3_to_ppm

N_R = 512
N_PHI = 144
SUB_DIRECTIONS = 9
P_NEGLIGIBLE = 1e-4
POOL_EXPOSURE_S = 20.0
F_UPPER_AT_1 = 1e-3
F_LOWER_AT_1 = 1e-5

#: Lethality as a function of (distance m, bearing rad) → probability; isotropic ones ignore the bearing.
Lethality = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Weather:
    """One weather class of the risk calculation (Pasquill stability, wind m/s, probability)."""

    stability: str = "D"
    wind_m_s: float = 3.0
    probability: float = 1.0


#: Default: the RMP alternative-scenario weather (D, 3 m/s; reference §4.7), as the only class.
DEFAULT_WEATHER = (Weather("D", 3.0, 1.0),)


@dataclass
class Scenario:
    """One accident scenario of one hazard source, ready to evaluate.

    ``kernels`` are lethality functions P(r, ψ) of the distance r (m) and the angle ψ (rad)
    from the direction the effect travels (downwind for a plume); ``outcomes`` are
    (frequency per year, kernel index, compass bearing of travel in rad). An isotropic
    scenario has one kernel and one outcome at bearing 0.
    """

    source_id: int
    name: str
    model: str
    x: float
    y: float
    frequency: float
    kernels: list[Lethality]
    outcomes: list[tuple[float, int, float]]
    isotropic: bool
    reach_m: float = 0.0
    table: np.ndarray | None = field(default=None, repr=False)
    details: dict = field(default_factory=dict)

    def lethality(self, outcome: int, r: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """P of one outcome at distance ``r`` and compass bearing ``phi`` (rad) from the source."""
        _, k, bearing = self.outcomes[outcome]
        return self.kernels[k](r, phi - bearing)

    def tabulate(self) -> None:
        """Build the wind-averaged polar lethality table and the scenario's reach (P ≥ 10⁻⁴)."""
        probe = np.geomspace(1.0, 50_000.0, 400)
        reach = 0.0
        for fn in self.kernels:
            p = fn(probe, np.zeros_like(probe))
            above = np.nonzero(p >= P_NEGLIGIBLE)[0]
            if above.size:
                reach = max(reach, probe[min(above[-1] + 1, probe.size - 1)])
        self.reach_m = float(reach)
        nphi = 1 if self.isotropic else N_PHI
        if reach <= 0 or self.frequency <= 0:
            self.table = np.zeros((N_R, nphi))
            return
        r = np.linspace(0.0, reach, N_R)
        phis = np.linspace(0, 2 * np.pi, nphi, endpoint=False)
        rr, pp = np.meshgrid(r, phis, indexing="ij")
        base = [fn(rr, pp) for fn in self.kernels]
        total = np.zeros_like(rr)
        for freq, k, bearing in self.outcomes:
            # A kernel turned to ``bearing`` is the same table rolled by whole columns (≤ 1.25° off).
            shift = round(bearing / (2 * np.pi) * nphi) % nphi
            total += freq * (np.roll(base[k], shift, axis=1) if shift else base[k])
        self.table = total / self.frequency

    def lookup(self, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """Wind-averaged lethality at offsets (east, north) m from the source (linear in r)."""
        if self.table is None:
            self.tabulate()
        assert self.table is not None
        if self.reach_m <= 0:
            return np.zeros(np.broadcast(dx, dy).shape)
        r = np.hypot(dx, dy)
        fr = np.minimum(r * ((N_R - 1) / self.reach_m), N_R - 1)
        i0 = np.minimum(fr.astype(np.int64), N_R - 2)
        t = fr - i0
        if self.table.shape[1] == 1:
            col = self.table[:, 0]
            out = col[i0] * (1 - t) + col[i0 + 1] * t
        else:
            nphi = self.table.shape[1]
            phi = np.arctan2(dx, dy) % (2 * np.pi)
            j = np.rint(phi * (nphi / (2 * np.pi))).astype(np.int64) % nphi
            out = self.table[i0, j] * (1 - t) + self.table[i0 + 1, j] * t
        return np.where(r <= self.reach_m, out, 0.0)


def _isotropic(
    source_id: int, name: str, model: str, xy: tuple[float, float], frequency: float, fn: Lethality, details: dict
) -> Scenario:
    return Scenario(source_id, name, model, xy[0], xy[1], frequency, [fn], [(frequency, 0, 0.0)], True, details=details)


# ---------------------------------------------------------------------------- scenario builders


def bleve_scenario(source_id: int, xy: tuple[float, float], frequency: float, mass_kg: float, name: str) -> Scenario:
    """Fireball of a single tank's contents (50 % in the fireball, reference §4.3)."""
    w = fireball_fuel_kg(mass_kg, 1)

    def fn(r: np.ndarray, _: np.ndarray) -> np.ndarray:
        return fireball_lethality(r, w)

    return _isotropic(source_id, name, "bleve", xy, frequency, fn, {"fireball_kg": w})


def vce_scenario(
    source_id: int, xy: tuple[float, float], frequency: float, mass_kg: float, heat_kj_kg: float, name: str
) -> Scenario:
    """Vapour-cloud explosion: death inside R₁ of the TNT equivalent (reference §4.1), none outside."""
    radius = death_radius_m(tnt_equivalent_kg(mass_kg, heat_kj_kg))

    def fn(r: np.ndarray, _: np.ndarray) -> np.ndarray:
        return (r <= radius).astype(float)

    return _isotropic(source_id, name, "vce", xy, frequency, fn, {"death_radius_m": radius})


def pool_fire_scenario(
    source_id: int,
    xy: tuple[float, float],
    frequency: float,
    fire: PoolFire,
    name: str,
    exposure_s: float = POOL_EXPOSURE_S,
) -> Scenario:
    """Pool fire; people exposed ``exposure_s`` s (20 s: the escape time commonly used in QRA, TNO Purple Book)."""

    def fn(r: np.ndarray, _: np.ndarray) -> np.ndarray:
        return fire.lethality(r, exposure_s)

    return _isotropic(
        source_id,
        name,
        "pool_fire",
        xy,
        frequency,
        fn,
        {"diameter_m": fire.diameter_m, "flame_height_m": fire.flame_height_m},
    )


def toxic_scenario(
    source_id: int,
    xy: tuple[float, float],
    frequency: float,
    rate_kg_s: float,
    duration_s: float,
    molar_mass: float,
    probit: tuple[float, float, float],
    name: str,
    weather: Sequence[Weather] = DEFAULT_WEATHER,
    wind_rose: Sequence[float] | None = None,
    setting: str = "rural",
) -> Scenario:
    """Continuous toxic release over ``duration_s`` s; probit a + b ln(Cⁿ t), C ppm, t min.

    ``wind_rose``: probabilities of the wind blowing *from* each of K equal sectors
    (north first, clockwise); default uniform over 16.
    """
    from scipy.special import ndtr

    rose = np.asarray(wind_rose if wind_rose is not None else np.full(16, 1 / 16), dtype=float)
    if rose.ndim != 1 or rose.size == 0 or np.any(rose < 0) or rose.sum() <= 0:
        raise ValueError("wind_rose must be non-negative sector probabilities")
    rose = rose / rose.sum()
    k = rose.size
    a, b, n = probit
    minutes = duration_s / 60.0
    kernels: list[Lethality] = []
    outcomes: list[tuple[float, int, float]] = []
    for w in weather:
        plume = Plume(rate_kg_s, w.wind_m_s, w.stability, setting)

        def fn(r: np.ndarray, rel: np.ndarray, plume: Plume = plume) -> np.ndarray:
            x = r * np.cos(rel)
            y = r * np.sin(rel)
            ppm = np.maximum(mg_m3_to_ppm(plume.concentration(x, y), molar_mass), 1e-12)
            return np.where(x > 0, ndtr(a + b * np.log(ppm**n * minutes) - 5.0), 0.0)

        kernels.append(fn)
        for sector, share in enumerate(rose):
            if share <= 0:
                continue
            # The wind varies within its sector: spread each sector over SUB_DIRECTIONS
            # directions, so a narrow plume does not paint K spikes (a star) on the map.
            for j in range(SUB_DIRECTIONS):
                offset = ((j + 0.5) / SUB_DIRECTIONS - 0.5) * 360.0 / k
                travel = math.radians((sector * 360.0 / k + offset + 180.0) % 360.0)
                outcomes.append((frequency * w.probability * share / SUB_DIRECTIONS, len(kernels) - 1, travel))
    return Scenario(
        source_id,
        name,
        "toxic_plume",
        xy[0],
        xy[1],
        frequency,
        kernels,
        outcomes,
        False,
        details={"rate_kg_s": rate_kg_s, "duration_s": duration_s},
    )


# ---------------------------------------------------------------------------- grid, targets, F–N


@dataclass(frozen=True)
class Grid:
    """A north-up raster in a metric CRS: ``x0, y0`` lower-left corner, square cells of ``cell_m``."""

    x0: float
    y0: float
    cell_m: float
    nx: int
    ny: int

    @classmethod
    def around(cls, points: np.ndarray, margin_m: float, cell_m: float, max_cells: int = 4_000_000) -> Grid:
        """A grid covering ``points`` (n × 2) plus ``margin_m``; ``ValueError`` above ``max_cells``."""
        x0, y0 = points.min(axis=0) - margin_m
        x1, y1 = points.max(axis=0) + margin_m
        nx, ny = math.ceil((x1 - x0) / cell_m), math.ceil((y1 - y0) / cell_m)
        if nx * ny > max_cells:
            raise ValueError(f"grid of {nx}×{ny} cells exceeds {max_cells}; use larger cells or a smaller area")
        return cls(float(x0), float(y0), float(cell_m), nx, ny)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min x, min y, max x, max y) in metres."""
        return self.x0, self.y0, self.x0 + self.nx * self.cell_m, self.y0 + self.ny * self.cell_m


def risk_grid(scenarios: Sequence[Scenario], grid: Grid) -> np.ndarray:
    """IR per cell (per year), row 0 at the *north* edge (GeoTIFF order), float64."""
    ir = np.zeros((grid.ny, grid.nx))
    for s in scenarios:
        if s.table is None:
            s.tabulate()
        if s.reach_m <= 0 or s.frequency <= 0:
            continue
        c0 = max(int((s.x - s.reach_m - grid.x0) // grid.cell_m), 0)
        c1 = min(int((s.x + s.reach_m - grid.x0) // grid.cell_m) + 1, grid.nx)
        r0 = max(int((s.y - s.reach_m - grid.y0) // grid.cell_m), 0)
        r1 = min(int((s.y + s.reach_m - grid.y0) // grid.cell_m) + 1, grid.ny)
        if c0 >= c1 or r0 >= r1:
            continue
        xs = grid.x0 + (np.arange(c0, c1) + 0.5) * grid.cell_m - s.x
        ys = grid.y0 + (np.arange(r0, r1) + 0.5) * grid.cell_m - s.y
        p = s.lookup(xs[None, :], ys[:, None])
        # Grid rows count from the south here; flip into north-up order.
        ir[grid.ny - r1 : grid.ny - r0, c0:c1] += s.frequency * p[::-1, :]
    return ir


def _nearest_offsets(s: Scenario, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    origin = shapely.points(s.x, s.y)
    near = shapely.get_coordinates(shapely.shortest_line(origin, geoms)).reshape(-1, 2, 2)[:, 1, :]
    return near[:, 0] - s.x, near[:, 1] - s.y


def risk_at(scenarios: Sequence[Scenario], geoms: Sequence[object]) -> np.ndarray:
    """IR (per year) at each geometry's point nearest to each scenario's source (conservative)."""
    geom_arr = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geom_arr))
    if not len(geom_arr):
        return out
    for s in scenarios:
        if s.table is None:
            s.tabulate()
        if s.reach_m <= 0:
            continue
        near = shapely.dwithin(shapely.points(s.x, s.y), geom_arr, s.reach_m)
        if not near.any():
            continue
        dx, dy = _nearest_offsets(s, geom_arr[near])
        out[near] += s.frequency * s.lookup(dx, dy)
    return out


def fn_curve(scenarios: Sequence[Scenario], geoms: Sequence[object], population: Sequence[float]) -> dict:
    """Societal risk: outcomes (N, f) and the cumulative F–N curve (N ≥ 1).

    Returns ``{"outcomes": [(N, f)], "curve": [(N, F)], "max_N", "exceeds_upper", "above_lower"}``:
    ``exceeds_upper`` is True if any F(N) > 10⁻³/N (intolerable), ``above_lower`` if any > 10⁻⁵/N.
    """
    geom_arr = np.asarray(geoms, dtype=object)
    pop = np.nan_to_num(np.asarray(population, dtype=float))
    outcomes: list[tuple[float, float]] = []
    for s in scenarios:
        if s.table is None:
            s.tabulate()
        near = (
            shapely.dwithin(shapely.points(s.x, s.y), geom_arr, max(s.reach_m, 1.0))
            if len(geom_arr)
            else np.zeros(0, bool)
        )
        if not near.any():
            continue
        dx, dy = _nearest_offsets(s, geom_arr[near])
        r, phi = np.hypot(dx, dy), np.arctan2(dx, dy) % (2 * np.pi)
        for i, (freq, _, _) in enumerate(s.outcomes):
            n = float(np.sum(pop[near] * s.lethality(i, r, phi)))
            if n > 0 and freq > 0:
                outcomes.append((n, freq))
    outcomes.sort()
    curve: list[tuple[float, float]] = []
    if outcomes:
        ns = np.array([o[0] for o in outcomes])
        fs = np.array([o[1] for o in outcomes])
        cum = np.cumsum(fs[::-1])[::-1]  # F(N) = Σ f over outcomes with N' ≥ N
        for n, f in zip(ns, cum, strict=True):
            if n >= 1:
                curve.append((float(n), float(f)))
    exceeds = any(f > F_UPPER_AT_1 / n for n, f in curve)
    above = any(f > F_LOWER_AT_1 / n for n, f in curve)
    return {
        "outcomes": outcomes,
        "curve": curve,
        "max_N": max((n for n, _ in curve), default=0.0),
        "exceeds_upper": exceeds,
        "above_lower": above,
    }


def contour_lines(ir: np.ndarray, grid: Grid, levels: Sequence[float]) -> dict[float, list[np.ndarray]]:
    """Iso-risk lines (metric coordinates) at each level, via contourpy."""
    import contourpy

    xs = grid.x0 + (np.arange(grid.nx) + 0.5) * grid.cell_m
    ys = grid.y0 + (np.arange(grid.ny) + 0.5) * grid.cell_m
    gen = contourpy.contour_generator(xs, ys, ir[::-1, :], line_type=contourpy.LineType.Separate)
    return {float(level): [np.asarray(line) for line in gen.lines(level)] for level in levels}

"""Gaussian plume of a continuous release with ground reflection; Briggs (1973) dispersion coefficients.

C(x, y, z) = Q / (2π u σ_y σ_z) · exp(−y²/2σ_y²) · [exp(−(z−H)²/2σ_z²) + exp(−(z+H)²/2σ_z²)];
on the ground centreline with H = 0: C = Q / (π u σ_y σ_z)
(reference/safety-standards.md §4.5, Cheng et al. 2023). σ_y, σ_z: Briggs rural/urban fits
for stability classes A–F (same file, table after §4.5; aefarrell/GasDispersion.jl, citing
CCPS 1999). The fits were made for 100 m ≤ x ≤ 10 km; results outside are extrapolations.

Concentrations are in mg/m³ with Q in kg/s (×10⁶ mg/kg). ppm ↔ mg/m³ at 25 °C, 1 atm:
mg/m³ = ppm · M / 24.45.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
import shapely.affinity
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

STABILITIES = ("A", "B", "C", "D", "E", "F")
SETTINGS = ("rural", "urban")
MOLAR_VOLUME_L = 24.45
VALID_RANGE_M = (100.0, 10_000.0)


#: σ(x) in m at downwind distances x in m.
Sigma = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]


def _sy(a: float, k: float) -> Sigma:
    return lambda x: a * x * (1 + k * x) ** -0.5


#: (σ_y(x), σ_z(x)) per (setting, stability), x in m.
BRIGGS: dict[tuple[str, str], tuple[Sigma, Sigma]] = {
    ("rural", "A"): (_sy(0.22, 1e-4), lambda x: 0.20 * x),
    ("rural", "B"): (_sy(0.16, 1e-4), lambda x: 0.12 * x),
    ("rural", "C"): (_sy(0.11, 1e-4), lambda x: 0.08 * x * (1 + 2e-4 * x) ** -0.5),
    ("rural", "D"): (_sy(0.08, 1e-4), lambda x: 0.06 * x * (1 + 1.5e-3 * x) ** -0.5),
    ("rural", "E"): (_sy(0.06, 1e-4), lambda x: 0.03 * x * (1 + 3e-4 * x) ** -1),
    ("rural", "F"): (_sy(0.04, 1e-4), lambda x: 0.016 * x * (1 + 3e-4 * x) ** -1),
    ("urban", "A"): (_sy(0.32, 4e-4), lambda x: 0.24 * x * (1 + 1e-3 * x) ** 0.5),
    ("urban", "B"): (_sy(0.32, 4e-4), lambda x: 0.24 * x * (1 + 1e-3 * x) ** 0.5),
    ("urban", "C"): (_sy(0.22, 4e-4), lambda x: 0.20 * x),
    ("urban", "D"): (_sy(0.16, 4e-4), lambda x: 0.14 * x * (1 + 3e-4 * x) ** -0.5),
    ("urban", "E"): (_sy(0.11, 4e-4), lambda x: 0.08 * x * (1 + 1.5e-3 * x) ** -0.5),
    ("urban", "F"): (_sy(0.11, 4e-4), lambda x: 0.08 * x * (1 + 1.5e-3 * x) ** -0.5),
}


def ppm_to_mg_m3(ppm: float, molar_mass_g_mol: float) -> float:
    """Volume fraction (ppm) to mass concentration (mg/m³) at 25 °C."""
    return ppm * molar_mass_g_mol / MOLAR_VOLUME_L


def mg_m3_to_ppm(mg_m3: float | np.ndarray, molar_mass_g_mol: float) -> float | np.ndarray:
    """Mass concentration (mg/m³) to ppm at 25 °C."""
    return np.asarray(mg_m3) * MOLAR_VOLUME_L / molar_mass_g_mol


def sigmas(x_m: float | np.ndarray, stability: str, setting: str = "rural") -> tuple[np.ndarray, np.ndarray]:
    """(σ_y, σ_z) in m at downwind distance ``x_m``."""
    key = (setting, stability)
    if key not in BRIGGS:
        raise ValueError(f"stability must be one of {STABILITIES} and setting one of {SETTINGS}")
    fy, fz = BRIGGS[key]
    x = np.asarray(x_m, dtype=float)
    return fy(x), fz(x)


@dataclass(frozen=True)
class Plume:
    """A continuous ground-reflected Gaussian plume.

    Parameters
    ----------
    rate_kg_s
        Release rate, kg/s (> 0).
    wind_m_s
        Wind speed at release height, m/s (≥ 0.5: the model does not hold in calm air).
    stability
        Pasquill class A–F.
    setting
        ``rural`` or ``urban`` Briggs coefficients.
    height_m
        Effective release height H, m.
    """

    rate_kg_s: float
    wind_m_s: float
    stability: str = "D"
    setting: str = "rural"
    height_m: float = 0.0

    def __post_init__(self) -> None:
        if not (self.rate_kg_s > 0 and math.isfinite(self.rate_kg_s)):
            raise ValueError("rate_kg_s must be > 0")
        if not (0.5 <= self.wind_m_s <= 30):
            raise ValueError("wind_m_s must be between 0.5 and 30 m/s")
        if (self.setting, self.stability) not in BRIGGS:
            raise ValueError(f"stability must be one of {STABILITIES}, setting one of {SETTINGS}")
        if not 0 <= self.height_m <= 300:
            raise ValueError("height_m must be between 0 and 300 m")

    def concentration(self, x_m: np.ndarray, y_m: np.ndarray | float = 0.0, z_m: float = 0.0) -> np.ndarray:
        """Concentration (mg/m³) at (x downwind, y crosswind, z height), m; 0 upwind."""
        x = np.asarray(x_m, dtype=float)
        y = np.asarray(y_m, dtype=float)
        xs = np.maximum(x, 1e-3)
        sy, sz = sigmas(xs, self.stability, self.setting)
        q = self.rate_kg_s * 1e6
        h = self.height_m
        vertical = np.exp(-((z_m - h) ** 2) / (2 * sz**2)) + np.exp(-((z_m + h) ** 2) / (2 * sz**2))
        c = q / (2 * math.pi * self.wind_m_s * sy * sz) * np.exp(-(y**2) / (2 * sy**2)) * vertical
        return np.where(x > 0, c, 0.0)

    def centreline(self, x_m: np.ndarray) -> np.ndarray:
        """Ground-level centreline concentration (mg/m³) at ``x_m``."""
        return self.concentration(x_m, 0.0, 0.0)

    def max_distance_m(self, threshold_mg_m3: float, limit_m: float = 100_000.0) -> float:
        """Farthest downwind distance (m) where the ground centreline reaches ``threshold_mg_m3``."""
        xs = np.geomspace(1.0, limit_m, 2000)
        c = self.centreline(xs)
        above = np.nonzero(c >= threshold_mg_m3)[0]
        if above.size == 0:
            return 0.0
        i = above[-1]
        if i == xs.size - 1:
            return float(limit_m)
        # Refine between the last sample above and the next one (log-linear).
        x0, x1, c0, c1 = xs[i], xs[i + 1], c[i], c[i + 1]
        t = (math.log(c0) - math.log(threshold_mg_m3)) / (math.log(c0) - math.log(c1))
        return float(math.exp(math.log(x0) + t * (math.log(x1) - math.log(x0))))

    def footprint_local(self, threshold_mg_m3: float, samples: int = 200) -> BaseGeometry | None:
        """Ground area at or above ``threshold_mg_m3`` in plume coordinates (x downwind, y left), m.

        A polygon, or what ``make_valid`` makes of a self-touching outline (e.g. a MultiPolygon).
        """
        x_max = self.max_distance_m(threshold_mg_m3)
        if x_max <= 0:
            return None
        xs = np.geomspace(min(1.0, x_max / 10), x_max, samples)
        c = self.centreline(xs)
        sy, _ = sigmas(xs, self.stability, self.setting)
        half = sy * np.sqrt(2 * np.log(np.maximum(c / threshold_mg_m3, 1.0)))
        top = np.column_stack([xs, half])
        bottom = np.column_stack([xs[::-1], -half[::-1]])
        ring = np.vstack([[0.0, 0.0], top, [x_max, 0.0], bottom, [0.0, 0.0]])
        poly = shapely.make_valid(Polygon(ring))
        return poly if not poly.is_empty else None


def downwind_bearing(wind_from_deg: float) -> float:
    """Compass bearing (degrees, clockwise from north) the plume travels: wind-from + 180."""
    return (wind_from_deg + 180.0) % 360.0


def to_map(local: BaseGeometry, origin: tuple[float, float], wind_from_deg: float) -> BaseGeometry:
    """Rotate and move a plume-coordinate shape onto metric map coordinates (x east, y north).

    Any geometry: ``footprint_local`` may give a MultiPolygon where ``make_valid`` splits a
    self-touching outline, and holes are kept.
    """
    theta = math.radians(downwind_bearing(wind_from_deg))
    # Downwind unit vector (east, north) = (sin θ, cos θ); the plume's +y lies to its left (−uy, ux).
    ux, uy = math.sin(theta), math.cos(theta)
    return shapely.affinity.affine_transform(local, [ux, -uy, uy, ux, origin[0], origin[1]])

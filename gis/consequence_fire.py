"""Fires: BLEVE fireball with thermal-dose probits, and pool fire (Thomas flame height, point source).

Fireball (reference/safety-standards.md §4.3, Chinese 安全评价 practice):
R = 2.9 W^{1/3} m, t = 0.45 W^{1/3} s, W = mass of fuel in the fireball (kg): 50 % of the
capacity for one tank, 70 % for two, 90 % for more. Incident flux at horizontal distance r
from the fireball centre (《安全评价》, 国家安全生产监督管理总局编, 火球模型; not in the
reference file — recalled, verify):

    q(r) = q₀ R² r (1 − 0.058 ln r) / (R² + r²)^{3/2},  q₀ = 270 kW/m² (cylindrical tank), 200 (sphere);

held at its peak for r < R/√2 (the formula is a vertical target's view factor and would
fall to 0 under the fireball).

Probits (q in W/m², t in s; P = Φ(Pr − 5)): death −37.23 + 2.56 ln(t q^{4/3}); 2nd-degree burn
−43.14 + 3.0188 ln(t q^{4/3}); 1st-degree burn −39.83 + 3.0186 ln(t q^{4/3}); property ignition
q = 6730 t^{−4/5} + 25 400 W/m².

Pool fire (not in the reference file; CCPS *Guidelines for Consequence Analysis of Chemical
Releases*, 1999, §3.3 point-source model): flame height H = 42 D [m″/(ρₐ √(g D))]^{0.61}
(Thomas 1963); radiated power E = η m″ ΔH_c A; flux q = τ E / (4π L²) with L the distance
from a point source at H/2 above the pool centre. Defaults η = 0.35 (upper end of CCPS's
0.15–0.35, conservative) and τ = 1 (no atmospheric absorption, conservative).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

G = 9.81
RHO_AIR = 1.2
#: (a, b) of Pr = a + b ln(t q^{4/3}), q in W/m², t in s.
PROBITS: dict[str, tuple[float, float]] = {
    "death": (-37.23, 2.56),
    "burn_2nd": (-43.14, 3.0188),
    "burn_1st": (-39.83, 3.0186),
}
PROBIT_LABELS = {"death": "死亡（50%）", "burn_2nd": "二度烧伤（50%）", "burn_1st": "一度烧伤（50%）"}
Q0_CYLINDER = 270_000.0
Q0_SPHERE = 200_000.0
FIREBALL_FRACTION = {1: 0.5, 2: 0.7}
FIREBALL_FRACTION_MANY = 0.9


def probability(probit: float | np.ndarray) -> float | np.ndarray:
    """P = 0.5 [1 + erf((Pr − 5)/√2)]."""
    return ndtr(np.asarray(probit, dtype=float) - 5.0)


def thermal_probit(kind: str, flux_w_m2: float | np.ndarray, seconds: float) -> float | np.ndarray:
    """Probit of ``kind`` (death, burn_2nd, burn_1st) for ``flux_w_m2`` over ``seconds``."""
    a, b = PROBITS[kind]
    q = np.maximum(np.asarray(flux_w_m2, dtype=float), 1e-9)
    return a + b * np.log(seconds * q ** (4.0 / 3.0))


def flux_for_probability(kind: str, seconds: float, p: float = 0.5) -> float:
    """Flux (W/m²) giving probability ``p`` of ``kind`` after ``seconds`` of exposure."""
    from scipy.special import ndtri

    a, b = PROBITS[kind]
    pr = 5.0 + float(ndtri(p))
    return float((math.exp((pr - a) / b) / seconds) ** 0.75)


def ignition_flux_w_m2(seconds: float) -> float:
    """Flux igniting wood etc. after ``seconds``: q = 6730 t^{−4/5} + 25 400 W/m²."""
    return 6730.0 * seconds ** (-0.8) + 25_400.0


def fireball_fuel_kg(capacity_kg: float, tanks: int = 1) -> float:
    """Mass in the fireball: 50 % of the capacity for 1 tank, 70 % for 2, 90 % for more."""
    return capacity_kg * FIREBALL_FRACTION.get(tanks, FIREBALL_FRACTION_MANY)


def fireball_radius_m(w_kg: float) -> float:
    """R = 2.9 W^{1/3} m."""
    return 2.9 * w_kg ** (1 / 3)


def fireball_duration_s(w_kg: float) -> float:
    """T = 0.45 W^{1/3} s."""
    return 0.45 * w_kg ** (1 / 3)


def fireball_flux_w_m2(r_m: float | np.ndarray, w_kg: float, q0_w_m2: float = Q0_CYLINDER) -> float | np.ndarray:
    """Incident flux (W/m²) at horizontal distance ``r_m`` from the fireball centre."""
    big_r = fireball_radius_m(w_kg)
    # The formula's r/(R²+r²)^{3/2} is a vertical target's view factor: it falls to 0 right
    # under the fireball. Nearer than its peak (r = R/√2) the peak is held (conservative).
    r = np.maximum(np.asarray(r_m, dtype=float), max(big_r / math.sqrt(2), 1.0))
    out = q0_w_m2 * big_r**2 * r * np.clip(1 - 0.058 * np.log(r), 0, None) / (big_r**2 + r**2) ** 1.5
    return float(out) if out.ndim == 0 else out


def _fireball_distance(w_kg: float, flux: float, q0: float) -> float:
    big_r = fireball_radius_m(w_kg)
    start = big_r / math.sqrt(2)  # the flux peaks here and falls beyond

    def f(r: float) -> float:
        return float(fireball_flux_w_m2(r, w_kg, q0)) - flux  # a float r gives a float flux

    if f(start) <= 0:
        return 0.0
    hi = start * 2
    while f(hi) > 0:
        hi *= 2
        if hi > 1e6:
            return hi
    return float(brentq(f, start, hi, xtol=1e-6))


@dataclass(frozen=True)
class FireballResult:
    """BLEVE fireball: size, duration and radii (m) of 50 % death and burns, and ignition."""

    fuel_kg: float
    radius_m: float
    duration_s: float
    q0_w_m2: float
    death_m: float
    burn_2nd_m: float
    burn_1st_m: float
    ignition_m: float

    def zones(self) -> list[tuple[str, str, float]]:
        """(key, label, radius m) from the innermost zone outwards."""
        return [
            ("death", "死亡区（死亡概率50%）", self.death_m),
            ("ignition", "财产损失区（引燃）", self.ignition_m),
            ("burn_2nd", "二度烧伤区（50%）", self.burn_2nd_m),
            ("burn_1st", "一度烧伤区（50%）", self.burn_1st_m),
        ]


def bleve(fuel_kg: float, q0_w_m2: float = Q0_CYLINDER) -> FireballResult:
    """Fireball of ``fuel_kg`` kg (already the fireball's share of the capacity)."""
    if not fuel_kg > 0:
        raise ValueError("fireball mass must be > 0 kg")
    t = fireball_duration_s(fuel_kg)
    return FireballResult(
        fuel_kg=fuel_kg,
        radius_m=fireball_radius_m(fuel_kg),
        duration_s=t,
        q0_w_m2=q0_w_m2,
        death_m=_fireball_distance(fuel_kg, flux_for_probability("death", t), q0_w_m2),
        burn_2nd_m=_fireball_distance(fuel_kg, flux_for_probability("burn_2nd", t), q0_w_m2),
        burn_1st_m=_fireball_distance(fuel_kg, flux_for_probability("burn_1st", t), q0_w_m2),
        ignition_m=_fireball_distance(fuel_kg, ignition_flux_w_m2(t), q0_w_m2),
    )


def fireball_lethality(r_m: np.ndarray, fuel_kg: float, q0_w_m2: float = Q0_CYLINDER) -> np.ndarray:
    """Probability of death at horizontal distance ``r_m`` from a fireball of ``fuel_kg`` kg."""
    t = fireball_duration_s(fuel_kg)
    # An array of distances gives an array of probabilities.
    return cast(np.ndarray, probability(thermal_probit("death", fireball_flux_w_m2(r_m, fuel_kg, q0_w_m2), t)))


@dataclass(frozen=True)
class PoolFire:
    """A pool fire and its flux field (point-source model)."""

    area_m2: float
    burning_rate_kg_m2_s: float
    heat_of_combustion_kj_kg: float
    radiative_fraction: float = 0.35
    transmissivity: float = 1.0

    def __post_init__(self) -> None:
        for name in ("area_m2", "burning_rate_kg_m2_s", "heat_of_combustion_kj_kg"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        if not 0 < self.radiative_fraction <= 1 or not 0 < self.transmissivity <= 1:
            raise ValueError("radiative_fraction and transmissivity must be in (0, 1]")

    @property
    def diameter_m(self) -> float:
        """Diameter of a circular pool of the same area, m."""
        return math.sqrt(4 * self.area_m2 / math.pi)

    @property
    def flame_height_m(self) -> float:
        """Thomas (1963): H = 42 D [m″/(ρₐ √(g D))]^{0.61}, m."""
        d = self.diameter_m
        return 42.0 * d * (self.burning_rate_kg_m2_s / (RHO_AIR * math.sqrt(G * d))) ** 0.61

    @property
    def radiated_power_w(self) -> float:
        """E = η m″ ΔH_c A, W."""
        return self.radiative_fraction * self.burning_rate_kg_m2_s * self.heat_of_combustion_kj_kg * 1000 * self.area_m2

    def flux_w_m2(self, x_m: float | np.ndarray) -> float | np.ndarray:
        """Flux at ground distance ``x_m`` from the pool centre, W/m²."""
        x = np.asarray(x_m, dtype=float)
        out = self.transmissivity * self.radiated_power_w / (4 * math.pi * (x**2 + (self.flame_height_m / 2) ** 2))
        return float(out) if out.ndim == 0 else out

    def distance_to_flux_m(self, flux_w_m2: float) -> float:
        """Ground distance from the pool centre where the flux falls to ``flux_w_m2``, m (0: never reached)."""
        l2 = self.transmissivity * self.radiated_power_w / (4 * math.pi * flux_w_m2)
        return math.sqrt(max(l2 - (self.flame_height_m / 2) ** 2, 0.0))

    def lethality(self, x_m: np.ndarray, exposure_s: float) -> np.ndarray:
        """Probability of death at ``x_m`` after ``exposure_s`` seconds (death probit above)."""
        # An array of distances gives an array of probabilities.
        return cast(np.ndarray, probability(thermal_probit("death", self.flux_w_m2(x_m), exposure_s)))

    def probit_distance_m(self, kind: str, exposure_s: float) -> float:
        """Distance from the pool centre of 50 % ``kind`` (death, burn_2nd, burn_1st), m."""
        return self.distance_to_flux_m(flux_for_probability(kind, exposure_s))

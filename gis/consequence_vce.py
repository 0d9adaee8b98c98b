"""Explosions: TNT-equivalent vapour-cloud explosion (Chinese 安全评价 practice) and blast curves.

Sources (reference/safety-standards.md §4.1–4.2):

- W_TNT = 1.8 · α · W_f · Q_f / Q_TNT, ground factor 1.8, yield α = 0.04, Q_TNT = 4520 kJ/kg.
- Death radius R₁ = 13.6 (W_TNT/1000)^0.37 m.
- Serious / light injury at Δp = 44 000 / 17 000 Pa from
  Δp/p₀ = 0.137 Z⁻³ + 0.119 Z⁻² + 0.269 Z⁻¹ − 0.019 with R = Z (E/p₀)^{1/3}, E = W_TNT Q_TNT (J), p₀ = 101 300 Pa.
- Property damage R = K_II W_TNT^{1/3} / [1 + (3175/W_TNT)²]^{1/6}, K_II = 5.6.
- Kingery–Bulmash (Swisdak 1994 fit, hemispherical surface burst):
  P_s (kPa) = exp(A + B lnZ + C ln²Z + D ln³Z + E ln⁴Z).
- Kinney–Graham (free air): P/Pₐ = 808[1 + (Z/4.5)²] / √{[1 + (Z/0.048)²][1 + (Z/0.32)²][1 + (Z/1.35)²]}.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

Q_TNT_KJ_KG = 4520.0
P0_PA = 101_300.0
YIELD_ALPHA = 0.04
GROUND_FACTOR = 1.8
SERIOUS_INJURY_PA = 44_000.0
LIGHT_INJURY_PA = 17_000.0
K_PROPERTY = 5.6

#: Swisdak (1994) coefficients: (upper Z bound, A, B, C, D, E).
_KB = (
    (2.9, 7.2106, -2.1069, -0.3229, 0.1117, 0.0685),
    (23.8, 7.5938, -3.0523, 0.40977, 0.0261, -0.01267),
    (math.inf, 6.0536, -1.4066, 0.0, 0.0, 0.0),
)


def tnt_equivalent_kg(
    fuel_mass_kg: float,
    heat_of_combustion_kj_kg: float,
    *,
    alpha: float = YIELD_ALPHA,
    ground_factor: float = GROUND_FACTOR,
) -> float:
    """TNT mass (kg) equivalent to a vapour cloud of ``fuel_mass_kg`` kg."""
    if fuel_mass_kg < 0 or heat_of_combustion_kj_kg <= 0:
        raise ValueError("fuel mass must be ≥ 0 kg and heat of combustion > 0 kJ/kg")
    return ground_factor * alpha * fuel_mass_kg * heat_of_combustion_kj_kg / Q_TNT_KJ_KG


def death_radius_m(w_tnt_kg: float) -> float:
    """R₁ = 13.6 (W_TNT/1000)^0.37, m (50 % lethality, Chinese practice)."""
    return 13.6 * (w_tnt_kg / 1000.0) ** 0.37 if w_tnt_kg > 0 else 0.0


def overpressure_radius_m(w_tnt_kg: float, overpressure_pa: float, p0_pa: float = P0_PA) -> float:
    """Distance (m) where the overpressure falls to ``overpressure_pa`` (polynomial in 1/Z above)."""
    if w_tnt_kg <= 0:
        return 0.0
    ratio = overpressure_pa / p0_pa + 0.019
    roots = np.roots([0.137, 0.119, 0.269, -ratio])
    u = max(r.real for r in roots if abs(r.imag) < 1e-9 and r.real > 0)
    energy_j = w_tnt_kg * Q_TNT_KJ_KG * 1000.0
    return float((1.0 / u) * (energy_j / p0_pa) ** (1.0 / 3.0))


#: Scaled distances Z = R/(E/p₀)^{1/3} over which the polynomial above is used for samples
#: (【未核实】: the range commonly quoted with the formula in Chinese 安全评价 texts; the
#: polynomial itself turns negative near Z ≈ 15.2). Outside it a sample reports a bound.
VALID_Z = (0.3, 12.0)


def scaled_distance(w_tnt_kg: float, distance_m: float, p0_pa: float = P0_PA) -> float:
    """Energy-scaled distance Z = R / (E/p₀)^{1/3} (dimensionless), E = W_TNT · Q_TNT in J."""
    if w_tnt_kg <= 0:
        raise ValueError("TNT mass must be > 0 kg")
    energy_j = w_tnt_kg * Q_TNT_KJ_KG * 1000.0
    return float(distance_m / (energy_j / p0_pa) ** (1.0 / 3.0))


def polynomial_overpressure_pa(z: float, p0_pa: float = P0_PA) -> float:
    """Δp (Pa) at energy-scaled distance ``z``: p₀ (0.137 Z⁻³ + 0.119 Z⁻² + 0.269 Z⁻¹ − 0.019)."""
    if z <= 0:
        raise ValueError("scaled distance must be > 0")
    return float(p0_pa * (0.137 / z**3 + 0.119 / z**2 + 0.269 / z - 0.019))


def overpressure_samples(w_tnt_kg: float, distances_m: Sequence[float], p0_pa: float = P0_PA) -> list[dict[str, Any]]:
    """Side-on overpressure (kPa) at each distance from a TNT-equivalent explosion.

    The same curve as the injury radii (:func:`overpressure_radius_m`), so the sample at
    ``serious_injury_m`` reads 44 kPa and the one at ``light_injury_m`` 17 kPa.

    Parameters
    ----------
    w_tnt_kg
        TNT-equivalent mass, kg.
    distances_m
        Distances from the centre of the explosion, metres (≥ 0).
    p0_pa
        Ambient pressure, Pa.

    Returns
    -------
    list of dict
        Per distance: ``distance_m``, ``scaled_distance`` (Z), ``overpressure_kpa`` (None
        outside :data:`VALID_Z`), ``in_range``, and outside the range ``bound`` ("above" /
        "below"), ``bound_kpa`` (the curve's value at the range end) and a Chinese ``note``.
    """
    out: list[dict[str, Any]] = []
    z_lo, z_hi = VALID_Z
    lo_kpa = polynomial_overpressure_pa(z_lo, p0_pa) / 1000.0
    hi_kpa = polynomial_overpressure_pa(z_hi, p0_pa) / 1000.0
    for d in distances_m:
        if d < 0:
            raise ValueError("distance must be ≥ 0 m")
        z = scaled_distance(w_tnt_kg, d, p0_pa)
        row: dict[str, Any] = {"distance_m": float(d), "scaled_distance": round(z, 4)}
        if z < z_lo:
            row |= {
                "overpressure_kpa": None,
                "in_range": False,
                "bound": "above",
                "bound_kpa": round(lo_kpa, 1),
                "note": f"距离过近（Z = {z:.3g} < {z_lo:g}），超出公式适用范围：超压大于 {lo_kpa:.0f} kPa",
            }
        elif z > z_hi:
            row |= {
                "overpressure_kpa": None,
                "in_range": False,
                "bound": "below",
                "bound_kpa": round(hi_kpa, 2),
                "note": f"距离过远（Z = {z:.3g} > {z_hi:g}），超出公式适用范围：超压小于 {hi_kpa:.2f} kPa",
            }
        else:
            row |= {"overpressure_kpa": round(polynomial_overpressure_pa(z, p0_pa) / 1000.0, 3), "in_range": True}
        out.append(row)
    return out


def property_damage_radius_m(w_tnt_kg: float, k: float = K_PROPERTY) -> float:
    """R = K_II W^{1/3} / [1 + (3175/W)²]^{1/6}, m."""
    if w_tnt_kg <= 0:
        return 0.0
    return float(k * w_tnt_kg ** (1 / 3) / (1 + (3175.0 / w_tnt_kg) ** 2) ** (1 / 6))


def kingery_bulmash_kpa(z: float | np.ndarray) -> float | np.ndarray:
    """Side-on overpressure (kPa) of a hemispherical TNT surface burst at scaled distance Z (m/kg^{1/3})."""
    z_arr = np.asarray(z, dtype=float)
    out = np.empty_like(z_arr)
    lower = 0.0
    for upper, a, b, c, d, e in _KB:
        m = (z_arr > lower) & (z_arr <= upper) if lower else z_arr <= upper
        lz = np.log(z_arr[m])
        out[m] = np.exp(a + b * lz + c * lz**2 + d * lz**3 + e * lz**4)
        lower = upper
    return float(out) if np.ndim(z) == 0 else out


def kb_scaled_distance(overpressure_kpa: float) -> float:
    """Scaled distance Z (m/kg^{1/3}) where the Kingery–Bulmash overpressure equals ``overpressure_kpa``."""
    if overpressure_kpa <= 0:
        raise ValueError("overpressure must be > 0 kPa")
    # Monotone on [0.1, 1000]; outside, the fit is not valid.
    lo, hi = 0.1, 1000.0
    f = lambda z: math.log(kingery_bulmash_kpa(z)) - math.log(overpressure_kpa)  # noqa: E731
    if f(lo) < 0 or f(hi) > 0:
        raise ValueError(f"{overpressure_kpa} kPa is outside the range of the Kingery–Bulmash fit")
    return float(brentq(f, lo, hi, xtol=1e-10))


def overpressure_distance_m(w_tnt_kg: float, overpressure_kpa: float) -> float:
    """Distance (m) from a TNT surface burst of ``w_tnt_kg`` kg to the ``overpressure_kpa`` contour."""
    if w_tnt_kg <= 0:
        return 0.0
    return kb_scaled_distance(overpressure_kpa) * w_tnt_kg ** (1.0 / 3.0)


def kinney_graham_ratio(z: float | np.ndarray) -> float | np.ndarray:
    """Peak overpressure over ambient, P/Pₐ, of a free-air TNT burst at scaled distance Z."""
    z = np.asarray(z, dtype=float)
    num = 808.0 * (1 + (z / 4.5) ** 2)
    den = np.sqrt((1 + (z / 0.048) ** 2) * (1 + (z / 0.32) ** 2) * (1 + (z / 1.35) ** 2))
    out = num / den
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class VceResult:
    """Radii of a TNT-equivalent vapour-cloud explosion, m."""

    w_tnt_kg: float
    death_m: float
    serious_injury_m: float
    light_injury_m: float
    property_damage_m: float

    def zones(self) -> list[tuple[str, str, float]]:
        """(key, Chinese label, radius m) from the innermost zone outwards."""
        return [
            ("death", "死亡区（R₁）", self.death_m),
            ("serious_injury", "重伤区（44 kPa）", self.serious_injury_m),
            ("light_injury", "轻伤区（17 kPa）", self.light_injury_m),
            ("property_damage", "财产损失区", self.property_damage_m),
        ]


def vce(fuel_mass_kg: float, heat_of_combustion_kj_kg: float, *, alpha: float = YIELD_ALPHA) -> VceResult:
    """All radii of a vapour-cloud explosion of ``fuel_mass_kg`` kg of fuel."""
    w = tnt_equivalent_kg(fuel_mass_kg, heat_of_combustion_kj_kg, alpha=alpha)
    return VceResult(
        w_tnt_kg=w,
        death_m=death_radius_m(w),
        serious_injury_m=overpressure_radius_m(w, SERIOUS_INJURY_PA),
        light_injury_m=overpressure_radius_m(w, LIGHT_INJURY_PA),
        property_damage_m=property_damage_radius_m(w),
    )

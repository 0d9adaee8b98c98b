"""Hazardous substances the demo's sites hold: real names, real CAS numbers, GB 18218 classes.

``hazard_class`` is given only for substances that are *not* in GB 18218-2018 Table 1
(where the class, not the name, sets the critical quantity), as the catalogue's field
description asks. Densities (t/m³, liquid at storage conditions) turn tank volumes
into tonnes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Substance:
    """A substance as stored in a hazard source's ``substances`` rows."""

    name: str
    cas: str | None
    hazard_class: str | None
    density_t_m3: float | None = None

    def row(self, quantity_t: float) -> dict[str, Any]:
        """Return a ``substances`` child row holding ``quantity_t`` tonnes."""
        out: dict[str, Any] = {"name": self.name, "quantity_t": round(float(quantity_t), 2)}
        if self.cas:
            out["cas"] = self.cas
        if self.hazard_class:
            out["hazard_class"] = self.hazard_class
        return out

    def in_tank(self, volume_m3: float, fill: float = 0.85) -> dict[str, Any]:
        """Return a row for a tank of ``volume_m3`` cubic metres filled to ``fill`` (fraction)."""
        assert self.density_t_m3 is not None
        return self.row(volume_m3 * fill * self.density_t_m3)


# In GB 18218-2018 Table 1 (critical quantity by name).
AMMONIA = Substance("氨（液氨）", "7664-41-7", None, 0.61)
CHLORINE = Substance("氯（液氯）", "7782-50-5", None, 1.47)
LPG = Substance("液化石油气", "68476-85-7", None, 0.55)
GASOLINE = Substance("汽油（乙醇汽油）", "86290-81-5", None, 0.74)
METHANOL = Substance("甲醇", "67-56-1", None, 0.79)
TOLUENE = Substance("甲苯", "108-88-3", None, 0.87)
ACETONE = Substance("丙酮", "67-64-1", None, 0.79)
OXYGEN = Substance("氧（液氧）", "7782-44-7", None, 1.14)
ACETYLENE = Substance("乙炔", "74-86-2", None)
NATURAL_GAS = Substance("天然气（液化天然气）", "8006-14-2", None, 0.45)
AMMONIUM_NITRATE = Substance("硝酸铵（肥料，可燃物≤0.4%）", "6484-52-2", None)
CALCIUM_CARBIDE = Substance("电石（碳化钙）", "75-20-7", None)

# Not in Table 1: the Table 2 class sets the critical quantity.
DIESEL = Substance("柴油（-35号）", "68334-30-5", "W5.4", 0.84)
XYLENE = Substance("二甲苯", "1330-20-7", "W5.4", 0.86)
BUTYL_ACETATE = Substance("乙酸丁酯", "123-86-4", "W5.4", 0.88)
PAINT = Substance("溶剂型涂料（油漆）", None, "W5.3")
EMULSION_EXPLOSIVE = Substance("乳化炸药", None, "W1.1")
DETONATORS = Substance("工业电子雷管", None, "W1.1")
DETONATING_CORD = Substance("工业导爆索", None, "W1.1")
FIREWORKS_13G = Substance("烟花爆竹（1.3G 组合烟花）", None, "W1.2")
FIREWORKS_14G = Substance("烟花爆竹（1.4G 小型烟花）", None, "W1.3")

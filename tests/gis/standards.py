"""The standards tables as shipped in data/standards/ (what a fresh store is seeded with)."""

from __future__ import annotations

from functools import cache

import pandas as pd

from safemap.gis.major_hazard import CriticalQuantities
from safemap.gis.separation import SubstanceProperties
from safemap.layers.paths import DATA_DIR

STANDARDS = DATA_DIR / "standards"


@cache
def table(name: str) -> pd.DataFrame:
    frame = pd.read_csv(STANDARDS / f"{name}.csv", dtype={"cas": str, "vapour_recovery": object})
    if "enabled" in frame:
        frame["enabled"] = frame["enabled"].astype(str).str.lower().eq("true")
    for col in ("target_field", "target_values", "station_grade"):
        if col in frame:
            frame[col] = frame[col].where(frame[col].notna(), None)
    return frame


def critical_quantities() -> CriticalQuantities:
    return CriticalQuantities(table("gb18218_substances"), table("gb18218_classes"))


def substance_properties() -> SubstanceProperties:
    return SubstanceProperties(table("substance_properties"))

"""Rule families of hazard sources for the separation checks (GB 50156, GB 50028, GB 50016, GB 6722).

:func:`hazard_profiles` derives, per hazard source, the rule families it falls under — a
fuel station with its GB 50156 grade, LPG storage or flammable-liquid tanks with the
enterprise's total volume, explosives with their TNT mass, a hazardous-chemical site — and,
when a source falls under a family but cannot be placed in it (no grade, no volume), the
reason. :class:`SubstanceProperties` looks substances up in the ``substance_properties``
table. Re-exported by :mod:`gis.separation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import pandas as pd

from safemap.gis.fuel_station import station_grade, ungradable_reason
from safemap.gis.major_hazard import normalise_name
from safemap.gis.numbers import finite

TANK_KINDS = frozenset({"storage_tank", "tank_farm", "lpg_tank", "fuel_station_tank"})
#: Fill level assumed when a tank's volume is estimated from the mass it holds.
FILL_FRACTION = 0.85
TNT_NAMES = ("tnt", "三硝基甲苯", "梯恩梯", "硝化甘油")
#: GB 50016 liquid fire class → tank family; keyed by whatever the table cell holds (str, None, NaN).
_LIQUID_FAMILY: dict[object, str] = {"甲": "ab", "乙": "ab", "丙": "c"}


class SubstanceProperties:
    """Lookup of the ``substance_properties`` table by name/alias first, then CAS."""

    def __init__(self, table: pd.DataFrame | Sequence[Mapping[str, Any]]) -> None:
        rows: list[Mapping[str, Any]]
        if isinstance(table, pd.DataFrame):
            # pandas-stubs types to_dict() keys as Hashable; the table has string column names.
            rows = cast(list[Mapping[str, Any]], table.to_dict("records"))
        else:
            rows = list(table)
        self.by_name: dict[str, Mapping[str, Any]] = {}
        self.by_cas: dict[str, Mapping[str, Any]] = {}
        for r in rows:
            for n in [r.get("name"), *str(r.get("aliases") or "").split("|")]:
                if n and str(n) != "nan":
                    self.by_name.setdefault(normalise_name(n), r)
            cas = r.get("cas")
            if isinstance(cas, str) and cas:
                self.by_cas.setdefault(cas, r)

    def find(self, name: str | None, cas: str | None) -> Mapping[str, Any] | None:
        """The row for a substance, or ``None``."""
        row = self.by_name.get(normalise_name(name))
        if row is None and cas:
            row = self.by_cas.get(cas)
        return row


def _liquid_volumes(subs: Sequence[Mapping[str, Any]], props: SubstanceProperties) -> dict[str, float]:
    """Estimated tank volume (m³) per GB 50016 class ('ab'/'c'/'lpg') from the masses held."""
    out: dict[str, float] = {}
    for s in subs:
        row = props.find(s.get("name"), s.get("cas"))
        if row is None:
            continue
        density = finite(row.get("liquid_density_t_m3"))
        q = finite(s.get("quantity_t")) or 0.0
        if not density:
            continue
        cls = row.get("liquid_fire_class")
        key = "lpg" if row.get("qra_category") == "liquefied_flammable_gas" else _LIQUID_FAMILY.get(cls)
        if key:
            out[key] = out.get(key, 0.0) + q / density / FILL_FRACTION
    return out


def tnt_mass_kg(subs: Sequence[Mapping[str, Any]]) -> float:
    """TNT-equivalent mass (kg) of the mass-explosion explosives held (class W1.1 or TNT/nitroglycerin, factor 1.0)."""
    total = 0.0
    for s in subs:
        name = normalise_name(s.get("name"))
        if s.get("hazard_class") == "W1.1" or any(n in name for n in TNT_NAMES):
            total += (finite(s.get("quantity_t")) or 0.0) * 1000.0
    return total


def hazard_profiles(hazards: pd.DataFrame, props: SubstanceProperties) -> pd.DataFrame:
    """Rule families of each hazard source (one row per source and family).

    Columns: ``pos`` (row position in ``hazards``), ``hazard_category``, ``station_grade``,
    ``vapour_recovery``, ``volume_m3`` (the enterprise's total of that family), ``single_tank_m3``,
    ``tnt_kg``, ``volume_estimated``, ``reason``. ``reason`` (Chinese) is set when the source
    falls under a family but cannot be placed in it — a fuel station without a GB 50156 grade
    (beyond 一级, or no volumes), a tank without volume or substances — and such rows match no
    rule (:func:`applicable_rules`); :mod:`gis.separation_checks` reports them 无法核查.
    """
    rows: list[dict[str, Any]] = []
    for pos, h in enumerate(hazards.itertuples(index=False)):
        # pandas-stubs' PandasNamedTuple lacks the namedtuple method _asdict (its __getattr__ answers).
        rec: dict[str, Any] = h._asdict()  # type: ignore[operator,misc]
        kind = rec.get("kind")
        subs = rec.get("substances") or []
        if not isinstance(subs, list):
            subs = []
        base = {
            "pos": pos,
            "enterprise_id": rec.get("enterprise_id"),
            "station_grade": None,
            "vapour_recovery": None,
            "volume_m3": None,
            "single_tank_m3": None,
            "tnt_kg": None,
            "volume_estimated": False,
            "reason": None,
        }
        if kind == "fuel_station_tank":
            vols = (finite(rec.get("gasoline_m3")), finite(rec.get("diesel_m3")), finite(rec.get("max_tank_m3")))
            why = ungradable_reason(*vols)
            rows.append(
                {
                    **base,
                    "hazard_category": "fuel_station",
                    "station_grade": None if why else station_grade(*vols),
                    "vapour_recovery": rec.get("vapour_recovery") or "none",
                    "reason": why,
                }
            )
        elif kind in TANK_KINDS:
            est = _liquid_volumes(subs, props)
            # A declared total (volume_m3, or the GB 50156 volumes, or the one tank) beats the
            # estimate from mass; the estimate only splits it between GB 50016 classes.
            declared = (
                finite(rec.get("volume_m3"))
                or (finite(rec.get("gasoline_m3")) or 0) + (finite(rec.get("diesel_m3")) or 0)
                or finite(rec.get("max_tank_m3"))
            )
            if not est and kind == "lpg_tank" and declared:
                est = {"lpg": declared}  # an LPG tank's family is known from its kind
            total_est = sum(est.values())
            if not est:
                # Nothing says which family or how large: no volume band can be chosen.
                cat = "lpg_storage" if kind == "lpg_tank" else None
                what = "储罐容积或液化石油气数量" if cat else "储存物质（无法确定适用的间距规则）"
                rows.append({**base, "hazard_category": cat, "reason": f"未填写{what}，无法核查安全间距"})
            for key, vol in est.items():
                cat = {"lpg": "lpg_storage", "ab": "flammable_liquid_ab", "c": "flammable_liquid_c"}[key]
                if declared and total_est:
                    vol = declared * vol / total_est
                single = finite(rec.get("single_tank_m3")) or finite(rec.get("max_tank_m3")) or vol
                rows.append(
                    {
                        **base,
                        "hazard_category": cat,
                        "volume_m3": vol,
                        "single_tank_m3": single,
                        "volume_estimated": not declared,
                    }
                )
        tnt = tnt_mass_kg(subs)
        if tnt > 0:
            rows.append({**base, "hazard_category": "explosives", "tnt_kg": tnt})
        if (
            subs
            and kind != "tailings_pond"
            and tnt < sum((finite(s.get("quantity_t")) or 0) for s in subs) * 1000 - 1e-9
        ):
            rows.append({**base, "hazard_category": "hazchem_site"})
    out = pd.DataFrame(
        rows,
        columns=[
            "pos",
            "enterprise_id",
            "hazard_category",
            "station_grade",
            "vapour_recovery",
            "volume_m3",
            "single_tank_m3",
            "tnt_kg",
            "volume_estimated",
            "reason",
        ],
    )
    # Tank farms: the band is set by all tanks of one family in the same enterprise.
    banded = out["volume_m3"].notna() & out["enterprise_id"].notna()
    if banded.any():
        out.loc[banded, "volume_m3"] = (
            out[banded].groupby(["enterprise_id", "hazard_category"])["volume_m3"].transform("sum")
        )
        out.loc[banded, "single_tank_m3"] = (
            out[banded].groupby(["enterprise_id", "hazard_category"])["single_tank_m3"].transform("max")
        )
    return out

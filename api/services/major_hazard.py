"""GB 18218-2018 identification and grading over the store: per unit, kept current on every write.

GB 18218 grades a unit — a 储存单元 (one tank farm within a dike or fire wall, one
warehouse) or a 生产单元 — as a whole. Units are the ``hazard_units`` layer; a hazard
source names its unit in ``unit_id`` and carries the unit's S, R, grade and exposed
population; a source without a unit is its own unit. :func:`recompute_grades` is what
:mod:`safemap.api.services.editing` calls after every write to an input (API, CLI import,
demo build, future ingest). Requests (``POST /api/safety/major-hazard``) are graded by
:func:`grade_request`, which reads substances strictly (a bad CAS number or a name–CAS
conflict is a 422 naming the fields) and takes masses in tonnes or with an explicit unit.
"""

from __future__ import annotations

import contextlib
import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safemap.api.services.problems import invalid, invalid_all
from safemap.gis.major_hazard import CriticalQuantities, Grading, exposed_population, grade
from safemap.gis.projection import metric_crs
from safemap.gis.substances import MASS_UNITS, SubstanceError, normalise_cas, to_tonnes
from safemap.layers.definitions import get_layer
from safemap.layers.errors import LayerError, Problem, ValidationFailed
from safemap.layers.model import SYSTEM, Actor
from safemap.layers.store import FeatureStore


@dataclass(frozen=True)
class GradingInputs:
    """What GB 18218 needs from the store, in one metric CRS."""

    generation: int
    hazards: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    protected: gpd.GeoDataFrame
    table: CriticalQuantities

    @property
    def crs(self) -> Any:
        """The metric CRS of the frames (local UTM zone)."""
        return self.hazards.crs


_INPUTS: weakref.WeakKeyDictionary[FeatureStore, GradingInputs] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _stored(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _frame(store: FeatureStore, layer: str, *, children: bool = False) -> gpd.GeoDataFrame:
    page = store.query(layer, limit=None, count=False, children=children)
    columns = [f.name for f in page.layer.fields] + ([c.name for c in page.layer.children] if children else [])
    return gpd.GeoDataFrame(pd.DataFrame(page.rows, columns=columns), geometry=list(page.geometries), crs=4326)


@dataclass
class UnitGrading:
    """One GB 18218 unit as graded: a ``hazard_units`` row, or a hazard source that is its own unit."""

    unit_id: int | None
    name: str
    member_ids: list[int]
    grading: Grading

    def values(self) -> dict[str, Any]:
        """The computed fields as stored (S and R to 6 decimals)."""
        g = self.grading
        return {
            "s_value": round(g.s, 6),
            "r_value": round(g.r, 6),
            "grade": g.grade,
            "exposed_population": g.exposed_population,
        }


def _unit_of(value: Any) -> int | None:
    v = _stored(value)
    return None if v is None else int(v)


def grade_units(
    hazards: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    protected: gpd.GeoDataFrame,
    table: CriticalQuantities,
) -> list[UnitGrading]:
    """GB 18218 S, R, grade and exposed population per unit (metric frames).

    Sources sharing a ``unit_id`` are graded together as that unit, the exposed population
    counted within 500 m of the unit's outline (or of the union of its members' geometries
    when the outline is empty); a source without ``unit_id`` is its own unit. Units without
    members are graded too (S = 0).
    """
    unit_col = hazards["unit_id"] if "unit_id" in hazards else pd.Series([None] * len(hazards), dtype=object)
    unit_of = [_unit_of(u) for u in unit_col]
    known_units = {int(u) for u in units["id"]} if len(units) else set()
    groups: list[tuple[int | None, str, list[int], Any]] = []
    members: dict[int, list[int]] = {u: [] for u in known_units}
    for i, uid in enumerate(unit_of):
        if uid is not None and uid in members:
            members[uid].append(i)
        else:
            h = hazards.iloc[i]
            groups.append((None, str(h["name"]), [i], h.geometry))
    for u in units.itertuples(index=False):
        rows = members[int(u.id)]
        outline = u.geometry
        if outline is None or outline.is_empty:
            outline = shapely.union_all(hazards.geometry.iloc[rows].to_numpy()) if rows else None
        groups.append((int(u.id), str(u.name), rows, outline))
    outlines = np.array([g[3] if g[3] is not None else shapely.Point() for g in groups], dtype=object)
    exposed = exposed_population(outlines, protected.geometry.to_numpy(), protected["population"].to_numpy())
    out = []
    for (uid, name, rows, _), people in zip(groups, exposed, strict=True):
        subs = [s for i in rows for s in (hazards["substances"].iloc[i] or [])]
        g = grade(subs, int(people), table)
        out.append(UnitGrading(uid, name, [int(hazards["id"].iloc[i]) for i in rows], g))
    return out


def grade_sources(
    hazards: gpd.GeoDataFrame,
    protected: gpd.GeoDataFrame,
    table: CriticalQuantities,
    units: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """GB 18218 grading of every hazard source: its unit's (metric frames).

    Returns one row per source with ``id``, ``unit_id`` (``None``: its own unit) and the
    unit's ``grading``.
    """
    if units is None:
        units = gpd.GeoDataFrame({"id": [], "name": []}, geometry=[], crs=hazards.crs)
    rows = [
        {"id": hid, "unit_id": u.unit_id, "grading": u.grading}
        for u in grade_units(hazards, units, protected, table)
        for hid in u.member_ids
    ]
    return pd.DataFrame(rows, columns=["id", "unit_id", "grading"])


def grading_inputs(store: FeatureStore) -> GradingInputs:
    """Hazard sources (with substances), units, protected targets and Tables 1–4; cached until the next write."""
    generation = store.generation()
    with _LOCK:
        cached = _INPUTS.get(store)
    if cached is not None and cached.generation == generation:
        return cached
    hazards = _frame(store, "hazard_sources", children=True)
    units = _frame(store, "hazard_units")
    protected = _frame(store, "protected_targets")
    crs = metric_crs(hazards if len(hazards) else protected)
    table = CriticalQuantities(
        store.to_geodataframe("gb18218_substances").reset_index(drop=True),
        store.to_geodataframe("gb18218_classes").reset_index(drop=True),
    )
    inputs = GradingInputs(generation, hazards.to_crs(crs), units.to_crs(crs), protected.to_crs(crs), table)
    with _LOCK:
        _INPUTS[store] = inputs
    return inputs


def _changes(current: pd.DataFrame, fid: int, values: Mapping[str, Any]) -> bool:
    old = current.loc[fid]
    return any(_differs(_stored(old[k]), v) for k, v in values.items())


def recompute_grades(store: FeatureStore, actor: Actor = SYSTEM) -> dict[str, Any]:
    """Write S, R, grade and exposed population of every GB 18218 unit and hazard source that changed.

    A source carries its unit's values (its own when it has no unit). Returns counts
    (``graded`` sources, ``changed`` sources and units, ``major`` sources in a major unit,
    ``major_units`` units — own or shared — that are major) and the per-source and
    per-unit results.
    """
    inputs = grading_inputs(store)
    hazards, units = inputs.hazards, inputs.units
    graded = grade_units(hazards, units, inputs.protected, inputs.table)
    current = hazards.set_index("id")
    current_units = units.set_index("id")
    source_updates: dict[int, dict[str, Any]] = {}
    unit_updates: dict[int, dict[str, Any]] = {}
    sources, unit_rows = [], []
    for u in graded:
        values = u.values()
        g = u.grading
        if u.unit_id is not None:
            if _changes(current_units, u.unit_id, values):
                unit_updates[u.unit_id] = values
            unit_rows.append(
                {
                    "id": u.unit_id,
                    "name": u.name,
                    "unit_kind": _stored(current_units.loc[u.unit_id, "unit_kind"]),
                    "member_ids": u.member_ids,
                    **values,
                    "is_major": g.is_major,
                    "notes": g.notes,
                    "warnings": g.warnings,
                }
            )
        for hid in u.member_ids:
            if _changes(current, hid, values):
                source_updates[hid] = values
            sources.append(
                {
                    "id": hid,
                    "name": current.loc[hid, "name"],
                    "unit_id": u.unit_id,
                    "unit_name": u.name if u.unit_id is not None else None,
                    **values,
                    "is_major": g.is_major,
                    "notes": g.notes,
                    "warnings": g.warnings,
                }
            )
    sources.sort(key=lambda r: r["id"])
    unit_rows.sort(key=lambda r: r["id"])
    if unit_updates:
        store.set_computed("hazard_units", unit_updates, actor, note=f"GB 18218 重新计算 {len(unit_updates)} 个单元")
    if source_updates:
        store.set_computed(
            "hazard_sources", source_updates, actor, note=f"GB 18218 重新计算 {len(source_updates)} 个危险源"
        )
    return {
        "graded": len(sources),
        "changed": len(source_updates) + len(unit_updates),
        "major": sum(r["is_major"] for r in sources),
        "major_units": sum(u.grading.is_major for u in graded),
        "sources": sources,
        "units": unit_rows,
    }


def _differs(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is not new
    if isinstance(new, float) or isinstance(old, float):
        return not math.isclose(float(old), float(new), rel_tol=1e-9, abs_tol=1e-9)
    return old != new


def _substance_label(name: str) -> str:
    return get_layer("hazard_sources").children[0].field(name).label


def substance_problems(exc: SubstanceError, prefix: str) -> list[Problem]:
    """A :class:`SubstanceError` as problems naming each field at fault by path, message in Chinese labels."""
    message = exc.message
    if exc.fields == ("name", "cas"):
        message = message.replace("物质名称", _substance_label("name"), 1).replace("CAS号", _substance_label("cas"), 1)
    return [Problem(f"{prefix}{exc.row}.{f}" if exc.row is not None else f"{prefix}{f}", message) for f in exc.fields]


def request_substances(rows: Sequence[Mapping[str, Any]], prefix: str = "substances.") -> list[dict[str, Any]]:
    """Substances of a request as grading rows in tonnes: ``quantity_t`` (t), or ``quantity`` with ``unit``.

    Raises :class:`Unprocessable` naming the field (``substances.2.unit``) when the mass is
    missing, given twice, or its unit unknown.
    """
    label = _substance_label("quantity_t")
    out = []
    for i, row in enumerate(rows):
        sub = dict(row)
        q_t, q, unit = sub.pop("quantity_t", None), sub.pop("quantity", None), sub.pop("unit", None)
        if q_t is not None and q is not None:
            raise invalid(f"{prefix}{i}.quantity", f"{label}：quantity_t（t）与 quantity + unit 只能给一个")
        if q_t is None and q is None:
            units = " / ".join(MASS_UNITS)
            raise invalid(f"{prefix}{i}.quantity_t", f"请给出{label}：quantity_t（t），或 quantity 与 unit（{units}）")
        if q is not None:
            if not unit:
                raise invalid(f"{prefix}{i}.unit", f"给出 quantity 时须给出单位 unit（{' / '.join(MASS_UNITS)}）")
            try:
                q_t = to_tonnes(q, unit)
            except SubstanceError as exc:
                raise invalid(f"{prefix}{i}.unit", exc.message) from None
        elif unit:
            raise invalid(f"{prefix}{i}.unit", "unit 只与 quantity 一起使用；quantity_t 的单位固定为 t")
        sub["quantity_t"] = float(q_t)
        out.append(sub)
    return out


def grade_request(
    store: FeatureStore,
    substances: Sequence[Mapping[str, Any]],
    exposed: int | None,
    geometry: Any | None,
) -> tuple[Grading, int]:
    """Grade a unit described in a request; the population comes from the map when a geometry is given.

    Substances are read strictly: a bad CAS number or a name–CAS conflict is a 422 naming
    ``substances.<i>.cas`` (and ``.name``).
    """
    data = grading_inputs(store)
    rows = request_substances(substances)
    if exposed is None:
        unit = gpd.GeoSeries([geometry], crs=4326).to_crs(data.crs).to_numpy()
        protected = data.protected
        exposed = int(exposed_population(unit, protected.geometry.to_numpy(), protected["population"].to_numpy())[0])
    try:
        return grade(rows, exposed, data.table, strict=True), exposed
    except SubstanceError as exc:
        raise invalid_all(substance_problems(exc, "substances.")) from None


def _critical_quantities(store: FeatureStore) -> CriticalQuantities:
    with _LOCK:
        cached = _INPUTS.get(store)
    if cached is not None and cached.generation == store.generation():
        return cached.table
    # Only the two tables: a write must not pay for loading every hazard source and target.
    return CriticalQuantities(
        store.to_geodataframe("gb18218_substances").reset_index(drop=True),
        store.to_geodataframe("gb18218_classes").reset_index(drop=True),
    )


def import_problems(
    store: FeatureStore, substances: Sequence[Sequence[Mapping[str, Any]]], rows: Sequence[int]
) -> list[Problem]:
    """What :func:`check_substances` refuses, for every feature of an import, each problem with its file row.

    ``substances[i]`` are the child rows of the feature on file row ``rows[i]``; the
    GB 18218 tables are read once for the whole file.
    """
    table = _critical_quantities(store)
    problems: list[Problem] = []
    for subs, row in zip(substances, rows, strict=True):
        if not subs:
            continue
        try:
            grade([{**s, "quantity_t": 0.0} for s in subs], 0, table, strict=True)
        except SubstanceError as exc:
            problems += [Problem(p.field, p.message, row) for p in substance_problems(exc, "substances.")]
    return problems


def check_substances(store: FeatureStore, substances: Sequence[Mapping[str, Any]]) -> None:
    """Refuse (422) a hazard source's substances whose CAS number contradicts the name (stored-data writes)."""
    table = _critical_quantities(store)
    try:
        grade([{**s, "quantity_t": 0.0} for s in substances], 0, table, strict=True)
    except SubstanceError as exc:
        raise ValidationFailed(
            f"substances: {exc.message}", substance_problems(exc, "properties.substances.")
        ) from None


def normalised_substances(substances: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Substance rows with each valid CAS number in canonical form (others left for validation to name)."""
    out = []
    for sub in substances:
        row = dict(sub)
        cas = row.get("cas")
        if isinstance(cas, str):
            with contextlib.suppress(SubstanceError):
                row["cas"] = normalise_cas(cas)
        out.append(row)
    return out


def check_unit(store: FeatureStore, props: Mapping[str, Any], feature_id: int | None = None) -> None:
    """Refuse (422 on ``properties.unit_id``) a hazard source put into another enterprise's unit.

    ``props`` are the written properties (a patch may carry only ``unit_id`` or only
    ``enterprise_id``; the other comes from the stored source ``feature_id``). A unit id that
    does not exist is left to the store's reference check.
    """
    if "unit_id" not in props and "enterprise_id" not in props:
        return
    current: Mapping[str, Any] = {}
    if feature_id is not None and ("unit_id" not in props or "enterprise_id" not in props):
        try:
            current = store.get("hazard_sources", int(feature_id))["properties"]
        except LayerError:
            return
    unit_id = props["unit_id"] if "unit_id" in props else current.get("unit_id")
    enterprise_id = props["enterprise_id"] if "enterprise_id" in props else current.get("enterprise_id")
    if not isinstance(unit_id, int) or isinstance(unit_id, bool) or not isinstance(enterprise_id, int):
        return
    try:
        unit = store.get("hazard_units", unit_id)["properties"]
    except LayerError:
        return
    if unit.get("enterprise_id") != enterprise_id:
        units = get_layer("hazard_units")
        sources = get_layer("hazard_sources")
        message = (
            f"{sources.field('unit_id').label} {unit_id}（{unit.get('name')}）属于企业 {unit.get('enterprise_id')}，"
            f"而本危险源的{sources.field('enterprise_id').label}为 {enterprise_id}："
            f"{units.label}只能包含同一企业的危险源"
        )
        raise ValidationFailed(f"unit_id: {message}", [Problem("properties.unit_id", message)])

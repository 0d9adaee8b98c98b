"""Consequence models of an accident at a point: the zones of each model and the people inside.

Four models, each with its own input dataclass: :class:`VceInput` (vapour-cloud explosion),
:class:`BleveInput` (fireball), :class:`PoolFireInput` and :class:`PlumeInput` (continuous
release, Gaussian plume). The HTTP layer checks every field's range
(:mod:`safemap.api.http.models.safety`) and hands one of these over; what only the data can
tell (an unknown substance, a missing parameter, a point outside the area) is raised here as
:class:`~safemap.layers.errors.Unprocessable` naming the field. Zones are polygons drawn in
the local UTM zone and returned in lon/lat, each with the protected targets and people inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import shapely

from safemap.api.services import wind as wind_service
from safemap.api.services.problems import invalid
from safemap.api.services.safety import SafetyData, people_inside
from safemap.api.services.safety import load as load_safety
from safemap.gis import plume as plume_mod
from safemap.gis.consequence_fire import PROBIT_LABELS, PoolFire, bleve, fireball_fuel_kg
from safemap.gis.consequence_vce import overpressure_samples, vce
from safemap.layers.store import FeatureStore


@dataclass(frozen=True, kw_only=True)
class ConsequenceInput:
    """Where the accident happens and, optionally, the substance whose properties fill the gaps."""

    model: str
    location: tuple[float, float]
    substance: str | None = None


@dataclass(frozen=True, kw_only=True)
class VceInput(ConsequenceInput):
    """TNT-equivalent vapour-cloud explosion."""

    model: str = "vce"
    fuel_mass_kg: float
    heat_of_combustion_kj_kg: float | None = None
    alpha: float = 0.04
    sample_distances_m: tuple[float, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BleveInput(ConsequenceInput):
    """BLEVE fireball: ``fireball_mass_kg``, or the tank contents ``capacity_kg`` and the tanks."""

    model: str = "bleve"
    capacity_kg: float | None = None
    fireball_mass_kg: float | None = None
    tanks: int = 1
    q0_kw_m2: float = 270.0


@dataclass(frozen=True, kw_only=True)
class PoolFireInput(ConsequenceInput):
    """Pool fire, point-source model."""

    model: str = "pool_fire"
    area_m2: float | None = None
    diameter_m: float | None = None
    burning_rate_kg_m2_s: float | None = None
    heat_of_combustion_kj_kg: float | None = None
    radiative_fraction: float = 0.35
    transmissivity: float = 1.0
    exposure_s: float = 20.0
    flux_thresholds_kw_m2: tuple[float, ...] = (5.0,)


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """A concentration endpoint: mg/m³ or ppm (ppm needs the substance's molar mass)."""

    label: str
    mg_m3: float | None = None
    ppm: float | None = None


@dataclass(frozen=True, kw_only=True)
class PlumeInput(ConsequenceInput):
    """Continuous release, Gaussian plume."""

    model: str = "gaussian_plume"
    rate_kg_s: float
    wind_m_s: float
    stability: str
    wind_from_deg: float | None = None
    setting: str = "rural"
    release_height_m: float = 0.0
    sample_distances_m: tuple[float, ...] = (100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)
    thresholds: tuple[Threshold, ...] | None = None
    molar_mass_g_mol: float | None = None


#: The input class of each model name.
MODELS: dict[str, type[ConsequenceInput]] = {
    "vce": VceInput,
    "bleve": BleveInput,
    "pool_fire": PoolFireInput,
    "gaussian_plume": PlumeInput,
}


def make_input(values: dict[str, Any]) -> ConsequenceInput:
    """The input dataclass of ``values["model"]`` built from already checked ``values``.

    Parameters
    ----------
    values
        Field values by name, ``model`` among them; ``thresholds`` may be dicts.

    Returns
    -------
    ConsequenceInput
        One of :class:`VceInput`, :class:`BleveInput`, :class:`PoolFireInput`, :class:`PlumeInput`.
    """
    values = dict(values)
    cls = MODELS[values["model"]]
    values["location"] = (float(values["location"][0]), float(values["location"][1]))
    for key in ("flux_thresholds_kw_m2", "sample_distances_m"):
        if key in values:
            values[key] = tuple(values[key])
    if values.get("thresholds") is not None:
        values["thresholds"] = tuple(t if isinstance(t, Threshold) else Threshold(**t) for t in values["thresholds"])
    return cls(**values)


def _substance(data: SafetyData, name: str | None) -> dict[str, Any]:
    if not name:
        return {}
    row = data.props.find(name, None)
    if row is None:
        raise invalid("substance", f"物质参数表中没有“{name}”，请直接给出所需参数")
    return row


def _need(value: float | None, field: str, what: str) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise invalid(field, f"缺少{what}：请给出此参数或可查到的 substance")
    return float(value)


def with_default_wind(store: FeatureStore, req: ConsequenceInput) -> tuple[ConsequenceInput, dict[str, Any] | None]:
    """``req`` with the county's prevailing wind where a plume's ``wind_from_deg`` was omitted.

    Returns
    -------
    tuple
        The input (unchanged, or a copy with ``wind_from_deg`` set) and the wind used:
        ``None`` for models without a wind, else ``from_deg``, ``name``, ``origin``
        (``request`` or ``county_prevailing``), ``description`` (e.g. 按县域主导风向 西北风（315°）)
        and, for the county's wind, its ``source`` and ``warnings``.

    Raises
    ------
    Unprocessable
        ``wind_from_deg`` omitted and the county's wind rose has no prevailing wind.
    """
    if not isinstance(req, PlumeInput):
        return req, None
    if req.wind_from_deg is not None:
        name = wind_service.wind_mod.wind_name(wind_service.wind_mod.sector_of(req.wind_from_deg))
        return req, {
            "from_deg": req.wind_from_deg,
            "name": name,
            "origin": "request",
            "description": f"按请求给定风向 {req.wind_from_deg:g}°（约{name}）",
        }
    found = wind_service.default_wind_from(store)
    if found is None:
        raise invalid("wind_from_deg", "请给出风向：县域风向玫瑰表为空或全为静风，无法取主导风向")
    from_deg, wind = found
    return replace(req, wind_from_deg=from_deg), wind


def run(store: FeatureStore, req: ConsequenceInput, extent: tuple[float, float, float, float] | None) -> dict[str, Any]:
    """:func:`compute` on the store's data, a plume's omitted wind taken from the county's wind rose."""
    req, wind = with_default_wind(store, req)
    return compute(load_safety(store), req, extent, wind=wind)


def compute(
    data: SafetyData,
    req: ConsequenceInput,
    extent: tuple[float, float, float, float] | None,
    *,
    wind: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the model; return its numbers, zone polygons (GeoJSON) and the people inside.

    Parameters
    ----------
    data
        The safety layers and tables (:func:`safemap.api.services.safety.load`).
    req
        The model and its inputs.
    extent
        The service area (lon/lat); a location outside it is refused.
    wind
        The wind a plume uses and where it came from (:func:`with_default_wind`); returned as
        ``wind``. A plume without ``wind_from_deg`` and without ``wind`` is refused.

    Returns
    -------
    dict
        ``model``, ``location``, ``substance``, ``results``, ``zones`` (a GeoJSON
        FeatureCollection, innermost zone first) and ``wind`` (plume only; else ``None``).
        A VCE with ``sample_distances_m`` has ``results["samples"]``: overpressure (kPa) at
        each distance (:func:`safemap.gis.consequence_vce.overpressure_samples`).

    Raises
    ------
    Unprocessable
        The location is outside the area, the substance unknown or a needed value missing.
    """
    lon, lat = req.location
    if extent is not None and not (extent[0] <= lon <= extent[2] and extent[1] <= lat <= extent[3]):
        raise invalid("location", f"位置 ({lon}, {lat}) 不在服务范围 {extent} 内")
    origin = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(data.crs).iloc[0]
    sub = _substance(data, req.substance)
    zones: list[tuple[str, str, Any, dict[str, Any]]] = []
    if isinstance(req, VceInput):
        heat = req.heat_of_combustion_kj_kg or sub.get("heat_of_combustion_kj_kg")
        res = vce(req.fuel_mass_kg, _need(heat, "heat_of_combustion_kj_kg", "燃烧热"), alpha=req.alpha)
        result = {k: round(v, 3) for k, v in res.__dict__.items()}
        if req.sample_distances_m:
            result["samples"] = overpressure_samples(res.w_tnt_kg, req.sample_distances_m)
        zones = [(k, label, origin.buffer(r, 64), {"radius_m": round(r, 2)}) for k, label, r in res.zones()]
    elif isinstance(req, BleveInput):
        if req.fireball_mass_kg is None and req.capacity_kg is None:
            raise invalid("capacity_kg", "请给出 capacity_kg（储罐内质量）或 fireball_mass_kg")
        w = req.fireball_mass_kg or fireball_fuel_kg(float(req.capacity_kg or 0), req.tanks)
        res = bleve(w, req.q0_kw_m2 * 1000)
        result = {k: round(v, 3) for k, v in res.__dict__.items()}
        zones = [(k, label, origin.buffer(r, 64), {"radius_m": round(r, 2)}) for k, label, r in res.zones() if r > 0]
    elif isinstance(req, PoolFireInput):
        area = req.area_m2 or (math.pi * req.diameter_m**2 / 4 if req.diameter_m else None)
        fire = PoolFire(
            _need(area, "area_m2", "池面积（area_m2 或 diameter_m）"),
            _need(req.burning_rate_kg_m2_s or sub.get("burning_rate_kg_m2_s"), "burning_rate_kg_m2_s", "燃烧速率"),
            _need(
                req.heat_of_combustion_kj_kg or sub.get("heat_of_combustion_kj_kg"),
                "heat_of_combustion_kj_kg",
                "燃烧热",
            ),
            req.radiative_fraction,
            req.transmissivity,
        )
        result = {
            "diameter_m": round(fire.diameter_m, 3),
            "flame_height_m": round(fire.flame_height_m, 3),
            "radiated_power_kw": round(fire.radiated_power_w / 1000, 1),
            "exposure_s": req.exposure_s,
            "flux_distances": [
                {"flux_kw_m2": q, "distance_m": round(fire.distance_to_flux_m(q * 1000), 2)}
                for q in req.flux_thresholds_kw_m2
            ],
        }
        for kind, label in PROBIT_LABELS.items():
            d = fire.probit_distance_m(kind, req.exposure_s)
            result[f"{kind}_m"] = round(d, 2)
            if d > 0:
                zones.append(
                    (kind, f"{label}，暴露 {req.exposure_s:g} s", origin.buffer(d, 64), {"radius_m": round(d, 2)})
                )
        for item in result["flux_distances"]:
            if item["distance_m"] > 0:
                zones.append(
                    (
                        f"flux_{item['flux_kw_m2']:g}",
                        f"热辐射 {item['flux_kw_m2']:g} kW/m²",
                        origin.buffer(item["distance_m"], 64),
                        {"radius_m": item["distance_m"]},
                    )
                )
    else:
        assert isinstance(req, PlumeInput)
        if req.wind_from_deg is None:
            raise invalid("wind_from_deg", "请给出风向（来向，度）")
        if wind is None:
            told = f"按给定风向 {req.wind_from_deg:g}°"
            wind = {"from_deg": req.wind_from_deg, "origin": "request", "description": told}
        result, zones = _plume(req, sub, origin, req.wind_from_deg)
    zones.sort(key=lambda z: z[2].area)  # innermost first
    people = people_inside(data, [z[2] for z in zones])
    frame = (
        gpd.GeoDataFrame(
            [
                {"key": k, "label": label, **extra, "population": p["population"], "targets": p["targets"]}
                for (k, label, _, extra), p in zip(zones, people, strict=True)
            ],
            geometry=[z[2] for z in zones],
            crs=data.crs,
        ).to_crs(4326)
        if zones
        else None
    )
    features = (
        []
        if frame is None
        else [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(g),
                "properties": {k: v for k, v in r.items() if k != "geometry"},
            }
            for r, g in zip(frame.drop(columns="geometry").to_dict("records"), frame.geometry, strict=True)
        ]
    )
    return {
        "model": req.model,
        "location": [lon, lat],
        "substance": sub.get("name") if sub else None,
        "results": result,
        "zones": {"type": "FeatureCollection", "features": features},
        "wind": wind if isinstance(req, PlumeInput) else None,
    }


def _plume(req: PlumeInput, sub: dict[str, Any], origin: Any, wind_from_deg: float) -> tuple[dict[str, Any], list]:
    try:
        p = plume_mod.Plume(req.rate_kg_s, req.wind_m_s, req.stability, req.setting, req.release_height_m)
    except ValueError as exc:
        raise invalid("body", str(exc)) from None
    mw = req.molar_mass_g_mol or sub.get("molar_mass_g_mol")
    thresholds = req.thresholds
    if thresholds is None:
        levels = [("AEGL-3", sub.get("aegl3_ppm")), ("AEGL-2", sub.get("aegl2_ppm")), ("AEGL-1", sub.get("aegl1_ppm"))]
        thresholds = tuple(
            Threshold(label=label, ppm=float(v)) for label, v in levels if v is not None and not math.isnan(v)
        )
    samples = []
    for x in req.sample_distances_m:
        sy, sz = plume_mod.sigmas(x, req.stability, req.setting)
        c = float(p.concentration(x, 0.0))
        samples.append(
            {
                "distance_m": x,
                "concentration_mg_m3": c,
                "sigma_y_m": float(sy),
                "sigma_z_m": float(sz),
                **({"concentration_ppm": float(plume_mod.mg_m3_to_ppm(c, mw))} if mw else {}),
            }
        )
    zones = []
    footprints = []
    for i, t in enumerate(thresholds):
        if t.mg_m3 is None and t.ppm is None:
            raise invalid(f"thresholds.{i}", "请给出 mg_m3 或 ppm")
        if t.mg_m3 is None and not mw:
            raise invalid("molar_mass_g_mol", "以 ppm 给出阈值时需要分子量（或可查到的 substance）")
        level = t.mg_m3 if t.mg_m3 is not None else plume_mod.ppm_to_mg_m3(float(t.ppm or 0), float(mw))
        local = p.footprint_local(level)
        x_max = p.max_distance_m(level)
        entry = {"label": t.label, "threshold_mg_m3": level, "threshold_ppm": t.ppm, "max_distance_m": round(x_max, 2)}
        if local is not None:
            shape = plume_mod.to_map(local, (origin.x, origin.y), wind_from_deg)
            entry["max_half_width_m"] = round(local.bounds[3], 2)
            entry["area_m2"] = round(shape.area, 1)
            zones.append(
                (
                    f"plume_{i}",
                    f"{t.label}（≥ {level:.3g} mg/m³）",
                    shape,
                    {"threshold_mg_m3": level, "max_distance_m": round(x_max, 2)},
                )
            )
        footprints.append(entry)
    result = {
        "wind_from_deg": wind_from_deg,
        "downwind_bearing_deg": plume_mod.downwind_bearing(wind_from_deg),
        "samples": samples,
        "footprints": footprints,
        "valid_range_m": list(plume_mod.VALID_RANGE_M),
        "molar_mass_g_mol": mw,
    }
    return result, zones

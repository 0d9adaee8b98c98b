"""``POST /api/safety/consequence``: request models and the zones of each consequence model.

Every parameter is checked against the model's range before anything is computed; an
out-of-range value (wind 0, stability G, negative mass …) is a 422 naming the field.
Zones are polygons drawn in the local UTM zone and returned in lon/lat, each with the
protected targets and people inside.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import geopandas as gpd
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from safemap.api.http.errors import ApiError
from safemap.api.services.safety import SafetyData, people_inside
from safemap.gis import plume as plume_mod
from safemap.gis.consequence_fire import PROBIT_LABELS, PoolFire, bleve, fireball_fuel_kg
from safemap.gis.consequence_vce import vce
from safemap.layers.errors import Problem
from safemap.layers.validation import describe_error

Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: tuple[Lon, Lat] = Field(description="[经度, 纬度]（WGS 84）或 GeoJSON Point")
    substance: str | None = Field(None, max_length=100, description="物质名称，用于查找燃烧热、分子量和毒性终点")

    @field_validator("location", mode="before")
    @classmethod
    def _point(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("type") != "Point":
                raise ValueError("应为 GeoJSON Point 或 [经度, 纬度]")
            return value.get("coordinates")
        return value


class VceRequest(_Base):
    """TNT-equivalent vapour-cloud explosion."""

    model: Literal["vce"]
    fuel_mass_kg: float = Field(gt=0, le=1e8, description="参与爆炸的可燃物质量 kg")
    heat_of_combustion_kj_kg: float | None = Field(None, gt=0, le=200_000)
    alpha: float = Field(0.04, gt=0, le=1, description="TNT当量系数（蒸气云爆炸效率）")


class BleveRequest(_Base):
    """BLEVE fireball."""

    model: Literal["bleve"]
    capacity_kg: float | None = Field(None, gt=0, le=1e8, description="储罐内物质总质量 kg")
    fireball_mass_kg: float | None = Field(None, gt=0, le=1e8, description="直接给出火球质量 kg")
    tanks: int = Field(1, ge=1, le=100, description="同时破裂的储罐数（1: 50%，2: 70%，更多: 90%）")
    q0_kw_m2: float = Field(270.0, gt=0, le=500, description="火球表面辐射通量 kW/m²（柱形罐270，球罐200）")


class PoolFireRequest(_Base):
    """Pool fire, point-source model."""

    model: Literal["pool_fire"]
    area_m2: float | None = Field(None, gt=0, le=1e6)
    diameter_m: float | None = Field(None, gt=0, le=1000)
    burning_rate_kg_m2_s: float | None = Field(None, gt=0, le=1)
    heat_of_combustion_kj_kg: float | None = Field(None, gt=0, le=200_000)
    radiative_fraction: float = Field(0.35, gt=0, le=1)
    transmissivity: float = Field(1.0, gt=0, le=1)
    exposure_s: float = Field(20.0, gt=0, le=3600)
    flux_thresholds_kw_m2: list[Annotated[float, Field(gt=0, le=500)]] = Field(
        default_factory=lambda: [5.0], max_length=10
    )


class Threshold(BaseModel):
    """A concentration endpoint: mg/m³ or ppm (ppm needs the substance's molar mass)."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(max_length=50)
    mg_m3: float | None = Field(None, gt=0)
    ppm: float | None = Field(None, gt=0)


class PlumeRequest(_Base):
    """Continuous release, Gaussian plume."""

    model: Literal["gaussian_plume"]
    rate_kg_s: float = Field(gt=0, le=10_000, description="泄漏速率 kg/s")
    wind_m_s: float = Field(ge=0.5, le=30, description="风速 m/s（静风不适用高斯模型）")
    wind_from_deg: float = Field(0.0, ge=0, lt=360, description="风向（来向，正北为0，顺时针）")
    stability: Literal["A", "B", "C", "D", "E", "F"] = Field(description="帕斯奎尔稳定度 A–F")
    setting: Literal["rural", "urban"] = "rural"
    release_height_m: float = Field(0.0, ge=0, le=300)
    sample_distances_m: list[Annotated[float, Field(gt=0, le=100_000)]] = Field(
        default_factory=lambda: [100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0], max_length=200
    )
    thresholds: list[Threshold] | None = Field(None, max_length=10)
    molar_mass_g_mol: float | None = Field(None, gt=0, le=1000)


MODELS: dict[str, type[_Base]] = {
    "vce": VceRequest,
    "bleve": BleveRequest,
    "pool_fire": PoolFireRequest,
    "gaussian_plume": PlumeRequest,
}


def invalid(field: str, message: str) -> ApiError:
    """A 422 naming ``field``."""
    return ApiError(422, "invalid", f"{field}: {message}", [Problem(field, message)])


def parse(body: Any) -> _Base:
    """The request as its model's class; 422 naming the first bad field."""
    if not isinstance(body, dict):
        raise invalid("body", "应为 JSON 对象")
    model = body.get("model")
    if model not in MODELS:
        raise invalid("model", f"应为 {' | '.join(MODELS)} 之一，收到 {model!r}")
    try:
        return MODELS[model].model_validate(body)
    except ValidationError as exc:
        problems = [Problem(".".join(str(p) for p in e["loc"]) or "body", describe_error(e)) for e in exc.errors()]
        raise ApiError(422, "invalid", f"{problems[0].field}: {problems[0].message}", problems) from None




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


def compute(data: SafetyData, req: _Base, extent: tuple[float, float, float, float] | None) -> dict[str, Any]:
    """Run the model; return its numbers, zone polygons (GeoJSON) and the people inside."""
    lon, lat = req.location
    if extent is not None and not (extent[0] <= lon <= extent[2] and extent[1] <= lat <= extent[3]):
        raise invalid("location", f"位置 ({lon}, {lat}) 不在服务范围 {extent} 内")
    origin = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(data.crs).iloc[0]
    sub = _substance(data, req.substance)
    zones: list[tuple[str, str, Any, dict[str, Any]]] = []
    if isinstance(req, VceRequest):
        heat = req.heat_of_combustion_kj_kg or sub.get("heat_of_combustion_kj_kg")
        res = vce(req.fuel_mass_kg, _need(heat, "heat_of_combustion_kj_kg", "燃烧热"), alpha=req.alpha)
        result = {k: round(v, 3) for k, v in res.__dict__.items()}
        zones = [(k, label, origin.buffer(r, 64), {"radius_m": round(r, 2)}) for k, label, r in res.zones()]
    elif isinstance(req, BleveRequest):
        if req.fireball_mass_kg is None and req.capacity_kg is None:
            raise invalid("capacity_kg", "请给出 capacity_kg（储罐内质量）或 fireball_mass_kg")
        w = req.fireball_mass_kg or fireball_fuel_kg(float(req.capacity_kg or 0), req.tanks)
        res = bleve(w, req.q0_kw_m2 * 1000)
        result = {k: round(v, 3) for k, v in res.__dict__.items()}
        zones = [(k, label, origin.buffer(r, 64), {"radius_m": round(r, 2)}) for k, label, r in res.zones() if r > 0]
    elif isinstance(req, PoolFireRequest):
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
        assert isinstance(req, PlumeRequest)
        result, zones = _plume(req, sub, origin)
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
    }


def _plume(req: PlumeRequest, sub: dict[str, Any], origin: Any) -> tuple[dict[str, Any], list]:
    try:
        p = plume_mod.Plume(req.rate_kg_s, req.wind_m_s, req.stability, req.setting, req.release_height_m)
    except ValueError as exc:
        raise invalid("body", str(exc)) from None
    mw = req.molar_mass_g_mol or sub.get("molar_mass_g_mol")
    thresholds = req.thresholds
    if thresholds is None:
        levels = [("AEGL-3", sub.get("aegl3_ppm")), ("AEGL-2", sub.get("aegl2_ppm")), ("AEGL-1", sub.get("aegl1_ppm"))]
        thresholds = [
            Threshold(label=label, ppm=float(v)) for label, v in levels if v is not None and not math.isnan(v)
        ]
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
            shape = plume_mod.to_map(local, (origin.x, origin.y), req.wind_from_deg)
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
        "downwind_bearing_deg": plume_mod.downwind_bearing(req.wind_from_deg),
        "samples": samples,
        "footprints": footprints,
        "valid_range_m": list(plume_mod.VALID_RANGE_M),
        "molar_mass_g_mol": mw,
    }
    return result, zones

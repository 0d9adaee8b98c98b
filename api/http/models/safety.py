"""Request bodies of ``/api/safety/*`` (pydantic; every error names its field).

The consequence bodies are checked here against each model's range (wind 0, stability G,
negative mass … are a 422 naming the field) and handed to
:mod:`safemap.api.services.consequence` as its input dataclasses.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from safemap.api.http.models.base import Float, Int, RequestModel, Text, labelled_error
from safemap.api.services.consequence import ConsequenceInput, make_input
from safemap.api.services.problems import invalid, invalid_all
from safemap.gis.site_check import SITE_KINDS
from safemap.layers.errors import Problem

Lon = Annotated[Float, Field(ge=-180, le=180)]
Lat = Annotated[Float, Field(ge=-90, le=90)]


def validated(cls: type[BaseModel], body: Any) -> Any:
    """``body`` as a ``cls``; 422 ``invalid`` listing every field at fault."""
    try:
        return cls.model_validate(body)
    except ValidationError as exc:
        problems = [Problem(".".join(str(p) for p in e["loc"]) or "body", labelled_error(e)) for e in exc.errors()]
        raise invalid_all(problems) from None


class SubstanceIn(RequestModel):
    """One substance of a GB 18218 unit.

    The mass is ``quantity_t`` in tonnes (as stored), or ``quantity`` with an explicit
    ``unit`` (t, 吨, kg, 千克, 公斤) — never a bare number in another unit.
    """

    name: Text | None = Field(None, max_length=100, description="物质名称（全角、括号、别名如 液氯/氯气 均可识别）")
    cas: Text | None = Field(
        None, max_length=40, description="CAS号；空格、全角字符、无连字符（7782505）均可，校验位须正确"
    )
    hazard_class: Text | None = Field(None, max_length=40, description="GB 18218 表2类别，如 W5.4；多个用逗号分隔")
    quantity_t: Float | None = Field(None, ge=0, le=1e7, description="设计最大量 t")
    quantity: Float | None = Field(None, ge=0, le=1e10, description="设计最大量，单位见 unit")
    unit: Literal["t", "吨", "kg", "千克", "公斤"] | None = Field(None, description="quantity 的质量单位")
    flash_point_c: Float | None = Field(None, ge=-100, le=400, description="闪点 ℃（易燃液体：决定表2 W5.x）")
    boiling_point_c: Float | None = Field(
        None, ge=-273, le=1000, description="初沸点 ℃（闪点 < 23 ℃ 时 ≤ 35 ℃ 为 W5.1）"
    )


class MajorHazardIn(RequestModel):
    """``POST /api/safety/major-hazard``."""

    substances: list[SubstanceIn] = Field(min_length=1, max_length=200)
    exposed_population: Int | None = Field(None, ge=0, le=10_000_000)
    geometry: dict[str, Any] | None = None


class SiteIn(RequestModel):
    """``POST /api/safety/site-check``."""

    geometry: dict[str, Any]
    kind: Literal[tuple(SITE_KINDS)]  # type: ignore[valid-type]
    name: Text | None = Field(None, max_length=100)
    properties: dict[str, Any] = Field(default_factory=dict)
    vicinity_m: Float = Field(1000.0, ge=0, le=20_000)


class _Base(RequestModel):
    location: tuple[Lon, Lat] = Field(description="[经度, 纬度]（WGS 84）或 GeoJSON Point")
    substance: Text | None = Field(None, max_length=100, description="物质名称，用于查找燃烧热、分子量和毒性终点")

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
    fuel_mass_kg: Float = Field(gt=0, le=1e8, description="参与爆炸的可燃物质量 kg")
    heat_of_combustion_kj_kg: Float | None = Field(None, gt=0, le=200_000)
    alpha: Float = Field(0.04, gt=0, le=1, description="TNT当量系数（蒸气云爆炸效率）")
    sample_distances_m: list[Annotated[Float, Field(ge=0, le=100_000)]] = Field(
        default_factory=list, max_length=200, description="计算冲击波超压（kPa）的距离 m（距爆心）"
    )


class BleveRequest(_Base):
    """BLEVE fireball."""

    model: Literal["bleve"]
    capacity_kg: Float | None = Field(None, gt=0, le=1e8, description="储罐内物质总质量 kg")
    fireball_mass_kg: Float | None = Field(None, gt=0, le=1e8, description="直接给出火球质量 kg")
    tanks: Int = Field(1, ge=1, le=100, description="同时破裂的储罐数（1: 50%，2: 70%，更多: 90%）")
    q0_kw_m2: Float = Field(270.0, gt=0, le=500, description="火球表面辐射通量 kW/m²（柱形罐270，球罐200）")


class PoolFireRequest(_Base):
    """Pool fire, point-source model."""

    model: Literal["pool_fire"]
    area_m2: Float | None = Field(None, gt=0, le=1e6)
    diameter_m: Float | None = Field(None, gt=0, le=1000)
    burning_rate_kg_m2_s: Float | None = Field(None, gt=0, le=1)
    heat_of_combustion_kj_kg: Float | None = Field(None, gt=0, le=200_000)
    radiative_fraction: Float = Field(0.35, gt=0, le=1)
    transmissivity: Float = Field(1.0, gt=0, le=1)
    exposure_s: Float = Field(20.0, gt=0, le=3600)
    flux_thresholds_kw_m2: list[Annotated[Float, Field(gt=0, le=500)]] = Field(
        default_factory=lambda: [5.0], max_length=10
    )


class ThresholdIn(RequestModel):
    """A concentration endpoint: mg/m³ or ppm (ppm needs the substance's molar mass)."""

    label: Text = Field(max_length=50)
    mg_m3: Float | None = Field(None, gt=0)
    ppm: Float | None = Field(None, gt=0)


class PlumeRequest(_Base):
    """Continuous release, Gaussian plume."""

    model: Literal["gaussian_plume"]
    rate_kg_s: Float = Field(gt=0, le=10_000, description="泄漏速率 kg/s")
    wind_m_s: Float = Field(ge=0.5, le=30, description="风速 m/s（静风不适用高斯模型）")
    wind_from_deg: Float | None = Field(
        None, ge=0, lt=360, description="风向（来向，正北为0，顺时针）；省略时取县域主导风向（风向玫瑰表）"
    )
    stability: Literal["A", "B", "C", "D", "E", "F"] = Field(description="帕斯奎尔稳定度 A–F")
    setting: Literal["rural", "urban"] = "rural"
    release_height_m: Float = Field(0.0, ge=0, le=300)
    sample_distances_m: list[Annotated[Float, Field(gt=0, le=100_000)]] = Field(
        default_factory=lambda: [100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0], max_length=200
    )
    thresholds: list[ThresholdIn] | None = Field(None, max_length=10)
    molar_mass_g_mol: Float | None = Field(None, gt=0, le=1000)


#: The body of ``POST /api/safety/consequence``: one of the models, chosen by ``model`` (documents the OpenAPI).
ConsequenceIn = Annotated[VceRequest | BleveRequest | PoolFireRequest | PlumeRequest, Field(discriminator="model")]

CONSEQUENCE_MODELS: dict[str, type[_Base]] = {
    "vce": VceRequest,
    "bleve": BleveRequest,
    "pool_fire": PoolFireRequest,
    "gaussian_plume": PlumeRequest,
}


def parse_consequence(body: Any) -> ConsequenceInput:
    """The body of ``POST /api/safety/consequence`` as the service's input; 422 naming the first bad field."""
    if not isinstance(body, dict):
        raise invalid("body", "应为 JSON 对象")
    model = body.get("model")
    if model not in CONSEQUENCE_MODELS:
        raise invalid("model", f"应为 {' | '.join(CONSEQUENCE_MODELS)} 之一，收到 {model!r}")
    return make_input(validated(CONSEQUENCE_MODELS[model], body).model_dump())

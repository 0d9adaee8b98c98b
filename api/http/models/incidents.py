"""Request bodies of ``/api/incidents`` (pydantic; every error names its field in Chinese).

The zone body is any consequence-model body of ``POST /api/safety/consequence``
(:mod:`safemap.api.http.models.safety`) **without** ``location`` — the incident's is used —
plus ``cloud_cover`` and ``at`` from which a plume's stability is derived when omitted.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from safemap.api.http.models.base import FIELD_LABELS, BodyId, Float, Int, RequestModel, Text, labelled_error
from safemap.api.http.models.safety import CONSEQUENCE_MODELS, Lat, Lon, validated
from safemap.api.services.incident_location import PLACE_LAYERS
from safemap.api.services.problems import invalid, invalid_all
from safemap.layers.errors import Problem

#: Chinese labels of this module's fields (merged into the shared table; existing names keep theirs).
INCIDENT_FIELD_LABELS = {
    "location_text": "坐标",
    "crs": "坐标系",
    "place": "地点",
    "enterprise_id": "涉事企业编号",
    "hazard_source_id": "涉事危险源编号",
    "reporter": "报警人",
    "phone": "报警电话",
    "reported_at": "接报时间",
    "description": "情况描述",
    "severity": "事故等级",
    "status": "处置状态",
    "text": "记录内容",
    "version": "版本",
    "cloud_cover": "云量",
    "at": "时间",
    "zone_id": "危险区编号",
    "id": "编号",
}
for _k, _v in INCIDENT_FIELD_LABELS.items():
    FIELD_LABELS.setdefault(_k, _v)


class PlaceIn(RequestModel):
    """A feature the incident is at: by id or by name."""

    layer: Literal[tuple(PLACE_LAYERS)] = Field(description="图层")  # type: ignore[valid-type]
    id: BodyId | None = Field(None, description="要素编号")
    name: Text | None = Field(None, min_length=1, max_length=200, description="要素名称（全名或唯一的一部分）")


class IncidentCreate(RequestModel):
    """``POST /api/incidents``: 接警. Exactly one of ``location``, ``location_text``, ``place``."""

    kind: Text = Field(
        max_length=50, description="事件类型：代码或中文（火灾、爆炸、泄漏中毒、交通事故、矿山事故、其他…）"
    )
    location: tuple[Lon, Lat] | None = Field(None, description="[经度, 纬度]")
    location_text: Text | None = Field(
        None, min_length=1, max_length=200, description="输入的坐标：82.98, 46.20 或 82°59′06″E 46°12′18″N"
    )
    crs: Literal["WGS84", "CGCS2000"] = Field(
        "WGS84", description="坐标系；CGCS2000 经纬度按 WGS 84 使用（差异厘米至分米级）"
    )
    place: PlaceIn | None = None
    name: Text | None = Field(None, max_length=200)
    enterprise_id: BodyId | None = None
    hazard_source_id: BodyId | None = None
    substance: Text | None = Field(None, max_length=100)
    quantity_t: Float | None = Field(None, ge=0, le=1_000_000, description="估计泄漏/涉及量 t")
    reporter: Text | None = Field(None, max_length=50)
    phone: Text | None = Field(
        None, max_length=30, pattern=r"^[0-9+\-() ]{5,30}$", description="数字、+、-、括号、空格"
    )
    reported_at: dt.datetime | None = Field(None, description="接报时间；不带时区的按 SAFEMAP_TIMEZONE")
    description: Text | None = Field(None, max_length=2000)
    severity: Literal["general", "large", "major", "extraordinary"] | None = None


class StatusIn(RequestModel):
    """``POST /api/incidents/{id}/status``."""

    status: Text = Field(max_length=20, description="接警/核实/处置中/已控制/结束 或代码")
    note: Text | None = Field(None, max_length=1000)
    version: Int | None = Field(None, ge=1, description="所见事件的版本；已被他人修改时 409")


class NoteIn(RequestModel):
    """``POST /api/incidents/{id}/notes``."""

    text: Text = Field(min_length=1, max_length=4000)


CloudCover = Annotated[Int, Field(ge=0, le=8)] | Literal["晴", "少云", "多云", "阴"]


class _ZoneExtras(RequestModel):
    cloud_cover: CloudCover | None = None
    at: dt.datetime | None = None


def parse_zone(body: Any) -> tuple[dict[str, Any], Any, dt.datetime | None]:
    """A zone body as (model values, cloud cover, time); 422 naming the field at fault.

    ``location`` is refused (the incident's is used); a plume's ``stability`` may be left out
    when ``cloud_cover`` is given (checked here with a stand-in, derived by the service).
    """
    if not isinstance(body, dict):
        raise invalid("body", "应为 JSON 对象")
    if "location" in body:
        raise invalid("location", "危险区建模使用事件本身的位置，请勿另给 location")
    body = dict(body)
    extras = {k: body.pop(k) for k in ("cloud_cover", "at") if k in body}
    try:
        ext = _ZoneExtras.model_validate(extras)
    except ValidationError as exc:
        problems = [Problem(".".join(map(str, e["loc"])), labelled_error(e)) for e in exc.errors()]
        raise invalid_all(problems) from None
    model = body.get("model")
    if model not in CONSEQUENCE_MODELS:
        raise invalid("model", f"应为 {' | '.join(CONSEQUENCE_MODELS)} 之一，收到 {model!r}")
    derive = model == "gaussian_plume" and body.get("stability") is None
    if derive and ext.cloud_cover is None:
        raise invalid(
            "stability", "请给出大气稳定度（A–F），或给出云量 cloud_cover（0–8 或 晴/少云/多云/阴）由系统推定"
        )
    probe = {**body, "location": [0.0, 0.0], **({"stability": "D"} if derive else {})}
    values = validated(CONSEQUENCE_MODELS[model], probe).model_dump()
    values.pop("location")
    if derive:
        values["stability"] = None
    return values, ext.cloud_cover, ext.at

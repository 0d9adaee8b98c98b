"""Request body of ``POST /api/tailings/{pond_id}/breach`` (pydantic; every error names its field in Chinese)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from safemap.api.http.models.base import Float, RequestModel
from safemap.layers.errors import Problem, Unprocessable
from safemap.layers.validation import describe_error

#: Chinese labels of the body's fields (errors name them; ``problems[].field`` keeps the code).
LABELS = {
    "breach": "溃口位置",
    "lon": "溃口经度",
    "lat": "溃口纬度",
    "tailings_volume_m3": "尾矿库存量",
    "released_m3": "下泄量",
    "depth_m": "流深",
}


class BreachIn(RequestModel):
    """Options of a breach analysis; every field may be left out (an empty body is allowed)."""

    lon: Annotated[Float, Field(ge=-180, le=180)] | None = Field(
        None, description="溃口经度（与纬度同时给出）；默认库区边界最低点"
    )
    lat: Annotated[Float, Field(ge=-90, le=90)] | None = Field(None, description="溃口纬度")
    tailings_volume_m3: Annotated[Float, Field(gt=0, le=5e9)] | None = Field(
        None, description="尾矿库存量 m³，代替库中记录"
    )
    released_m3: Annotated[Float, Field(gt=0, le=5e9)] | None = Field(
        None, description="下泄量 m³；默认按 Concha Larrauri & Lall (2018) 由库存量估算"
    )
    depth_m: Annotated[Float, Field(gt=0, le=50)] = Field(2.0, description="前锋流深 m（曼宁公式求到达时间）")

    @model_validator(mode="after")
    def _both(self) -> BreachIn:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("溃口经度和纬度须同时给出")
        return self


def parse_breach(body: Any) -> BreachIn:
    """``body`` as a :class:`BreachIn`; 422 naming every field at fault by its Chinese label."""
    try:
        return BreachIn.model_validate({} if body is None else body)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"]]
            field = ".".join(loc) or "breach"
            label = LABELS.get(loc[0]) if loc else LABELS["breach"]
            message = describe_error(e)
            problems.append(Problem(field, f"{label}：{message}" if label else message))
        text = "；".join(p.message for p in problems)
        raise Unprocessable(text, problems) from None

"""Request bodies of double prevention: a finding from the inspection form, one step of the closed loop."""

from __future__ import annotations

from pydantic import Field

from safemap.api.http.models.base import BodyId, RequestModel, Text
from safemap.api.http.models.safety import Lat, Lon


class FindingIn(RequestModel):
    """``POST /api/dangers``: a finding (status 发现). ``location`` or ``enterprise_id`` places it."""

    grade: Text = Field(max_length=20, description="隐患等级：一般隐患（general）或重大隐患（major）")
    description: Text = Field(max_length=2000, description="隐患描述")
    deadline: Text = Field(max_length=20, description="整改期限，如 2026-12-31；不得早于今天")
    location: tuple[Lon, Lat] | None = Field(None, description="[经度, 纬度]；不填则取所属企业位置")
    enterprise_id: BodyId | None = None
    inspection_id: BodyId | None = None
    name: Text | None = Field(None, max_length=200)
    clause: Text | None = Field(None, max_length=300, description="违反条款")
    checklist_item: Text | None = Field(None, max_length=300, description="检查项")
    responsible: Text | None = Field(None, max_length=100, description="整改责任人")
    found_at: Text | None = Field(
        None, max_length=40, description="发现时间；不填为现在；不带时区的按 SAFEMAP_TIMEZONE"
    )
    client_uuid: Text | None = Field(
        None, max_length=64, description="手机端生成的编号：离线重发同一条隐患时不会重复登记"
    )


class TransitionIn(RequestModel):
    """``POST /api/dangers/{id}/transition``: one step (开始整改、提交复查、复查通过、复查未通过、延期、备注)."""

    action: Text = Field(max_length=20, description="rectify、submit、pass、fail、extend 或 note")
    version: int | None = Field(None, ge=1, le=2_147_483_647, description="所处理隐患的版本号")
    text: Text = Field("", max_length=4000, description="说明：整改措施、复查意见、延期原因或备注")
    deadline: Text | None = Field(None, max_length=20, description="延期后的整改期限")
    measures: Text | None = Field(None, max_length=2000, description="已采取的整改措施（提交复查时）")
    photo_ids: list[BodyId] = Field(default_factory=list, max_length=50, description="本步骤引用的照片编号")

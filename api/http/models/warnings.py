"""Request bodies of the warning API (pydantic; every error names its field in Chinese)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool

from safemap.api.http.models.base import FIELD_LABELS, RequestModel, Text

ChannelCode = Literal["email", "webhook", "call_list"]

FIELD_LABELS.update(
    {
        "template": "预警模板",
        "bands": "预警范围（分区）",
        "channels": "发布渠道",
        "values": "占位符取值",
        "preview": "仅预览",
    }
)


class WarningBody(RequestModel):
    """``POST /api/incidents/{id}/warnings``: compose from a template and send to the chosen bands."""

    template: Text = Field(min_length=1, max_length=50, description="Template code, e.g. shelter_in_place.")
    bands: list[Text] = Field(min_length=1, max_length=20, description="Labels of the zone's bands to warn.")
    channels: list[ChannelCode] = Field(min_length=1, max_length=3, description="email, webhook, call_list.")
    values: dict[Text, Text] = Field(
        default_factory=dict,
        max_length=20,
        description="Placeholder values: 物质, 方向, 撤离方向, 联系电话 (时间, 事件 default to now, the incident).",
    )
    preview: StrictBool = Field(default=False, description="True: return the text and recipients, store nothing.")


class AckBody(RequestModel):
    """``POST /api/warning-deliveries/{id}/ack``: the recipient confirmed."""

    note: Text | None = Field(default=None, max_length=500, description="e.g. 已电话确认，村委会已组织撤离")

"""Request bodies of the live-data API (pydantic; every error names its field in Chinese)."""

from __future__ import annotations

from pydantic import Field

from safemap.api.http.models.base import FIELD_LABELS, RequestModel, Text

FIELD_LABELS.update(
    {
        "readings": "读数列表",
        "positions": "位置列表",
        "note": "备注",
        "step": "步长",
        "from": "起始时间",
        "to": "结束时间",
        "state": "报警状态",
    }
)


class NoteBody(RequestModel):
    """``POST /api/alarms/{id}/ack`` and ``…/close``: an optional note of the duty officer."""

    note: Text | None = Field(default=None, max_length=500, description="e.g. 已电话核实，现场为检修放空")

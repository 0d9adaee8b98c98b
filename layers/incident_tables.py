"""The incident's own tables (issue 12): its 接警 fields, its versioned hazard zones and its timeline.

``incidents`` itself is in :mod:`layers.definitions`; it takes :data:`INCIDENT_FIELDS` (added in
schema version 3, :mod:`layers.migrations`). ``incident_zones`` holds every hazard zone modelled
for an incident (the newest ``seq`` is current; the bands as JSON, the geometry their outline);
``incident_events`` is the timeline, appended by ``api/services/incidents.record_event``. Both
are written only through the incident services (admins may correct them as any layer).
"""

from __future__ import annotations

from safemap.layers import enums
from safemap.layers.catalogue import Field, Layer, Style, common_fields

EVENTS = "应急事件"

#: Fields added to ``incidents`` by issue 12 (schema version 3): what the 接警 records.
INCIDENT_FIELDS: tuple[Field, ...] = (
    Field("enterprise_id", "int", "涉事企业编号", references="enterprises"),
    Field("hazard_source_id", "int", "涉事危险源编号", references="hazard_sources"),
    Field("substance", "str", "涉及物质", max_length=100),
    Field("quantity_t", "float", "估计泄漏/涉及量", unit="t", minimum=0, maximum=1_000_000),
    Field("reporter", "str", "报警人", max_length=50),
    Field("phone", "str", "报警电话", max_length=30, pattern=r"[0-9+\-() ]{5,30}"),
    Field("location_text", "str", "接警位置描述", max_length=300, description="What was typed or chosen, as given."),
    Field("closed_at", "datetime", "结束时间"),
)

INCIDENT_TABLES: tuple[Layer, ...] = (
    Layer(
        name="incident_zones",
        label="事件危险区",
        group=EVENTS,
        geometry_types=("Polygon", "MultiPolygon"),
        fields=(
            *common_fields(),
            Field("incident_id", "int", "事件编号", required=True, references="incidents"),
            Field(
                "seq",
                "int",
                "建模序号",
                required=True,
                minimum=1,
                description="1, 2, … per incident; newest is current.",
            ),
            Field("model", "enum", "后果模型", required=True, enum=enums.CONSEQUENCE_MODEL),
            Field("wind_from_deg", "float", "风向（来向）", unit="°", minimum=0, maximum=360),
            Field("wind_m_s", "float", "风速", unit="m/s", minimum=0, maximum=60),
            Field("stability", "enum", "大气稳定度", enum=enums.STABILITY_CLASS),
            Field("inputs", "str", "模型输入", description="The model's inputs as JSON (location excluded)."),
            Field(
                "bands",
                "str",
                "影响分区",
                description="JSON list of {label, threshold, geometry (GeoJSON lon/lat)}, innermost first.",
            ),
            Field("created_by", "str", "建模人", max_length=100),
        ),
        style=Style("fill", "#7b1fa2", by="model", weight=2, fill_opacity=0.15),
        editors=frozenset({"admin"}),
        description="Hazard zones modelled for an incident; the geometry is the outermost band.",
    ),
    Layer(
        name="incident_events",
        label="事件处置记录",
        group=EVENTS,
        geometry_types=(),
        fields=(
            *common_fields(),
            Field("incident_id", "int", "事件编号", required=True, references="incidents"),
            Field("at", "datetime", "时间", required=True),
            Field("kind", "enum", "记录类型", required=True, enum=enums.INCIDENT_EVENT_KIND),
            Field("actor", "str", "记录人", required=True, max_length=100),
            Field("text", "str", "内容", required=True, max_length=4000),
            Field("ref", "str", "关联记录", max_length=200, description="e.g. incident_zones:3, dispatches:12"),
        ),
        style=None,
        editors=frozenset({"admin"}),
        temporal="at",
        description="The incident's timeline, appended by api/services/incidents.record_event.",
    ),
)

"""JSON Schemas of the OGC API collections, in the forms the clients read.

* ``/collections/{id}/schema`` — OGC API – Features Part 5 ("Schemas"): the feature's
  properties as a flat JSON Schema 2020-12 object, with ``x-ogc-role`` (``id``,
  ``primary-geometry``, ``primary-instant``, ``reference``) and ``x-ogc-propertySeq``.
  Linked with rel ``http://www.opengis.net/def/rel/ogc/1.0/schema``.
* ``/collections/{id}/schema/geojson`` — the schema of one GeoJSON Feature (``type``,
  ``geometry``, ``properties`` → fields). This is what GDAL's OAPIF driver reads to type the
  fields before it has seen any value (GDAL 3.6: ``OGROAPIFLayer::GetSchema``): it follows the
  collection link whose rel is exactly ``describedBy`` (case-sensitive in 3.6) with type
  ``application/schema+json``, builds an example object from the schema, and takes the members
  of its ``properties`` member: ``number`` → Real, ``integer`` → Integer, ``boolean`` → Boolean,
  ``string`` with ``format: date-time``/``date`` → DateTime/Date. A ``type`` list such as
  ``["number", "null"]`` is not understood there (it gives String), so every field has one type.
* ``/collections/{id}/queryables`` — Features Part 3 queryables.
"""

from __future__ import annotations

from typing import Any

from safemap.layers.catalogue import Layer
from safemap.layers.schemas import layer_json_schema

SCHEMA_JSON = "application/schema+json"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
REL_SCHEMA = "http://www.opengis.net/def/rel/ogc/1.0/schema"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
#: GDAL 3.6 compares the rel with ``==`` to this spelling (RFC 8288 rels are case-insensitive).
REL_DESCRIBED_BY = "describedBy"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/core-roles-features",
]
_GEOMETRY_FORMATS = {
    "POINT": "geometry-point",
    "LINESTRING": "geometry-linestring",
    "MULTIPOLYGON": "geometry-multipolygon",
}
_GEOJSON_TYPES = {"POINT": "Point", "LINESTRING": "LineString", "MULTIPOLYGON": "MultiPolygon"}


def schema_links(url: str) -> list[dict[str, Any]]:
    """The schema links of a collection whose URL is ``url``."""
    return [
        {"rel": REL_QUERYABLES, "type": SCHEMA_JSON, "title": "可查询字段", "href": url + "/queryables"},
        {"rel": REL_SCHEMA, "type": SCHEMA_JSON, "title": "要素结构（OGC API Part 5）", "href": url + "/schema"},
        {
            "rel": REL_DESCRIBED_BY,
            "type": SCHEMA_JSON,
            "title": "GeoJSON 要素结构（GDAL/QGIS 据此确定字段类型）",
            "href": url + "/schema/geojson",
        },
    ]


def _geometry_format(layer: Layer) -> str:
    return _GEOMETRY_FORMATS.get(layer.storage_geometry, "geometry-any")


def queryables(layer: Layer, base: str) -> dict[str, Any]:
    """The fields usable as ``field=value`` filters, as JSON Schema (Features Part 3)."""
    schema = layer_json_schema(layer)
    props = {
        name: prop
        for name, prop in schema["properties"].items()
        if prop.get("type") in ("string", "integer", "boolean") and name != "id" and "format" not in prop
    }
    props["geom"] = {"title": "几何", "format": _geometry_format(layer), "x-ogc-role": "primary-geometry"}
    return {
        "$schema": DRAFT_2020_12,
        "$id": f"{base}/collections/{layer.name}/queryables",
        "type": "object",
        "title": layer.label,
        "properties": props,
        "additionalProperties": False,
    }


def feature_schema(layer: Layer, base: str) -> dict[str, Any]:
    """The Part 5 schema: the feature's properties with their roles and order."""
    schema = layer_json_schema(layer)
    fields = {f.name: f for f in layer.fields}
    props: dict[str, Any] = {}
    for seq, (name, prop) in enumerate(schema["properties"].items(), start=1):
        prop = {**prop, "x-ogc-propertySeq": seq}
        field = fields.get(name)
        if name == "id":
            prop["x-ogc-role"] = "id"
        elif name == layer.temporal:
            prop["x-ogc-role"] = "primary-instant"
        elif field is not None and field.references:
            prop.update({"x-ogc-role": "reference", "x-ogc-collectionId": field.references})
        if field is not None and field.unit:
            prop["x-ogc-unit"] = field.unit
        props[name] = prop
    props["geom"] = {
        "title": "几何",
        "format": _geometry_format(layer),
        "x-ogc-role": "primary-geometry",
        "x-ogc-propertySeq": len(props) + 1,
    }
    return {
        "$schema": DRAFT_2020_12,
        "$id": f"{base}/collections/{layer.name}/schema",
        **schema,
        "properties": props,
    }


def geojson_feature_schema(layer: Layer, base: str) -> dict[str, Any]:
    """The JSON Schema of one GeoJSON Feature of ``layer`` (the form GDAL's OAPIF driver reads).

    ``id`` is left out of ``properties``: GDAL takes it from the first page already and
    would otherwise list it twice.
    """
    schema = layer_json_schema(layer)
    schema["properties"].pop("id", None)
    geometry_type = _GEOJSON_TYPES.get(layer.storage_geometry)
    geometry: dict[str, Any] = {
        "title": "几何（GeoJSON）",
        "type": "object",
        "properties": {
            "type": {"type": "string", **({"enum": [geometry_type]} if geometry_type else {})},
            "coordinates": {"type": "array"},
        },
    }
    return {
        "$schema": DRAFT_2020_12,
        "$id": f"{base}/collections/{layer.name}/schema/geojson",
        "title": layer.label,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": geometry,
            "properties": schema,
        },
    }

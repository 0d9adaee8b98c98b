"""GeoJSON built by PostGIS: each feature's text made in SQL and streamed, not Python objects → JSON.

:func:`stream_features` runs a query of :meth:`~layers.store.FeatureStore.query` (the same
conditions, order and paging from :mod:`layers.queries`) as one text column per feature,
written by the database — ``ST_AsGeoJSON`` for the geometry, the properties concatenated
in catalogue order — and hands the rows on in batches from a server-side cursor while the
read-only snapshot stays open (an answer of one batch gives its connection back before it
is sent). The text is what :func:`layers.geojson.feature_collection_bytes`
makes of the same rows:

* keys ``type``, ``id``, ``geometry``, ``properties`` (fields in catalogue order, then the
  child lists ordered by ``seq``);
* polygon rings counter-clockwise (``ST_ForcePolygonCCW``, on polygons only: PostGIS 3.3
  reverses lines too; RFC 7946), coordinates with up
  to 15 decimals (the shortest text that reads back as the same double; a whole number is
  written ``85`` where orjson writes ``85.0`` — the same JSON number);
* times as orjson writes them: ``2024-05-01T08:00:00.123000+08:00`` in the session's time
  zone, the fraction only when not zero; floats with ``.0`` when whole, as orjson does
  (a float orjson writes ``1e-5``/``0.00001`` PostgreSQL writes ``1e-05``: the same number).

PostGIS only: a GeoPackage page is read by :mod:`layers.geojson_gpkg` and written by :mod:`layers.geojson`.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import orjson
from sqlalchemy import Select, Table, func, literal_column, select

from safemap.layers.catalogue import Field, Layer
from safemap.layers.tables import Schema

BATCH = 2000
"""Features fetched from the server-side cursor per round trip."""

GEOJSON_DIGITS = 15
"""``maxdecimaldigits`` of ``ST_AsGeoJSON``: enough for the shortest round-trip text of a degree."""


def _key(name: str) -> str:
    """``"name":`` as an SQL string literal."""
    return "'" + orjson.dumps(name).decode().replace("'", "''") + ":'"


def _value(f: Field, col: str) -> str:
    """SQL text of the JSON value of field ``f`` held in column expression ``col`` (never NULL)."""
    if f.type in ("int", "bool"):
        return f"coalesce({col}::text, 'null')"
    if f.type == "float":
        return (
            f"CASE WHEN {col} IS NULL OR {col} = 'NaN'::float8 OR abs({col}) = 'Infinity'::float8 THEN 'null' "
            f"WHEN {col} = trunc({col}) AND abs({col}) < 1e16 THEN trunc({col})::numeric::text || '.0' "
            f"ELSE {col}::text END"
        )
    if f.type == "datetime":  # one to_char; a zero fraction is dropped as orjson drops it
        return (
            f"CASE WHEN {col} IS NULL THEN 'null' ELSE '\"' || "
            f"replace(to_char({col}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'), '.000000', '') || '\"' END"
        )
    return f"coalesce(to_json({col})::text, 'null')"  # str, enum, date


def _object(fields: Sequence[Field], table: str, extra: Sequence[tuple[str, str]] = ()) -> str:
    """SQL text of a JSON object of ``fields`` of ``table`` (then ``extra`` (key, SQL value) pairs)."""
    parts = [(f.name, _value(f, f'{table}."{f.name}"')) for f in fields] + list(extra)
    if not parts:
        return "'{}'"
    pieces = [("'{'" if i == 0 else "','") + " || " + _key(k) + " || " + v for i, (k, v) in enumerate(parts)]
    return "(" + " || ".join(pieces) + " || '}')"


def _child_list(layer: Layer, schema: Schema, child_name: str, parent: str) -> str:
    """SQL text of the JSON list of one child table's rows of the feature (by ``seq``)."""
    child = layer.child(child_name)
    table: Table = schema.children[(layer.name, child.name)]
    row = _object(child.fields, "c")
    return (
        f"(SELECT '[' || coalesce(string_agg({row}, ',' ORDER BY c.seq), '') || ']' "
        f'FROM "{table.name}" c WHERE c.parent_id = {parent}.id AND c.county_code = {parent}.county_code)'
    )


def feature_text(schema: Schema, layer: Layer) -> str:
    """SQL text of one feature of ``layer`` as GeoJSON (the layer's table by its own name)."""
    t = f'"{layer.name}"'
    children = [(c.name, _child_list(layer, schema, c.name, t)) for c in layer.children]
    geom = f"{t}.geom"
    if {"Polygon", "MultiPolygon"} & set(layer.geometry_types):  # ST_ForcePolygonCCW reverses lines (3.3)
        geom = f"CASE WHEN ST_Dimension({geom}) = 2 THEN ST_ForcePolygonCCW({geom}) ELSE {geom} END"
    geometry = f"coalesce(ST_AsGeoJSON({geom}, {GEOJSON_DIGITS}), 'null')" if layer.is_spatial else "'null'"
    return (
        f"""('{{"type":"Feature","id":' || {t}.id::text || ',"geometry":' || {geometry} || """
        f"""',"properties":' || {_object(layer.fields, t, children)} || '}}')"""
    )


def feature_select(schema: Schema, layer: Layer, where: Sequence[Any]) -> Select[Any]:
    """The features meeting ``where`` as one GeoJSON text column (order and paging added by the caller)."""
    t = schema.layers[layer.name]
    return select(literal_column(feature_text(schema, layer))).select_from(t).where(*where)


class FeatureStream:
    """Features as GeoJSON text, read while the snapshot they were counted in stays open.

    Iterating yields the features' text comma-separated (bytes, without the surrounding brackets)
    and closes the read transaction when exhausted; :meth:`close` closes it at any time
    (a client gone mid-answer), and is safe to call more than once.
    """

    def __init__(self, number_matched: int, number_returned: int, chunks: Iterator[bytes], stack: ExitStack) -> None:
        self.number_matched = number_matched
        self.number_returned = number_returned
        self._chunks = chunks
        self._stack = stack
        weakref.finalize(self, stack.close)  # never iterated (the client left before the answer began)

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks
        finally:
            self.close()

    def close(self) -> None:
        """Give the connection back (ends the read-only transaction)."""
        self._stack.close()


def framed(head: bytes, stream: FeatureStream) -> Iterator[bytes]:
    """``head`` (see :func:`layers.geojson.feature_collection_head`), the features, ``]}``; always closes ``stream``."""
    try:
        yield head
        yield from stream
        yield b"]}"
    finally:
        stream.close()


def stream_features(
    conn_cm: Any, schema: Schema, layer: Layer, where: Sequence[Any], order: Sequence[Any], limit: int, offset: int
) -> FeatureStream:
    """Count, then stream, the features of ``layer`` meeting ``where`` in one read-only snapshot.

    ``conn_cm`` is the backend's read transaction (a context manager giving a connection);
    the count and the first batch are read before returning, so a bad query raises here,
    before any byte of the answer is sent.
    """
    t = schema.layers[layer.name]
    stack = ExitStack()
    try:
        conn = stack.enter_context(conn_cm)
        matched = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
        stmt = feature_select(schema, layer, where).order_by(*order).offset(offset).limit(limit)
        result = stack.enter_context(conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(stmt))
        first = result.fetchmany(BATCH)
    except BaseException:
        stack.close()
        raise

    if len(first) < BATCH:  # all of it read already: give the connection back before the answer is sent
        stack.close()

    def chunks() -> Iterator[bytes]:
        rows, sep = first, b""
        while rows:
            yield sep + ",".join([r[0] for r in rows]).encode()
            rows, sep = (result.fetchmany(BATCH) if len(rows) == BATCH else []), b","

    return FeatureStream(matched, max(0, min(limit, matched - offset)), chunks(), stack)

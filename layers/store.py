"""The feature store: create, read, update, delete, query and audit — one behaviour on both backends.

:class:`FeatureStore` talks SQL through SQLAlchemy Core; the backend
(:class:`~layers.postgis.PostGISBackend` or :class:`~layers.geopackage.GeoPackageBackend`)
supplies transactions, geometry encoding and the spatial-index filter.

Concurrency: every feature has a ``version``; an update or delete must quote the
version it read, and is refused with :class:`~layers.errors.VersionConflict` when
someone else wrote in between (checked under a row lock in PostGIS, under the
write lock in GeoPackage, and again in the ``UPDATE … WHERE version = :v``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Integer, Select, Text, cast, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from safemap.layers.catalogue import MANAGED_FIELDS, Field, Layer
from safemap.layers.definitions import LAYERS
from safemap.layers.errors import (
    BadQuery,
    FeatureNotFound,
    Problem,
    UnknownLayer,
    ValidationFailed,
    VersionConflict,
    VersionRequired,
)
from safemap.layers.migrations import ensure_schema
from safemap.layers.tables import Schema, build_schema
from safemap.layers.validation import CleanFeature, Extent, validate_feature

BBox = tuple[float, float, float, float]
DEFAULT_TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class Actor:
    """Who writes: the token's name and role (recorded in the audit log)."""

    name: str
    role: str


SYSTEM = Actor("system", "admin")


@dataclass
class Page:
    """Features of one layer returned by a query.

    ``rows`` hold the properties (with ``id`` and child lists), ``geometries`` the
    shapely geometries in the same order.
    """

    layer: Layer
    rows: list[dict[str, Any]]
    geometries: np.ndarray
    number_matched: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def features(self) -> list[dict[str, Any]]:
        """GeoJSON-like features (geometry as a ``__geo_interface__`` mapping)."""
        return [
            {
                "type": "Feature",
                "id": r["id"],
                "geometry": None if g is None else g.__geo_interface__,
                "properties": r,
            }
            for r, g in zip(self.rows, self.geometries, strict=True)
        ]


def open_store(target: str | Path, **kwargs: Any) -> FeatureStore:
    """Open (creating or upgrading) the store at a PostgreSQL URL or a GeoPackage path."""
    text_target = str(target)
    if text_target.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        from safemap.layers.postgis import PostGISBackend

        backend: Any = PostGISBackend(text_target.replace("postgres://", "postgresql://", 1))
    else:
        from safemap.layers.geopackage import GeoPackageBackend

        backend = GeoPackageBackend(text_target)
    return FeatureStore(backend, **kwargs)


class FeatureStore:
    """All layers of the catalogue in one database."""

    def __init__(
        self,
        backend: Any,
        *,
        extent: Extent | None = None,
        local_tz: str = DEFAULT_TZ,
        layers: tuple[Layer, ...] = LAYERS,
    ) -> None:
        self.backend = backend
        self.extent = extent
        self.tz = ZoneInfo(local_tz)
        self.layers = {layer.name: layer for layer in layers}
        self.schema: Schema = build_schema(backend.types, layers)
        created: list[str] = []
        self.previous_version = ensure_schema(backend, self.schema, created=created)
        self._seed([layer for layer in layers if layer.seed and layer.name in created])
        self._referrers = {
            name: [(other, f) for other in layers for f in other.fields if f.references == name] for name in self.layers
        }

    def _seed(self, layers: list[Layer]) -> None:
        """Load reference tables (e.g. separation rules) from ``data/`` when first created."""
        from safemap.layers.paths import DATA_DIR
        from safemap.layers.transfer import import_file

        for layer in layers:
            assert layer.seed is not None
            import_file(self, layer.name, DATA_DIR / layer.seed, SYSTEM)

    # ------------------------------------------------------------------ basics
    @property
    def kind(self) -> str:
        """``postgis`` or ``geopackage``."""
        return str(self.backend.name)

    def layer(self, name: str) -> Layer:
        """The catalogue entry of ``name``; :class:`UnknownLayer` (404) if none."""
        try:
            return self.layers[name]
        except KeyError:
            known = ", ".join(self.layers)
            raise UnknownLayer(f"没有图层 {name!r}；现有图层：{known}") from None

    def close(self) -> None:
        """Release connections (and checkpoint a GeoPackage's write-ahead log)."""
        self.backend.dispose()

    def generation(self) -> int:
        """A number that changes whenever any feature is written (for caches)."""
        meta = self.schema.meta
        with self.backend.read() as conn:
            row = conn.execute(select(meta.c.value).where(meta.c.key == "generation")).first()
        return int(row[0]) if row else 0

    def counts(self) -> dict[str, int]:
        """Number of features per layer."""
        with self.backend.read() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for name, t in self.schema.layers.items()
            }

    # ------------------------------------------------------------------ reading
    def query(
        self,
        layer_name: str,
        *,
        bbox: BBox | None = None,
        filters: Mapping[str, Sequence[Any]] | None = None,
        q: str | None = None,
        ids: Sequence[int] | None = None,
        time_range: tuple[dt.datetime | None, dt.datetime | None] | None = None,
        limit: int | None = 1000,
        offset: int = 0,
        count: bool = True,
        children: bool = True,
    ) -> Page:
        """Features matching every given condition, ordered by id.

        Parameters
        ----------
        bbox
            (min lon, min lat, max lon, max lat); features whose geometry intersects it.
        filters
            field -> accepted values (already typed, see :meth:`parse_filters`).
        q
            Case-insensitive substring of ``name``.
        time_range
            Inclusive bounds on the layer's temporal field (either may be ``None``).
        limit, offset
            Paging; ``limit=None`` returns everything.
        count
            Also count all matching features (``Page.number_matched``).
        """
        layer = self.layer(layer_name)
        t = self.schema.layers[layer.name]
        where = self._where(layer, bbox, filters, q, ids, time_range)
        stmt = self._select_features(layer).where(*where).order_by(t.c.id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.backend.read() as conn:
            page = self._page(conn, layer, stmt, children=children)
            if count:
                page.number_matched = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
        return page

    def value_counts(self, layer_name: str, field: str) -> dict[Any, int]:
        """How many features hold each value of ``field`` (``None`` for empty), counted in SQL."""
        layer = self.layer(layer_name)
        layer.field(field)
        col = self.schema.layers[layer.name].c[field]
        with self.backend.read() as conn:
            return {v: int(n) for v, n in conn.execute(select(col, func.count()).group_by(col))}

    def layer_extent(self, layer_name: str) -> tuple[BBox | None, tuple[dt.datetime | None, dt.datetime | None] | None]:
        """Spatial extent (lon/lat) and the range of the temporal field; ``None`` when empty."""
        layer = self.layer(layer_name)
        t = self.schema.layers[layer.name]
        with self.backend.read() as conn:
            bbox = self.backend.extent(conn, t) if layer.is_spatial else None
            col = t.c[layer.temporal]
            tmin, tmax = conn.execute(select(func.min(col), func.max(col))).one()
        return bbox, (None if tmin is None else (tmin, tmax))

    def get(self, layer_name: str, feature_id: int) -> dict[str, Any]:
        """One feature as a GeoJSON-like dict; :class:`FeatureNotFound` (404) if absent."""
        layer = self.layer(layer_name)
        with self.backend.read() as conn:
            feature = self.fetch(conn, layer, feature_id)
        if feature is None:
            raise FeatureNotFound(f"{layer.label}图层中没有编号为 {feature_id} 的要素")
        return feature

    def parse_filters(self, layer_name: str, raw: Mapping[str, str]) -> dict[str, list[Any]]:
        """Type raw ``field=value[,value…]`` filters; unknown fields or bad values -> 400."""
        layer = self.layer(layer_name)
        out: dict[str, list[Any]] = {}
        problems = []
        for name, text in raw.items():
            if not layer.has_field(name):
                problems.append(Problem(name, f"{layer.label}图层没有字段 {name!r}，无法按其筛选"))
                continue
            f = layer.field(name)
            values = []
            for part in str(text).split(","):
                try:
                    values.append(_coerce(f, part.strip()))
                except ValueError as exc:
                    problems.append(Problem(name, str(exc)))
            out[name] = values
        if problems:
            raise BadQuery(f"{problems[0].field}: {problems[0].message}", problems)
        return out

    def to_geodataframe(self, layer_name: str, **query: Any) -> Any:
        """The layer (or a query on it) as a GeoDataFrame in EPSG:4326, children left out."""
        import geopandas as gpd

        page = self.query(layer_name, limit=None, children=False, count=False, **query)
        layer = page.layer
        columns = ["id", *[f.name for f in layer.fields if f.name != "id"]]
        if not layer.is_spatial:
            import pandas as pd

            return pd.DataFrame(page.rows, columns=columns).set_index("id", drop=False).rename_axis(None)
        frame = gpd.GeoDataFrame(page.rows, columns=columns, geometry=list(page.geometries), crs="EPSG:4326")
        return frame.set_index("id", drop=False).rename_axis(None)

    # ------------------------------------------------------------------ writing
    def create(self, layer_name: str, feature: Any, actor: Actor) -> dict[str, Any]:
        """Validate and store a new feature; return it as stored (with id and version 1)."""
        layer = self.layer(layer_name)
        clean = validate_feature(layer, feature, partial=False, extent=self.extent)
        ids = self.insert_clean(layer.name, [clean], actor, action="create")
        return self.get(layer.name, ids[0])

    def insert_clean(
        self,
        layer_name: str,
        features: Sequence[CleanFeature],
        actor: Actor,
        *,
        action: str = "import",
        note: str | None = None,
        audit_each: bool = True,
    ) -> list[int]:
        """Insert validated features in one transaction (all or nothing); return their ids."""
        layer = self.layer(layer_name)
        t = self.schema.layers[layer.name]
        now = utc_now()
        rows = []
        for feat in features:
            props = self.storage_values(layer, feat.properties)
            props.setdefault("source", None)
            if props["source"] is None:
                props["source"] = f"人工录入（{actor.name}）"
            if layer.is_spatial:
                props["geom"] = self.backend.geom_value(feat.geometry)
            props.update(updated_at=now, version=1)
            rows.append(props)
        if not rows:
            return []
        with self.backend.write() as conn:
            self._check_references(conn, layer, [f.properties for f in features])
            ids = self.backend.insert_rows(conn, t, rows)
            for child in layer.children:
                table = self.schema.children[(layer.name, child.name)]
                child_rows = [
                    {"parent_id": fid, "seq": i, **self.storage_values(child, r)}
                    for fid, feat in zip(ids, features, strict=True)
                    for i, r in enumerate(feat.children.get(child.name, []))
                ]
                if child_rows:
                    conn.execute(insert(table), child_rows)
            if audit_each:
                afters = self.fetch_many(conn, layer, ids)
                self.record_audit(conn, actor, action, layer, [(fid, None, afters[fid]) for fid in ids], note)
            else:
                self.record_audit(conn, actor, action, layer, [(None, None, None)], note)
            self.bump_generation(conn)
        return ids

    def update(
        self,
        layer_name: str,
        feature_id: int,
        feature: Any,
        actor: Actor,
        *,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Apply a partial update (properties and/or geometry); return the feature as stored.

        The version edited comes from ``expected_version`` (e.g. an ``If-Match`` header)
        or from ``properties.version``; without one the update is refused (428).
        """
        layer = self.layer(layer_name)
        clean = validate_feature(layer, feature, partial=True, extent=self.extent)
        version = expected_version if expected_version is not None else clean.version
        if version is None:
            raise VersionRequired(
                "请提供所编辑要素的版本号（properties.version 或 If-Match 请求头），以免覆盖他人的修改"
            )
        t = self.schema.layers[layer.name]
        with self.backend.write() as conn:
            before = self._locked_before(conn, layer, feature_id, version)
            merged = {**before["properties"], **clean.properties}
            missing = [f.name for f in layer.editable_fields if f.required and merged.get(f.name) is None]
            if missing:
                problems = [Problem(f"properties.{n}", "必填项，不能为空") for n in missing]
                raise ValidationFailed(f"{problems[0].field}: {problems[0].message}", problems)
            self._check_references(conn, layer, [clean.properties])
            values = self.storage_values(layer, clean.properties)
            if clean.geometry is not None:
                values["geom"] = self.backend.geom_value(clean.geometry)
            values.update(updated_at=utc_now(), version=t.c.version + 1)
            result = conn.execute(update(t).where(t.c.id == feature_id, t.c.version == version).values(**values))
            if result.rowcount != 1:
                raise VersionConflict(f"{layer.label} {feature_id} 已被他人修改，请刷新后重试")
            for child in layer.children:
                if child.name in clean.children:
                    table = self.schema.children[(layer.name, child.name)]
                    conn.execute(delete(table).where(table.c.parent_id == feature_id))
                    rows = [
                        {"parent_id": feature_id, "seq": i, **self.storage_values(child, r)}
                        for i, r in enumerate(clean.children[child.name])
                    ]
                    if rows:
                        conn.execute(insert(table), rows)
            after = self.fetch(conn, layer, feature_id)
            self.record_audit(conn, actor, "update", layer, [(feature_id, before, after)], None)
            self.bump_generation(conn)
        assert after is not None
        return after

    def delete(self, layer_name: str, feature_id: int, actor: Actor, *, expected_version: int | None) -> None:
        """Delete a feature (and its child rows) if still at ``expected_version``."""
        layer = self.layer(layer_name)
        if expected_version is None:
            raise VersionRequired("删除要素需提供其版本号（If-Match 请求头或 ?version=）")
        t = self.schema.layers[layer.name]
        with self.backend.write() as conn:
            before = self._locked_before(conn, layer, feature_id, expected_version)
            for other, f in self._referrers[layer.name]:
                ot = self.schema.layers[other.name]
                n = conn.execute(select(func.count()).select_from(ot).where(ot.c[f.name] == feature_id)).scalar_one()
                if n:
                    raise VersionConflict(
                        f"{layer.label} {feature_id} 仍有 {n} 个{other.label}（{f.label}）引用，请先删除或改挂这些要素"
                    )
            for child in layer.children:
                table = self.schema.children[(layer.name, child.name)]
                conn.execute(delete(table).where(table.c.parent_id == feature_id))
            conn.execute(delete(t).where(t.c.id == feature_id, t.c.version == expected_version))
            self.record_audit(conn, actor, "delete", layer, [(feature_id, before, None)], None)
            self.bump_generation(conn)

    def set_computed(
        self,
        layer_name: str,
        values: Mapping[int, Mapping[str, Any]],
        actor: Actor = SYSTEM,
        *,
        note: str | None = None,
    ) -> int:
        """Write computed fields (e.g. GB 18218 S, R, grade) of many features; return rows changed.

        Only fields the catalogue marks ``computed`` (and not managed) may be set. The
        features' ``version`` is not bumped: derived values are not edits, so a client
        editing the feature is not refused because a grade was recomputed meanwhile.
        The change is audited once (action ``compute``) and the generation bumped.
        """
        layer = self.layer(layer_name)
        allowed = {f.name for f in layer.fields if f.computed} - MANAGED_FIELDS
        for fid, fields in values.items():
            wrong = set(fields) - allowed
            if wrong:
                raise ValidationFailed(f"{', '.join(sorted(wrong))}: 不是{layer.label}的计算字段（要素 {fid}）")
        t = self.schema.layers[layer.name]
        changed = 0
        with self.backend.write() as conn:
            for fid, fields in values.items():
                if fields:
                    changed += conn.execute(update(t).where(t.c.id == fid).values(**fields)).rowcount
            self.record_audit(conn, actor, "compute", layer, [(None, None, None)], note or f"{changed} 个要素")
            self.bump_generation(conn)
        return changed

    # ------------------------------------------------------------------ audit
    def audit_log(
        self,
        *,
        layer: str | None = None,
        feature_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Audit entries, newest first."""
        a = self.schema.audit
        stmt = select(a).order_by(a.c.id.desc()).limit(limit).offset(offset)
        if layer is not None:
            stmt = stmt.where(a.c.layer == layer)
        if feature_id is not None:
            stmt = stmt.where(a.c.feature_id == feature_id)
        with self.backend.read() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    # ------------------------------------------------------------------ internals
    def _select_features(self, layer: Layer) -> Select:
        t = self.schema.layers[layer.name]
        cols = [t.c[f.name] for f in layer.fields]
        if not layer.is_spatial:
            return select(*cols)
        return select(*cols, self.backend.geom_select(t.c.geom))

    def _where(
        self,
        layer: Layer,
        bbox: BBox | None,
        filters: Mapping[str, Sequence[Any]] | None,
        q: str | None,
        ids: Sequence[int] | None,
        time_range: tuple[dt.datetime | None, dt.datetime | None] | None,
    ) -> list[Any]:
        t = self.schema.layers[layer.name]
        where: list[Any] = []
        if bbox is not None:
            if not layer.is_spatial:
                raise BadQuery(f"bbox: {layer.label}没有几何图形，不能按范围查询")
            where.append(self.backend.bbox_clause(t, bbox))
        for name, values in (filters or {}).items():
            layer.field(name)
            non_null = [v for v in values if v is not None]
            conds = [t.c[name].in_(non_null)] if non_null else []
            if len(non_null) < len(values):
                conds.append(t.c[name].is_(None))
            where.append(or_(*conds))
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(func.lower(t.c.name).like(f"%{escaped.lower()}%", escape="\\"))
        if ids is not None:
            where.append(t.c.id.in_(list(ids)))
        if time_range is not None:
            col = t.c[layer.temporal]
            start, end = time_range
            if start is not None:
                where.append(col >= start)
            if end is not None:
                where.append(col <= end)
        return where

    def _page(self, conn: Connection, layer: Layer, stmt: Select, *, children: bool) -> Page:
        result = conn.execute(stmt).all()
        names = [f.name for f in layer.fields]
        n = len(names)
        rows = [dict(zip(names, r[:n], strict=True)) for r in result]
        if result and layer.is_spatial:
            geoms = self.backend.decode([r[n] for r in result])
        else:
            geoms = np.full(len(rows), None, dtype=object)
        if children and layer.children and rows:
            ids_subq = stmt.with_only_columns(self.schema.layers[layer.name].c.id).scalar_subquery()
            self._attach_children(conn, layer, rows, ids_subq)
        return Page(layer, rows, geoms)

    def _attach_children(self, conn: Connection, layer: Layer, rows: list[dict[str, Any]], ids: Any) -> None:
        by_id = {r["id"]: r for r in rows}
        for child in layer.children:
            table = self.schema.children[(layer.name, child.name)]
            for r in rows:
                r[child.name] = []
            cols = [table.c[f.name] for f in child.fields]
            stmt = (
                select(table.c.parent_id, *cols)
                .where(table.c.parent_id.in_(ids))
                .order_by(table.c.parent_id, table.c.seq)
            )
            names = [f.name for f in child.fields]
            for rec in conn.execute(stmt):
                by_id[rec[0]][child.name].append(dict(zip(names, rec[1:], strict=True)))

    def fetch(self, conn: Connection, layer: Layer, feature_id: int) -> dict[str, Any] | None:
        """One feature read inside the caller's transaction (``None`` if absent)."""
        return self.fetch_many(conn, layer, [feature_id]).get(feature_id)

    def fetch_many(self, conn: Connection, layer: Layer, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Features by id, read inside the caller's transaction."""
        t = self.schema.layers[layer.name]
        out: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), 5000):
            chunk = list(ids[start : start + 5000])
            stmt = self._select_features(layer).where(t.c.id.in_(chunk)).order_by(t.c.id)
            page = self._page(conn, layer, stmt, children=True)
            for feat in page.features():
                out[feat["id"]] = feat
        return out

    def _locked_before(self, conn: Connection, layer: Layer, feature_id: int, version: int) -> dict[str, Any]:
        t = self.schema.layers[layer.name]
        current = conn.execute(self.backend.lock(select(t.c.version).where(t.c.id == feature_id))).first()
        if current is None:
            raise FeatureNotFound(f"{layer.label}图层中没有编号为 {feature_id} 的要素")
        if current[0] != version:
            last = self._last_writer(conn, layer, feature_id)
            raise VersionConflict(
                f"{layer.label} {feature_id} 已被修改：您编辑的是版本 {version}，当前为版本 "
                f"{current[0]}{last}；请重新读取后再提交"
            )
        before = self.fetch(conn, layer, feature_id)
        assert before is not None
        return before

    def _last_writer(self, conn: Connection, layer: Layer, feature_id: int) -> str:
        a = self.schema.audit
        row = conn.execute(
            select(a.c.actor, a.c.at)
            .where(a.c.layer == layer.name, a.c.feature_id == feature_id)
            .order_by(a.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return ""
        when = row[1].astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
        return f"（最后由 {row[0]} 于 {when} 修改）"

    def _check_references(self, conn: Connection, layer: Layer, props: Iterable[Mapping[str, Any]]) -> None:
        props = list(props)
        for f in layer.fields:
            if f.references:
                self._ensure_exist(conn, f.references, f"properties.{f.name}", {p.get(f.name) for p in props})
        if layer.has_field("site_layer"):
            for p in props:
                site_layer, site_id = p.get("site_layer"), p.get("site_id")
                if (site_layer is None) != (site_id is None) and ("site_layer" in p or "site_id" in p):
                    raise ValidationFailed(
                        "properties.site_id: 所属场所类型与编号须同时填写",
                        [Problem("properties.site_id", "所属场所类型与编号须同时填写")],
                    )
                if site_layer is not None and site_id is not None:
                    self._ensure_exist(conn, site_layer, "properties.site_id", {site_id})

    def _ensure_exist(self, conn: Connection, target: str, where: str, wanted: set[Any]) -> None:
        wanted.discard(None)
        if not wanted:
            return
        t = self.schema.layers[target]
        found = set(conn.execute(select(t.c.id).where(t.c.id.in_(list(wanted)))).scalars())
        missing = sorted(wanted - found)
        if missing:
            label = self.layers[target].label
            message = f"{label}中没有编号为 {', '.join(map(str, missing[:10]))} 的要素"
            raise ValidationFailed(f"{where}: {message}", [Problem(where, message)])

    def storage_values(self, owner: Any, props: Mapping[str, Any]) -> dict[str, Any]:
        """Validated properties as column values (times made aware, to the millisecond)."""
        out = {}
        for f in owner.fields:
            if f.name in MANAGED_FIELDS or f.name not in props:
                continue
            value = props[f.name]
            if f.type == "datetime" and isinstance(value, dt.datetime):
                value = _millis(value if value.tzinfo else value.replace(tzinfo=self.tz))
            out[f.name] = value
        return out

    def record_audit(
        self,
        conn: Connection,
        actor: Actor,
        action: str,
        layer: Layer,
        entries: list[tuple[int | None, dict[str, Any] | None, dict[str, Any] | None]],
        note: str | None,
    ) -> None:
        """Write audit rows inside the caller's write transaction.

        ``entries`` are (feature id, before, after) with features as GeoJSON-like dicts
        (``None`` for "did not exist"); other modules of ``layers`` that change several
        tables in one transaction (e.g. dispatch) record their writes with it.
        """
        now = utc_now()
        rows = [
            {
                "at": now,
                "actor": actor.name,
                "role": actor.role,
                "action": action,
                "layer": layer.name,
                "feature_id": fid,
                "before": _jsonable(before),
                "after": _jsonable(after),
                "note": note,
            }
            for fid, before, after in entries
        ]
        conn.execute(insert(self.schema.audit), rows)

    def bump_generation(self, conn: Connection) -> None:
        """Mark the data as changed (map caches, live updates) inside a write transaction."""
        meta = self.schema.meta
        updated = conn.execute(
            update(meta).where(meta.c.key == "generation").values(value=cast(cast(meta.c.value, Integer) + 1, Text))
        )
        if updated.rowcount == 0:
            conn.execute(insert(meta).values(key="generation", value="1"))


def _millis(value: dt.datetime) -> dt.datetime:
    # Both stores keep milliseconds (GeoPackage's DATETIME format), so they agree exactly.
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utc_now() -> dt.datetime:
    """Now, in UTC, to the millisecond (what both stores keep)."""
    return _millis(dt.datetime.now(dt.UTC))


def _jsonable(feature: Mapping[str, Any] | None) -> Any:
    if feature is None:
        return None
    return orjson.loads(orjson.dumps(feature, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, BaseGeometry):
        return shapely.geometry.mapping(value)
    raise TypeError(type(value).__name__)


def _coerce(f: Field, text: str) -> Any:
    if text.lower() in ("null", "none") and not f.required:
        return None
    if f.type == "enum":
        assert f.enum is not None
        from safemap.layers.schemas import _enum_aliases

        code = _enum_aliases(f.enum).get(text.lower(), _enum_aliases(f.enum).get(text))
        if code is None:
            raise ValueError(f"取值无效（收到 {text!r}），可选：{f.enum.describe()}")
        return code
    try:
        if f.type == "int":
            return int(text)
        if f.type == "float":
            return float(text)
        if f.type == "bool":
            if text.lower() in ("true", "1", "yes", "是"):
                return True
            if text.lower() in ("false", "0", "no", "否"):
                return False
            raise ValueError
        if f.type == "date":
            return dt.date.fromisoformat(text)
        if f.type == "datetime":
            return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} 不是有效的{_TYPE_NAMES[f.type]}") from None
    return text


_TYPE_NAMES = {
    "int": "整数",
    "float": "数值",
    "bool": "是/否（true/false）",
    "date": "日期",
    "datetime": "时间",
}

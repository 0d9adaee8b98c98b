"""The feature store: create, read, update, delete, query and audit — one behaviour on both backends.

:class:`FeatureStore` talks SQL through SQLAlchemy Core; the backend (any
:class:`~layers.backend.Backend`: :class:`~layers.postgis.PostGISBackend` or
:class:`~layers.geopackage.GeoPackageBackend`) supplies transactions, geometry encoding
and the spatial-index filter. Open one with :func:`open_store`, which
also seeds the reference tables.

Its pieces live beside it: the value types in :mod:`layers.model`, the SELECT
statements in :mod:`layers.queries`, the unit of work (:meth:`FeatureStore.transaction`)
in :mod:`layers.transaction`, the audit log and generation counter in
:mod:`layers.audit`, and DataFrames in :mod:`layers.frames`.

Concurrency: every feature has a ``version``; an update or delete must quote the
version it read, and is refused with :class:`~layers.errors.VersionConflict` when
someone else wrote in between (checked under a row lock in PostGIS, under the
write lock in GeoPackage, and again in the ``UPDATE … WHERE version = :v``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from safemap.layers import audit, paths
from safemap.layers.backend import Backend
from safemap.layers.catalogue import MANAGED_FIELDS, Layer
from safemap.layers.counties import DEFAULT_COUNTY_CODE, normalise_code
from safemap.layers.definitions import LAYERS
from safemap.layers.errors import FeatureNotFound, Problem, ValidationFailed, VersionConflict, VersionRequired
from safemap.layers.frames import page_frame
from safemap.layers.geojson import features_bytes
from safemap.layers.geojson_gpkg import read_json_page
from safemap.layers.geojson_sql import FeatureStream, stream_features
from safemap.layers.ingest import failure, read_features
from safemap.layers.labels import problem_text
from safemap.layers.migrations import ensure_schema
from safemap.layers.model import SYSTEM, Actor, BBox, Feature, Page, TimeRange, utc_now
from safemap.layers.queries import order_clauses, parse_sort, select_features, where_clauses
from safemap.layers.tables import Schema, build_schema
from safemap.layers.transaction import Transaction, lookup_layer
from safemap.layers.validation import CleanFeature, Extent, validate_feature

DEFAULT_TZ = "Asia/Shanghai"


def open_store(target: str | Path, *, lock_timeout: float | None = None, **kwargs: Any) -> FeatureStore:
    """Open (creating or upgrading) the store at a PostgreSQL URL or a GeoPackage path.

    Reference tables (catalogue entries with a ``seed``) created by this opening are
    loaded from their CSV under ``data/``; a table that already existed is left as it
    is, so an admin's edits survive reopening. ``lock_timeout`` is how many seconds a
    write waits for a lock before :class:`~layers.errors.StoreBusy` (default 5).
    ``kwargs`` go to :class:`FeatureStore`.
    """
    text_target = str(target)
    backend: Backend
    waits: dict[str, Any] = {} if lock_timeout is None else {"lock_timeout": lock_timeout}
    if text_target.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        from safemap.layers.postgis import PostGISBackend

        backend = PostGISBackend(text_target.replace("postgres://", "postgresql://", 1), **waits)
    else:
        from safemap.layers.geopackage import GeoPackageBackend

        backend = GeoPackageBackend(text_target, **waits)
    store = FeatureStore(backend, **kwargs)
    _seed(store, [layer for layer in store.layers.values() if layer.seed and layer.name in store.created])
    return store


def _seed(store: FeatureStore, layers: list[Layer]) -> None:
    """Load reference tables (e.g. separation rules) from ``data/``, as an import by :data:`SYSTEM`."""
    for layer in layers:
        assert layer.seed is not None
        path = paths.DATA_DIR / layer.seed
        found = read_features(layer, path, extent=store.extent)
        if found.problems:
            raise failure(layer, path, found.problems)
        if found.cleans:
            store.insert_clean(layer.name, found.cleans, SYSTEM, action="import", note=f"导入 {path.name}")


class FeatureStore:
    """All layers of the catalogue in one database.

    Parameters
    ----------
    backend
        The database (see :mod:`layers.backend`).
    extent
        Where features may lie (validation refuses others); ``None`` for anywhere.
    local_tz
        Time zone of naive times and of messages.
    layers
        The catalogue.
    county_code
        行政区划代码 of the county whose rows this store holds: the default of every row's
        ``county_code``; a store recorded as another county's is refused (:class:`SchemaError`).

    Attributes
    ----------
    created
        Names of the tables this opening created (a new store: all of them), so
        :func:`open_store` can seed the new reference tables.
    previous_version
        Schema version found before opening (0 for a new store).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        extent: Extent | None = None,
        local_tz: str = DEFAULT_TZ,
        layers: tuple[Layer, ...] = LAYERS,
        county_code: str = DEFAULT_COUNTY_CODE,
    ) -> None:
        self.backend = backend
        self.extent = extent
        self.tz = ZoneInfo(local_tz)
        self.layers = {layer.name: layer for layer in layers}
        self.county_code = normalise_code(county_code)
        self.schema: Schema = build_schema(backend.types, layers, county_code=self.county_code)
        self.created: list[str] = []
        self.previous_version = ensure_schema(backend, self.schema, created=self.created, tz=self.tz)
        self._referrers = {
            name: [(other, f) for other in layers for f in other.fields if f.references == name] for name in self.layers
        }

    # ------------------------------------------------------------------ basics
    @property
    def kind(self) -> str:
        """``postgis`` or ``geopackage``."""
        return str(self.backend.name)

    def layer(self, name: str) -> Layer:
        """The catalogue entry of ``name``; :class:`UnknownLayer` (404) if none."""
        return lookup_layer(self.layers, name)

    def close(self) -> None:
        """Release connections (and checkpoint a GeoPackage's write-ahead log)."""
        self.backend.dispose()

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Transaction]:
        """A unit of work: everything done through the yielded handle commits together.

        A write transaction (the default) locks what it reads with
        :meth:`Transaction.lock`: rows on PostGIS, the database on GeoPackage
        (``BEGIN IMMEDIATE``). ``readonly=True`` gives a consistent read-only snapshot.
        An exception inside the block rolls everything back.
        """
        opened = self.backend.read() if readonly else self.backend.write()
        with opened as conn:
            yield Transaction(conn, backend=self.backend, schema=self.schema, layers=self.layers, tz=self.tz)

    def generation(self) -> int:
        """A number that changes whenever any feature is written (for caches)."""
        with self.backend.read() as conn:
            return audit.generation(conn, self.schema)

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
        time_range: TimeRange | None = None,
        limit: int | None = 1000,
        offset: int = 0,
        count: bool = True,
        children: bool = True,
        sort: str | None = None,
        owner: int | None = None,
        counties: Sequence[str] | None = None,
    ) -> Page:
        """Features matching every given condition, ordered by ``sort`` then id.

        Parameters
        ----------
        bbox
            (min lon, min lat, max lon, max lat); features whose geometry intersects it.
        filters
            field -> accepted values (already typed, e.g. by the HTTP layer's ``parse_filters``).
        q
            Case-insensitive substring of ``name``.
        time_range
            Inclusive bounds on the layer's temporal field (either may be ``None``).
        limit, offset
            Paging; ``limit=None`` returns everything.
        count
            Also count all matching features (``Page.number_matched``).
        sort
            Fields to order by, comma-separated, ``-`` for descending (``-updated_at,name``);
            enumerations in display order, empty values last. :class:`BadQuery` (400) for
            a field the layer lacks.
        owner
            An enterprise id: only its rows (an enterprise user's reads, :mod:`layers.row_access`).
        counties
            行政区划代码 whose rows the reader may see (:mod:`layers.counties`); ``None`` for all.
        """
        layer = self.layer(layer_name)
        t = self.schema.layers[layer.name]
        where = where_clauses(
            self.schema,
            self.backend,
            layer,
            bbox=bbox,
            filters=filters,
            q=q,
            ids=ids,
            time_range=time_range,
            owner=owner,
            counties=counties,
        )
        order = order_clauses(self.schema, layer, parse_sort(layer, sort))
        stmt = select_features(self.schema, self.backend, layer).where(*where).order_by(*order).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.transaction(readonly=True) as tx:
            page = tx.read_page(layer, stmt, children=children)
            if count:
                page.number_matched = int(tx.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
        return page

    def query_geojson(
        self,
        layer_name: str,
        *,
        bbox: BBox | None = None,
        filters: Mapping[str, Sequence[Any]] | None = None,
        q: str | None = None,
        time_range: TimeRange | None = None,
        limit: int = 1000,
        offset: int = 0,
        sort: str | None = None,
        owner: int | None = None,
        counties: Sequence[str] | None = None,
    ) -> FeatureStream:
        """:meth:`query` as GeoJSON text: the features, comma-separated, and the counts.

        The same conditions, order and paging as :meth:`query`. PostGIS writes the text and
        it is streamed from a server-side cursor (:mod:`layers.geojson_sql`); a GeoPackage
        page is read without per-value conversion (:mod:`layers.geojson_gpkg`) and written
        by :mod:`layers.geojson`.
        """
        layer = self.layer(layer_name)
        t = self.schema.layers[layer.name]
        where = where_clauses(
            self.schema,
            self.backend,
            layer,
            bbox=bbox,
            filters=filters,
            q=q,
            time_range=time_range,
            owner=owner,
            counties=counties,
        )
        order = order_clauses(self.schema, layer, parse_sort(layer, sort))
        if self.backend.name == "postgis":
            return stream_features(self.backend.read(), self.schema, layer, where, order, limit, offset)
        with self.transaction(readonly=True) as tx:
            matched = int(tx.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
            page = read_json_page(tx, self.schema, self.backend, layer, where, order, limit, offset)
        return FeatureStream(matched, len(page), iter([features_bytes(page)]), ExitStack())

    def value_counts(self, layer_name: str, field: str) -> dict[Any, int]:
        """How many features hold each value of ``field`` (``None`` for empty), counted in SQL."""
        layer = self.layer(layer_name)
        layer.field(field)
        col = self.schema.layers[layer.name].c[field]
        with self.backend.read() as conn:
            return {v: int(n) for v, n in conn.execute(select(col, func.count()).group_by(col))}

    def layer_extent(self, layer_name: str) -> tuple[BBox | None, TimeRange | None]:
        """Spatial extent (lon/lat) and the range of the temporal field; ``None`` when empty."""
        layer = self.layer(layer_name)
        t = self.schema.layers[layer.name]
        with self.backend.read() as conn:
            bbox = self.backend.extent(conn, t) if layer.is_spatial else None
            col = t.c[layer.temporal]
            tmin, tmax = conn.execute(select(func.min(col), func.max(col))).one()
        return bbox, (None if tmin is None else (tmin, tmax))

    def get(self, layer_name: str, feature_id: int, *, counties: Sequence[str] | None = None) -> Feature:
        """One feature as a GeoJSON-like dict; :class:`FeatureNotFound` (404) if absent.

        ``counties``: the reader's counties; a row of another county is absent for them (404, not 403:
        whether it exists is not theirs to know).
        """
        layer = self.layer(layer_name)
        with self.transaction(readonly=True) as tx:
            feature = tx.fetch(layer, feature_id)
        if feature is not None and counties is not None and feature["properties"].get("county_code") not in counties:
            feature = None
        if feature is None:
            raise FeatureNotFound(f"{layer.label}图层中没有编号为 {feature_id} 的要素")
        return feature

    def to_geodataframe(self, layer_name: str, **query: Any) -> Any:
        """The layer (or a query on it) as a GeoDataFrame in EPSG:4326, children left out."""
        return page_frame(self.query(layer_name, limit=None, children=False, count=False, **query))

    # ------------------------------------------------------------------ writing
    def create(self, layer_name: str, feature: Any, actor: Actor) -> Feature:
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
        """Insert validated features in one transaction (all or nothing); return their ids.

        On GeoPackage, several features are first staged outside the write lock, which is
        then held only to copy them (:mod:`layers.staging`), so edits go on during an import.
        """
        layer = self.layer(layer_name)
        if not features:
            return []
        now = utc_now()
        from safemap.layers.geopackage import GeoPackageBackend

        if len(features) > 1 and isinstance(self.backend, GeoPackageBackend):
            from safemap.layers.staging import insert_staged

            return insert_staged(
                self.backend,
                self.schema,
                self.layers,
                self.tz,
                layer,
                features,
                actor,
                action=action,
                note=note,
                audit_each=audit_each,
                now=now,
            )
        with self.transaction() as tx:
            tx.check_references(layer, [f.properties for f in features])
            ids = tx.insert(layer, features, actor, now=now)
            if audit_each:
                afters = tx.fetch_many(layer, ids)
                tx.record_audit(actor, action, layer, [(fid, None, afters[fid]) for fid in ids], note)
            else:
                tx.record_audit(actor, action, layer, [(None, None, None)], note)
            tx.bump_generation()
        return ids

    def update(
        self,
        layer_name: str,
        feature_id: int,
        feature: Any,
        actor: Actor,
        *,
        expected_version: int | None = None,
    ) -> Feature:
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
        with self.transaction() as tx:
            before = tx.lock_version(layer, feature_id, version)
            merged = {**before["properties"], **clean.properties}
            missing = [f.name for f in layer.editable_fields if f.required and merged.get(f.name) is None]
            if missing:
                problems = [Problem(f"properties.{n}", "必填项，不能为空") for n in missing]
                raise ValidationFailed(problem_text(problems[0].field, problems[0].message, layer), problems)
            tx.check_references(layer, [clean.properties])
            values = tx.storage_values(layer, clean.properties)
            if clean.geometry is not None:
                values["geom"] = self.backend.geom_value(clean.geometry)
            if not tx.update(layer.name, feature_id, values, only_if={"version": version}):
                raise VersionConflict(f"{layer.label} {feature_id} 已被他人修改，请刷新后重试")
            for child in layer.children:
                if child.name in clean.children:
                    tx.replace_children(layer, feature_id, child, clean.children[child.name])
            after = tx.fetch(layer, feature_id)
            tx.record_audit(actor, "update", layer, [(feature_id, before, after)], None)
            tx.bump_generation()
        assert after is not None
        return after

    def delete(self, layer_name: str, feature_id: int, actor: Actor, *, expected_version: int | None) -> None:
        """Delete a feature (and its child rows) if still at ``expected_version``."""
        layer = self.layer(layer_name)
        if expected_version is None:
            raise VersionRequired("删除要素需提供其版本号（If-Match 请求头或 ?version=）")
        with self.transaction() as tx:
            before = tx.lock_version(layer, feature_id, expected_version)
            for other, f in self._referrers[layer.name]:
                n = tx.count_referrers(other, f.name, feature_id)
                if n:
                    raise VersionConflict(
                        f"{layer.label} {feature_id} 仍有 {n} 个{other.label}（{f.label}）引用，请先删除或改挂这些要素"
                    )
            tx.delete(layer, feature_id, version=expected_version)
            tx.record_audit(actor, "delete", layer, [(feature_id, before, None)], None)
            tx.bump_generation()

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
        changed = 0
        with self.transaction() as tx:
            for fid, fields in values.items():
                if fields:
                    changed += tx.set_values(layer.name, fid, fields)
            tx.record_audit(actor, "compute", layer, [(None, None, None)], note or f"{changed} 个要素")
            tx.bump_generation()
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
        with self.backend.read() as conn:
            return audit.audit_entries(
                conn, self.schema, layer=layer, feature_id=feature_id, limit=limit, offset=offset
            )

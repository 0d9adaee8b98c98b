"""A unit of work on the feature store: reads, locked reads and writes under one transaction.

``with store.transaction() as tx:`` opens a write transaction and yields a
:class:`Transaction`; everything done through it commits together when the block
ends, or rolls back together when it raises. ``store.transaction(readonly=True)``
gives a read-only snapshot. The store's own writes (create, update, delete, import)
and the modules that change several tables at once (:mod:`layers.dispatching`,
:mod:`layers.tokens`) use the same handle.

Locking: :meth:`Transaction.lock` reads a feature and keeps it locked until the
transaction ends — a row lock (``SELECT … FOR UPDATE``) on PostGIS; on GeoPackage
the write transaction began with ``BEGIN IMMEDIATE`` and holds the database write
lock, so writers are serialised. A conditional :meth:`Transaction.update` (``UPDATE …
WHERE status = 'available'``) then lets the database decide which of two concurrent
writers wins: the second re-reads the committed row and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Select, Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection, CursorResult

from safemap.layers import audit
from safemap.layers.backend import Backend
from safemap.layers.catalogue import MANAGED_FIELDS, ChildTable, Layer
from safemap.layers.errors import FeatureNotFound, Problem, UnknownLayer, ValidationFailed, VersionConflict
from safemap.layers.labels import problem_text
from safemap.layers.model import Actor, AuditEntry, Feature, Page, to_millis, utc_now
from safemap.layers.queries import select_features
from safemap.layers.tables import Schema
from safemap.layers.validation import CleanFeature

FETCH_CHUNK = 5000
"""Ids per SELECT when fetching many features."""


def lookup_layer(layers: Mapping[str, Layer], name: str) -> Layer:
    """The catalogue entry of ``name``; :class:`UnknownLayer` (404) if none."""
    try:
        return layers[name]
    except KeyError:
        known = ", ".join(layers)
        raise UnknownLayer(f"没有图层 {name!r}；现有图层：{known}") from None


def storage_values(owner: Layer | ChildTable, props: Mapping[str, Any], tz: dt.tzinfo) -> dict[str, Any]:
    """Validated properties as column values (naive times taken as ``tz``, to the millisecond)."""
    out = {}
    for f in owner.fields:
        if f.name in MANAGED_FIELDS or f.name not in props:
            continue
        value = props[f.name]
        if f.type == "datetime" and isinstance(value, dt.datetime):
            value = to_millis(value if value.tzinfo else value.replace(tzinfo=tz))
        out[f.name] = value
    return out


class Transaction:
    """The store's operations inside one open transaction (see the module docstring).

    Made by :meth:`FeatureStore.transaction <layers.store.FeatureStore.transaction>`;
    valid only inside its ``with`` block.
    """

    def __init__(
        self,
        conn: Connection,
        *,
        backend: Backend,
        schema: Schema,
        layers: Mapping[str, Layer],
        tz: dt.tzinfo,
    ) -> None:
        self._conn = conn
        self._backend = backend
        self._schema = schema
        self._layers = layers
        self._tz = tz

    # ------------------------------------------------------------------ tables and SQL
    def layer(self, name: str) -> Layer:
        """The catalogue entry of ``name``; :class:`UnknownLayer` (404) if none."""
        return lookup_layer(self._layers, name)

    def table(self, layer_name: str) -> Table:
        """The table of a layer (for statements of the caller's own)."""
        return self._schema.layers[self.layer(layer_name).name]

    def child_table(self, layer_name: str, child_name: str) -> Table:
        """The table of a layer's child rows (``parent_id``, ``seq`` and the child's fields)."""
        return self._schema.children[(layer_name, child_name)]

    @property
    def audit_table(self) -> Table:
        """The audit log (read it here; write it with :meth:`record_audit`)."""
        return self._schema.audit

    @property
    def tokens_table(self) -> Table:
        """The API tokens (hashes only)."""
        return self._schema.tokens

    @property
    def users_table(self) -> Table:
        """The people who sign in (password hashes only)."""
        return self._schema.users

    @property
    def sessions_table(self) -> Table:
        """The sign-in sessions (secret hashes only)."""
        return self._schema.sessions

    @property
    def backend_name(self) -> str:
        """``postgis`` or ``geopackage``: for the few statements only one of them has (advisory locks)."""
        return str(self._backend.name)

    @property
    def photos_table(self) -> Table:
        """``safemap_photos``: the bytes of hidden-danger photos."""
        return self._schema.photos

    def execute(self, statement: Any, parameters: Mapping[str, Any] | None = None) -> CursorResult[*tuple[Any, ...]]:
        """Run a statement of the caller's own inside this transaction."""
        return self._conn.execute(statement, parameters)

    # ------------------------------------------------------------------ reading
    def read_page(self, layer: Layer, stmt: Select[Any], *, children: bool) -> Page:
        """Run a :func:`~layers.queries.select_features` statement; rows, geometries and child rows."""
        result = self._conn.execute(stmt).all()
        names = [f.name for f in layer.fields]
        n = len(names)
        rows = [dict(zip(names, r[:n], strict=True)) for r in result]
        if result and layer.is_spatial:
            geoms = self._backend.decode([r[n] for r in result])
        else:
            geoms = np.full(len(rows), None, dtype=object)
        if children and layer.children and rows:
            ids_subq = stmt.with_only_columns(self._schema.layers[layer.name].c.id).scalar_subquery()
            self._attach_children(layer, rows, ids_subq)
        return Page(layer, rows, geoms)

    def attach_children(self, layer: Layer, rows: list[dict[str, Any]], ids: Any) -> None:
        """Give each row (by ``id``) the lists of its child rows, for the feature ids selected by ``ids``."""
        self._attach_children(layer, rows, ids)

    def _attach_children(self, layer: Layer, rows: list[dict[str, Any]], ids: Any) -> None:
        # Keyed by county too: a prefecture's copy holds the same ids from several counties.
        by_key = {(r.get("county_code"), r["id"]): r for r in rows}
        for child in layer.children:
            table = self._schema.children[(layer.name, child.name)]
            for r in rows:
                r[child.name] = []
            cols = [table.c[f.name] for f in child.fields]
            stmt = (
                select(table.c.county_code, table.c.parent_id, *cols)
                .where(table.c.parent_id.in_(ids))
                .order_by(table.c.parent_id, table.c.seq)
            )
            names = [f.name for f in child.fields]
            for rec in self._conn.execute(stmt):
                parent = by_key.get((rec[0], rec[1]))
                if parent is not None:
                    parent[child.name].append(dict(zip(names, rec[2:], strict=True)))

    def fetch(self, layer: Layer | str, feature_id: int) -> Feature | None:
        """One feature as a GeoJSON-like dict (``None`` if absent)."""
        return self.fetch_many(layer, [feature_id]).get(feature_id)

    def fetch_many(self, layer: Layer | str, ids: Sequence[int]) -> dict[int, Feature]:
        """Features by id (absent ids are left out), with their child rows."""
        layer = self.layer(layer) if isinstance(layer, str) else layer
        t = self._schema.layers[layer.name]
        out: dict[int, Feature] = {}
        for start in range(0, len(ids), FETCH_CHUNK):
            chunk = list(ids[start : start + FETCH_CHUNK])
            stmt = select_features(self._schema, self._backend, layer).where(t.c.id.in_(chunk)).order_by(t.c.id)
            for feat in self.read_page(layer, stmt, children=True).features():
                out[feat["id"]] = feat
        return out

    def lock(self, layer_name: str, feature_id: int) -> Feature:
        """Lock a feature until the transaction ends and read it; :class:`FeatureNotFound` if absent."""
        layer = self.layer(layer_name)
        t = self._schema.layers[layer.name]
        if self._conn.execute(self._backend.lock(select(t.c.id).where(t.c.id == feature_id))).first() is None:
            raise FeatureNotFound(f"{layer.label}中没有编号为 {feature_id} 的要素")
        found = self.fetch(layer, feature_id)
        assert found is not None
        return found

    def lock_version(self, layer: Layer, feature_id: int, version: int) -> Feature:
        """Lock and read a feature that must still be at ``version``.

        Raises :class:`FeatureNotFound` if absent and :class:`VersionConflict` (naming who
        last wrote it, and when) if someone else wrote it since that version was read.
        """
        t = self._schema.layers[layer.name]
        current = self._conn.execute(self._backend.lock(select(t.c.version).where(t.c.id == feature_id))).first()
        if current is None:
            raise FeatureNotFound(f"{layer.label}图层中没有编号为 {feature_id} 的要素")
        if current[0] != version:
            last = audit.last_writer(self._conn, self._schema, layer.name, feature_id, self._tz)
            raise VersionConflict(
                f"{layer.label} {feature_id} 已被修改：您编辑的是版本 {version}，当前为版本 "
                f"{current[0]}{last}；请重新读取后再提交"
            )
        before = self.fetch(layer, feature_id)
        assert before is not None
        return before

    def count_referrers(self, layer: Layer, field_name: str, feature_id: int) -> int:
        """How many features of ``layer`` refer to ``feature_id`` in ``field_name``."""
        t = self._schema.layers[layer.name]
        stmt = select(func.count()).select_from(t).where(t.c[field_name] == feature_id)
        return int(self._conn.execute(stmt).scalar_one())

    def check_references(self, layer: Layer, props: Iterable[Mapping[str, Any]]) -> None:
        """Refuse (:class:`ValidationFailed`) properties that refer to features that do not exist."""
        props = list(props)
        for f in layer.fields:
            if f.references:
                self._ensure_exist(f.references, f"properties.{f.name}", {p.get(f.name) for p in props})
        if layer.has_field("site_layer"):
            for p in props:
                site_layer, site_id = p.get("site_layer"), p.get("site_id")
                if (site_layer is None) != (site_id is None) and ("site_layer" in p or "site_id" in p):
                    raise ValidationFailed(
                        problem_text("properties.site_id", "所属场所类型与编号须同时填写", layer),
                        [Problem("properties.site_id", "所属场所类型与编号须同时填写")],
                    )
                if site_layer is not None and site_id is not None:
                    self._ensure_exist(site_layer, "properties.site_id", {site_id})

    def _ensure_exist(self, target: str, where: str, wanted: set[Any]) -> None:
        wanted.discard(None)
        if not wanted:
            return
        t = self._schema.layers[target]
        found = set(self._conn.execute(select(t.c.id).where(t.c.id.in_(list(wanted)))).scalars())
        missing = sorted(wanted - found)
        if missing:
            label = self._layers[target].label
            message = f"{label}中没有编号为 {', '.join(map(str, missing[:10]))} 的要素"
            raise ValidationFailed(problem_text(where, message), [Problem(where, message)])

    # ------------------------------------------------------------------ writing
    def storage_values(self, owner: Layer | ChildTable, props: Mapping[str, Any]) -> dict[str, Any]:
        """Validated properties as column values (see :func:`storage_values`)."""
        return storage_values(owner, props, self._tz)

    def insert(
        self,
        layer: Layer,
        features: Sequence[CleanFeature],
        actor: Actor,
        *,
        now: dt.datetime | None = None,
        ids: Sequence[int] | None = None,
    ) -> list[int]:
        """Insert validated features with their child rows at version 1; return their ids.

        A feature without ``source`` is credited to ``actor`` (人工录入). References are
        not checked here: call :meth:`check_references` first where they may be stale.
        ``ids`` gives the features these ids (staging, :mod:`layers.staging`) instead of
        the next free ones.
        """
        now = utc_now() if now is None else now
        rows = []
        for feat in features:
            props = self.storage_values(layer, feat.properties)
            props.setdefault("source", None)
            if props["source"] is None:
                props["source"] = f"人工录入（{actor.name}）"
            if layer.is_spatial:
                props["geom"] = None if feat.geometry is None else self._backend.geom_value(feat.geometry)
            props.update(updated_at=now, version=1)
            rows.append(props)
        if not rows:
            return []
        if ids is None:
            ids = self._backend.insert_rows(self._conn, self._schema.layers[layer.name], rows)
        else:
            ids = list(ids)
            for row, fid in zip(rows, ids, strict=True):
                row["id"] = fid
            self._conn.execute(insert(self._schema.layers[layer.name]), rows)
        for child in layer.children:
            table = self._schema.children[(layer.name, child.name)]
            child_rows = [
                {"parent_id": fid, "seq": i, **self.storage_values(child, r)}
                for fid, feat in zip(ids, features, strict=True)
                for i, r in enumerate(feat.children.get(child.name, []))
            ]
            if child_rows:
                self._conn.execute(insert(table), child_rows)
        return ids

    def update(
        self,
        layer_name: str,
        feature_id: int,
        values: Mapping[str, Any],
        *,
        only_if: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Set column ``values`` of a feature, bump its version and ``updated_at``; True if it changed.

        ``only_if`` maps fields to the value they must hold (or a tuple/list of values
        one of which they must hold) for the update to happen: a compare-and-set the
        database decides, so of two concurrent transactions only one succeeds.
        """
        t = self.table(layer_name)
        conds = [t.c.id == feature_id]
        for name, expected in (only_if or {}).items():
            col = t.c[name]
            conds.append(col.in_(list(expected)) if isinstance(expected, tuple | list) else col == expected)
        stamped = {**values, "version": t.c.version + 1, "updated_at": utc_now() if now is None else now}
        return bool(self._conn.execute(update(t).where(*conds).values(**stamped)).rowcount == 1)

    def set_values(self, layer_name: str, feature_id: int, values: Mapping[str, Any]) -> int:
        """Set column ``values`` without touching the version (derived values); rows changed."""
        t = self.table(layer_name)
        return int(self._conn.execute(update(t).where(t.c.id == feature_id).values(**values)).rowcount)

    def replace_children(
        self, layer: Layer, feature_id: int, child: ChildTable, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Replace a feature's child rows of one child table (validated properties, in order)."""
        table = self._schema.children[(layer.name, child.name)]
        self._conn.execute(delete(table).where(table.c.parent_id == feature_id))
        values = [{"parent_id": feature_id, "seq": i, **self.storage_values(child, r)} for i, r in enumerate(rows)]
        if values:
            self._conn.execute(insert(table), values)

    def delete(self, layer: Layer, feature_id: int, *, version: int) -> None:
        """Delete a feature at ``version`` and its child rows."""
        t = self._schema.layers[layer.name]
        for child in layer.children:
            table = self._schema.children[(layer.name, child.name)]
            self._conn.execute(delete(table).where(table.c.parent_id == feature_id))
        self._conn.execute(delete(t).where(t.c.id == feature_id, t.c.version == version))

    def record_audit(
        self, actor: Actor, action: str, layer: Layer | str, entries: Sequence[AuditEntry], note: str | None
    ) -> None:
        """Audit changes: ``entries`` are (feature id, before, after) as GeoJSON-like dicts."""
        name = layer if isinstance(layer, str) else layer.name
        audit.record_audit(self._conn, self._schema, actor, action, name, entries, note)

    def bump_generation(self) -> None:
        """Mark the data as changed (map caches, live updates)."""
        audit.bump_generation(self._conn, self._schema)

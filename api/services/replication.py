"""Reporting upward (实时上报): set up county → prefecture → region replication and say how far behind each county is.

The engine is PostgreSQL's logical replication (:mod:`safemap.layers.replication`); this
module adds the rules people read: which county is which (names from the catalogue of
counties), how stale each county's data is (数据延迟, from the heartbeat each county writes
every few seconds, :class:`HeartbeatWorker`), whether its subscription streams, is still
copying, or stopped, and whether its schema is ahead of the hub's (upgrade the hub first).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from sqlalchemy import text

from safemap.layers import replication
from safemap.layers.counties import county_name, county_shapes, normalise_code
from safemap.layers.errors import BadQuery, StoreUnavailable
from safemap.layers.labels import duration_text
from safemap.layers.migrations import SCHEMA_VERSION
from safemap.layers.store import FeatureStore

log = logging.getLogger("safemap.replication")

STALE_AFTER_S = 30.0
"""A county whose newest heartbeat is older than this is shown as 延迟 (heartbeats come every few seconds)."""

STATE_LABELS = {
    "streaming": "实时同步",
    "copying": "初始复制中",
    "stale": "延迟",
    "stopped": "中断",
    "disabled": "已停用",
    "ahead": "结构版本高于上级库，待上级库升级",
    "local": "本库",
}


def _engine(store: FeatureStore) -> Any:
    if store.kind != "postgis":
        raise BadQuery("数据上报需要 PostGIS 数据库（SAFEMAP_DATABASE_URL）；嵌入式 GeoPackage 不参与复制")
    return store.backend.engine  # type: ignore[attr-defined]


def role(store: FeatureStore) -> str:
    """``county`` (publishes upward), ``hub`` (receives counties) or ``none`` — one catalogue query."""
    if store.kind != "postgis":
        return "none"
    with store.backend.read() as conn:
        return replication.role_of(conn)


def publish(store: FeatureStore) -> dict[str, Any]:
    """Publish this county's rows to its hub (idempotent; run again after an upgrade)."""
    tables = replication.prepare_county(_engine(store), store.schema)
    code = store.county_code
    return {
        "county_code": code,
        "county_name": county_name(code),
        "publication": replication.publication_name(code),
        "tables": len(tables),
    }


def make_hub(store: FeatureStore, publish_prefix: str | None = None) -> dict[str, Any]:
    """Make this database a hub (prefecture or region) that publishes on upward (idempotent)."""
    tables = replication.prepare_hub(_engine(store), store.schema, publish_prefix=publish_prefix)
    code = store.county_code
    return {
        "hub_code": code,
        "hub_name": county_name(code),
        "publication": replication.publication_name(code),
        "tables": len(tables),
    }


def subscribe(store: FeatureStore, county_code: str, dsn: str) -> dict[str, Any]:
    """Subscribe this hub to a county (or a lower hub) whose database is reached at ``dsn``."""
    code = normalise_code(county_code)
    name = replication.subscribe(_engine(store), code, dsn)
    return {"county_code": code, "county_name": county_name(code), "subscription": name}


def resync(store: FeatureStore, county_code: str, dsn: str) -> dict[str, Any]:
    """Copy a county afresh on this hub (after the county's primary failed over or was restored)."""
    code = normalise_code(county_code)
    name = replication.resync(_engine(store), store.schema, code, dsn)
    return {"county_code": code, "county_name": county_name(code), "subscription": name}


def beat(store: FeatureStore) -> None:
    """Write this county's heartbeat now (a no-op on a store that publishes nothing)."""
    replication.beat(_engine(store), store.schema)


def _local(store: FeatureStore, when: dt.datetime | None) -> str:
    return "" if when is None else when.astimezone(store.tz).strftime("%Y-%m-%d %H:%M:%S")


def _county_row(store: FeatureStore, row: dict[str, Any]) -> dict[str, Any]:
    """One county as the status shows it: state, 数据延迟 (seconds and 分秒), last heartbeat."""
    code = row.get("county_code")
    now = row["now"]
    beat_at = row.get("beat_at")
    lag = None if beat_at is None else max(0.0, (now - beat_at).total_seconds())
    version = row.get("schema_version")
    if version is not None and version > SCHEMA_VERSION:
        state = "ahead"
    elif row.get("subenabled") is False:
        state = "disabled"
    elif row.get("tables_syncing"):
        state = "copying"
    elif row.get("streaming") is False:
        state = "stopped"
    elif lag is None or lag > STALE_AFTER_S:
        state = "stale"
    else:
        state = "streaming"
    return {
        "county_code": code,
        "county_name": county_name(code),
        "state": state,
        "state_label": STATE_LABELS[state],
        "lag_s": None if lag is None else round(lag, 1),
        "lag_label": _lag_text(lag),
        "last_beat": _local(store, beat_at),
        "schema_version": version,
        "subscription": row.get("subname"),
        "tables": row.get("tables"),
        "tables_syncing": row.get("tables_syncing"),
        "last_message": _local(store, row.get("last_msg_receipt_time")),
    }


def _lag_text(lag: float | None) -> str:
    """数据延迟 for people: tenths of a second below ten seconds (a healthy link), 分秒 above."""
    if lag is None:
        return "无心跳"
    return f"{lag:.1f}秒" if lag < 10 else duration_text(lag)


def status(store: FeatureStore) -> dict[str, Any]:
    """The part this database plays in reporting upward and how far behind each county is.

    A hub lists its subscriptions (one per county or lower hub) and every county heartbeat it
    holds (a region sees the counties of its prefectures); a county lists its heartbeat and
    the hubs connected to it (lag as the publisher measures it, WAL kept for them). A
    GeoPackage store does not replicate: ``role`` ``none``.
    """
    if store.kind != "postgis":
        return {"role": "none", "role_label": "不参与复制（嵌入式数据库）", "counties": [], "subscribers": []}
    with store.backend.read() as conn:
        role = replication.role_of(conn)
        subs = replication.hub_rows(conn) if role == "hub" else []
        beats = replication.heartbeats(conn)
        publishers = replication.publisher_rows(conn) if role == "county" else []
        own_version = conn.execute(
            text(f"SELECT value FROM {store.schema.meta.name} WHERE key = 'schema_version'")
        ).scalar()
    by_code = {r["county_code"]: r for r in subs}
    rows = [_county_row(store, r) for r in subs]
    for b in beats:
        if b["county_code"] in by_code:
            continue
        merged = _county_row(store, {**b, "streaming": True})
        if role == "county" and b["county_code"] == store.county_code:
            merged.update(state="local", state_label=STATE_LABELS["local"])
        rows.append(merged)
    rows.sort(key=lambda r: r["county_code"] or "")
    role_label = {"hub": "上级汇聚库（地区/自治区）", "county": "区县库（向上级发布）", "none": "未配置复制"}[role]
    return {
        "role": role,
        "role_label": role_label,
        "code": store.county_code,
        "name": county_name(store.county_code),
        "schema_version": int(own_version) if own_version else None,
        "counties": rows,
        "subscribers": [_subscriber_row(p) for p in publishers],
    }


def lag_map(store: FeatureStore, counties: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The prefecture's counties as polygons coloured by their reporting state (数据上报 on the map).

    A county in the status carries its state and 数据延迟; one that is not (yet) connected is
    ``unconnected`` (未接入). ``counties`` limits the map to the counties the person may see.
    """
    rows = {r["county_code"]: r for r in status(store)["counties"]}
    features = []
    for shape in county_shapes():
        code = shape["properties"]["code"]
        if counties is not None and code not in counties:
            continue
        row = rows.get(code)
        props = {
            "county_code": code,
            "county_name": shape["properties"]["name"],
            "state": row["state"] if row else "unconnected",
            "state_label": row["state_label"] if row else "未接入",
            "lag_s": row["lag_s"] if row else None,
            "lag_label": row["lag_label"] if row else "—",
            "last_beat": row["last_beat"] if row else "",
        }
        features.append({"type": "Feature", "geometry": shape["geometry"], "properties": props})
    return {"type": "FeatureCollection", "features": features}


def _subscriber_row(row: dict[str, Any]) -> dict[str, Any]:
    lag = row.get("replay_lag_s")
    return {
        "slot": row["slot_name"],
        "connected": bool(row["active"]),
        "connected_label": "已连接" if row["active"] else "未连接（变更保留在本库等待上级）",
        "replay_lag_s": None if lag is None else round(float(lag), 3),
        "behind_bytes": int(row["behind_bytes"] or 0),
        "retained_bytes": int(row["retained_bytes"] or 0),
    }


class HeartbeatWorker:
    """Writes this county's heartbeat every ``interval`` seconds on a thread (inside ``safemap serve``).

    The heartbeat travels with the data, so the hub sees 数据延迟 even when nobody edits; a failed
    beat (database restarting, failing over) is logged and retried at the next interval.
    """

    def __init__(self, store: FeatureStore, interval: float) -> None:
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                beat(self.store)
            except StoreUnavailable:  # failing over: the next beat goes to the new primary
                log.warning("上报心跳暂停：数据库暂不可用（可能正在主备切换）")
            except Exception:  # a heartbeat must survive a restarting database
                log.warning("上报心跳写入失败，%s 秒后重试", self.interval, exc_info=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._loop, name="safemap-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

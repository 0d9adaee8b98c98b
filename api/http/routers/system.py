"""System routes: health check, the caller's identity, and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from safemap.api.http.auth import require_actor
from safemap.api.http.deps import get_store
from safemap.api.http.openapi import error_responses
from safemap.api.http.params import FeatureIdQuery, OffsetQuery
from safemap.layers.migrations import SCHEMA_VERSION
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

router = APIRouter(tags=["系统"])


@router.get("/healthz", summary="健康检查")
async def healthz(store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """Store kind, schema version and number of features."""
    counts = await run_in_threadpool(store.counts)
    return {
        "status": "ok",
        "store": store.kind,
        "schema_version": SCHEMA_VERSION,
        "features": sum(counts.values()),
    }


@router.get("/api/me", summary="当前令牌的使用人与角色", responses=error_responses(401))
async def me(actor: Actor = Depends(require_actor)) -> dict[str, str]:
    """Name and role behind the bearer token (401 without one)."""
    return {"name": actor.name, "role": actor.role}


@router.get("/api/audit", summary="审计日志（谁、何时、改了哪个要素、改前改后）", responses=error_responses(401))
async def audit(
    request: Request,
    layer: str | None = Query(None),
    feature_id: FeatureIdQuery = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: OffsetQuery = 0,
    store: FeatureStore = Depends(get_store),
) -> dict[str, Any]:
    """Who changed which feature when, with the feature before and after (token required)."""
    require_actor(request)
    if layer is not None:
        store.layer(layer)
    entries = await run_in_threadpool(store.audit_log, layer=layer, feature_id=feature_id, limit=limit, offset=offset)
    return {"entries": entries}

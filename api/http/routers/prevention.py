"""Double prevention over HTTP: findings and their closed loop, photos, statistics, 企业一张图.

Thin: parse, check who is asking, call :mod:`api.services.dangers`,
:mod:`api.services.danger_photos` and :mod:`api.services.prevention`. Reading findings and
photos needs a sign-in; an enterprise user gets its own enterprise's rows only.
"""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from safemap.api.http import uploads
from safemap.api.http.auth import current_actor, require_actor, require_role
from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.models.prevention import FindingIn, TransitionIn
from safemap.api.http.models.safety import validated
from safemap.api.http.openapi import GeoJSONResponse, error_responses, request_body
from safemap.api.http.params import FeatureIdPath, json_body
from safemap.api.http.responses import json_response
from safemap.api.services import danger_overdue, danger_photos, dangers, prevention
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

router = APIRouter(tags=["双重预防"])
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".jfif", ".png", ".webp", ".heic", ".heif")
#: Multipart overhead allowed beyond the photo itself (headers, the stage field).
FORM_OVERHEAD = 64 * 1024


def _reader(request: Request) -> Actor:
    """Findings are not public: a signed-in person (not a device) reads them."""
    actor = require_actor(request)
    if actor.role == "device":
        raise ApiError(403, "forbidden", "设备令牌无权读取隐患")
    return actor


@router.get("/api/prevention/catalogue", summary="双重预防表单选项（等级、状态、LEC/LS 取值、检查表、企业）")
async def catalogue(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """The words and tables the double-prevention forms offer."""
    actor = current_actor(request)
    return json_response(await run_in_threadpool(prevention.form_catalogue, store, actor))


@router.get(
    "/api/dangers",
    summary="隐患列表（按状态、等级、乡镇、行业、企业、是否逾期筛选）",
    response_class=GeoJSONResponse,
    responses=error_responses(400, 401),
)
async def list_dangers(
    request: Request,
    status: str | None = Query(None, max_length=200, description="发现、整改中、待复查、销号（代码或中文，逗号分隔）"),
    grade: str | None = Query(None, max_length=100, description="一般隐患、重大隐患"),
    township: str | None = Query(None, max_length=200, description="乡镇名称，逗号分隔"),
    industry: str | None = Query(None, max_length=200, description="所属企业的行业类别"),
    enterprise_id: int | None = Query(None, ge=1, le=2_147_483_647),
    overdue: bool | None = Query(None, description="true：只看逾期；false：只看未逾期"),
    store: FeatureStore = Depends(get_store),
) -> Response:
    """Findings for people (labels, overdue, age); an enterprise user gets its own."""
    actor = _reader(request)
    body = await run_in_threadpool(
        lambda: prevention.list_findings(
            store,
            actor,
            status=status,
            grade=grade,
            township=township,
            industry=industry,
            enterprise_id=enterprise_id,
            overdue=overdue,
        )
    )
    return json_response(body, media="application/geo+json")


@router.post(
    "/api/dangers",
    status_code=201,
    summary="登记隐患（执法检查/网格员、应急管理、企业自查）；同一客户端编号重发不重复登记",
    openapi_extra=request_body(FindingIn),
    responses=error_responses(401, 403, 422),
)
async def create_danger(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """Record a finding; 200 with the stored one when its client_uuid was already stored."""
    actor = require_actor(request)
    body = validated(FindingIn, await json_body(request))
    data = dangers.FindingInput(
        grade=body.grade,
        description=body.description,
        deadline=body.deadline,
        location=None if body.location is None else (body.location[0], body.location[1]),
        enterprise_id=body.enterprise_id,
        inspection_id=body.inspection_id,
        name=body.name,
        clause=body.clause,
        checklist_item=body.checklist_item,
        responsible=body.responsible,
        found_at=body.found_at,
        client_uuid=body.client_uuid,
    )
    feature, created = await run_in_threadpool(dangers.create_finding, store, data, actor)
    shown = dangers.present(store, feature)
    headers = {"Location": f"/api/dangers/{feature['id']}"}
    return json_response({"feature": shown, "created": created}, 201 if created else 200, headers=headers)


def _detail(store: FeatureStore, danger_id: int, actor: Actor) -> dict[str, Any]:
    feature = dangers.get(store, danger_id, actor)
    return {
        "feature": dangers.present(store, feature),
        "events": dangers.events(store, danger_id, actor),
        "photos": danger_photos.photos(store, danger_id, actor),
        "actions": dangers.allowed_actions(feature["properties"], actor),
    }


@router.get("/api/dangers/{danger_id}", summary="一条隐患：处置记录、照片和当前可做的操作")
async def read_danger(danger_id: FeatureIdPath, request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """One finding with its timeline, photos and the steps the caller may take now."""
    actor = _reader(request)
    return json_response(await run_in_threadpool(_detail, store, danger_id, actor))


@router.post(
    "/api/dangers/{danger_id}/transition",
    summary="隐患闭环的一步：开始整改、提交复查、复查通过并销号、复查未通过、延期、备注",
    openapi_extra=request_body(TransitionIn),
    responses=error_responses(401, 403, 404, 409, 422, 428),
)
async def transition(danger_id: FeatureIdPath, request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """One step of the closed loop; the answer is the finding as read after it."""
    actor = require_actor(request)
    body = validated(TransitionIn, await json_body(request))
    await run_in_threadpool(
        lambda: dangers.transition(
            store,
            danger_id,
            body.action,
            actor,
            version=body.version,
            text=body.text,
            deadline=body.deadline,
            measures=body.measures,
            photo_ids=body.photo_ids,
        )
    )
    return json_response(await run_in_threadpool(_detail, store, danger_id, actor))


@router.post(
    "/api/dangers/{danger_id}/photos",
    status_code=201,
    summary="上传隐患照片（multipart：file，stage = found 发现时 / evidence 整改证据；不超过 8 MB）",
    responses=error_responses(401, 403, 404, 413, 415, 422),
)
async def upload_photo(
    danger_id: FeatureIdPath,
    request: Request,
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Store a photo of a finding (EXIF time and place kept); 200 when the same image was stored."""
    actor = require_actor(request)
    folder = uploads.new_folder(uploads.upload_root(settings, store))
    try:
        form = await uploads.receive_form(
            request, folder, max_bytes=danger_photos.MAX_BYTES + FORM_OVERHEAD, suffixes=PHOTO_SUFFIXES
        )
        assert form.path is not None
        data = form.path.read_bytes()
        stage = (form.fields.get("stage") or "found").strip()
        meta, created = await run_in_threadpool(
            danger_photos.add_photo, store, danger_id, data, stage, actor, form.filename
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return json_response(meta, 201 if created else 200)


@router.get("/api/photos/{photo_id}", summary="隐患照片图像", response_class=Response)
async def photo(photo_id: FeatureIdPath, request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """The image of a photo (signed-in readers; an enterprise only its own)."""
    actor = _reader(request)
    data, media = await run_in_threadpool(danger_photos.photo_bytes, store, photo_id, actor)
    return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


@router.post("/api/dangers/sweep", summary="检查逾期隐患并报警（规划/应急管理、系统管理员）")
async def sweep(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """Raise an overdue alarm for every open finding past its deadline."""
    require_role(request, "planner", "inspector", "admin")
    raised = await run_in_threadpool(danger_overdue.sweep_overdue, store)
    return json_response({"raised": len(raised), "alarm_ids": raised})


@router.get("/api/prevention/stats", summary="隐患统计（按乡镇或行业）")
async def stats(
    request: Request,
    by: str = Query("township", max_length=20, description="township（按乡镇）或 industry（按行业）"),
    store: FeatureStore = Depends(get_store),
) -> Response:
    """Counts of findings per township or per industry."""
    actor = _reader(request)
    return json_response(await run_in_threadpool(prevention.statistics, store, actor, by))


@router.get("/api/prevention/enterprises/{enterprise_id}", summary="企业一张图：风险点、风险分区、隐患、检查、事故")
async def enterprise_page(
    enterprise_id: FeatureIdPath, request: Request, store: FeatureStore = Depends(get_store)
) -> Response:
    """企业一张图 of one enterprise."""
    actor = _reader(request)
    return json_response(await run_in_threadpool(prevention.enterprise_page, store, enterprise_id, actor))

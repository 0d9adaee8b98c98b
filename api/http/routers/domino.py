"""多米诺效应 (issue 18 item 1): ``/api/domino*``.

- ``GET /api/domino`` — escalation pairs, chains (levels 1–3), the escalation graph and its map
  (arrows primary → secondary coloured by vector) for a park (``area`` = boundary id) or a bbox;
- ``POST /api/domino`` — the same with proposed hazard sources (``extra_sources``, never stored);
- ``GET /api/domino/risk`` — the individual-risk overlay (PNG + bounds), contours or GeoTIFF
  without or with escalation, on the same grid;
- ``GET /api/domino/fn`` — the F–N curve without and with escalation (JSON or SVG).

Analyses only (nothing is written), so, like the safety routes, open to every signed-in user.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from shapely.geometry import box
from starlette.responses import Response

from safemap.api.http.deps import get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.models.domino import DominoIn
from safemap.api.http.models.safety import validated
from safemap.api.http.openapi import also, request_body
from safemap.api.http.params import json_body, parse_bbox
from safemap.api.http.responses import json_response
from safemap.api.reports import safety as safety_report
from safemap.api.services import domino as domino_service
from safemap.api.services import risk_raster
from safemap.api.services.problems import invalid
from safemap.gis import domino as dm
from safemap.layers.enums import VESSEL_TYPE
from safemap.layers.store import FeatureStore

GEOJSON = "application/geo+json"
router = APIRouter(tags=["园区与矿山"])
#: Chains listed in a response (strongest first); the count says how many there are in all.
MAX_CHAINS = 500

AREA = Query(None, ge=1, le=2**62, description="行政区或工业园区边界编号（admin_boundaries，如 裕民县工业园区）")
BBOX = Query(None, description="最小经度,最小纬度,最大经度,最大纬度；与 area 二选一；都不给则分析全部危险源")
LEVEL = Query(3, ge=1, le=3, description="多米诺层级（1–3）")


def _area(store: FeatureStore, area: int | None, bbox: str | None) -> tuple[dict[str, Any] | None, Any]:
    if area is not None and bbox:
        raise invalid("bbox", "范围：area（边界编号）与 bbox 只能给出一个")
    if area is not None:
        name, polygon = domino_service.area_of(store, area)
        return {"id": area, "name": name}, polygon
    box_ = parse_bbox(bbox)
    if box_ is None:
        return None, None
    return {"bbox": list(box_), "name": "自定义范围"}, box(*box_)


def _body(store: FeatureStore, area: int | None, bbox: str | None, level: int, extra: list | None) -> dict[str, Any]:
    where, polygon = _area(store, area, bbox)
    result = domino_service.analyse(store, area=polygon, extra_sources=extra, max_level=level)
    names = dict(zip(result.units["id"].astype(int), result.units["name"], strict=True))
    order = sorted(range(len(result.chains)), key=lambda i: -result.chain_frequency[i])[:MAX_CHAINS]
    chains = [
        {
            "ids": result.chains[i],
            "names": [names.get(u, str(u)) for u in result.chains[i]],
            "level": len(result.chains[i]) - 1,
            "frequency_per_year": result.chain_frequency[i],
        }
        for i in order
    ]
    units = [
        {
            "id": int(r.id),
            "name": r.name,
            "vessel_type": r.vessel_type,
            "vessel_type_label": VESSEL_TYPE.label(r.vessel_type),
            "vessel_type_derived": bool(r.vessel_type_derived),
            "volume_m3": float(r.volume_m3),
            "domino_failure_per_year": result.failure_frequency.get(int(r.id), 0.0),
        }
        for r in result.units.itertuples(index=False)
    ]
    pairs = [p | {"vector_label": dm.VECTOR_LABEL[p["vector"]]} for p in result.pairs]
    return {
        "area": where,
        "summary": domino_service.summary(result),
        "units": units,
        "pairs": pairs,
        "chains": chains,
        "chains_total": len(result.chains),
        "edges": result.edges,
        "geojson": domino_service.geojson(result),
        "thresholds": {
            "radiation_kw_m2": dm.RADIATION_THRESHOLD_KW_M2,
            "overpressure_kpa": dm.OVERPRESSURE_THRESHOLD_KPA,
            "source": "Cozzani, Gubinelli & Salzano (2006), J. Hazard. Mater. A129:1–21",
        },
    }


@router.get("/api/domino", summary="多米诺效应分析：升级危险源对、二三级事故链、升级关系图")
async def get_domino(
    area: int | None = AREA,
    bbox: str | None = BBOX,
    max_level: int = LEVEL,
    store: FeatureStore = Depends(get_store),
) -> Response:
    """Every (primary scenario, secondary unit) beyond its escalation threshold, the chains and the graph.

    ``pairs`` carry the vector (热辐射 kW/m² / 冲击波超压 kPa), its value and threshold, the
    edge-to-edge distance, the escalation probability (probit) and the lowest level it occurs
    at; ``chains`` the unit-id paths with their frequency (per year, strongest first, at most
    500); ``geojson`` the arrows and units for the map.
    """
    return json_response(await run_in_threadpool(_body, store, area, bbox, max_level, None))


@router.post(
    "/api/domino",
    summary="多米诺效应分析（含拟建危险源，不保存）",
    openapi_extra=request_body(DominoIn),
)
async def post_domino(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """As ``GET /api/domino``, with proposed hazard sources (``extra_sources``, ids −1, −2, …) analysed too."""
    body = validated(DominoIn, await json_body(request))
    return json_response(
        await run_in_threadpool(_body, store, body.area, body.bbox, body.max_level, body.extra_sources)
    )


def _risk(store: FeatureStore, area: int | None, bbox: str | None, level: int, cell_m: float) -> Any:
    _, polygon = _area(store, area, bbox)
    result = domino_service.analyse(store, area=polygon, max_level=level)
    try:
        return domino_service.risk(result, store, cell_m=cell_m)
    except ValueError:
        raise invalid("cell_m", "网格边长：网格单元超过 400 万个，请增大 cell_m 或用 area/bbox 缩小范围") from None
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from None


@router.get(
    "/api/domino/risk",
    summary="计入多米诺效应前后的个人风险（叠加图、等值线或 GeoTIFF）",
    response_class=Response,
    responses=also("application/json", GEOJSON, "image/tiff"),
)
async def get_risk(
    area: int | None = AREA,
    bbox: str | None = BBOX,
    max_level: int = LEVEL,
    escalation: bool = Query(True, description="是否计入多米诺次生事故"),
    cell_m: float = Query(10.0, ge=2, le=200, description="网格边长 m"),
    format: Literal["png", "contours", "tiff"] = Query("png", description="png（叠加图，JSON）；contours；tiff"),
    store: FeatureStore = Depends(get_store),
) -> Response:
    """The IR grid of the area's scenarios, with (default) or without the domino scenarios.

    ``png`` answers JSON like ``/api/safety/risk-raster?format=png`` plus ``increase`` (max IR,
    area above each GB 36894 limit and targets exceeding, without and with escalation).
    """
    both = await run_in_threadpool(_risk, store, area, bbox, max_level, cell_m)
    chosen = both.with_domino if escalation else both.without
    if format == "contours":
        return json_response(await run_in_threadpool(risk_raster.contours_geojson, chosen), media=GEOJSON)
    if format == "tiff":
        data = await run_in_threadpool(risk_raster.geotiff_bytes, chosen)
        name = "individual_risk_domino.tif" if escalation else "individual_risk.tif"
        return Response(
            data, media_type="image/tiff", headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
    overlay = await run_in_threadpool(risk_raster.overlay, chosen)
    return json_response(overlay | {"escalation": escalation, "increase": both.increase})


@router.get(
    "/api/domino/fn",
    summary="计入多米诺效应前后的社会风险 F–N 曲线（JSON 或 SVG）",
    response_class=Response,
    responses=also("application/json", "image/svg+xml"),
)
async def get_fn(
    area: int | None = AREA,
    bbox: str | None = BBOX,
    max_level: int = LEVEL,
    format: Literal["json", "svg"] = Query("json", description="json（前后两条曲线）；svg（计入多米诺后的曲线）"),
    store: FeatureStore = Depends(get_store),
) -> Response:
    """F–N curves (N ≥ 1, F per year) without and with escalation, and the acceptance-line verdicts."""
    both = await run_in_threadpool(_risk, store, area, bbox, max_level, 10.0)
    if format == "svg":
        svg = await run_in_threadpool(safety_report.fn_svg, both.fn_with["curve"], "计入多米诺效应的社会风险 F–N 曲线")
        return Response(svg, media_type="image/svg+xml")
    return json_response(
        {
            "without": domino_service.fn_payload(both.fn_without),
            "with": domino_service.fn_payload(both.fn_with),
            "increase": both.increase,
        }
    )

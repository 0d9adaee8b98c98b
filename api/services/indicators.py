"""The plan's 专栏1 indicators year by year, and the density of accidents (事故热力图), over the store.

* :func:`indicator_table` reads ``accidents`` (year of ``occurred_at`` in ``SAFEMAP_TIMEZONE``),
  ``indicator_years`` (the denominators) and ``plan_indicators`` (the definitions, admin-editable)
  and judges every indicator with :func:`safemap.gis.indicators.compute_indicators`; the result is
  JSON-ready, with Chinese labels beside every code.
* :func:`density` projects the accidents with a location to the local UTM zone, runs
  :func:`safemap.gis.accident_density.kernel_density` and returns the raster as a transparent
  colour-ramp PNG (a map overlay) and as a GeoTIFF (for QGIS/ArcGIS), with its lon/lat bounds.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from typing import Any

import numpy as np
import pandas as pd

from safemap.api.services.problems import invalid
from safemap.gis.accident_density import default_radius, kernel_density
from safemap.gis.indicators import DENOMINATOR_LABELS, IndicatorResult, compute_indicators
from safemap.gis.projection import utm_epsg
from safemap.layers.enums import SEVERITY
from safemap.layers.errors import FeatureNotFound, Unprocessable
from safemap.layers.prevention_enums import (
    ACCIDENT_INDUSTRY,
    INDICATOR_DENOMINATOR,
    INDICATOR_STATE,
    INDICATOR_TARGET,
)
from safemap.layers.store import FeatureStore

MIN_CELL_M, MAX_CELL_M = 10.0, 5000.0
"""Accepted cell sizes, metres: finer than 10 m says more than accident locations know; coarser
than 5 km leaves a county a handful of cells."""
MAX_GRID_CELLS = 4_000_000
"""Largest density grid served (cells): 4 M float32 cells is a 16 MB GeoTIFF and a 2000² PNG."""
WEIGHTS = {"count": "事故起数", "deaths": "死亡人数"}
BAND_DESCRIPTION = "每平方公里事故密度"
_YEAR_COLUMNS = ("year", *DENOMINATOR_LABELS)


def _rows(store: FeatureStore, layer: str) -> list[dict[str, Any]]:
    return store.query(layer, limit=None, count=False, children=False).rows


def _local_year(value: Any, tz: dt.tzinfo) -> int | None:
    """Calendar year of an instant in the store's zone (an accident at 20:00 UTC on 31 Dec is next year's)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(tz).year
    if isinstance(value, dt.date):
        return value.year
    return None


def accident_frame(store: FeatureStore) -> pd.DataFrame:
    """Accidents as ``compute_indicators`` reads them: year, industry, severity, deaths, vehicle_operating."""
    tz = store.tz
    rows = [
        {
            "year": _local_year(r.get("occurred_at"), tz),
            "industry": r.get("industry"),
            "severity": r.get("severity"),
            "deaths": r.get("deaths") or 0,
            "vehicle_operating": r.get("vehicle_operating"),
        }
        for r in _rows(store, "accidents")
    ]
    frame = pd.DataFrame(rows, columns=["year", "industry", "severity", "deaths", "vehicle_operating"])
    return frame[frame["year"].notna()].reset_index(drop=True)


def years_frame(store: FeatureStore) -> pd.DataFrame:
    """The yearly denominators (NaN where a cell is empty), one row per stored ``indicator_years`` row."""
    rows = [{c: r.get(c) for c in _YEAR_COLUMNS} for r in _rows(store, "indicator_years")]
    frame = pd.DataFrame(rows, columns=list(_YEAR_COLUMNS))
    return frame.apply(pd.to_numeric, errors="coerce")


def _this_year(store: FeatureStore) -> int:
    return dt.datetime.now(dt.UTC).astimezone(store.tz).year


def _num(value: float | None, digits: int = 6) -> float | None:
    """A JSON number: None for unknown or non-finite, rounded so 0.13333333333 reads 0.133333."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _result_dict(r: IndicatorResult) -> dict[str, Any]:
    return {
        "code": r.code,
        "label": r.label,
        "unit": r.unit,
        "target_kind": r.target_kind,
        "target_kind_label": INDICATOR_TARGET.label(r.target_kind) or r.target_kind,
        "target_value": r.target_value,
        "baseline_year": r.baseline_year,
        "target_year": r.target_year,
        "baseline": _num(r.baseline),
        "target": _num(r.target),
        "latest_state": r.latest_state,
        "latest_state_label": INDICATOR_STATE.label(r.latest_state) or r.latest_state,
        "latest_reason": r.latest_reason,
        "years": [
            {
                "year": y.year,
                "value": _num(y.value),
                "numerator": _num(y.numerator),
                "denominator": _num(y.denominator),
                "state": y.state,
                "state_label": INDICATOR_STATE.label(y.state) or y.state,
                "reason": y.reason,
            }
            for y in r.years
        ],
    }


def _missing_years(years: pd.DataFrame, definitions: list[dict[str, Any]], through: int) -> list[dict[str, Any]]:
    """Years from the earliest baseline to ``through`` lacking a denominator some indicator divides by."""
    used = [c for c in DENOMINATOR_LABELS if any(d.get("denominator") == c for d in definitions)]
    if not used or not definitions:
        return []
    first = min(int(d["baseline_year"]) for d in definitions if d.get("baseline_year") is not None)
    out = []
    for year in range(first, through + 1):
        here = years[years["year"] == year]
        lacking = [c for c in used if here.empty or here[c].isna().all()]
        if lacking:
            out.append(
                {"year": year, "fields": lacking, "labels": [INDICATOR_DENOMINATOR.label(c) or c for c in lacking]}
            )
    return out


def _breakdown(accidents: pd.DataFrame, year: int) -> dict[str, Any]:
    """The year's accidents and deaths by severity and by industry (labels, never codes, for the report)."""
    here = accidents[accidents["year"] == year]

    def by(column: str, codes: tuple[str, ...], label: Any) -> list[dict[str, Any]]:
        out = []
        for code in codes:
            part = here[here[column] == code]
            out.append({"code": code, "label": label(code), "count": len(part), "deaths": int(part["deaths"].sum())})
        return out

    return {
        "year": year,
        "count": len(here),
        "deaths": int(here["deaths"].sum()),
        "by_severity": by("severity", tuple(SEVERITY.codes), SEVERITY.label),
        "by_industry": by("industry", tuple(ACCIDENT_INDUSTRY.codes), ACCIDENT_INDUSTRY.label),
    }


def indicator_table(store: FeatureStore, through: int | None = None) -> dict[str, Any]:
    """Every plan indicator from its baseline year to ``through``, judged against its target.

    Parameters
    ----------
    store
        The feature store (accidents, indicator_years, plan_indicators).
    through
        Last calendar year reported. Default: the latest year with accidents or base data
        (the current year in ``SAFEMAP_TIMEZONE`` when there is none).

    Returns
    -------
    dict
        ``through``; ``indicators`` (code, labels, target, baseline, state of ``through`` and
        one entry per year with value, numerator, denominator, state and reason, values in each
        indicator's unit); ``missing_years`` (years lacking a denominator, with which fields);
        ``breakdown`` (accidents and deaths of ``through`` by severity and industry).

    Raises
    ------
    Unprocessable
        ``through`` before the earliest baseline year or after next year (names 截至年份), or a
        ``plan_indicators`` row the rules cannot read.
    """
    accidents = accident_frame(store)
    years = years_frame(store)
    definitions = _rows(store, "plan_indicators")
    this_year = _this_year(store)
    if through is None:
        known = [int(v) for v in (*accidents["year"].dropna(), *years["year"].dropna())]
        through = max(known) if known else this_year
    through = int(through)
    baselines = [int(d["baseline_year"]) for d in definitions if d.get("baseline_year") is not None]
    first = min(baselines) if baselines else None
    if first is not None and through < first:
        raise invalid("through", f"{through} 年早于规划基准年 {first} 年")
    if through > this_year + 1:
        raise invalid("through", f"{through} 年晚于明年（{this_year + 1} 年）")
    try:
        results = compute_indicators(accidents, years, definitions, through)
    except ValueError as exc:
        # A definition an administrator mistyped: say which one instead of failing the page.
        raise invalid("plan_indicators", f"规划指标表有误：{exc}") from None
    return {
        "through": through,
        "indicators": [_result_dict(r) for r in results],
        "missing_years": _missing_years(years, definitions, through),
        "breakdown": _breakdown(accidents, through),
    }


# ------------------------------------------------------------------------------------------ density
def _instant(value: dt.datetime | dt.date | str | None, tz: dt.tzinfo, field: str, end: bool) -> dt.datetime | None:
    """A bound of the time filter as an aware instant; a bare date covers its whole local day."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            raise invalid(field, f"时间格式无效：{text!r}（应为 2024-01-31 或 2024-01-31T08:00）") from None
    if not isinstance(value, dt.datetime):
        day = value + dt.timedelta(days=1) if end else value
        return dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _located(store: FeatureStore, since: Any, until: Any) -> pd.DataFrame:
    """Accidents with a point location in the time window: lon, lat, deaths."""
    tz = store.tz
    start = _instant(since, tz, "since", end=False)
    stop = _instant(until, tz, "until", end=True)
    page = store.query("accidents", limit=None, count=False, children=False)
    rows = []
    for r, geom in zip(page.rows, page.geometries, strict=True):
        at = r.get("occurred_at")
        if isinstance(at, dt.datetime) and at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        if (start and (at is None or at < start)) or (stop and (at is None or at >= stop)):
            continue
        # An accident recorded without a location still counts in the indicators, not on the map.
        if geom is None or geom.is_empty:
            continue
        point = geom.representative_point()
        if math.isfinite(point.x) and math.isfinite(point.y):
            rows.append({"lon": point.x, "lat": point.y, "deaths": float(r.get("deaths") or 0)})
    return pd.DataFrame(rows, columns=["lon", "lat", "deaths"])


def _colour_png(values: np.ndarray) -> bytes:
    """The grid as an RGBA PNG on matplotlib's 'YlOrRd' ramp, transparent where the density is 0."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import colormaps
    from PIL import Image

    top = float(values.max()) if values.size else 0.0
    scaled = values / top if top > 0 else np.zeros_like(values)
    rgba = (colormaps["YlOrRd"](scaled) * 255).astype(np.uint8)
    # Cells without any accident stay see-through so the basemap shows; the rest are slightly
    # translucent, more opaque where denser, so roads under a hot spot still read.
    rgba[..., 3] = np.where(values > 0, (110 + 145 * np.sqrt(scaled)).astype(np.uint8), 0)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _geotiff(values: np.ndarray, transform: tuple[float, ...], epsg: int, weight: str) -> bytes:
    import rasterio
    from affine import Affine
    from rasterio.io import MemoryFile

    profile = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": rasterio.crs.CRS.from_epsg(epsg),
        "transform": Affine(*transform),
        "compress": "deflate",
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(values.astype(np.float32), 1)
            ds.set_band_description(1, BAND_DESCRIPTION)
            ds.update_tags(1, units=f"{WEIGHTS[weight]}/km²", weight=weight)
        return bytes(mem.read())


def density(
    store: FeatureStore,
    *,
    cell_m: float = 250.0,
    radius_m: float | None = None,
    weight: str = "count",
    since: dt.datetime | dt.date | str | None = None,
    until: dt.datetime | dt.date | str | None = None,
) -> dict[str, Any]:
    """Kernel density of the accidents (quartic kernel), per km², as a map overlay and a GeoTIFF.

    Parameters
    ----------
    cell_m
        Cell size, metres (10–5000).
    radius_m
        Search radius, metres; default ArcGIS Pro's rule (10 cells for a single accident).
    weight
        ``count`` (each accident 1) or ``deaths`` (each accident its deaths).
    since, until
        Only accidents that occurred in this window (inclusive; a date means the whole local day).

    Returns
    -------
    dict
        ``bounds_lonlat`` [west, south, east, north] of the raster's reprojected corners, ``png``
        (RGBA bytes), ``geotiff`` (bytes, UTM, float32), ``radius_m``, ``cell_m``, ``count``
        (accidents used), ``max_per_km2``, ``epsg``, ``weight``.

    Raises
    ------
    Unprocessable
        No located accident, a cell size outside 10–5000 m, a bad radius, weight or time, or a grid
        over :data:`MAX_GRID_CELLS` cells.
    """
    from pyproj import Transformer

    if weight not in WEIGHTS:
        raise invalid("weight", f"权重应为 count（事故起数）或 deaths（死亡人数），收到 {weight!r}")
    if not (math.isfinite(cell_m) and MIN_CELL_M <= cell_m <= MAX_CELL_M):
        raise invalid("cell_m", f"应为 {MIN_CELL_M:g}–{MAX_CELL_M:g} 米，收到 {cell_m}")
    if radius_m is not None and not (math.isfinite(radius_m) and 0 < radius_m <= 100_000):
        raise invalid("radius_m", f"应为 0–100000 米之间的正数，收到 {radius_m}")
    points = _located(store, since, until)
    if points.empty:
        raise invalid("accidents", "没有可计算的事故（至少 1 起有位置的事故）")
    epsg = utm_epsg(float(points["lon"].mean()), float(points["lat"].mean()))
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    x, y = to_utm.transform(points["lon"].to_numpy(), points["lat"].to_numpy())
    xy = np.column_stack([x, y])
    w = points["deaths"].to_numpy() if weight == "deaths" else None
    if w is not None and not (w > 0).any():
        raise invalid("weight", "所选事故均无死亡，按死亡人数加权没有可计算的密度")
    cell = float(cell_m)
    r = radius_m if radius_m is not None else (default_radius(xy, w) or 10.0 * cell)
    # The grid is checked here, before any array is made: the pure function's own limit is
    # far above what a browser overlay or a download should be.
    lo, hi = xy.min(axis=0) - r, xy.max(axis=0) + r
    bounds = (
        math.floor(lo[0] / cell) * cell,
        math.floor(lo[1] / cell) * cell,
        math.ceil(hi[0] / cell) * cell,
        math.ceil(hi[1] / cell) * cell,
    )
    cells = round((bounds[2] - bounds[0]) / cell) * round((bounds[3] - bounds[1]) / cell)
    if cells > MAX_GRID_CELLS:
        raise invalid("cell_m", f"栅格共 {cells} 个像元，超过上限 {MAX_GRID_CELLS}；请增大栅格边长或减小搜索半径")
    grid = kernel_density(xy, w, cell_m=cell, radius_m=r, bounds=bounds)
    rows, cols = grid.values.shape
    a, _, x0, _, e, y1 = grid.transform
    corners_x = [x0, x0 + cols * a, x0, x0 + cols * a]
    corners_y = [y1, y1, y1 + rows * e, y1 + rows * e]
    lons, lats = Transformer.from_crs(epsg, 4326, always_xy=True).transform(corners_x, corners_y)
    return {
        "bounds_lonlat": [float(min(lons)), float(min(lats)), float(max(lons)), float(max(lats))],
        "png": _colour_png(grid.values),
        "geotiff": _geotiff(grid.values, grid.transform, epsg, weight),
        "radius_m": round(grid.radius_m, 1),
        "cell_m": grid.cell_m,
        "count": len(points),
        "max_per_km2": _num(float(grid.values.max()), 4),
        "epsg": epsg,
        "weight": weight,
        "weight_label": WEIGHTS[weight],
    }


def indicator(store: FeatureStore, code: str, through: int | None = None) -> dict[str, Any]:
    """One indicator of :func:`indicator_table` by its code; :class:`FeatureNotFound` (404) when unknown."""
    table = indicator_table(store, through)
    for item in table["indicators"]:
        if item["code"] == code:
            return item
    known = "、".join(f"{i['label']}（{i['code']}）" for i in table["indicators"])
    raise FeatureNotFound(f"没有指标代码 {code!r}；可选：{known}")


def report_inputs(store: FeatureStore, through: int | None = None) -> tuple[dict[str, Any], str | None]:
    """What the yearly report shows: the table, and the density overlay (base64 PNG) of the plan period.

    The map covers the accidents from the earliest baseline year to ``through`` (local dates), so
    the hot spots of the whole plan period show; None when none of them has a location.
    """
    table = indicator_table(store, through)
    baselines = [int(i["baseline_year"]) for i in table["indicators"]]
    first = min(baselines) if baselines else table["through"]
    try:
        grid = density(store, since=dt.date(first, 1, 1), until=dt.date(table["through"], 12, 31))
    except Unprocessable:
        return table, None
    return table, base64.b64encode(grid["png"]).decode("ascii")

"""Read a file into validated features of a layer, without touching a store.

:func:`read_features` reads a file (:mod:`layers.readers`), maps its columns onto the
catalogue (:mod:`layers.columns`, :mod:`layers.rows`), reprojects it to EPSG:4326
(converting GCJ-02 when asked; :mod:`layers.gcj02`) and validates every row with
:func:`~layers.validation.validate_feature`, collecting every problem (row, field,
reason) instead of stopping at the first. :func:`layers.transfer.import_file` adds the
check that referenced features exist and writes the result; :func:`layers.store.open_store`
seeds the reference tables from ``data/`` with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from safemap.layers import progress
from safemap.layers.catalogue import Layer
from safemap.layers.csvfiles import read_csv
from safemap.layers.errors import Problem, ValidationFailed
from safemap.layers.gauss_kruger import central_meridian, gk_crs
from safemap.layers.gcj02 import geometries_gcj02_to_wgs84
from safemap.layers.kmlfiles import read_kml, read_kmz
from safemap.layers.labels import problem_text
from safemap.layers.readers import RawTable, detect_format, fail, read_geojson, read_gpkg
from safemap.layers.rows import Row, build_features
from safemap.layers.shapefiles import ZipLimits, read_shapefile_zip
from safemap.layers.validation import CleanFeature, Extent, validate_feature, validate_properties
from safemap.layers.xlsxfiles import read_xlsx

MAX_PROBLEMS = 500
"""An import stops collecting problems after this many."""
WGS84 = CRS.from_epsg(4326)


@dataclass
class FileFeatures:
    """What :func:`read_features` found in a file.

    Attributes
    ----------
    cleans
        The valid features, in file order.
    rows
        The file row of each valid feature (1-based; line numbers in a CSV).
    problems
        Every problem found (up to :data:`MAX_PROBLEMS`); the file must not be imported if any.
    warnings
        Things the user should know that do not stop the import (Chinese).
    source_crs
        The CRS the coordinates were read in (e.g. ``EPSG:32644``; ``GCJ-02``).
    converted_from_gcj02
        Coordinates were converted from GCJ-02 to WGS 84.
    format
        ``geojson``, ``gpkg``, ``shapefile``, ``csv``, ``xlsx``, ``kml`` or ``kmz``.
    """

    cleans: list[CleanFeature]
    rows: list[int]
    problems: list[Problem]
    warnings: list[str] = field(default_factory=list)
    source_crs: str = "EPSG:4326"
    converted_from_gcj02: bool = False
    format: str = ""


def read_features(
    layer: Layer,
    path: Path,
    *,
    extent: Extent | None,
    crs: str | int | CRS | None = None,
    gcj02: bool = False,
    source_layer: str | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    zip_limits: ZipLimits | None = None,
    sheet: str | None = None,
) -> FileFeatures:
    """Read and validate every feature of ``path`` for ``layer``.

    The parameters are those of :func:`layers.transfer.import_file`; ``extent`` is where
    features may lie. Raises :class:`ValidationFailed` (field ``file``) when the file
    cannot be read at all; problems of single rows are collected in the result.
    """
    raw = _read(path, layer, source_layer, lon_field, lat_field, zip_limits, sheet)
    warnings = list(raw.warnings)
    if layer.is_spatial:
        src, gcj02 = _resolve_crs(raw, path, crs, gcj02, warnings)
        geoms = _convert(raw.geometries, src, gcj02, extent)
    else:  # an attribute table: coordinates play no part
        src, gcj02 = WGS84, False
        geoms = np.full(len(raw.geometries), None, dtype=object)
    problems = list(raw.problems)
    features = build_features(layer, raw, geoms, file_name=path.name, warnings=warnings, problems=problems)
    cleans, rows = _validate(layer, features, raw.bad_geometry, problems, extent)
    source_crs = "GCJ-02" if gcj02 else _crs_name(src)
    return FileFeatures(cleans, rows, problems, warnings, source_crs, gcj02, raw.format)


# ---------------------------------------------------------------------- reading
def _read(
    path: Path,
    layer: Layer,
    source_layer: str | None,
    lon_field: str | None,
    lat_field: str | None,
    zip_limits: ZipLimits | None = None,
    sheet: str | None = None,
) -> RawTable:
    if not path.is_file():
        raise fail(f"文件不存在：{path}")
    if path.stat().st_size == 0:
        raise fail("文件是空的")
    fmt = detect_format(path)
    children = [c.name for c in layer.children]
    if fmt == "geojson":
        return read_geojson(path)
    if fmt == "gpkg":
        return read_gpkg(path, layer.name, children, source_layer, spatial=layer.is_spatial)
    if fmt == "shapefile":
        return read_shapefile_zip(path, layer.name, children, source_layer, limits=zip_limits)
    if fmt == "xlsx":
        return read_xlsx(
            path, sheet=sheet, lon_field=lon_field, lat_field=lat_field, spatial=layer.is_spatial, limits=zip_limits
        )
    if sheet is not None:
        raise fail(f"只有 Excel 工作簿（.xlsx）可以指定工作表（--sheet / sheet 参数），此文件是 {fmt}")
    if fmt in ("kml", "kmz"):
        raw = read_kmz(path, limits=zip_limits) if fmt == "kmz" else read_kml(path)
        if "description" in raw.columns and not layer.has_field("description"):
            raw.columns.remove("description")
            raw.warnings.append(f"KML 地标的说明（description）在{layer.label}中没有对应字段，已忽略")
        return raw
    return read_csv(path, lon_field=lon_field, lat_field=lat_field, spatial=layer.is_spatial)


# ---------------------------------------------------------------------- CRS
def _resolve_crs(
    raw: RawTable, path: Path, crs: str | int | CRS | None, gcj02: bool, warnings: list[str]
) -> tuple[CRS, bool]:
    if isinstance(crs, str) and _says_gcj(crs):
        crs, gcj02 = None, True
    declared = raw.crs
    if raw.crs_text is not None and not _says_gcj(raw.crs_text):
        try:
            declared = CRS.from_user_input(raw.crs_text)
        except CRSError:
            if crs is None:
                raise fail(f"无法识别文件声明的坐标系 {raw.crs_text!r}；请用 crs 参数指定") from None
    elif raw.crs_text is not None:
        declared = WGS84
        if not gcj02:
            raise fail(f"文件声明为 GCJ-02（火星坐标，{raw.crs_text}）；请加 GCJ-02 转换选项（gcj02）导入")
    name = path.name.lower()
    if not gcj02 and "gcj" in name and "wgs" not in name:
        raise fail("文件名表明坐标为 GCJ-02（火星坐标）；请加 GCJ-02 转换选项（gcj02）导入，或改名后再导入")
    if crs is not None:
        try:
            src = CRS.from_user_input(crs)
        except CRSError:
            raise fail(f"无法识别坐标系 {crs!r}（例如 EPSG:4326、EPSG:32644、EPSG:4490）") from None
        if declared is not None and not declared.equals(src, ignore_axis_order=True):
            warnings.append(f"文件声明坐标系为 {_crs_name(declared)}，已按指定的 {_crs_name(src)} 读取")
    elif declared is not None:
        src = declared
    elif raw.format == "shapefile":
        raise fail("Shapefile 缺少 .prj 坐标系文件；请提供坐标系参数（crs，如 EPSG:4326 或 EPSG:32644）")
    elif raw.format == "gpkg":
        raise fail("GeoPackage 图层没有坐标系；请提供坐标系参数（crs）")
    else:
        src = WGS84
    if gcj02 and not src.is_geographic:
        raise fail(f"GCJ-02 数据应为经纬度坐标，而不是投影坐标 {_crs_name(src)}")
    return src, gcj02


def _says_gcj(text: str) -> bool:
    return "gcj" in text.lower().replace("-", "").replace("_", "")


def _crs_name(crs: CRS) -> str:
    auth = crs.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else crs.name


def _convert(geometries: list[Any], src: CRS, gcj02: bool, extent: Extent | None = None) -> np.ndarray:
    geoms = np.empty(len(geometries), dtype=object)
    geoms[:] = geometries
    _diagnose_crs(geoms, src, extent)
    if not _is_wgs84(src):
        transformer = Transformer.from_crs(src, WGS84, always_xy=True)

        def project(xy: np.ndarray) -> np.ndarray:
            x, y = transformer.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        geoms = shapely.transform(geoms, project, include_z=False)
    if gcj02:
        geoms = geometries_gcj02_to_wgs84(geoms)
    return geoms


def _is_wgs84(crs: CRS) -> bool:
    return crs.equals(WGS84, ignore_axis_order=True) or crs.to_authority() == ("OGC", "CRS84")


# ---------------------------------------------------------------------- CRS diagnosis
CHINA = (73.0, 3.0, 136.0, 54.0)
"""Where coordinates are plausible when the service extent is not known (lon/lat box of China)."""
DIAGNOSIS_SAMPLE = 2000
"""Coordinates looked at to diagnose a CRS mistake."""
_CRS_OPTION = "请用 --crs {code} 导入（HTTP 接口参数 crs={code}）"
_SWAP = "CSV 用 --lon 指定东坐标列、--lat 指定北坐标列（HTTP 参数 lon_field/lat_field），其他格式在 GIS 中对调 X/Y"


def _zone_of_prefix(easting: float) -> tuple[int, int] | None:
    """(zone, width) of an easting carrying its zone number (3° zones 25–45, 6° zones 13–23)."""
    if not 1e7 <= easting < 1e8:
        return None
    zone, rest = divmod(easting, 1e6)
    if not 1e5 < rest < 9e5:
        return None
    if 25 <= zone <= 45:
        return int(zone), 3
    if 13 <= zone <= 23:
        return int(zone), 6
    return None


def _plausible(lon: np.ndarray, lat: np.ndarray, extent: Extent | None) -> np.ndarray:
    """Where converted coordinates may lie: the service extent (with 0.5° margin), else China."""
    minx, miny, maxx, maxy = CHINA
    if extent is not None:
        minx, miny, maxx, maxy = extent[0] - 0.5, extent[1] - 0.5, extent[2] + 0.5, extent[3] + 0.5
    with np.errstate(invalid="ignore"):
        return np.isfinite(lon) & np.isfinite(lat) & (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)


def _to_lonlat(crs: CRS | str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    transformer = Transformer.from_crs(crs, WGS84, always_xy=True)
    with np.errstate(all="ignore"):
        lon, lat = transformer.transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _fits(crs: CRS | str, x: np.ndarray, y: np.ndarray, extent: Extent | None) -> bool:
    lon, lat = _to_lonlat(crs, x, y)
    return bool(_plausible(lon, lat, extent).all())


def _gk_guesses(east: np.ndarray, extent: Extent | None) -> list[tuple[str, str, str]]:
    """Gauss-Krüger CRSs ``east`` may be in: (EPSG code, name, why), most likely first."""
    zones = {_zone_of_prefix(float(e)) for e in east}
    if len(zones) == 1 and (zone := zones.pop()) is not None:
        code, name = gk_crs(zone[0], prefixed=True, width=zone[1])
        return [(code, name, f"东坐标带有带号 {zone[0]}（如 {float(east[0]):.2f}）")]
    if extent is None or not (np.abs(east - 5e5) < 4e5).all():
        return []
    centre = (extent[0] + extent[2]) / 2
    out = []
    for width in (3, 6):
        cm = central_meridian(centre, width)
        code, name = gk_crs(cm, prefixed=False, width=width)
        out.append((code, name, f"东坐标不带带号（如 {float(east[0]):.2f}），服务区域中心在东经 {centre:.2f}°"))
    return out


def _diagnose_crs(geoms: np.ndarray, src: CRS, extent: Extent | None) -> None:
    """Refuse a file whose coordinates make sense only in another CRS, naming the ``--crs`` that fits.

    Looked at: eastings with a Gauss-Krüger zone number (28xxxxxx) read without it;
    X = north / Y = east (surveyors' order) read as X = east; metre coordinates in a file
    that declares no CRS (read as longitude/latitude). Nothing is fixed silently: when the
    coordinates fit as read, or no other reading fits, the rows are validated as they are.
    """
    coords = shapely.get_coordinates(geoms[geoms != None])  # noqa: E711 (element-wise)
    if len(coords) == 0:
        return
    if len(coords) > DIAGNOSIS_SAMPLE:
        coords = coords[np.linspace(0, len(coords) - 1, DIAGNOSIS_SAMPLE).astype(int)]
    x, y = coords[:, 0], coords[:, 1]
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return
    message: str | None
    if _is_wgs84(src):
        if ((np.abs(x) <= 180) & (np.abs(y) <= 90)).mean() >= 0.5:
            return
        message = _diagnose_metres(x, y, extent)
    else:
        lon, lat = _to_lonlat(src, x, y)
        if _plausible(lon, lat, extent).mean() >= 0.5:
            return
        message = _diagnose_projected(x, y, src, extent)
    if message:
        raise fail(message)


def _diagnose_metres(x: np.ndarray, y: np.ndarray, extent: Extent | None) -> str:
    """Message for metre-like coordinates in a file without a CRS."""
    sample = f"（如 X={float(x[0]):.2f}，Y={float(y[0]):.2f}）"
    head = f"坐标超出经纬度范围{sample}：看起来是以米为单位的投影坐标，而文件没有声明坐标系"
    for east, north, swapped in ((x, y, False), (y, x, True)):
        for code, name, why in _gk_guesses(east, extent):
            if _fits(code, east, north, extent):
                order = "；且 X 列是北坐标、Y 列是东坐标（测量习惯），须对调：" + _SWAP if swapped else ""
                return f"{head}。{why}：{_CRS_OPTION.format(code=code)}（{name}）{order}"
    return (
        f"{head}；请用 --crs 指定坐标系（HTTP 接口参数 crs），例如 CGCS2000 3度带：带号 EPSG:4513–4533、"
        "无带号 EPSG:4534–4554（按中央经线）；UTM 44N 为 EPSG:32644。经纬度请把经度放在前面"
    )


def _diagnose_projected(x: np.ndarray, y: np.ndarray, src: CRS, extent: Extent | None) -> str | None:
    """Message for projected coordinates that do not land where they may lie when read in ``src``."""
    given = _crs_name(src)
    sample = f"（如 X={float(x[0]):.2f}，Y={float(y[0]):.2f}）"
    for east, north, swapped in ((x, y, False), (y, x, True)):
        if swapped and _fits(src, east, north, extent):
            return (
                f"按 {given} 读取坐标不在{_where(extent)}{sample}：X 与 Y 看起来颠倒了"
                f"（X 为北坐标、Y 为东坐标，测量习惯）；坐标系 {given} 不变，请对调两列：{_SWAP}"
            )
        for code, name, why in _gk_guesses(east, extent):
            if code != given and _fits(code, east, north, extent):
                order = "；且 X、Y 颠倒（X 为北坐标），须对调：" + _SWAP if swapped else ""
                return (
                    f"按 {given} 读取坐标不在{_where(extent)}{sample}。{why}，与 {given} 不符："
                    f"{_CRS_OPTION.format(code=code)}（{name}）{order}"
                )
    return None


def _where(extent: Extent | None) -> str:
    if extent is None:
        return "中国境内"
    return f"服务区域（经度 {extent[0]:g}–{extent[2]:g}，纬度 {extent[1]:g}–{extent[3]:g}）附近"


# ---------------------------------------------------------------------- validation
def _validate(
    layer: Layer,
    features: list[Row],
    bad_geometry: set[int],
    problems: list[Problem],
    extent: Extent | None,
) -> tuple[list[CleanFeature], list[int]]:
    cleans: list[CleanFeature] = []
    rows: list[int] = []
    for row, props, geom in progress.track(features, f"校验{layer.label}"):
        if len(problems) >= MAX_PROBLEMS:
            break
        try:
            if row in bad_geometry:  # its geometry problem is already reported
                validate_properties(layer, props, partial=False, row=row)
                continue
            feature = {"type": "Feature", "properties": props, "geometry": geom}
            cleans.append(validate_feature(layer, feature, partial=False, extent=extent, row=row))
            rows.append(row)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    return cleans, rows


def failure(layer: Layer, path: Path, problems: list[Problem]) -> ValidationFailed:
    """One :class:`ValidationFailed` listing ``problems`` (sorted by row, at most :data:`MAX_PROBLEMS`)."""
    problems = sorted(problems, key=lambda p: (p.row is not None, p.row or 0))
    more = ""
    if len(problems) >= MAX_PROBLEMS:
        problems = problems[:MAX_PROBLEMS]
        more = f"（只列出前 {MAX_PROBLEMS} 处，之后未再检查）"
    first = problems[0]
    where = f"第 {first.row} 行 " if first.row is not None else ""
    message = (
        f"{path.name} 导入{layer.label}失败，共 {len(problems)} 处问题{more}，未写入任何数据。"
        f"{where}{problem_text(first.field, first.message, layer)}"
    )
    return ValidationFailed(message, problems)

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

from safemap.layers.catalogue import Layer
from safemap.layers.csvfiles import read_csv
from safemap.layers.errors import Problem, ValidationFailed
from safemap.layers.gcj02 import geometries_gcj02_to_wgs84
from safemap.layers.labels import problem_text
from safemap.layers.readers import RawTable, detect_format, fail, read_geojson, read_gpkg
from safemap.layers.rows import Row, build_features
from safemap.layers.shapefiles import ZipLimits, read_shapefile_zip
from safemap.layers.validation import CleanFeature, Extent, validate_feature, validate_properties

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
        ``geojson``, ``gpkg``, ``shapefile`` or ``csv``.
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
) -> FileFeatures:
    """Read and validate every feature of ``path`` for ``layer``.

    The parameters are those of :func:`layers.transfer.import_file`; ``extent`` is where
    features may lie. Raises :class:`ValidationFailed` (field ``file``) when the file
    cannot be read at all; problems of single rows are collected in the result.
    """
    raw = _read(path, layer, source_layer, lon_field, lat_field, zip_limits)
    warnings = list(raw.warnings)
    if layer.is_spatial:
        src, gcj02 = _resolve_crs(raw, path, crs, gcj02, warnings)
        geoms = _convert(raw.geometries, src, gcj02)
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


def _convert(geometries: list[Any], src: CRS, gcj02: bool) -> np.ndarray:
    geoms = np.empty(len(geometries), dtype=object)
    geoms[:] = geometries
    if not (src.equals(WGS84, ignore_axis_order=True) or src.to_authority() == ("OGC", "CRS84")):
        transformer = Transformer.from_crs(src, WGS84, always_xy=True)

        def project(xy: np.ndarray) -> np.ndarray:
            x, y = transformer.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        geoms = shapely.transform(geoms, project, include_z=False)
    if gcj02:
        geoms = geometries_gcj02_to_wgs84(geoms)
    return geoms


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
    for row, props, geom in features:
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

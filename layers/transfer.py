"""Import files into a layer and export layers to files: GeoJSON, GeoPackage, Shapefile, CSV.

:func:`import_file` reads a file, maps its columns onto the catalogue (names, Chinese
labels, truncated shapefile names), reprojects it to EPSG:4326 (and converts GCJ-02
when asked) and validates every row (all in :mod:`layers.ingest`), checks that the
features it refers to exist and inserts them all in one transaction, or raises
:class:`~layers.errors.ValidationFailed` listing every problem (row, field, reason)
and writes nothing.

:func:`export_layer` writes a layer (or a bbox/attribute query on it) in any of the
four formats (:mod:`layers.writers`); an exported file imports back into the same layer
unchanged, except ids (see :func:`export_layer` for what each format carries).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyproj import CRS

from safemap.layers import progress, writers
from safemap.layers.catalogue import Layer
from safemap.layers.errors import Problem
from safemap.layers.ingest import MAX_PROBLEMS, failure, read_features
from safemap.layers.model import Actor, BBox
from safemap.layers.shapefiles import ZipLimits
from safemap.layers.store import FeatureStore
from safemap.layers.validation import CleanFeature

__all__ = ["MAX_PROBLEMS", "ImportReport", "export_layer", "import_file"]


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do).

    Attributes
    ----------
    layer
        Layer name.
    count
        Features inserted (or that would be inserted). A multi-part line split into
        parts counts once per part.
    ids
        Ids of the inserted features, in file order (empty for a dry run).
    warnings
        Things the user should know that did not stop the import (Chinese).
    source_crs
        The CRS the coordinates were read in (e.g. ``EPSG:32644``; ``GCJ-02``).
    converted_from_gcj02
        Coordinates were converted from GCJ-02 to WGS 84.
    format
        ``geojson``, ``gpkg``, ``shapefile``, ``csv``, ``xlsx``, ``kml`` or ``kmz``.
    dry_run
        Nothing was written.
    """

    layer: str
    count: int
    ids: list[int]
    warnings: list[str]
    source_crs: str
    converted_from_gcj02: bool
    format: str = ""
    dry_run: bool = False


def import_file(
    store: FeatureStore,
    layer_name: str,
    path: str | Path,
    actor: Actor,
    *,
    crs: str | int | CRS | None = None,
    gcj02: bool = False,
    source_layer: str | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    dry_run: bool = False,
    zip_limits: ZipLimits | None = None,
    sheet: str | None = None,
    check: Callable[[Sequence[CleanFeature], Sequence[int]], list[Problem]] | None = None,
) -> ImportReport:
    """Import every feature of a file into a layer, all or nothing.

    Parameters
    ----------
    store
        The feature store to write to.
    layer_name
        Catalogue layer to import into.
    path
        ``.geojson``/``.json`` (RFC 7946 lon/lat; a legacy ``crs`` member is honoured),
        ``.gpkg`` (one feature table, plus SafeMap child tables ``<table>__<child>``),
        ``.zip`` holding a Shapefile (``.shp``/``.shx``/``.dbf``, a ``.prj``, ideally a
        ``.cpg``), ``.csv``/``.txt``/``.tsv`` (UTF-8 with or without BOM, GBK, or UTF-16
        as Excel saves "Unicode 文本"; comma, tab or semicolon separated; lon/lat columns
        or a WKT column), ``.xlsx`` (one sheet, columns as in CSV, typed cells) or
        ``.kml``/``.kmz`` (Placemarks with name, description and ExtendedData; WGS 84).
        Zips, workbooks, KML and GeoPackages are recognised by content, whatever the
        suffix; an old ``.xls`` is refused with how to save it as ``.xlsx``.
    actor
        Who imports (recorded in the audit log).
    crs
        CRS of the coordinates (``"EPSG:32644"``, ``4490``, a WKT or PROJ string). It
        overrides what the file declares and is required for a Shapefile without
        ``.prj``. Default: the file's CRS; WGS 84 lon/lat for GeoJSON and CSV.
        ``"GCJ-02"`` is the same as ``gcj02=True``.
    gcj02
        The coordinates are GCJ-02 (Gaode/AutoNavi, DataV) lon/lat: convert them to
        WGS 84. A file that says it is GCJ-02 (its ``crs`` or its name) is refused
        without this option.
    source_layer
        Table of a GeoPackage, or shapefile (name without ``.shp``) of a zip, to read.
    lon_field, lat_field
        CSV/Excel columns holding the x (longitude/easting) and y (latitude/northing)
        coordinates; found automatically when named 经度/东经/lon/lng/longitude/x and
        纬度/北纬/lat/latitude/y (units in brackets, full-width characters and spaces
        ignored). The CLI calls them ``--lon``/``--lat``.
    dry_run
        Validate everything but write nothing.
    zip_limits
        Caps on what a zipped Shapefile may unpack to (default
        :class:`~layers.shapefiles.ZipLimits`); a zip beyond them raises
        :class:`~layers.errors.TooLarge` before anything is unpacked. They apply to
        Excel workbooks and KMZ files (zips too) as well.
    sheet
        Excel only: the sheet to read (default the first visible one).
    check
        The domain's own rules for the validated features (the services pass them: e.g. a
        CAS number that contradicts the substance's name), given the features and their
        file rows; its problems refuse the import like any invalid row.

    Returns
    -------
    ImportReport
        Counts, new ids, warnings and the CRS read.

    Raises
    ------
    ValidationFailed
        The file cannot be read (a problem on field ``file``), or any row is invalid:
        every problem (up to 500) with its row, field and reason. Rows are 1-based
        feature numbers; in CSV files they are line numbers, the header being line 1
        (so the first record is line 2); in Excel workbooks, Excel's row numbers.
        Nothing is written.
    UnknownLayer
        No such layer.
    """
    layer = store.layer(layer_name)
    path = Path(path)
    found = read_features(
        layer,
        path,
        extent=store.extent,
        crs=crs,
        gcj02=gcj02,
        source_layer=source_layer,
        lon_field=lon_field,
        lat_field=lat_field,
        zip_limits=zip_limits,
        sheet=sheet,
    )
    cleans, problems = found.cleans, found.problems
    if len(problems) < MAX_PROBLEMS:
        problems += _reference_problems(store, layer, cleans, found.rows)
    if check is not None and not problems and cleans:
        problems += check(cleans, found.rows)[:MAX_PROBLEMS]
    if problems:
        raise failure(layer, path, problems)
    report = ImportReport(
        layer.name, len(cleans), [], found.warnings, found.source_crs, found.converted_from_gcj02, found.format, dry_run
    )
    if not dry_run and cleans:
        with progress.stage(f"写入{layer.label}（{len(cleans)} 个要素，一次提交）"):
            report.ids = store.insert_clean(layer.name, cleans, actor, action="import", note=f"导入 {path.name}")
    return report


def export_layer(
    store: FeatureStore,
    layer_name: str,
    path: str | Path,
    *,
    fmt: str | None = None,
    bbox: BBox | None = None,
    filters: Mapping[str, Sequence[Any]] | None = None,
    csv_headers: str = "label",
) -> int:
    """Write a layer (or the features matching a query) to a file.

    Parameters
    ----------
    store
        The feature store to read.
    layer_name
        Catalogue layer to export.
    path
        Output file; replaced atomically if it exists.
    fmt
        ``geojson``, ``gpkg``, ``shapefile`` (a ``.zip``) or ``csv``; default from the
        suffix of ``path``.
    bbox
        (min lon, min lat, max lon, max lat) in degrees: only features intersecting it.
    filters
        Field -> accepted (typed) values, as for :meth:`FeatureStore.query` (raw text
        can be typed with ``safemap.layers.filters.parse_filters``).
    csv_headers
        CSV only: ``label`` (default; Chinese labels with units as headers, Chinese
        enum labels, 是/否, ``经度``/``纬度``) for people using Excel, or ``name``
        (field names, codes, true/false, ``lon``/``lat``) for programs.

    Returns
    -------
    int
        Number of features written.

    Notes
    -----
    * GeoJSON: RFC 7946 FeatureCollection, lon/lat, counter-clockwise outer rings, no
      ``crs`` member; child rows as arrays of objects in the properties.
    * GeoPackage: the layer as a feature table named like the layer, and one attribute
      table ``<layer>__<child>`` per child table (``parent_id`` refers to ``id``).
    * Shapefile: one zip with ``.shp/.shx/.dbf/.prj/.cpg`` (UTF-8), field names cut to
      10 characters and listed in ``fields.txt`` (short name, field, Chinese label);
      child tables as a summary text column and as ``<layer>__<child>.dbf`` tables, so
      they survive the round trip. A layer holding both points and polygons is written
      as one shapefile per geometry type (``<layer>_point.shp``, ``<layer>_polygon.shp``)
      in the same zip; the import reads them back together. dBASE text is limited to
      254 bytes (84 Chinese characters): longer text is cut, with a
      :class:`~layers.writers.ExportWarning`.
    * CSV: UTF-8 with BOM (Excel shows Chinese); lon/lat columns for point layers, a
      ``wkt`` column otherwise; child tables as a summary text column, which an import
      ignores (with a warning): use GeoJSON, GeoPackage or Shapefile for child rows.
    """
    layer = store.layer(layer_name)
    path = Path(path)
    kind = writers.format_for(path, fmt, layer_is_spatial=layer.is_spatial)
    page = store.query(layer.name, bbox=bbox, filters=filters, limit=None, count=False, children=True)
    return writers.write(page, path, kind, tz=store.tz, csv_headers=csv_headers)


# ---------------------------------------------------------------------- references
def _reference_problems(
    store: FeatureStore, layer: Layer, cleans: list[CleanFeature], rows: list[int]
) -> list[Problem]:
    """Per-row check that referenced features exist (the store checks again on insert)."""
    wanted: list[tuple[int, str, str, Any]] = []
    for row, clean in zip(rows, cleans, strict=True):
        p = clean.properties
        for f in layer.fields:
            if f.references and p.get(f.name) is not None:
                wanted.append((row, f"properties.{f.name}", f.references, p[f.name]))
        if layer.has_field("site_layer"):
            site_layer, site_id = p.get("site_layer"), p.get("site_id")
            if (site_layer is None) != (site_id is None):
                wanted.append((row, "properties.site_id", "", None))
            elif site_layer is not None:
                wanted.append((row, "properties.site_id", site_layer, site_id))
    existing: dict[str, set[Any]] = {}
    for target in {t for _, _, t, _ in wanted if t}:
        ids = sorted({v for _, _, t, v in wanted if t == target})
        found: set[Any] = set()
        for start in range(0, len(ids), 500):
            page = store.query(target, ids=ids[start : start + 500], limit=None, count=False, children=False)
            found.update(r["id"] for r in page.rows)
        existing[target] = found
    out = []
    for row, where, target, value in wanted:
        if not target:
            out.append(Problem(where, "所属场所类型与编号须同时填写", row))
        elif value not in existing[target]:
            out.append(Problem(where, f"{store.layer(target).label}中没有编号为 {value} 的要素", row))
    return out[:MAX_PROBLEMS]

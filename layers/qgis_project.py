"""A QGIS project (``.qgz``) of the catalogue: SafeMap's map opened in QGIS 3.22.

The project holds the catalogue's groups (Chinese names, in the catalogue's order),
one layer per drawn table — per geometry family when a table holds points and areas,
as QGIS opens such a GeoPackage table (``|geometrytype=Point``) — each with the renderer,
aliases and value maps of :mod:`layers.qgis_styles`. Layers read either the store's
GeoPackage (path relative to the ``.qgz`` when it can be, as QGIS writes it with
relative paths) or the server's OGC API – Features (QGIS's ``OAPIF`` provider).
"""

from __future__ import annotations

import io
import os
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyproj import CRS, Transformer

from safemap.layers import qgis_styles
from safemap.layers.catalogue import Layer

#: The CRS the store and the OGC API give coordinates in.
LAYER_EPSG = 4326
_WKB_NAME = {"Point": "Point", "Line": "LineString", "Polygon": "MultiPolygon"}


@dataclass(frozen=True)
class ProjectLayer:
    """One layer of the project: a catalogue layer, the geometry family it draws, its id and datasource."""

    layer: Layer
    family: str
    id: str
    name: str
    provider: str
    source: str


def utm_epsg(lon: float, lat: float) -> int:
    """WGS 84 / UTM zone EPSG code of a point (e.g. 32644 for 裕民县)."""
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return (32600 if lat >= 0 else 32700) + zone


def _srs(parent: ET.Element, epsg: int) -> None:
    crs = CRS.from_epsg(epsg)
    srs = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    ET.SubElement(srs, "wkt").text = crs.to_wkt()
    with warnings.catch_warnings():  # "you will likely lose information": QGIS reads the WKT first
        warnings.simplefilter("ignore", UserWarning)
        ET.SubElement(srs, "proj4").text = crs.to_proj4()
    ET.SubElement(srs, "srid").text = str(epsg)
    ET.SubElement(srs, "authid").text = f"EPSG:{epsg}"
    ET.SubElement(srs, "description").text = crs.name
    ET.SubElement(srs, "projectionacronym").text = "longlat" if crs.is_geographic else "utm"
    ellipsoid = crs.ellipsoid.to_json_dict().get("id", {}) if crs.ellipsoid else {}
    ET.SubElement(srs, "ellipsoidacronym").text = f"EPSG:{ellipsoid.get('code', '')}"
    ET.SubElement(srs, "geographicflag").text = "true" if crs.is_geographic else "false"


def project_layers(
    layers: Sequence[Layer], *, gpkg: str | None = None, ogc_url: str | None = None
) -> list[ProjectLayer]:
    """The drawn layers of ``layers`` as project layers reading ``gpkg`` or the OGC API at ``ogc_url``."""
    if (gpkg is None) == (ogc_url is None):
        raise ValueError("give exactly one of gpkg and ogc_url")
    out = []
    for layer in layers:
        if not layer.is_spatial or layer.style is None:
            continue
        # Areas under points: the catalogue's drawing order within a table that holds both.
        fams = tuple(sorted(qgis_styles.families(layer), key=("Polygon", "Line", "Point").index))
        for fam in fams:
            suffix = f"_{fam.lower()}" if len(fams) > 1 else ""
            name = layer.label if len(fams) == 1 else f"{layer.label}（{qgis_styles.FAMILY_LABEL[fam]}）"
            if gpkg is not None:
                source = f"{gpkg}|layername={layer.name}" + (f"|geometrytype={fam}" if len(fams) > 1 else "")
                provider = "ogr"
            else:
                assert ogc_url is not None
                source = (
                    f"pagingEnabled='true' restrictToRequestBBOX='1' srsname='EPSG:{LAYER_EPSG}' "
                    f"typename='{layer.name}' url='{ogc_url.rstrip('/')}'"
                )
                provider = "OAPIF"
            out.append(ProjectLayer(layer, fam, f"safemap_{layer.name}{suffix}", name, provider, source))
    return out


def project_xml(
    layers: Sequence[Layer],
    *,
    title: str,
    gpkg: str | None = None,
    ogc_url: str | None = None,
    extent: tuple[float, float, float, float] | None = None,
    project_epsg: int | None = None,
    groups: Sequence[str] = (),
) -> str:
    """The ``.qgs`` document: groups, layers with their datasource, renderers and aliases.

    ``extent`` (lon/lat) is where the map opens; ``project_epsg`` defaults to the UTM zone of its
    centre (EPSG:3857 without an extent). ``groups`` orders the catalogue's groups (others follow).
    """
    plist = project_layers(layers, gpkg=gpkg, ogc_url=ogc_url)
    if project_epsg is None:
        project_epsg = utm_epsg((extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2) if extent else 3857
    root = ET.Element("qgis", projectname=title, version=qgis_styles.QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    _srs(ET.SubElement(root, "projectCrs"), project_epsg)

    order = list(dict.fromkeys([*groups, *(p.layer.group for p in plist)]))
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for group in order:
        members = [p for p in plist if p.layer.group == group]
        if not members:
            continue
        g = ET.SubElement(tree, "layer-tree-group", name=group, checked="Qt::Checked", expanded="1")
        ET.SubElement(g, "customproperties")
        # The catalogue lists layers bottom first (its drawing order); QGIS draws its list's top last.
        for p in reversed(members):
            ET.SubElement(
                g,
                "layer-tree-layer",
                id=p.id,
                name=p.name,
                source=p.source,
                providerKey=p.provider,
                checked="Qt::Checked",
                expanded="0",
            )

    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "degrees" if CRS.from_epsg(project_epsg).is_geographic else "meters"
    if extent is not None:
        to = Transformer.from_crs(LAYER_EPSG, project_epsg, always_xy=True)
        x0, y0, x1, y1 = to.transform_bounds(*extent)
        ext = ET.SubElement(canvas, "extent")
        for tag, v in (("xmin", x0), ("ymin", y0), ("xmax", x1), ("ymax", y1)):
            ET.SubElement(ext, tag).text = f"{v:.3f}"
    _srs(ET.SubElement(canvas, "destinationsrs"), project_epsg)

    maplayers = ET.SubElement(root, "projectlayers")
    for p in plist:
        ml = ET.SubElement(
            maplayers,
            "maplayer",
            type="vector",
            geometry=p.family,
            wkbType=_WKB_NAME[p.family],
            autoRefreshEnabled="0",
            simplifyDrawingHints="1",
            styleCategories="AllStyleCategories",
        )
        ET.SubElement(ml, "id").text = p.id
        ET.SubElement(ml, "datasource").text = p.source
        ET.SubElement(ml, "layername").text = p.name
        ET.SubElement(ml, "abstract").text = p.layer.description or p.layer.label
        _srs(ET.SubElement(ml, "srs"), LAYER_EPSG)
        ET.SubElement(ml, "provider", encoding="UTF-8").text = p.provider
        for el in qgis_styles.layer_elements(p.layer, p.layer.fields, p.family):
            ml.append(el)
        ET.SubElement(ml, "layerGeometryType").text = str(qgis_styles.LAYER_GEOMETRY_TYPE[p.family])

    lo = ET.SubElement(root, "layerorder")
    for group in order:
        for p in reversed([p for p in plist if p.layer.group == group]):
            ET.SubElement(lo, "layer", id=p.id)
    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")


def gpkg_reference(store: Path, project: Path) -> str:
    """How the project names the store: relative to the ``.qgz`` (``./…``) when on the same drive, else absolute."""
    store, project = store.resolve(), project.resolve()
    try:
        rel = os.path.relpath(store, project.parent)
    except ValueError:  # another drive (Windows)
        return str(store)
    return rel if rel.startswith("..") else f"./{rel}"


def write_qgz(path: Path, qgs: str) -> Path:
    """Write ``qgs`` into the ``.qgz`` at ``path`` (a zip holding ``<stem>.qgs``, as QGIS saves it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{path.stem}.qgs", qgs.encode("utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path

"""SafeMap's default QGIS styles in a GeoPackage's ``layer_styles`` table.

QGIS 3.22 loads a GeoPackage layer's default style from ``layer_styles`` when the layer is
opened (``QgsOgrProviderMetadata::loadStyle``: ``f_table_schema=''``, ``f_table_name``,
``f_geometry_column``, default first); the table here has the columns and types QGIS gives
it when it creates it through GDAL (``QgsOgrUtils::saveStyle``). The XML comes from
:mod:`layers.qgis_styles`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

from safemap.layers import qgis_styles
from safemap.layers.catalogue import Layer

#: ``layer_styles.styleName`` of the styles SafeMap writes (a style saved in QGIS under another name is kept).
STYLE_NAME = "SafeMap"
STYLE_OWNER = "SafeMap"

#: QGIS's style table, as QGIS creates it through GDAL (``QgsOgrUtils::saveStyle``): same columns and types.
LAYER_STYLES_DDL = (
    'CREATE TABLE IF NOT EXISTS "layer_styles" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
    '"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256), '
    '"f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, '
    '"useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30), '
    "\"update_time\" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
)


def _style_rows(layers: Sequence[Layer]) -> Iterator[tuple[str, str, str, str, str]]:
    """(table, geometry column, QML, SLD, description) of every table of ``layers``."""
    for layer in layers:
        geom = "geom" if layer.is_spatial else ""
        yield layer.name, geom, qgis_styles.qml(layer), qgis_styles.sld(layer), f"SafeMap：{layer.label}"
        for child in layer.children:
            yield (
                child.table_name(layer.name),
                "",
                qgis_styles.qml(None, child.fields),
                "",
                f"SafeMap：{layer.label}的{child.label}",
            )


def write_styles(conn: Connection, layers: Sequence[Layer]) -> None:
    """SafeMap's style of every table in ``layer_styles``, QGIS's default unless another one is.

    The row named :data:`STYLE_NAME` is replaced when its XML changed; a style a county saved
    as default in QGIS stays the default (``useAsDefault`` is set only where no row has it).
    """
    conn.exec_driver_sql(LAYER_STYLES_DDL)
    conn.execute(
        text(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
            "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS 图层样式（SafeMap 写入默认样式）')"
        )
    )
    for table, geom, qml, sld, description in _style_rows(layers):
        key = {"t": table, "g": geom, "n": STYLE_NAME}
        row = conn.execute(
            text(
                'SELECT id, "styleQML", "styleSLD" FROM layer_styles WHERE f_table_schema = \'\' '
                'AND f_table_name = :t AND f_geometry_column = :g AND "styleName" = :n'
            ),
            key,
        ).first()
        if row is None:
            conn.execute(
                text(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                    '"styleName", "styleQML", "styleSLD", "useAsDefault", description, owner, ui) '
                    "VALUES ('', '', :t, :g, :n, :qml, :sld, NOT EXISTS (SELECT 1 FROM layer_styles WHERE "
                    'f_table_name = :t AND f_geometry_column = :g AND "useAsDefault"), :d, :o, NULL)'
                ),
                {**key, "qml": qml, "sld": sld, "d": description, "o": STYLE_OWNER},
            )
        elif (row[1], row[2]) != (qml, sld):
            conn.execute(
                text(
                    'UPDATE layer_styles SET "styleQML" = :qml, "styleSLD" = :sld, description = :d, '
                    "update_time = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = :id"
                ),
                {"qml": qml, "sld": sld, "d": description, "id": row[0]},
            )

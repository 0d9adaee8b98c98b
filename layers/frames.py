"""Query results as (Geo)DataFrames for analysis: :func:`page_frame`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safemap.layers.model import Page

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd


def page_frame(page: Page) -> gpd.GeoDataFrame | pd.DataFrame:
    """``page`` as a GeoDataFrame in EPSG:4326 indexed by id (a DataFrame for an attribute table).

    Columns follow the catalogue (``id`` first); child lists are left out.
    """
    import geopandas as gpd

    layer = page.layer
    columns = ["id", *[f.name for f in layer.fields if f.name != "id"]]
    if not layer.is_spatial:
        import pandas as pd

        return pd.DataFrame(page.rows, columns=columns).set_index("id", drop=False).rename_axis(None)
    frame = gpd.GeoDataFrame(page.rows, columns=columns, geometry=list(page.geometries), crs="EPSG:4326")
    return frame.set_index("id", drop=False).rename_axis(None)

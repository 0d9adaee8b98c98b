"""Settings, read from ``SAFEMAP_*`` environment variables (and a ``.env`` file if present)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from safemap.layers.store import FeatureStore

#: 裕民县 (82.27–83.46°E, 45.40–46.51°N) with about 10 km of margin for border roads.
YUMIN_EXTENT = (82.1, 45.25, 83.65, 46.65)


class Settings(BaseSettings):
    """Everything a deployment may change; defaults give the embedded demo on a laptop."""

    model_config = SettingsConfigDict(env_prefix="SAFEMAP_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql+psycopg://user:pass@host/db selects PostGIS; unset: the GeoPackage.",
    )
    gpkg_path: Path = Field(default=Path("var/safemap.gpkg"), description="Embedded store file.")
    host: str = "127.0.0.1"
    port: int = 8000
    basemap: Literal["osm", "tianditu", "custom", "none"] = Field(
        default="osm",
        description="osm; tianditu (needs tianditu_key); custom (basemap_url, e.g. an intranet "
        "tile server); none (vector layers only, for offline intranets).",
    )
    tianditu_key: str | None = None
    basemap_url: str | None = Field(default=None, description="XYZ template for basemap=custom.")
    basemap_attribution: str = ""
    data_attribution: str = Field(
        default="边界: DataV.GeoAtlas/高德; 乡镇与村名: Vonng/adcode (CC BY 4.0), "
        "modood/Administrative-divisions-of-China (WTFPL); 其余为合成演示数据",
        description="Credit of the data shown on the map (the demo's by default).",
    )
    extent: tuple[float, float, float, float] = Field(
        default=YUMIN_EXTENT,
        description="Service area (min lon, min lat, max lon, max lat); writes outside it are refused.",
    )
    timezone: str = Field(default="Asia/Shanghai", description="Zone of times given without offset.")
    title: str = "裕民县安全生产风险与应急资源一张图"
    map_tile_threshold: int = Field(
        default=20_000, description="Layers with more features are drawn on the map from vector tiles."
    )
    max_body_bytes: int = Field(default=5 * 1024 * 1024, description="Largest JSON request body.")
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, description="Largest import upload.")

    @field_validator("extent", mode="before")
    @classmethod
    def _parse_extent(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [float(p) for p in value.replace(" ", "").split(",")]
            if len(parts) != 4:
                raise ValueError("extent needs four numbers: minlon,minlat,maxlon,maxlat")
            return tuple(parts)
        return value

    @property
    def store_target(self) -> str:
        """The PostGIS URL when set, otherwise the GeoPackage path."""
        return self.database_url or str(self.gpkg_path)


def open_configured_store(settings: Settings) -> FeatureStore:
    """Open (creating or upgrading) the store the settings select.

    Parameters
    ----------
    settings
        The deployment's settings: PostGIS when ``database_url`` is set, else the GeoPackage.

    Returns
    -------
    FeatureStore
        The open store; the caller closes it.
    """
    from safemap.layers.store import open_store

    return open_store(settings.store_target, extent=settings.extent, local_tz=settings.timezone)

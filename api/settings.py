"""Settings, read from ``SAFEMAP_*`` environment variables (and a ``.env`` file if present)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

if TYPE_CHECKING:
    from safemap.api.services.live_worker import LiveWorker
    from safemap.api.services.warning_channels import ChannelConfig
    from safemap.api.services.warning_worker import DeliveryWorker
    from safemap.layers.shapefiles import ZipLimits
    from safemap.layers.store import FeatureStore

#: 裕民县 (82.27–83.46°E, 45.40–46.51°N) with about 10 km of margin for border roads.
YUMIN_EXTENT = (82.1, 45.25, 83.65, 46.65)

EXTENT_FORM = "应为4个数：最小经度,最小纬度,最大经度,最大纬度（如 82.1,45.25,83.65,46.65 或 [82.1,45.25,83.65,46.65]）"
DATABASE_URL_FORM = "应为 PostgreSQL 地址，如 postgresql+psycopg://用户:密码@主机:5432/库名"
#: Settings whose values are never repeated in a message (they hold passwords or keys).
SECRET_SETTINGS = frozenset(
    {"database_url", "tianditu_key", "smtp_url", "warning_webhook_url", "warning_webhook_secret"}
)


class Settings(BaseSettings):
    """Everything a deployment may change; defaults give the embedded demo on a laptop."""

    model_config = SettingsConfigDict(env_prefix="SAFEMAP_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql+psycopg://user:pass@host/db selects PostGIS; unset: the GeoPackage.",
    )
    gpkg_path: Path = Field(default=Path("var/safemap.gpkg"), description="Embedded store file.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    basemap: Literal["osm", "tianditu", "tianditu_vec", "tianditu_img", "custom", "none"] = Field(
        default="osm",
        description="osm; tianditu or tianditu_vec (天地图矢量, needs tianditu_key); tianditu_img (天地图影像); "
        "custom (basemap_url, e.g. an intranet tile server); none (vector layers only, for offline intranets).",
    )
    basemaps: str | None = Field(
        default=None,
        description="Several basemaps for the switcher, comma-separated, the first shown at start "
        "(e.g. tianditu_vec,tianditu_img,custom,none); unset: basemap and a blank one.",
    )
    tianditu_key: str | None = None
    basemap_url: str | None = Field(
        default=None,
        description="XYZ template ({z}/{x}/{y}) or WMTS KVP template ({TileMatrix}/{TileRow}/{TileCol}) for custom.",
    )
    basemap_attribution: str = ""
    data_attribution: str = Field(
        default="边界: DataV.GeoAtlas/高德; 乡镇与村名: Vonng/adcode (CC BY 4.0), "
        "modood/Administrative-divisions-of-China (WTFPL); 其余为合成演示数据",
        description="Credit of the data shown on the map (the demo's by default).",
    )
    # NoDecode: the value is parsed by _parse_extent (comma form or JSON list), not JSON-decoded first.
    extent: Annotated[tuple[float, float, float, float], NoDecode] = Field(
        default=YUMIN_EXTENT,
        description="Service area (min lon, min lat, max lon, max lat); writes outside it are refused.",
    )
    timezone: str = Field(default="Asia/Shanghai", description="Zone of times given without offset.")
    county_code: str = Field(
        default="654225",
        description="行政区划代码 of the county whose rows this store holds (裕民县 654225).",
    )
    counties: str | None = Field(
        default=None,
        description="Counties this deployment shows, comma-separated 行政区划代码 (a prefecture: its counties); "
        "empty: every county in the store.",
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Address of a Dask scheduler (tcp://host:8786): region-wide analyses run partitioned on it; "
        "empty: in this process.",
    )
    title: str = "裕民县安全生产风险与应急资源一张图"
    map_unit: str = Field(default="裕民县应急管理局", description="制图单位 printed on maps and 调度单.")
    chromium_path: Path = Field(
        default=Path("/usr/bin/chromium"),
        description="Headless Chromium used by POST /api/print for PNG/PDF (Debian: apt-get install chromium).",
    )
    map_tile_threshold: int = Field(
        default=20_000, description="Layers with more features are drawn on the map from vector tiles."
    )
    max_body_bytes: int = Field(default=5 * 1024 * 1024, description="Largest JSON request body.")
    lock_timeout: float = Field(
        default=5.0,
        ge=0.1,
        le=600,
        description="Seconds a write waits for another write's lock before answering 503 with Retry-After.",
    )
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, description="Largest import upload.")
    max_unzipped_bytes: int | None = Field(
        default=None,
        description="Largest total a zipped upload may unpack to; default 5 × max_upload_bytes.",
    )
    max_zip_ratio: float = Field(
        default=100.0, description="Largest compression ratio of a zip member over 32 MB (zip bombs)."
    )
    max_zip_members: int = Field(default=1000, description="Most files a zipped upload may hold.")
    upload_dir: Path | None = Field(
        default=None,
        description="Where uploads are stored while imported; default uploads/ next to the GeoPackage store.",
    )

    # Warnings (预警信息发布): channels, retries and the delivery worker (api/services/warning_*.py).
    smtp_url: str | None = Field(
        default=None,
        description="smtp://user:pass@host:port (STARTTLS when offered) or smtps://…; unset: e-mail is 未配置.",
    )
    smtp_from: str = Field(default="safemap@localhost", description="Sender address of warning e-mails.")
    warning_webhook_url: str | None = Field(
        default=None, description="SMS/loudspeaker/broadcast gateway: POST of a signed JSON body per recipient."
    )
    warning_webhook_secret: str | None = Field(
        default=None, description="HMAC-SHA256 key of X-SafeMap-Signature; without it the webhook is 未配置."
    )
    tls_ca_file: str | None = Field(
        default=None,
        description="PEM bundle of the intranet's CA: SMTP and webhook TLS verify against it instead of the "
        "system's CAs (host names are still checked); unset: the system's CAs.",
    )
    warning_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Timeout of one SMTP/webhook attempt.")
    warning_max_attempts: int = Field(default=8, ge=1, le=50, description="Attempts per delivery before 失败.")
    warning_retry_base_s: float = Field(default=30.0, gt=0, le=3600, description="First back-off; doubles.")
    warning_retry_cap_s: float = Field(default=1800.0, gt=0, le=86400, description="Longest back-off.")
    warning_lease_s: float = Field(
        default=300.0, ge=1, le=86400, description="A claimed delivery is taken over after this if its worker died."
    )
    warning_worker: bool = Field(default=True, description="Run the delivery worker inside the web app.")
    warning_worker_interval_s: float = Field(default=5.0, gt=0, le=3600, description="Seconds between passes.")

    mqtt_url: str | None = Field(
        default=None,
        description="Broker of the live data: mqtt://user:pass@host:port (mqtts:// for TLS); unset: HTTP ingest only.",
    )
    mqtt_client_id: str = Field(
        default="safemap-ingest", min_length=1, max_length=64, description="Persistent session name at the broker."
    )
    ingest_queue: int = Field(
        default=50_000, ge=100, le=5_000_000, description="MQTT messages held before further ones are dropped."
    )
    ingest_max_age_days: float = Field(
        default=7.0, gt=0, le=3650, description="Older readings and positions are refused."
    )
    retention_days: float = Field(
        default=400.0, ge=1, le=36500, description="Readings and positions older than this are removed."
    )
    live_worker: bool = Field(
        default=True, description="Check for silent sensors and vehicles and apply retention inside the web app."
    )
    live_worker_interval_s: float = Field(default=30.0, gt=0, le=3600, description="Seconds between checks.")
    heartbeat_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="Seconds between the county's replication heartbeats (数据延迟 at the hub); 0: none.",
    )
    position_fresh_s: float = Field(
        default=300.0, gt=0, le=86400, description="A rescue vehicle's position younger than this routes dispatch."
    )

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        from safemap.api.services.mqtt_ingest import check_mqtt_url

        return check_mqtt_url(value) if value else None

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        from safemap.api.services.warning_channels import check_smtp_url

        return check_smtp_url(value) if value else None

    @field_validator("warning_webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        from safemap.api.services.warning_channels import check_webhook_url

        return check_webhook_url(value) if value else None

    @field_validator("tls_ca_file")
    @classmethod
    def _check_tls_ca_file(cls, value: str | None) -> str | None:
        from safemap.api.services.warning_channels import check_ca_file

        return check_ca_file(value) if value else None

    @field_validator("extent", mode="before")
    @classmethod
    def _parse_extent(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        try:
            parts = json.loads(text) if text.startswith("[") else [float(p) for p in text.split(",")]
        except ValueError:
            raise ValueError(EXTENT_FORM) from None
        if not isinstance(parts, list) or len(parts) != 4:
            raise ValueError(EXTENT_FORM)
        return tuple(parts)

    @field_validator("extent")
    @classmethod
    def _check_extent(cls, value: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = value
        if not all(math.isfinite(v) for v in value) or not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
            raise ValueError(f"超出经纬度范围或最小值不小于最大值；{EXTENT_FORM}")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        from sqlalchemy.engine import make_url

        try:
            url = make_url(value)
        except Exception:  # the message would repeat the URL, password included
            raise ValueError(DATABASE_URL_FORM) from None
        if url.get_backend_name() not in ("postgresql", "postgres"):
            raise ValueError(DATABASE_URL_FORM)
        return value

    @field_validator("basemaps")
    @classmethod
    def _check_basemaps(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        known = ("osm", "tianditu", "tianditu_vec", "tianditu_img", "custom", "none")
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"未知底图 {'、'.join(unknown)}；可选 {','.join(known)}，以逗号分隔")
        return ",".join(names)

    @field_validator("county_code")
    @classmethod
    def _check_county_code(cls, value: str) -> str:
        from safemap.layers.counties import CountyCodeInvalid, normalise_code

        try:
            return normalise_code(value)
        except CountyCodeInvalid as exc:
            raise ValueError(str(exc)) from None

    @field_validator("counties")
    @classmethod
    def _check_counties(cls, value: str | None) -> str | None:
        from safemap.layers.counties import CountyCodeInvalid, parse_codes

        try:
            codes = parse_codes(value)
        except CountyCodeInvalid as exc:
            raise ValueError(str(exc)) from None
        return None if codes is None else ",".join(codes)

    @property
    def county_set(self) -> tuple[str, ...] | None:
        """The counties this deployment shows (``None``: every county in the store)."""
        from safemap.layers.counties import parse_codes

        return parse_codes(self.counties)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError("不是有效的时区名（如 Asia/Shanghai）") from None
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

    return open_store(
        settings.store_target,
        extent=settings.extent,
        local_tz=settings.timezone,
        lock_timeout=settings.lock_timeout,
        county_code=settings.county_code,
    )


def zip_limits(settings: Settings, scratch_dir: Path | None = None) -> ZipLimits:
    """The caps on what a zipped import may unpack to (default 5 × the upload limit), for API and CLI alike.

    ``scratch_dir`` is where the members read are unpacked (the API: the upload's own folder).
    """
    from safemap.layers.shapefiles import ZipLimits  # GDAL is loaded only by commands that read files

    return ZipLimits(
        max_unzipped_bytes=settings.max_unzipped_bytes or 5 * settings.max_upload_bytes,
        max_ratio=settings.max_zip_ratio,
        max_members=settings.max_zip_members,
        scratch_dir=scratch_dir,
    )


def channel_config(settings: Settings) -> ChannelConfig:
    """The warning channels' settings (SMTP, webhook, TLS CA, timeout) for the delivery worker and the send service."""
    from safemap.api.services.warning_channels import ChannelConfig

    return ChannelConfig(
        smtp_url=settings.smtp_url,
        smtp_from=settings.smtp_from,
        webhook_url=settings.warning_webhook_url,
        webhook_secret=settings.warning_webhook_secret,
        timeout_s=settings.warning_timeout_s,
        ca_file=settings.tls_ca_file,
    )


def live_worker(settings: Settings, store: FeatureStore) -> LiveWorker:
    """The live data's worker on ``store``: silence checks, retention and, with a broker URL, MQTT ingest."""
    from safemap.api.services.live_worker import live_worker as build

    return build(
        store,
        retention_days=settings.retention_days,
        max_age_days=settings.ingest_max_age_days,
        mqtt_url=settings.mqtt_url,
        mqtt_client_id=settings.mqtt_client_id,
        queue_max=settings.ingest_queue,
        ca_file=settings.tls_ca_file,
    )


def delivery_worker(settings: Settings, store: FeatureStore) -> DeliveryWorker:
    """A delivery worker on ``store`` with the settings' channels, back-off and lease."""
    from safemap.api.services.warning_worker import DeliveryWorker, RetryPolicy

    policy = RetryPolicy(
        base_s=settings.warning_retry_base_s,
        cap_s=max(settings.warning_retry_cap_s, settings.warning_retry_base_s),
        max_attempts=settings.warning_max_attempts,
    )
    return DeliveryWorker(store, channel_config(settings), policy=policy, lease_s=settings.warning_lease_s)


def load_settings() -> Settings:
    """The deployment's settings; a bad value raises :class:`SettingsInvalid` with one line naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsInvalid(_describe_invalid(exc)) from None
    except SettingsError as exc:
        found = re.search(r'field "(\w+)"', str(exc))
        name = f"SAFEMAP_{found.group(1).upper()}" if found else "SAFEMAP_*"
        raise SettingsInvalid(f"设置 {name} 的值无法解析") from None


class SettingsInvalid(ValueError):
    """A setting (environment variable or ``.env`` line) with a bad value; ``str()`` is one Chinese line."""


def _describe_invalid(exc: ValidationError) -> str:
    from safemap.layers.validation import describe_error

    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        if field in SECRET_SETTINGS:
            err = {**err, "input": None}
        parts.append(f"设置 SAFEMAP_{field.upper()}：{describe_error(err)}")
    return "；".join(parts)

"""Photos of hidden dangers: checked, read for their EXIF time and place, stored with the store.

A photo is accepted when Pillow reads it as a JPEG, PNG or WebP image no larger than
:data:`MAX_BYTES` (8 MB, what a phone camera gives at full size) and 12,000 px a side
(decompression bombs are refused before decoding). Its EXIF ``DateTimeOriginal`` and GPS
position (EXIF 2.32 tags 0x9003 and the GPS IFD 0x8825: latitude/longitude as degrees,
minutes, seconds rationals with N/S, E/W refs) are kept when present. The bytes go into
``safemap_photos``, the metadata into the ``danger_photos`` layer and the finding's timeline
gets an entry — one transaction. Sending the same image again for the same finding (the
phone replaying its queue) returns the photo already stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import insert, select

from safemap.api.services import dangers
from safemap.api.services.problems import invalid
from safemap.layers import row_access
from safemap.layers.errors import FeatureNotFound, Forbidden, TooLarge
from safemap.layers.model import Actor, utc_now
from safemap.layers.prevention_enums import PHOTO_STAGE
from safemap.layers.store import FeatureStore
from safemap.layers.validation import validate_feature

#: Largest photo accepted, bytes.
MAX_BYTES = 8 * 1024 * 1024
#: Largest side accepted, pixels.
MAX_SIDE = 12_000
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003


@dataclass(frozen=True)
class PhotoInfo:
    """What the image itself says: format, size and, from EXIF, when and where it was taken."""

    content_type: str
    width: int
    height: int
    taken_at: dt.datetime | None
    lon: float | None
    lat: float | None


def _dms(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60.0 + s / 3600.0
    return -deg if str(ref).strip().upper() in ("S", "W") else deg


def read_photo(data: bytes, tz: dt.tzinfo) -> PhotoInfo:
    """Check ``data`` is a photo we keep and read its EXIF; 413 when too large, 422 when not an image."""
    if len(data) > MAX_BYTES:
        raise TooLarge(f"照片：{len(data) / 1048576:.1f} MB，超过 {MAX_BYTES // 1048576} MB 上限，请压缩后再传")
    if not data:
        raise invalid("file", "照片文件为空")
    try:
        # verify() checks the file's structure and must come first; the image is then reopened to be read.
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            width, height = probe.size
            if fmt in FORMATS and max(width, height) <= MAX_SIDE:
                probe.verify()
        if fmt in FORMATS and max(width, height) <= MAX_SIDE:
            with Image.open(io.BytesIO(data)) as img:
                exif = img.getexif()
                img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise invalid("file", "文件不是可识别的图片（JPEG、PNG 或 WebP）") from None
    if fmt not in FORMATS:
        raise invalid("file", f"不支持的图片格式 {fmt or '未知'}，请上传 JPEG、PNG 或 WebP 照片")
    if max(width, height) > MAX_SIDE:
        raise invalid("file", f"照片尺寸 {width}×{height} 过大（单边不超过 {MAX_SIDE} 像素）")
    taken_at = None
    raw_time = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(0x0132)
    if isinstance(raw_time, str):
        try:
            # EXIF times carry no zone: a phone writes its local time, the deployment's zone.
            taken_at = dt.datetime.strptime(raw_time.strip(), "%Y:%m:%d %H:%M:%S").replace(tzinfo=tz)
        except ValueError:
            taken_at = None
    gps = exif.get_ifd(_GPS_IFD)
    lat = _dms(gps.get(2), gps.get(1)) if gps.get(2) is not None else None
    lon = _dms(gps.get(4), gps.get(3)) if gps.get(4) is not None else None
    if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
        lat = lon = None
    return PhotoInfo(FORMATS[fmt], width, height, taken_at, lon, lat)


def add_photo(
    store: FeatureStore, danger_id: int, data: bytes, stage: str, actor: Actor, filename: str = ""
) -> tuple[dict[str, Any], bool]:
    """Store a photo of finding ``danger_id``; ``(metadata, created)`` (False: the same image was stored)."""
    codes = {m.code for m in PHOTO_STAGE.members}
    stage = next((m.code for m in PHOTO_STAGE.members if stage in (m.code, m.label)), stage)
    if stage not in codes:
        raise invalid("stage", f"应为 {PHOTO_STAGE.describe()} 之一")
    if actor.role not in dangers.FINDERS:
        raise Forbidden("当前角色无权上传隐患照片")
    info = read_photo(data, store.tz)
    digest = hashlib.sha256(data).hexdigest()
    with store.transaction() as tx:
        finding = tx.lock("hidden_dangers", danger_id)
        if row_access.is_enterprise(actor) and finding["properties"].get("enterprise_id") != actor.enterprise_id:
            raise FeatureNotFound(f"没有编号为 {danger_id} 的隐患")
        if finding["properties"].get("status") == "closed":
            raise invalid("danger_id", "隐患已销号，不能再上传照片")
        meta = tx.table("danger_photos")
        same = tx.execute(
            select(meta.c.id).where(meta.c.danger_id == danger_id, meta.c.sha256 == digest, meta.c.stage == stage)
        ).first()
        if same is not None:
            stored = tx.fetch("danger_photos", int(same[0]))
            assert stored is not None
            return describe(stored, store.tz), False
        tx.execute(
            insert(tx.photos_table).values(
                sha256=digest, content_type=info.content_type, size_bytes=len(data), data=data, created_at=utc_now()
            )
        )
        props = {
            "name": (filename or f"隐患{danger_id}照片")[:200],
            "danger_id": danger_id,
            "stage": stage,
            "content_type": info.content_type,
            "size_bytes": len(data),
            "sha256": digest,
            "width": info.width,
            "height": info.height,
            "taken_at": info.taken_at.isoformat() if info.taken_at else None,
            "lon": info.lon,
            "lat": info.lat,
            "uploaded_by": actor.name[:100],
            "source": f"现场拍摄（{actor.name}）",
        }
        layer = tx.layer("danger_photos")
        clean = validate_feature(
            layer,
            {"type": "Feature", "geometry": None, "properties": {k: v for k, v in props.items() if v is not None}},
            partial=False,
            extent=None,
        )
        (pid,) = tx.insert(layer, [clean], actor)
        stored = tx.fetch(layer, pid)
        assert stored is not None
        tx.record_audit(
            actor, "create", layer, [(pid, None, stored)], f"隐患 {danger_id} {PHOTO_STAGE.label(stage)}照片"
        )
        where = f"，拍摄位置 {info.lon:.6f}, {info.lat:.6f}" if info.lon is not None and info.lat is not None else ""
        said = f"{actor.name} 上传{PHOTO_STAGE.label(stage)}照片{where}"
        dangers.record_event(tx, danger_id, "photo", actor, said, [pid])
        tx.bump_generation()
    return describe(stored, store.tz), True


def describe(feature: dict[str, Any], tz: dt.tzinfo) -> dict[str, Any]:
    """A photo's metadata for the API: id, stage label, size, EXIF time (local) and place, its URL."""
    p = feature["properties"]
    taken = p.get("taken_at")
    return {
        "id": feature["id"],
        "danger_id": p["danger_id"],
        "stage": p["stage"],
        "stage_label": PHOTO_STAGE.label(p["stage"]),
        "content_type": p["content_type"],
        "size_bytes": p.get("size_bytes"),
        "width": p.get("width"),
        "height": p.get("height"),
        "taken_at": taken.astimezone(tz).isoformat(timespec="seconds") if isinstance(taken, dt.datetime) else None,
        "lon": p.get("lon"),
        "lat": p.get("lat"),
        "uploaded_by": p.get("uploaded_by"),
        "url": f"/api/photos/{feature['id']}",
    }


def photos(store: FeatureStore, danger_id: int, actor: Actor | None) -> list[dict[str, Any]]:
    """The photos of a finding (404 for another enterprise's)."""
    dangers.get(store, danger_id, actor)
    page = store.query("danger_photos", filters={"danger_id": [danger_id]}, limit=None, count=False)
    return [describe(f, store.tz) for f in page.features()]


def photo_bytes(store: FeatureStore, photo_id: int, actor: Actor | None) -> tuple[bytes, str]:
    """The image of photo ``photo_id`` and its media type; 404 when absent or another enterprise's."""
    page = store.query("danger_photos", ids=[photo_id], limit=1, count=False)
    if not page.rows:
        raise FeatureNotFound(f"没有编号为 {photo_id} 的照片")
    meta = page.rows[0]
    dangers.get(store, int(meta["danger_id"]), actor)
    with store.transaction(readonly=True) as tx:
        t = tx.photos_table
        row = tx.execute(select(t.c.data, t.c.content_type).where(t.c.sha256 == meta["sha256"])).first()
    if row is None:
        raise FeatureNotFound(f"照片 {photo_id} 的图像数据缺失")
    return bytes(row[0]), str(row[1])

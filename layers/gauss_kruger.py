"""CGCS2000 Gauss-Krüger zones: the EPSG code of a zone, and the zone holding a longitude.

One place for the numbering both the import's CRS diagnosis (:mod:`layers.ingest`) and the
OGC API's county CRS (:mod:`safemap.api.services.ogc_crs`) rely on: 3° zones 25–45 with the
zone number in the easting are EPSG:4513–4533, without it (by central meridian 75°E–135°E)
EPSG:4534–4554; 6° zones 13–23 are EPSG:4491–4501 and EPSG:4502–4512.
"""

from __future__ import annotations


def central_meridian(lon: float, width: int) -> int:
    """Central meridian (degrees east) of the ``width``° zone (3 or 6) holding longitude ``lon``."""
    return round(lon / 3) * 3 if width == 3 else int(lon // 6) * 6 + 3


def gk_crs(zone_or_cm: int, *, prefixed: bool, width: int) -> tuple[str, str]:
    """EPSG code and Chinese name of a CGCS2000 Gauss-Krüger CRS.

    ``zone_or_cm`` is the zone number when ``prefixed`` (eastings carry it), else the central
    meridian in degrees east.
    """
    if width == 3:
        if prefixed:
            return f"EPSG:{4513 + zone_or_cm - 25}", f"CGCS2000 3度带 第{zone_or_cm}带，带号"
        return f"EPSG:{4534 + (zone_or_cm - 75) // 3}", f"CGCS2000 3度带 中央经线{zone_or_cm}°E，无带号"
    if prefixed:
        return f"EPSG:{4491 + zone_or_cm - 13}", f"CGCS2000 6度带 第{zone_or_cm}带，带号"
    return f"EPSG:{4502 + (zone_or_cm - 75) // 6}", f"CGCS2000 6度带 中央经线{zone_or_cm}°E，无带号"

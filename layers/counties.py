"""Counties (行政区划代码, GB/T 2260) and which of them a store holds and a person may see.

Every feature carries the six-digit code of the county that owns it (``county_code``): a
county's store writes only its own code, so when counties replicate upward the prefecture's
and the region's databases hold each row once, under its county (:mod:`layers.replication`).
A row is identified across counties by (``county_code``, ``id``): ids stay the county's own
sequence numbers (no renumbering of existing stores, no 64-bit ids the browser would round),
and the pair is the primary key in the prefecture's and the region's copies.

Names come from the real Tacheng prefecture file in ``data/yumin`` (DataV.GeoAtlas, 2019;
its ``adcode`` is the 行政区划代码); the prefecture and the region are the levels above.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Any

from safemap.layers import paths

DEFAULT_COUNTY_CODE = "654225"
"""裕民县, the first deployment."""

PREFECTURE_CODE = "654200"
"""塔城地区."""

REGION_CODE = "650000"
"""新疆维吾尔自治区."""

_HIGHER = {PREFECTURE_CODE: "塔城地区", REGION_CODE: "新疆维吾尔自治区"}
_CODE = re.compile(r"^[1-8]\d{5}$")


class CountyCodeInvalid(ValueError):
    """A 行政区划代码 that is not six digits (the message is one Chinese line)."""


def normalise_code(value: object) -> str:
    """``value`` as a six-digit 行政区划代码 (full-width digits and spaces accepted).

    Raises
    ------
    CountyCodeInvalid
        When it is not six digits starting 1–8 (GB/T 2260 province codes 11–82).
    """
    text = "".join(unicodedata.normalize("NFKC", str(value)).split())
    if not _CODE.match(text):
        raise CountyCodeInvalid(f"行政区划代码应为 6 位数字（如 {DEFAULT_COUNTY_CODE}），收到“{value}”")
    return text


def parse_codes(text: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """A list of codes (comma, 、 or space separated) as sorted unique codes; ``None`` for empty (all counties)."""
    if text is None:
        return None
    parts = re.split(r"[,，、;；\s]+", text) if isinstance(text, str) else list(text)
    codes = sorted({normalise_code(p) for p in parts if str(p).strip()})
    return tuple(codes) or None


@cache
def county_names() -> dict[str, str]:
    """行政区划代码 -> name of the counties known to this deployment, and the levels above them."""
    path = paths.DATA_DIR / "yumin" / "tacheng_counties_wgs84.geojson"
    names = dict(_HIGHER)
    with path.open(encoding="utf-8") as fh:
        for feature in json.load(fh)["features"]:
            props = feature["properties"]
            names[str(props["adcode"])] = str(props["name"])
    return names


@cache
def county_shapes() -> list[dict[str, Any]]:
    """The counties of the prefecture as GeoJSON features (``code``, ``name``; WGS 84), from ``data/yumin``."""
    path = paths.DATA_DIR / "yumin" / "tacheng_counties_wgs84.geojson"
    with path.open(encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    return [
        {
            "type": "Feature",
            "geometry": f["geometry"],
            "properties": {"code": str(f["properties"]["adcode"]), "name": str(f["properties"]["name"])},
        }
        for f in features
    ]


def county_name(code: str | None) -> str:
    """The county's name, or the code itself when this deployment does not know it."""
    if not code:
        return "未知区县"
    return county_names().get(code, code)


def visible(deployment: tuple[str, ...] | None, person: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The counties a person sees: those of the deployment and of the person's account (``None``: no limit).

    An account limited to counties outside the deployment sees nothing (an empty tuple), never everything.
    """
    if deployment is None:
        return person
    if person is None:
        return deployment
    return tuple(sorted(set(deployment) & set(person)))

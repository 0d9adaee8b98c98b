"""The deterministic demo county: 裕民县 (Yumin County, Tacheng, Xinjiang).

Real public data (county outline, township names/codes/points, village names and
codes; see ``data/yumin/README.md``) framed by clearly marked synthetic layers:
roads, industrial park, enterprises and hazard sources, protected targets, rescue
forces, depots, fire lanes, hydrants and incidents. ``safemap demo`` calls
:func:`build_demo`; the map shows :data:`ATTRIBUTION`.
"""

from __future__ import annotations

from safemap.layers.demo.build import build_demo, draft_demo

#: One-line credit for the map's attribution control.
ATTRIBUTION = (
    "边界: DataV.GeoAtlas/高德; 乡镇与村名: Vonng/adcode (CC BY 4.0)、"
    "modood/Administrative-divisions-of-China (WTFPL); 其余为合成演示数据"
)

__all__ = ["ATTRIBUTION", "build_demo", "draft_demo"]

"""The county's wind as data: a 16-sector wind rose (风向频率玫瑰) without geometry.

``wind_rose`` holds one row per compass sector (N, NNE, … NNW: the direction the wind blows
*from*, as meteorological stations record it) with its frequency in percent and, optionally,
its mean speed, plus one row ``C`` for calm (静风). It is seeded from
``data/standards/wind_rose.csv`` when the store first creates it and edited by an admin
through ``/api/layers/wind_rose`` like any standards table (versioned, audited). The
prevailing wind (常年主导风向) is derived from it at run time (``gis/wind.py`` via
``api/services/wind.py``): the fire-station siting check of 建标152 and the default wind of
the consequence models read it, so a corrected rose takes effect without a release.

The frequencies of the 16 sectors and calm should sum to about 100 %. Rows are edited one
at a time, so the sum is not enforced on a write (a correction would need two writes, the
first of which would be refused); the service reports a warning instead whenever the sum
is off by more than 1 percentage point.
"""

from __future__ import annotations

from safemap.layers.catalogue import EnumType, Field, Layer, Member, common_fields

STANDARDS = "标准与参数"

#: The 16 sectors (from-direction, clockwise from north) and calm, Chinese names after the
#: surface-observation convention (北、北东北、东北、东东北 …).
WIND_SECTOR = EnumType(
    "wind_sector",
    tuple(
        Member(code, label)
        for code, label in (
            ("N", "北（N，0°）"),
            ("NNE", "北东北（NNE，22.5°）"),
            ("NE", "东北（NE，45°）"),
            ("ENE", "东东北（ENE，67.5°）"),
            ("E", "东（E，90°）"),
            ("ESE", "东东南（ESE，112.5°）"),
            ("SE", "东南（SE，135°）"),
            ("SSE", "南东南（SSE，157.5°）"),
            ("S", "南（S，180°）"),
            ("SSW", "南西南（SSW，202.5°）"),
            ("SW", "西南（SW，225°）"),
            ("WSW", "西西南（WSW，247.5°）"),
            ("W", "西（W，270°）"),
            ("WNW", "西西北（WNW，292.5°）"),
            ("NW", "西北（NW，315°）"),
            ("NNW", "北西北（NNW，337.5°）"),
            ("C", "静风（C）"),
        )
    ),
)

WIND_ROSE = Layer(
    name="wind_rose",
    label="县域风向玫瑰（常年风向频率）",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field(
            "sector",
            "enum",
            "风向方位",
            required=True,
            enum=WIND_SECTOR,
            description="The direction the wind blows from (16 sectors), or C for calm.",
        ),
        Field("frequency_pct", "float", "频率", required=True, unit="%", minimum=0, maximum=100),
        Field("mean_speed_m_s", "float", "平均风速", unit="m/s", minimum=0, maximum=75),
        Field("note", "str", "备注", max_length=1000),
    ),
    style=None,
    editors=frozenset({"admin"}),
    seed="standards/wind_rose.csv",
    description=(
        "Annual wind-direction frequencies of the county (16 sectors and calm, %), with mean speed per sector; "
        "the prevailing wind of the fire-station siting check and the default wind of consequence models."
    ),
)

WIND_TABLES: tuple[Layer, ...] = (WIND_ROSE,)

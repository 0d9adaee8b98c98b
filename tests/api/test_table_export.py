"""The attribute table's Excel export says what the table shows (issue 14: Chinese for people)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from safemap.api.services.table_export import export_features
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

ADMIN = Actor("admin", "admin")


def test_xlsx_has_chinese_headers_labels_local_times_and_readable_sources(
    gpkg_store: FeatureStore, tmp_path: Path
) -> None:
    for i, source in enumerate(("synthetic: 虚构加油站", "裕民县应急管理局台账")):
        gpkg_store.create(
            "enterprises",
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [82.98 + i / 100, 46.2]},
                "properties": {
                    "name": f"企业{i}",
                    "industry": "fuel_station",
                    "risk_level": "red",
                    "source": source,
                },
            },
            ADMIN,
        )
    out = tmp_path / "e.xlsx"
    assert export_features(gpkg_store, "enterprises", out, fmt="xlsx", sort="name") == 2
    sheet = openpyxl.load_workbook(io.BytesIO(out.read_bytes())).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    header = next(r for r in rows if "名称" in r)
    body = rows[rows.index(header) + 1 :]
    col = {name: header.index(name) for name in ("名称", "风险等级", "数据来源", "经度")}
    assert [r[col["名称"]] for r in body] == ["企业0", "企业1"]
    assert {r[col["风险等级"]] for r in body} == {"红（重大风险）"}
    assert [r[col["数据来源"]] for r in body] == ["合成演示数据：虚构加油站", "裕民县应急管理局台账"]
    assert body[0][col["经度"]] == 82.98

"""Attribute tables (layers without geometry): same store, validation, versions, audit, files."""

from __future__ import annotations

from pathlib import Path

import pytest

from safemap.layers.catalogue import Field, Layer
from safemap.layers.definitions import LAYERS
from safemap.layers.enums import HAZARD_KIND
from safemap.layers.errors import BadQuery, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.transfer import export_layer, import_file

ADMIN = Actor("admin", "admin")
RULES = Layer(
    name="test_rules",
    label="测试间距规则",
    group="标准与参数",
    geometry_types=(),
    fields=(
        Field("id", "int", "编号", computed=True),
        Field("name", "str", "名称", required=True),
        Field("source", "str", "来源"),
        Field("updated_at", "datetime", "更新时间", computed=True),
        Field("version", "int", "版本", computed=True),
        Field("hazard_kind", "enum", "危险源类型", required=True, enum=HAZARD_KIND),
        Field("min_distance_m", "float", "最小间距", unit="m", required=True, minimum=0),
    ),
    style=None,
    editors=frozenset({"admin"}),
)


@pytest.fixture
def rules_store(tmp_path: Path) -> FeatureStore:
    store = open_store(tmp_path / "t.gpkg", layers=(*LAYERS, RULES))
    yield store
    store.close()


def row(**props: object) -> dict:
    return {
        "type": "Feature",
        "geometry": None,
        "properties": {"name": "LPG储罐-居民区", "hazard_kind": "lpg_tank", "min_distance_m": 45, **props},
    }


def test_crud_without_geometry(rules_store: FeatureStore) -> None:
    f = rules_store.create("test_rules", row(), ADMIN)
    assert f["geometry"] is None and f["properties"]["min_distance_m"] == 45
    g = rules_store.update("test_rules", f["id"], {"properties": {"version": 1, "min_distance_m": 50}}, ADMIN)
    assert g["properties"]["min_distance_m"] == 50
    assert rules_store.audit_log(layer="test_rules")[0]["after"]["geometry"] is None
    with pytest.raises(ValidationFailed) as exc:
        rules_store.create("test_rules", {**row(), "geometry": {"type": "Point", "coordinates": [83, 46.2]}}, ADMIN)
    assert exc.value.problems[0].field == "geometry"
    with pytest.raises(BadQuery):
        rules_store.query("test_rules", bbox=(82, 45, 84, 47))
    assert rules_store.layer_extent("test_rules")[0] is None
    assert list(rules_store.to_geodataframe("test_rules")["min_distance_m"]) == [50.0]


def test_csv_and_geojson_round_trip(rules_store: FeatureStore, tmp_path: Path) -> None:
    rules_store.create("test_rules", row(), ADMIN)
    for suffix in (".csv", ".geojson", ".gpkg"):
        out = tmp_path / f"rules{suffix}"
        assert export_layer(rules_store, "test_rules", out) == 1
        report = import_file(rules_store, "test_rules", out, ADMIN, dry_run=True)
        assert report.count == 1, suffix
    with pytest.raises(ValidationFailed):
        export_layer(rules_store, "test_rules", tmp_path / "rules.zip")


def test_seeded_once_when_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from safemap.layers import paths

    (tmp_path / "standards").mkdir()
    (tmp_path / "standards" / "rules.csv").write_text(
        "name,hazard_kind,min_distance_m,source\nLPG-居民区,lpg_tank,45,GB 50028-2006 表8.3.7\n", encoding="utf-8"
    )
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    seeded = replace(RULES, seed="standards/rules.csv")
    # DATA_DIR now points at tmp_path: leave out the catalogue's own seeded tables.
    unseeded = tuple(layer for layer in LAYERS if not layer.seed)
    store = open_store(tmp_path / "s.gpkg", layers=(*unseeded, seeded))
    rows = store.query("test_rules").rows
    assert [(r["name"], r["min_distance_m"], r["source"]) for r in rows] == [
        ("LPG-居民区", 45.0, "GB 50028-2006 表8.3.7")
    ]
    store.delete("test_rules", rows[0]["id"], ADMIN, expected_version=1)
    store.close()
    again = open_store(tmp_path / "s.gpkg", layers=(*unseeded, seeded))
    assert again.counts()["test_rules"] == 0  # an admin's deletion is not undone by reopening
    again.close()

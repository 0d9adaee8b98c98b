"""No lost edit under contention (issue 10, item 4): a long import and edits of other rows.

On GeoPackage an import stages its rows outside the write lock and holds the lock only to
copy them (:mod:`layers.staging`); an edit that still cannot get the lock within
``lock_timeout`` gets :class:`StoreBusy` (503), never another error. On PostGIS imports
and edits share no lock beyond row locks, and a row lock waited for beyond
``lock_timeout`` is the same :class:`StoreBusy`. Outcomes are asserted, never durations.
"""

from __future__ import annotations

import csv
import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from safemap.layers import audit, staging
from safemap.layers.errors import StoreBusy, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.transfer import import_file
from tests.conftest import YUMIN_EXTENT

ACTOR = Actor("李应急", "admin")
EDITOR = Actor("王编辑", "admin")
ROWS = 20_000


def enterprise(name: str = "裕民县金泰油品经营部", **props: Any) -> dict:
    base = {"name": name, "industry": "fuel_station", "risk_level": "yellow"}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [82.99, 46.2]}, "properties": base | props}


def write_csv(path: Path, n: int, *, bad_last: bool = False) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "industry", "risk_level", "employees", "lon", "lat"])
        for i in range(n):
            risk = "紫" if bad_last and i == n - 1 else "蓝"
            w.writerow([f"企业{i}", "其他", risk, i % 500, 82.9 + (i % 1000) * 1e-4, 46.1 + (i // 1000) * 1e-4])
    return path


class Editor(threading.Thread):
    """PATCHes one feature again and again until told to stop; records each outcome."""

    def __init__(self, store: FeatureStore, fid: int, writing: threading.Event, done: threading.Event) -> None:
        super().__init__(daemon=True)
        self.store, self.fid, self.writing, self.done = store, fid, writing, done
        self.version = store.get("enterprises", fid)["properties"]["version"]
        self.ok = self.ok_while_writing = self.busy = 0
        self.busy_errors: list[StoreBusy] = []
        self.other: list[BaseException] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                after = self.store.update(
                    "enterprises", self.fid, {"properties": {"employees": n}}, EDITOR, expected_version=self.version
                )
            except StoreBusy as exc:
                self.busy += 1
                self.busy_errors.append(exc)
                continue
            except BaseException as exc:  # every other outcome fails the test
                self.other.append(exc)
                return
            self.version = after["properties"]["version"]
            self.ok += 1
            if self.writing.is_set() and not self.done.is_set():
                self.ok_while_writing += 1


def run_import_with_editor(store: FeatureStore, path: Path) -> tuple[Any, Editor]:
    fid = store.create("enterprises", enterprise(), ACTOR)["id"]
    writing, done = threading.Event(), threading.Event()
    insert_clean = store.insert_clean

    def insert_watched(*args: Any, **kwargs: Any) -> list[int]:
        # The window in which the import writes (validation before it never held a lock).
        writing.set()
        try:
            return insert_clean(*args, **kwargs)
        finally:
            done.set()

    store.insert_clean = insert_watched  # type: ignore[method-assign]
    editor = Editor(store, fid, writing, done)
    editor.start()
    outcome: dict[str, Any] = {}
    try:
        outcome["report"] = import_file(store, "enterprises", path, ACTOR)
    except BaseException as exc:  # returned to the test
        outcome["error"] = exc
    finally:
        done.set()
        editor.stop.set()
        editor.join(timeout=60)
    assert not editor.is_alive()
    return outcome, editor


def test_edits_go_on_during_a_large_import(store: FeatureStore, tmp_path: Path) -> None:
    outcome, editor = run_import_with_editor(store, write_csv(tmp_path / "big.csv", ROWS))
    assert "error" not in outcome, outcome.get("error")
    assert outcome["report"].count == ROWS
    assert editor.other == [], editor.other  # every edit succeeded or was told the store is busy
    for exc in editor.busy_errors:
        assert exc.retry_after >= 1
        assert "请" in exc.message and "重试" in exc.message
    # While the import wrote, edits were not all kept waiting for its end; most went through.
    # (One transaction holding the lock for the whole insert let ~20 edits through, on a race
    # at its end, and refused the others; staged, hundreds go through.)
    assert editor.ok_while_writing >= 50, (editor.ok, editor.ok_while_writing, editor.busy)
    assert editor.busy <= editor.ok
    # Every acknowledged edit is there: the version counts them.
    assert store.get("enterprises", editor.fid)["properties"]["version"] == 1 + editor.ok
    assert store.counts()["enterprises"] == ROWS + 1


def test_an_import_failing_at_its_last_row_writes_nothing(store: FeatureStore, tmp_path: Path) -> None:
    outcome, editor = run_import_with_editor(store, write_csv(tmp_path / "bad.csv", 5000, bad_last=True))
    assert isinstance(outcome.get("error"), ValidationFailed)
    assert outcome["error"].problems[0].row == 5000 + 1  # the header is line 1
    assert editor.other == []
    assert store.counts()["enterprises"] == 1  # only the edited feature
    assert all(e["action"] != "import" for e in store.audit_log(layer="enterprises", limit=1000))


def test_a_failure_while_copying_staged_rows_writes_nothing(
    gpkg_store: FeatureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = gpkg_store.generation()

    def boom(*_: Any) -> None:
        raise RuntimeError("killed while copying")

    monkeypatch.setattr(audit, "bump_generation", boom)  # the copy's last statement
    with pytest.raises(RuntimeError):
        import_file(gpkg_store, "enterprises", write_csv(tmp_path / "e.csv", 500), ACTOR)
    monkeypatch.undo()
    assert gpkg_store.counts()["enterprises"] == 0
    assert gpkg_store.generation() == before
    assert gpkg_store.audit_log(layer="enterprises") == []
    # The R-tree insert trigger, dropped during the copy, is back: a new feature is found by bbox.
    fid = gpkg_store.create("enterprises", enterprise(), ACTOR)["id"]
    assert [f["id"] for f in gpkg_store.query("enterprises", bbox=(82.98, 46.19, 83.0, 46.21)).features()] == [fid]


def test_ids_taken_while_staging_shift_the_staged_rows(
    gpkg_store: FeatureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_rtree = staging._stage_rtree
    others: list[int] = []

    def meanwhile(conn: Any, staged: Any) -> None:
        stage_rtree(conn, staged)
        for i in range(3):  # another writer creates features between staging and copying
            others.append(gpkg_store.create("enterprises", enterprise(f"其间新增{i}"), EDITOR)["id"])

    monkeypatch.setattr(staging, "_stage_rtree", meanwhile)
    report = import_file(gpkg_store, "enterprises", write_csv(tmp_path / "e.csv", 200), ACTOR)
    assert others == [1, 2, 3]
    assert report.ids == list(range(4, 204))
    got = gpkg_store.query("enterprises", ids=report.ids, limit=None).features()
    assert [f["properties"]["name"] for f in got] == [f"企业{i}" for i in range(200)]
    # The audit log names the ids the rows got, inside and outside its JSON.
    entries = {e["feature_id"]: e for e in gpkg_store.audit_log(layer="enterprises", limit=1000)}
    for f in got[:5] + got[-5:]:
        after = entries[f["id"]]["after"]
        assert after["id"] == after["properties"]["id"] == f["id"]
        assert after["properties"]["name"] == f["properties"]["name"]
    # The R-tree entries moved with them.
    inside = gpkg_store.query("enterprises", bbox=(82.89995, 46.09995, 82.90005, 46.10005), limit=None)
    assert [f["properties"]["name"] for f in inside.features()] == ["企业0"]


def test_staged_import_audits_what_a_single_insert_audits(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    report = import_file(gpkg_store, "enterprises", write_csv(tmp_path / "e.csv", 50), ACTOR)
    entries = {e["feature_id"]: e for e in gpkg_store.audit_log(layer="enterprises", limit=100)}
    assert set(entries) == set(report.ids)
    stored = audit.jsonable(gpkg_store.get("enterprises", report.ids[7]))
    assert entries[report.ids[7]]["after"] == stored
    assert entries[report.ids[7]]["action"] == "import"


def test_a_geopackage_held_by_another_writer_is_busy(gpkg_path: Path) -> None:
    store = open_store(gpkg_path, extent=YUMIN_EXTENT, lock_timeout=0.2)
    try:
        f = store.create("enterprises", enterprise(), ACTOR)
        other = sqlite3.connect(gpkg_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreBusy) as caught:
                store.update("enterprises", f["id"], {"properties": {"employees": 3}}, EDITOR, expected_version=1)
            assert caught.value.status == 503 and caught.value.retry_after >= 1
            assert "数据库正忙" in caught.value.message
            assert store.get("enterprises", f["id"])["properties"]["version"] == 1  # readers go on
        finally:
            other.execute("ROLLBACK")
            other.close()
        after = store.update("enterprises", f["id"], {"properties": {"employees": 3}}, EDITOR, expected_version=1)
        assert after["properties"]["version"] == 2
    finally:
        store.close()


def test_a_postgis_row_locked_too_long_is_busy(pg_url: str) -> None:
    store = open_store(pg_url, extent=YUMIN_EXTENT, lock_timeout=0.2)
    try:
        f = store.create("enterprises", enterprise(), ACTOR)
        g = store.create("enterprises", enterprise("另一家"), ACTOR)
        dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as other:
            other.execute("SELECT id FROM enterprises WHERE id = %s FOR UPDATE", (f["id"],))
            with pytest.raises(StoreBusy) as caught:
                store.update("enterprises", f["id"], {"properties": {"employees": 3}}, EDITOR, expected_version=1)
            assert caught.value.retry_after >= 1
            # Another row is not blocked by that row lock.
            other_after = store.update(
                "enterprises", g["id"], {"properties": {"employees": 4}}, EDITOR, expected_version=1
            )
            assert other_after["properties"]["version"] == 2
            other.rollback()
        assert store.update("enterprises", f["id"], {"properties": {"employees": 3}}, EDITOR, expected_version=1)
    finally:
        store.close()


def test_rows_referred_to_by_an_unfinished_import_can_be_edited_on_postgis(pg_url: str) -> None:
    store = open_store(pg_url, extent=YUMIN_EXTENT, lock_timeout=0.2)
    try:
        f = store.create("enterprises", enterprise(), ACTOR)
        dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as other:
            # What inserting a hazard source of this enterprise holds until its import commits.
            other.execute("SELECT id FROM enterprises WHERE id = %s FOR KEY SHARE", (f["id"],))
            after = store.update("enterprises", f["id"], {"properties": {"employees": 3}}, EDITOR, expected_version=1)
            assert after["properties"]["version"] == 2
            other.rollback()
    finally:
        store.close()

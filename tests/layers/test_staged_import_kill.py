"""``kill -9`` of a staged GeoPackage import leaves all of its rows or none (issue 10, item 3).

The import runs in a child process whose staging functions announce each phase on stdout
and, at the phase under test, pause so the kill lands exactly there: while staging (no lock
held), in the middle of the copy (rows inserted, the R-tree trigger dropped, audit not yet
written), and just after the commit. After each kill the GeoPackage must pass SQLite's
integrity check, hold 0 or all of the rows with a matching audit log and R-tree, keep its
R-tree trigger, and take the next edit.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from safemap.layers.model import Actor
from safemap.layers.store import open_store
from tests.conftest import YUMIN_EXTENT
from tests.layers.test_contention import enterprise, write_csv

ROWS = 3000

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from safemap.layers import staging
    from safemap.layers.model import Actor
    from safemap.layers.store import open_store
    from safemap.layers.transfer import import_file

    store_path, csv_path, pause_at = sys.argv[1], sys.argv[2], sys.argv[3]

    def say(word):
        print(word, flush=True)
        if word == pause_at:
            time.sleep(60)  # the parent kills us here

    stage_rtree, insert_select = staging._stage_rtree, staging._insert_select
    def _stage_rtree(*a, **k):
        say("staging")
        return stage_rtree(*a, **k)
    def _insert_select(*a, **k):
        out = insert_select(*a, **k)
        say("copying")  # the layer's rows are in, the trigger is dropped, the audit is not written
        return out
    staging._stage_rtree, staging._insert_select = _stage_rtree, _insert_select

    store = open_store(Path(store_path))
    report = import_file(store, "enterprises", Path(csv_path), Actor("李应急", "admin"))
    say("committed")
    time.sleep(60)
    """
)


def _counts(path: Path) -> tuple[int, int, int, str, int]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT count(*) FROM enterprises").fetchone()[0]
        audited = db.execute(
            "SELECT count(*) FROM safemap_audit WHERE layer = 'enterprises' AND action = 'import'"
        ).fetchone()[0]
        indexed = db.execute("SELECT count(*) FROM rtree_enterprises_geom").fetchone()[0]
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        triggers = db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_enterprises_geom_%'"
        ).fetchone()[0]
    return rows, audited, indexed, check, triggers


@pytest.mark.parametrize("kill_at", ["staging", "copying", "committed"])
def test_kill_9_during_a_staged_import_leaves_all_or_none(tmp_path: Path, kill_at: str) -> None:
    path = tmp_path / "kill.gpkg"
    store = open_store(path, extent=YUMIN_EXTENT)
    store.create("enterprises", enterprise("已有企业"), Actor("王编辑", "admin"))
    store.close()
    with sqlite3.connect(path) as db:
        triggers_before = db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_enterprises_geom_%'"
        ).fetchone()[0]
    assert triggers_before > 0
    data = write_csv(tmp_path / "rows.csv", ROWS)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(data), kill_at],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 300
        seen = []
        for line in child.stdout:
            seen.append(line.strip())
            if line.strip() == kill_at or time.monotonic() > deadline:
                break
        assert seen and seen[-1] == kill_at, seen
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    rows, audited, indexed, check, triggers = _counts(path)
    assert check == "ok"
    assert triggers == triggers_before  # the dropped R-tree trigger came back with the rollback
    expected = 1 + ROWS if kill_at == "committed" else 1
    assert rows == expected, (kill_at, rows)
    assert audited == (ROWS if kill_at == "committed" else 0)
    assert indexed == rows  # every point is in the R-tree, nothing more

    store = open_store(path, extent=YUMIN_EXTENT)  # the store opens and takes the next edit
    fid = store.create("enterprises", enterprise("之后的企业"), Actor("王编辑", "admin"))["id"]
    assert store.query("enterprises", bbox=(82.98, 46.19, 83.0, 46.21), limit=None).number_matched >= 2
    assert store.get("enterprises", fid)["properties"]["name"] == "之后的企业"
    store.close()
    assert _counts(path)[2] == rows + 1

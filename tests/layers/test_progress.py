"""Long work reports its progress to whoever shows it, and to nobody otherwise (issue 15, item 9)."""

from __future__ import annotations

import io
from pathlib import Path

from safemap.api.cli.progress import TerminalBars
from safemap.layers import progress
from safemap.layers.osm_roads import read_osm_roads


class Recorder:
    """A reporter that remembers every stage with its total and the steps done."""

    def __init__(self) -> None:
        self.stages: list[list[object]] = []

    def start(self, label: str, total: int | None) -> None:
        self.stages.append([label, total, 0])

    def advance(self, steps: int = 1) -> None:
        self.stages[-1][2] = int(self.stages[-1][2]) + steps  # type: ignore[call-overload]

    def finish(self) -> None:
        pass


def test_track_reports_each_item_and_passes_items_through() -> None:
    rec = Recorder()
    with progress.reporting(rec):
        assert list(progress.track([3, 1, 2], "校验要素")) == [3, 1, 2]
        assert list(progress.track(iter("abc"), "读取")) == ["a", "b", "c"]
    assert rec.stages == [["校验要素", 3, 3], ["读取", None, 3]]
    # Nobody listening: nothing recorded, the items still flow.
    assert list(progress.track([1, 2], "静默")) == [1, 2]
    assert len(rec.stages) == 2


def test_an_osm_import_reports_the_ways_read(tmp_path: Path) -> None:
    from tests.layers.test_osm_roads import _OSM

    path = tmp_path / "a.osm"
    path.write_text(_OSM, encoding="utf-8")
    rec = Recorder()
    with progress.reporting(rec):
        read_osm_roads(path)
    assert rec.stages and rec.stages[0][0] == "读取 OSM 道路（要素）" and rec.stages[0][2] >= 3


def test_terminal_bars_draw_on_a_terminal_and_stay_quiet_otherwise() -> None:
    shown = io.StringIO()
    with progress.reporting(TerminalBars(shown, force=True)):
        for _ in progress.track(range(50), "校验要素"):
            pass
    text = shown.getvalue()
    assert "校验要素" in text and "/50 [" in text  # drawn, then cleared for the summary that follows
    quiet = io.StringIO()  # not a terminal: a pipe, a file, cron, CI
    with progress.reporting(TerminalBars(quiet)):
        list(progress.track(range(50), "校验要素"))
    assert quiet.getvalue() == ""


def test_an_import_reports_validation_and_the_write(gpkg_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from safemap.layers.model import Actor
    from safemap.layers.transfer import import_file

    path = tmp_path / "hydrants.csv"
    rows = "\n".join(f"消火栓{i},完好,{82.98 + i / 1000},46.2" for i in range(5))
    path.write_text("名称,状态,经度,纬度\n" + rows + "\n", encoding="utf-8")
    rec = Recorder()
    with progress.reporting(rec):
        report = import_file(gpkg_store, "hydrants", path, Actor("admin", "admin"))
    assert report.count == 5
    assert rec.stages[0] == ["校验消火栓", 5, 5]
    assert rec.stages[-1][0].startswith("写入消火栓（5 个要素")

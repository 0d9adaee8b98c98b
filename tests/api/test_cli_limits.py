"""``safemap import`` on the command line obeys the same zip caps as an upload (the settings, not defaults)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from safemap.api.cli.group import main
from safemap.layers.store import open_store


def _zipped_shapefile(path: Path, dbf_bytes: int) -> Path:
    """A zip with a .dbf of ``dbf_bytes`` spaces (declared honestly; it compresses about 1000:1)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.shp", bytes(100))
        zf.writestr("big.shx", bytes(100))
        zf.writestr("big.dbf", b" " * dbf_bytes)
    return path


def test_cli_import_uses_the_unzipped_size_setting(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _zipped_shapefile(tmp_path / "big.zip", 3 * 1024 * 1024)
    monkeypatch.setenv("SAFEMAP_MAX_UNZIPPED_BYTES", str(1024 * 1024))
    result = CliRunner().invoke(main, ["import", "enterprises", str(archive)])
    assert result.exit_code != 0
    assert "1 MB" in result.output and "上限" in result.output, result.output
    assert "Traceback" not in result.output
    store = open_store(env)
    assert store.query("enterprises", limit=1).number_matched == 0
    store.close()


def test_cli_import_uses_the_ratio_setting(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _zipped_shapefile(tmp_path / "big.zip", 40 * 1024 * 1024)
    monkeypatch.setenv("SAFEMAP_MAX_ZIP_RATIO", "50")
    result = CliRunner().invoke(main, ["import", "enterprises", str(archive)])
    assert result.exit_code != 0
    assert "压缩比" in result.output and "50:1" in result.output, result.output

"""Fixtures of the API tests: ``env``, the store of the command-line tests (see :mod:`tests.support.cli`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import cli_env


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's store: a GeoPackage in this test's directory (not yet created), chosen by the settings."""
    return cli_env(tmp_path / "cli.gpkg", monkeypatch)

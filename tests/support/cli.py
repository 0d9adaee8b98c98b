"""The ``safemap`` command line for tests: a store chosen by the settings, and a way to run a command.

``cli_env`` points the settings at a fresh GeoPackage (``SAFEMAP_GPKG_PATH``) and clears what
would pick another store or area (``SAFEMAP_DATABASE_URL``, ``SAFEMAP_EXTENT``); the ``env``
fixture of ``tests/api/conftest.py`` calls it. :func:`run` invokes ``safemap`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from safemap.api.cli.group import main

__all__ = ["cli_env", "run"]


def cli_env(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the CLI use the GeoPackage ``path`` (created on first use) and the default service area."""
    monkeypatch.setenv("SAFEMAP_GPKG_PATH", str(path))
    monkeypatch.delenv("SAFEMAP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SAFEMAP_EXTENT", raising=False)
    return path


def run(*args: str) -> tuple[int, str]:
    """``safemap ARGS…``: its exit code and its output (stdout and stderr); exceptions are raised."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output

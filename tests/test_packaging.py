"""SafeMap installs as ``safemap.*`` only: no bare ``api``, ``gis``, ``layers`` or ``webmap`` in site-packages.

The top-level folders stay where they are; ``pyproject.toml`` maps each one (``package-dir``)
and lists every subpackage. These tests check the editable install this test run uses (from
outside the checkout, so the working directory cannot hide a mistake), that the list in
``pyproject.toml`` misses no folder, and what a wheel built from the current tree contains.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOPS = ("api", "gis", "layers", "webmap")
#: Folders of the top-level packages that are not Python packages (assets, npm).
NOT_PACKAGES = ("node_modules", "__pycache__")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_installed_as_safemap_only(tmp_path: Path) -> None:
    got = _python(
        "import safemap.api, safemap.api.cli, safemap.gis, safemap.layers, safemap.webmap\n"
        "from safemap.api.cli import main\n"
        "print(main.name, safemap.api.__file__)",
        tmp_path,
    )
    assert got.returncode == 0, got.stderr
    name, where = got.stdout.split()
    assert name == "main" and Path(where).resolve() == ROOT / "api" / "__init__.py"
    for bare in TOPS:
        got = _python(f"import {bare}", tmp_path)
        assert got.returncode != 0 and "ModuleNotFoundError" in got.stderr, f"`import {bare}` worked: {got.stdout}"


def test_every_package_folder_is_listed() -> None:
    tool = _pyproject()["tool"]["setuptools"]
    mapping = {folder: name for name, folder in tool["package-dir"].items()}
    assert sorted(mapping) == sorted(TOPS), tool["package-dir"]
    found = set()
    for top in TOPS:
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            if any(part in NOT_PACKAGES for part in rel.parts):
                continue
            found.add(".".join([mapping[top], *rel.parts]))
    listed = set(tool["packages"])
    assert found - listed == set(), "folders with __init__.py missing from [tool.setuptools] packages"
    assert listed - found == set(), "packages listed in pyproject.toml without a folder"


def _source_copy(target: Path) -> Path:
    """The files a wheel is built from, copied so the build leaves nothing in the checkout."""
    ignore = shutil.ignore_patterns(*NOT_PACKAGES, "*.pyc")
    for top in TOPS:
        shutil.copytree(ROOT / top, target / top, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    return target


def _can_build_without_isolation() -> bool:
    """Whether this environment has what setuptools needs to build a wheel in place."""
    import setuptools

    major, minor = (int(p) for p in setuptools.__version__.split(".")[:2])
    return importlib.util.find_spec("wheel") is not None or (major, minor) >= (70, 1)


def test_wheel_holds_only_the_safemap_namespace(tmp_path: Path) -> None:
    src, out = _source_copy(tmp_path / "src"), tmp_path / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), "."]
    if _can_build_without_isolation():
        cmd.insert(-1, "--no-build-isolation")
    built = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=300, check=False)
    if built.returncode != 0 and "--no-build-isolation" not in cmd and "Could not find a version" in built.stderr:
        pytest.skip("no setuptools/wheel to build with (offline and not installed)")
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = out.glob("safemap-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        top_level = z.read(f"{dist_info}/top_level.txt").decode().split()
        entry_points = z.read(f"{dist_info}/entry_points.txt").decode()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"safemap", dist_info}, tops
    assert top_level == ["safemap"]
    assert "safemap = safemap.api.cli:main" in entry_points
    assert {n.split("/")[1] for n in names if n.startswith("safemap/")} == set(TOPS)
    assert "safemap/api/cli/group.py" in names and "safemap/layers/demo/__init__.py" in names
    static = [n for n in names if n.startswith("safemap/webmap/static/")]
    assert any(n.endswith(".js") for n in static) and any(n.endswith(".css") for n in static)
    assert any(n.startswith("safemap/webmap/static/vendor/") for n in static)  # offline assets ship
    for left_out in ("tests/", "node_modules/", "pg_cluster.py", "background_server.py"):
        assert not [n for n in names if left_out in n], left_out

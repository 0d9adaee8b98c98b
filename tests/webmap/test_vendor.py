"""``python -m webmap.vendor``: quick when done, clear when npm is missing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from safemap.webmap import vendor
from safemap.webmap.assets import VENDOR_FILES, vendored


def test_second_run_is_quick_and_calls_no_npm(monkeypatch: pytest.MonkeyPatch) -> None:
    if not vendored():
        pytest.skip("run `python -m webmap.vendor` first")
    monkeypatch.setattr(vendor.shutil, "which", lambda _name: None)  # npm must not be needed
    start = time.perf_counter()
    message = vendor.vendor()
    assert time.perf_counter() - start < 1.0
    assert "up to date" in message and str(len(VENDOR_FILES)) in message


def test_missing_npm_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(vendor, "NODE_MODULES", tmp_path / "node_modules")
    monkeypatch.setattr(vendor, "NPM_STAMP", tmp_path / "node_modules" / ".stamp")
    monkeypatch.setattr(vendor, "VENDOR_DIR", tmp_path / "vendor")
    monkeypatch.setattr(vendor, "VENDOR_STAMP", tmp_path / "vendor" / ".stamp")
    monkeypatch.setattr(vendor.shutil, "which", lambda _name: None)
    with pytest.raises(vendor.VendorError, match="npm is not available"):
        vendor.npm_install()
    assert vendor.main([]) == 1
    assert "npm is not available" in capsys.readouterr().err


def test_every_listed_file_comes_from_a_pinned_package() -> None:
    import json

    pinned = json.loads((vendor.NPM_DIR / "package.json").read_text())["dependencies"]
    lock = json.loads((vendor.NPM_DIR / "package-lock.json").read_text())["packages"]
    for version in pinned.values():
        assert version[0].isdigit(), "pin exact versions"
    for name, version in pinned.items():
        assert lock[f"node_modules/{name}"]["version"] == version
    for source in VENDOR_FILES.values():
        parts = source.split("/")
        package = "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]  # @scope/name
        assert package in pinned, f"{source} is not from a pinned package"


def test_eslint_is_a_pinned_dev_tool_never_vendored() -> None:
    import json

    package = json.loads((vendor.NPM_DIR / "package.json").read_text())
    dev = package["devDependencies"]
    assert "eslint" in dev and all(v[0].isdigit() for v in dev.values()), "pin exact versions"
    lock = json.loads((vendor.NPM_DIR / "package-lock.json").read_text())["packages"]
    for name, version in dev.items():
        assert lock[f"node_modules/{name}"]["version"] == version
        assert lock[f"node_modules/{name}"].get("dev") is True
    assert not any(src.split("/")[0] in dev for src in VENDOR_FILES.values())
    assert (vendor.NPM_DIR / "eslint.config.js").is_file()

"""Copy the map page's npm libraries into ``webmap/static/vendor`` (``python -m webmap.vendor``).

Runs ``npm ci`` in ``webmap/`` only when ``node_modules`` is missing or was installed
from another ``package-lock.json``, then copies exactly the files listed in
:data:`webmap.assets.VENDOR_FILES` (with the URL replacements of
:data:`webmap.assets.VENDOR_PATCHES`). A second run with nothing changed touches no
file and does not call npm, so ``make`` can run it on every install.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from safemap.webmap.assets import NPM_DIR, VENDOR_DIR, VENDOR_FILES, VENDOR_PATCHES

NODE_MODULES = NPM_DIR / "node_modules"
LOCK_FILE = NPM_DIR / "package-lock.json"
#: Written into node_modules after a successful ``npm ci``: the lock file it came from.
NPM_STAMP = NODE_MODULES / ".safemap-lock.sha256"
#: Written into static/vendor after a successful copy: lock file + file list it came from.
VENDOR_STAMP = VENDOR_DIR / ".stamp"


class VendorError(RuntimeError):
    """Vendoring cannot proceed (npm missing, install failed, file absent from a package)."""


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
        h.update(b"\0")
    return h.hexdigest()


def _lock_digest() -> str:
    if not LOCK_FILE.is_file():
        raise VendorError(f"{LOCK_FILE} is missing; it pins the vendored libraries")
    return _digest(LOCK_FILE.read_bytes())


def _vendor_digest(lock: str) -> str:
    listing = "\n".join(f"{dst}={src}" for dst, src in sorted(VENDOR_FILES.items()))
    patches = repr(sorted(VENDOR_PATCHES.items()))
    return _digest(lock.encode(), listing.encode(), patches.encode())


def _patched(dst_rel: str, data: bytes) -> bytes:
    """``data`` with the replacements :data:`VENDOR_PATCHES` lists for ``dst_rel`` (regular expressions)."""
    for pattern, new in VENDOR_PATCHES.get(dst_rel, ()):
        data, count = re.subn(pattern, new, data)
        if count == 0:
            raise VendorError(f"{dst_rel}: {pattern.decode()!r} not found (did the package change?)")
    return data


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def npm_install(*, force: bool = False) -> bool:
    """Run ``npm ci`` unless ``node_modules`` already matches ``package-lock.json``.

    Parameters
    ----------
    force
        Reinstall even when the stamp says it is current.

    Returns
    -------
    bool
        Whether npm was run.

    Raises
    ------
    VendorError
        npm is not on PATH or ``npm ci`` failed.
    """
    lock = _lock_digest()
    if not force and NODE_MODULES.is_dir() and _read(NPM_STAMP) == lock:
        return False
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError(
            "npm is not available, so the map's JavaScript libraries cannot be installed.\n"
            "Install Node.js 18+ (Debian: apt-get install nodejs npm), or copy a "
            "webmap/static/vendor/ directory made on another machine with "
            "`python -m webmap.vendor`."
        )
    # Installs the devDependencies too (eslint, for `make lint`); only the files listed in
    # VENDOR_FILES are ever copied to static/vendor. --prefer-offline: a warm npm cache (or
    # an intranet mirror) is enough; the served page itself never needs npm or a network.
    # --ignore-scripts: the packages only supply files; no install script runs (swagger-ui-dist
    # pulls in @scarf/scarf, whose install script would report the download).
    cmd = [npm, "ci", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    proc = subprocess.run(cmd, cwd=NPM_DIR, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VendorError(
            f"`npm ci` failed in {NPM_DIR} (exit {proc.returncode}):\n"
            f"{proc.stderr.strip() or proc.stdout.strip()}\n"
            "Is the npm registry (or an intranet mirror, `npm config set registry …`) reachable?"
        )
    NPM_STAMP.write_text(lock + "\n")
    return True


def copy_files() -> int:
    """Copy each file of :data:`VENDOR_FILES` whose content differs; return how many were copied.

    Raises
    ------
    VendorError
        A listed file is not in ``node_modules`` (a package changed its layout).
    """
    copied = 0
    absent = [src for src in VENDOR_FILES.values() if not (NODE_MODULES / src).is_file()]
    if absent:
        raise VendorError(
            "these files are not in webmap/node_modules (did a package change its layout?): " + ", ".join(absent)
        )
    for dst_rel, src_rel in VENDOR_FILES.items():
        src, dst = NODE_MODULES / src_rel, VENDOR_DIR / dst_rel
        data = _patched(dst_rel, src.read_bytes())
        if dst.is_file() and dst.stat().st_size == len(data) and dst.read_bytes() == data:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(dst)
        copied += 1
    return copied


def _stale_files() -> list[Path]:
    """Files under static/vendor that the current list no longer names."""
    if not VENDOR_DIR.is_dir():
        return []
    wanted = {VENDOR_DIR / rel for rel in VENDOR_FILES} | {VENDOR_STAMP}
    return [p for p in VENDOR_DIR.rglob("*") if p.is_file() and p not in wanted]


def vendor(*, force: bool = False) -> str:
    """Make ``static/vendor`` hold exactly the files the page needs.

    Parameters
    ----------
    force
        Reinstall npm packages and recopy everything.

    Returns
    -------
    str
        One line saying what was done.
    """
    lock = _lock_digest()
    wanted = _vendor_digest(lock)
    complete = all((VENDOR_DIR / rel).is_file() for rel in VENDOR_FILES)
    if not force and complete and _read(VENDOR_STAMP) == wanted:
        return f"webmap vendor: up to date ({len(VENDOR_FILES)} files in {VENDOR_DIR})"
    ran_npm = npm_install(force=force)
    copied = copy_files()
    for stale in _stale_files():
        stale.unlink()
    VENDOR_STAMP.write_text(wanted + "\n")
    npm_note = "npm ci run, " if ran_npm else ""
    return f"webmap vendor: {npm_note}{copied} of {len(VENDOR_FILES)} files copied to {VENDOR_DIR}"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m webmap.vendor", description=__doc__)
    parser.add_argument("--force", action="store_true", help="reinstall and recopy everything")
    args = parser.parse_args(argv)
    try:
        print(vendor(force=args.force))
    except VendorError as exc:
        print(f"webmap vendor: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

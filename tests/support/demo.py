"""The demo county for tests: built once per session into a GeoPackage file, copied for tests that write.

The file is built and graded exactly as ``safemap demo`` leaves it
(:func:`safemap.api.services.editing.build_demo`), then closed so the write-ahead log
is checkpointed into the file: a plain file copy is then a complete, independent store.
The fixtures live in ``tests/conftest.py`` (``demo_county``, ``demo_store``, ``demo_copy``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from safemap.api.settings import YUMIN_EXTENT
from safemap.layers.store import FeatureStore, open_store

__all__ = ["YUMIN_EXTENT", "DemoCounty", "build_demo_file", "clear_grades", "copy_demo", "open_demo"]

#: Seed of the demo county (the one ``safemap demo`` uses).
SEED = 2021


@dataclass(frozen=True)
class DemoCounty:
    """A closed GeoPackage holding the graded demo county, and the feature count of each layer built."""

    path: Path
    counts: dict[str, int]


def build_demo_file(path: Path, *, seed: int = SEED) -> DemoCounty:
    """Build and grade the demo county into a new GeoPackage at ``path`` and close it."""
    from safemap.api.services.editing import build_demo

    store = open_store(path, extent=YUMIN_EXTENT)
    try:
        counts = build_demo(store, seed=seed)
    finally:
        store.close()  # checkpoints the WAL into the file
    for suffix in ("-wal", "-shm"):
        leftover = path.with_name(path.name + suffix)
        if leftover.exists() and leftover.stat().st_size:
            raise RuntimeError(f"{leftover} is not empty after closing the demo store")
    return DemoCounty(path, dict(counts))


def copy_demo(demo: DemoCounty, target: Path) -> Path:
    """Copy the demo file to ``target`` (a path not in use) and return it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(demo.path, target)
    return target


def open_demo(demo: DemoCounty, target: Path) -> FeatureStore:
    """A store on a fresh copy of the demo at ``target``: writes to it touch nothing else."""
    return open_store(copy_demo(demo, target), extent=YUMIN_EXTENT)


#: The GB 18218 values grading computes for each hazard source.
GRADE_FIELDS = ("s_value", "r_value", "grade", "exposed_population")


def clear_grades(store: FeatureStore) -> int:
    """Empty the GB 18218 values of every hazard source (the demo as built before grading runs)."""
    rows = store.query("hazard_sources", limit=None, count=False).rows
    return store.set_computed("hazard_sources", {int(r["id"]): dict.fromkeys(GRADE_FIELDS) for r in rows})

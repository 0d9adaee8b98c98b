"""``python -m benchmarks`` (``make bench``): every benchmark, one after the other."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    """Run each ``benchmarks/bench_*.py`` module's ``main()`` (or only those named on the command line)."""
    wanted = set(sys.argv[1:])
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if info.name.startswith("bench_") and (not wanted or info.name in wanted):
            print(f"\n=== {info.name} ===", flush=True)
            importlib.import_module(f"benchmarks.{info.name}").main()


if __name__ == "__main__":
    main()

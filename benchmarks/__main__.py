"""``python -m benchmarks`` (``make bench``): every benchmark, one after the other.

Usage::

    python -m benchmarks                          # every benchmarks/bench_*.py
    python -m benchmarks bench_routing bench_layers
    python -m benchmarks bench_routing --side 250 --queries 5   # options go to the named modules

Names select modules; arguments starting with ``-`` (and what follows them) are handed to
each selected module as its command line (``sys.argv[1:]``), so a module's own argparse
options work here too. Each run prints the machine load at its start and end and writes
its figures to ``var/bench/<module>.json`` (:mod:`benchmarks.report`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from benchmarks import report


def modules() -> list[str]:
    """Names of the ``benchmarks/bench_*.py`` modules, sorted."""
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def split_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """Module names (leading bare words) and the options handed to the modules (from the first ``-…`` on)."""
    for i, arg in enumerate(argv):
        if arg.startswith("-"):
            return argv[:i], argv[i:]
    return argv, []


def main() -> None:
    """Run each ``benchmarks/bench_*.py`` module's ``main()`` (or only those named on the command line)."""
    names, options = split_args(sys.argv[1:])
    available = modules()
    if not names and options and options[0] in ("-h", "--help"):
        print(__doc__)
        print("benchmarks:", ", ".join(available))
        return
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
    prog = sys.argv[0]
    try:
        for name in available:
            if names and name not in names:
                continue
            print(f"\n=== {name} ===", flush=True)
            sys.argv = [f"benchmarks.{name}", *options]
            with report.recording(name):
                importlib.import_module(f"benchmarks.{name}").main()
    finally:
        sys.argv = [prog, *names, *options]


if __name__ == "__main__":
    main()

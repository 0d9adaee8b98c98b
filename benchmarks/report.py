"""Shared reporting for the benchmarks: machine load, peers' exact calls, figures to ``var/bench/<name>.json``.

Each ``bench_*.main`` is wrapped in :func:`recorded` (``python -m benchmarks`` also wraps
every module it runs, so a module without the decorator is recorded too). A recording

* prints the load average (``os.getloadavg``) and the CPU count at the start and at the end;
* tees everything the benchmark prints into the JSON file (``lines``);
* keeps the structured figures given with :func:`figure` and the peers' exact calls given
  with :func:`peer` (the call is printed as well);
* writes ``var/bench/<name>.json`` at the end, also when the benchmark fails
  (``"status": "error"`` with the exception).

Recordings do not nest: inside an active one, :func:`recorded` just runs the function, so
the decorator and the runner can both wrap the same ``main``.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = Path(os.environ.get("SAFEMAP_BENCH_DIR", ROOT / "var" / "bench"))

F = TypeVar("F", bound=Callable[..., Any])


class _Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.copy = io.StringIO()

    def write(self, s: str) -> int:
        self.copy.write(s)
        return int(self.inner.write(s))

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.inner, "isatty", lambda: False)())

    def fileno(self) -> int:
        return int(self.inner.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    def __getattr__(self, name: str) -> Any:  # buffer, reconfigure, … of the terminal stream
        return getattr(self.inner, name)


class Recording:
    """One benchmark run: its figures, its peers and what it printed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.figures: list[dict[str, Any]] = []
        self.peers: dict[str, str] = {}
        self.started = dt.datetime.now(dt.UTC)
        self.load_start = load()
        self.load_end: tuple[float, float, float] | None = None
        self.t0 = time.perf_counter()

    def to_json(self, status: str, error: str | None, lines: str) -> dict[str, Any]:
        """The JSON document written to ``var/bench/<name>.json``."""
        return {
            "name": self.name,
            "status": status,
            "error": error,
            "started_utc": self.started.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - self.t0, 3),
            "argv": sys.argv[1:],
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "node": platform.node()},
            "loadavg_start": self.load_start,
            "loadavg_end": self.load_end,
            "peers": self.peers,
            "figures": self.figures,
            "lines": lines.splitlines(),
        }


_active: Recording | None = None


def load() -> tuple[float, float, float]:
    """1, 5 and 15 minute load averages."""
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def _load_line(when: str) -> str:
    one, five, fifteen = load()
    return f"[{when}] machine load {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


@contextmanager
def recording(name: str) -> Iterator[Recording]:
    """Record one benchmark run (a no-op inside an active recording)."""
    global _active
    if _active is not None:
        yield _active
        return
    rec = _active = Recording(name)
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    status, error = "ok", None
    print(_load_line("start"), flush=True)
    try:
        yield rec
    except BaseException as exc:
        if not (isinstance(exc, SystemExit) and not exc.code):
            status, error = "error", "".join(traceback.format_exception_only(type(exc), exc)).strip()
        raise
    finally:
        sys.stdout = tee.inner
        _active = None
        rec.load_end = load()
        end = _load_line("end")
        tee.copy.write(end + "\n")
        path = write(rec.to_json(status, error, tee.copy.getvalue()))
        with suppress(OSError):  # the terminal went away (a closed pipe): the JSON is written anyway
            print(f"{end}\nfigures written to {path}", flush=True)


def recorded(name: str) -> Callable[[F], F]:
    """Decorator for a benchmark's ``main``: run it inside :func:`recording` (``name`` → the JSON file)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with recording(name):
                return fn(*args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


def figure(key: str, value: float | int | str | None, unit: str = "", **meta: Any) -> None:
    """Keep one figure (e.g. ``figure("spread.safemap.p50", 41.2, "ms", queries=15)``) for the JSON."""
    if _active is not None:
        _active.figures.append({"key": key, "value": value, "unit": unit, **meta})


def peer(label: str, call: str) -> None:
    """Print a peer's exact call (SQL text or function) and keep it for the JSON."""
    text = " ".join(call.split())
    print(f"  peer {label}: {text}")
    if _active is not None:
        _active.peers[label] = text


def write(doc: dict[str, Any]) -> Path:
    """Write ``doc`` to ``var/bench/<name>.json`` (atomically) and return the path.

    With ``SAFEMAP_BENCH_TAG`` set (e.g. ``side250`` for one point of a scaling curve) the
    file is ``<name>.<tag>.json``, so runs at several sizes keep their figures apart.
    """
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    tag = os.environ.get("SAFEMAP_BENCH_TAG", "").strip()
    if tag:
        doc["tag"] = tag
    path = OUT_DIR / (f"{doc['name']}.{tag}.json" if tag else f"{doc['name']}.json")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path

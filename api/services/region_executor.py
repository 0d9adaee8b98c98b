"""Where a region-wide analysis runs: in this process, or partitioned on a Dask cluster.

One interface, two engines, the same answer: :func:`executor` gives an :class:`Executor`
whose :meth:`Executor.map` calls a top-level function once per partition — a plain loop in
this process when no scheduler is configured (``SAFEMAP_DASK_SCHEDULER`` empty), or
``dask.distributed.Client.map`` on the scheduler's workers. Inputs every partition shares
(rules, the network, the scenarios) are scattered to the workers once per run, not once per
task. Results come back in the partitions' order, so merging them does not depend on which
worker finished first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from safemap.layers.errors import LayerError, Problem


class SchedulerUnavailable(LayerError):
    """The Dask scheduler of ``SAFEMAP_DASK_SCHEDULER`` cannot be reached: 503, nothing was computed."""

    status = 503
    code = "unavailable"


ENGINE_LABELS = {"local": "进程内", "dask": "Dask"}
#: Seconds to wait for a scheduler before the request is answered 503 (:class:`SchedulerUnavailable`).
CONNECT_TIMEOUT_S = 10.0

_clients: dict[str, Any] = {}
_lock = threading.Lock()


@dataclass
class RunInfo:
    """How a region-wide analysis ran: engine, workers, partitions, wall seconds."""

    engine: str
    workers: int
    partitions: int = 0
    seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter, repr=False)

    def finish(self, partitions: int) -> RunInfo:
        """Record the number of partitions and the elapsed wall time."""
        self.partitions = partitions
        self.seconds = time.perf_counter() - self.started
        return self

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: engine, engine_label (进程内/Dask), workers, partitions, seconds, duration (X分Y秒)."""
        return {
            "engine": self.engine,
            "engine_label": ENGINE_LABELS[self.engine],
            "workers": self.workers,
            "partitions": self.partitions,
            "seconds": round(self.seconds, 3),
            "duration": duration_text(self.seconds),
        }


def duration_text(seconds: float) -> str:
    """A duration as people read it: ``X分Y秒`` (under a minute: ``Y秒`` with one decimal)."""
    if seconds < 60:
        return f"{seconds:.1f}秒"
    m, s = divmod(round(seconds), 60)
    return f"{m}分{s}秒"


class Executor:
    """Runs one function per partition, in this process or on Dask workers."""

    def __init__(self, client: Any | None = None) -> None:
        self.client = client

    @property
    def engine(self) -> str:
        """``local`` or ``dask``."""
        return "local" if self.client is None else "dask"

    @property
    def workers(self) -> int:
        """Worker processes taking part (1 in this process)."""
        if self.client is None:
            return 1
        return len(self.client.scheduler_info().get("workers", {}))

    def run_info(self) -> RunInfo:
        """A :class:`RunInfo` started now."""
        return RunInfo(self.engine, self.workers)

    def map(self, fn: Callable[..., Any], items: Sequence[Any], **shared: Any) -> list[Any]:
        """``[fn(item, **shared) for item in items]``, in order; on Dask the shared values are scattered once."""
        if self.client is None:
            return [fn(item, **shared) for item in items]
        if not items:
            return []
        client = self.client
        # broadcast: every worker gets its copy once, rather than fetching it per task.
        # One-element lists: a list or dict would be scattered as many futures, not as one value.
        scattered = {k: client.scatter([v], broadcast=True, hash=False)[0] for k, v in shared.items()}
        futures = client.map(fn, list(items), pure=False, **scattered)
        try:
            return list(client.gather(futures))
        finally:
            for f in futures:
                f.release()
            for f in scattered.values():
                f.release()


def _client(address: str) -> Any:
    from dask.distributed import Client

    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            why = f"无法连接 {address}（{type(exc).__name__}），全区分析未执行；请检查调度器，或清空该设置在本进程计算"
            raise SchedulerUnavailable(f"Dask 调度器：{why}", [Problem("dask_scheduler", why)]) from None
        _clients[address] = client
        return client


@contextmanager
def executor(scheduler: str | None) -> Iterator[Executor]:
    """The executor for ``scheduler`` (``tcp://host:port``; ``None``/empty: this process)."""
    yield Executor(_client(scheduler) if scheduler else None)


def close_clients() -> None:
    """Close every cached Dask client (tests, shutdown)."""
    with _lock:
        for client in _clients.values():
            with suppress(Exception):  # a client of a vanished scheduler cannot close cleanly
                client.close()
        _clients.clear()

"""The delivery worker: sends queued warning deliveries, retries failures with back-off, survives restarts.

The outbox is the ``warning_deliveries`` table, never memory. One pass
(:meth:`DeliveryWorker.run_once`):

1. **claim** — in one short write transaction, rows that are due (state 排队, or 失败 with
   a retry scheduled; ``next_attempt_at`` reached; e-mail or webhook) and not leased get
   ``lease_until = now + lease`` and ``claimed_by = <this worker>`` by a conditional
   ``UPDATE … WHERE (lease_until IS NULL OR lease_until < now)``: of two workers only one
   wins a row (the database decides, on PostGIS under its row lock, on GeoPackage under the
   write lock);
2. **send** each claimed row outside any transaction (SMTP, webhook; timeouts bounded);
3. **record** each attempt at once: ``UPDATE … WHERE claimed_by = <this worker>`` sets
   已发送 (``sent_at``), or 失败 with ``last_error``, ``attempts + 1`` and the next attempt
   after the back-off (30 s, 1 min, 2 min, 4 min … capped), or 失败 for good after the
   last attempt or a final refusal (a 4xx from the gateway, a 5xx from the mail server).
   Every attempt is audited with the row before and after.

A worker that dies after claiming leaves its rows leased; once the lease expires another
worker claims and sends them — nothing queued is lost. Rows are never sent by two workers
at once; the lease must outlast a batch (``batch × timeout`` is the longest a pass holds
one), which :class:`DeliveryWorker` enforces. A worker killed *between* a successful send
and its record may send that delivery again after the lease: the webhook carries an
``Idempotency-Key`` and the e-mail a fixed Message-ID so the far end can drop it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update

from safemap.api.services.warning_channels import SENDERS, ChannelConfig, Message, Outcome
from safemap.layers.errors import StoreUnavailable
from safemap.layers.model import Actor, utc_now
from safemap.layers.store import FeatureStore

_log = logging.getLogger("safemap.warnings")

WORKER_ACTOR = Actor("warning-worker", "admin")
SENT_BY_WORKER = ("email", "webhook")
RETRYABLE = ("queued", "failed")

Sender = Callable[[ChannelConfig, Message], Outcome]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: ``base_s · 2^(n−1)`` after the n-th failed attempt, at most ``cap_s``."""

    base_s: float = 30.0
    cap_s: float = 1800.0
    max_attempts: int = 8

    def delay_s(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed attempts."""
        return float(min(self.base_s * 2 ** max(attempts - 1, 0), self.cap_s))

    def schedule(self) -> list[float]:
        """The waits between every attempt (for the documentation and the CLI)."""
        return [self.delay_s(n) for n in range(1, self.max_attempts)]


class DeliveryWorker:
    """Claims and sends due deliveries of one store (see the module docstring).

    Parameters
    ----------
    store
        The store holding the outbox.
    config
        The channels' settings.
    policy
        Back-off and the most attempts.
    lease_s
        How long a claim holds a row; raised to ``batch × timeout × 2`` when shorter.
    batch
        Rows claimed per pass.
    clock
        The current time (tests move it forward instead of sleeping).
    senders
        Channel code → function sending one message.
    """

    def __init__(
        self,
        store: FeatureStore,
        config: ChannelConfig,
        *,
        policy: RetryPolicy | None = None,
        lease_s: float = 300.0,
        batch: int = 10,
        worker_id: str | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        senders: Mapping[str, Sender] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.policy = policy or RetryPolicy()
        self.batch = max(1, int(batch))
        self.lease_s = max(float(lease_s), self.batch * config.timeout_s * 2)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock
        self.senders = dict(senders or SENDERS)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ one pass
    def _due(self, t: Any, now: dt.datetime) -> list[Any]:
        return [
            t.c.state.in_(RETRYABLE),
            t.c.channel.in_(SENT_BY_WORKER),
            t.c.next_attempt_at.is_not(None),
            t.c.next_attempt_at <= now,
            or_(t.c.lease_until.is_(None), t.c.lease_until < now),
        ]

    def due_count(self) -> int:
        """How many deliveries are due now (a read; no lock taken)."""
        now = self.clock()
        with self.store.transaction(readonly=True) as tx:
            t = tx.table("warning_deliveries")
            return len(tx.execute(select(t.c.id).where(*self._due(t, now)).limit(10_000)).all())

    def claim(self) -> list[dict[str, Any]]:
        """Lease up to ``batch`` due deliveries to this worker; return them with their warning's text."""
        if self.due_count() == 0:  # no write lock taken when there is nothing to do
            return []
        now = self.clock()
        until = now + dt.timedelta(seconds=self.lease_s)
        claimed: list[int] = []
        with self.store.transaction() as tx:
            t = tx.table("warning_deliveries")
            ids = [
                int(i)
                for i in tx.execute(
                    select(t.c.id).where(*self._due(t, now)).order_by(t.c.next_attempt_at, t.c.id).limit(self.batch)
                ).scalars()
            ]
            for did in ids:
                won = tx.execute(
                    update(t)
                    .where(t.c.id == did, *self._due(t, now))
                    .values(lease_until=until, claimed_by=self.worker_id)
                )
                if won.rowcount == 1:
                    claimed.append(did)
            rows = tx.fetch_many("warning_deliveries", claimed) if claimed else {}
            warnings = tx.fetch_many("warnings", sorted({int(r["properties"]["warning_id"]) for r in rows.values()}))
        out = []
        for did in claimed:
            props = rows[did]["properties"]
            w = warnings[int(props["warning_id"])]["properties"]
            out.append({**props, "title": w["title"], "message": w["message"], "key": w["idempotency_key"]})
        return out

    def send(self, row: Mapping[str, Any]) -> Outcome:
        """Send one claimed delivery through its channel (never raises)."""
        message = Message(
            delivery_id=int(row["id"]),
            warning_id=int(row["warning_id"]),
            incident_id=int(row["incident_id"]),
            idempotency_key=str(row["key"]),
            title=str(row["title"]),
            body=str(row["message"]),
            recipient={
                k: row.get(k)
                for k in ("name", "organisation", "role", "phone", "email", "band", "target_layer", "target_id")
            },
        )
        sender = self.senders.get(str(row["channel"]))
        if sender is None:
            return Outcome(False, f"不支持的渠道 {row['channel']}", retry=False)
        try:
            return sender(self.config, message)
        except Exception as exc:  # a bug in a channel must not kill the worker; recorded, retried
            _log.exception("warning delivery %s failed unexpectedly", row["id"])
            return Outcome(False, f"发送程序出错：{type(exc).__name__}")

    def record(self, row: Mapping[str, Any], outcome: Outcome) -> str:
        """Store the attempt's result on the row this worker holds; return the new state (or ``lost``)."""
        now = self.clock()
        attempts = int(row.get("attempts") or 0) + 1
        if outcome.ok:
            values: dict[str, Any] = {"state": "sent", "sent_at": now, "next_attempt_at": None, "last_error": None}
            values["response"] = outcome.detail[:500]
        elif outcome.retry and attempts < self.policy.max_attempts:
            wait = self.policy.delay_s(attempts)
            values = {
                "state": "failed",
                "next_attempt_at": now + dt.timedelta(seconds=wait),
                "last_error": f"第 {attempts} 次发送失败：{outcome.detail}；{_wait_text(wait)}后重试"[:1000],
            }
        else:
            why = "不可重试" if not outcome.retry else f"已达最多 {self.policy.max_attempts} 次"
            values = {
                "state": "failed",
                "next_attempt_at": None,
                "last_error": f"第 {attempts} 次发送失败：{outcome.detail}；{why}，停止重试"[:1000],
            }
        values.update(attempts=attempts, lease_until=None, claimed_by=None)
        layer = self.store.layer("warning_deliveries")
        did = int(row["id"])
        with self.store.transaction() as tx:
            before = tx.fetch(layer, did)
            if not tx.update(layer.name, did, values, only_if={"claimed_by": self.worker_id}, now=now):
                _log.warning("warning delivery %s: lease lost before its result was recorded", did)
                return "lost"
            after = tx.fetch(layer, did)
            note = f"{row['channel']} 第 {attempts} 次：{'成功' if outcome.ok else outcome.detail}"[:500]
            tx.record_audit(WORKER_ACTOR, "deliver", layer, [(did, before, after)], note)
            tx.bump_generation()
        return str(values["state"])

    def run_once(self) -> dict[str, int]:
        """Claim one batch, send and record each; counts of ``claimed``, ``sent``, ``failed``, ``retrying``."""
        counts = {"claimed": 0, "sent": 0, "failed": 0, "retrying": 0, "lost": 0}
        for row in self.claim():
            counts["claimed"] += 1
            outcome = self.send(row)
            state = self.record(row, outcome)
            if state == "sent":
                counts["sent"] += 1
            elif state == "lost":
                counts["lost"] += 1
            elif outcome.retry and int(row.get("attempts") or 0) + 1 < self.policy.max_attempts:
                counts["retrying"] += 1
            else:
                counts["failed"] += 1
        return counts

    def run_until_idle(self, max_passes: int = 1000) -> dict[str, int]:
        """Passes until nothing is due now (retries scheduled later are left for later); summed counts."""
        total = {"claimed": 0, "sent": 0, "failed": 0, "retrying": 0, "lost": 0}
        for _ in range(max_passes):
            counts = self.run_once()
            for k, v in counts.items():
                total[k] += v
            if counts["claimed"] == 0 or self._stop.is_set():
                break
        return total

    # ------------------------------------------------------------------ background thread
    def start(self, interval_s: float = 5.0) -> None:
        """Run passes every ``interval_s`` seconds in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_until_idle()
                except StoreUnavailable:  # failing over: one line, not a traceback per pass
                    _log.warning("预警发送暂停：数据库暂不可用（可能正在主备切换），稍后重试")
                except Exception:  # a busy or unreachable store: log and try again next time
                    _log.exception("warning delivery pass failed")
                self._wake.wait(interval_s)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="safemap-warning-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Start the next pass now (a warning was just queued) instead of at the next interval."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask the thread to stop after the delivery in hand and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None


def _wait_text(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s} 秒"
    m, s = divmod(s, 60)
    return f"{m} 分 {s} 秒" if s else f"{m} 分钟"


__all__ = ["WORKER_ACTOR", "DeliveryWorker", "RetryPolicy"]

"""A throwaway high-availability PostgreSQL formation for tests and benchmarks: pg_auto_failover.

One monitor and two data nodes (``node1`` starts as primary, ``node2`` as its synchronous
standby), all on 127.0.0.1 with free-picked ports, in one temporary directory. Each node is a
``pg_autoctl`` process (its keeper runs PostgreSQL); the monitor's state machine promotes the
standby when the primary stops answering. With two data nodes pg_auto_failover turns on
synchronous replication (``synchronous_standby_names = 'ANY 1 (…)'``): a COMMIT returns only
once the standby has the WAL, so nothing acknowledged is lost on failover. Durability stays on
(``fsync=on``): the drills measure real commits.

The monitor's timeouts are shortened so a drill takes seconds, not the production defaults'
half-minute (:data:`MONITOR_SETTINGS`; the keepers' ``timeout.network_partition_timeout`` is
kept below ``primary_demote_timeout`` so a partitioned primary demotes itself before the
standby is promoted — no two primaries).

``initdb`` and ``pg_autoctl`` refuse to run as root: as root every command runs as the
``postgres`` system user (``runuser``), with its configuration and state files
(``XDG_CONFIG_HOME`` …) inside the temporary directory. ``stop()`` leaves no process behind.

Run ``python -m tests.support.ha_cluster`` to start one in the foreground and print its URL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.support.pg_cluster import _bindir, _free_port

#: Monitor settings (``ALTER SYSTEM`` on the monitor, then reloaded): how fast a dead primary is
#: noticed and its standby promoted. Production defaults in brackets.
MONITOR_SETTINGS: dict[str, str] = {
    "pgautofailover.health_check_period": "1000",  # ms between health checks [5000]
    "pgautofailover.health_check_timeout": "1000",  # ms a health check connection may take [5000]
    "pgautofailover.health_check_max_retries": "1",  # retries before a node is marked bad [2]
    "pgautofailover.health_check_retry_delay": "500",  # ms between retries [2000]
    "pgautofailover.node_considered_unhealthy_timeout": "2000",  # ms without keeper report [20000]
    "pgautofailover.primary_demote_timeout": "5000",  # ms waited for the old primary to demote [30000]
    "pgautofailover.startup_grace_period": "2000",  # ms after monitor start without failovers [10000]
}

#: Keeper settings (``pg_autoctl config set`` on each data node).
KEEPER_SETTINGS: dict[str, str] = {
    # A primary that reaches neither monitor nor standby for this long demotes itself; kept below
    # primary_demote_timeout (5 s) so a partitioned primary stops before its standby is promoted.
    "timeout.network_partition_timeout": "3",
}

DATA_NODES = ("node1", "node2")


@dataclass
class Node:
    """One pg_auto_failover node: its name, port, data directory and ``pg_autoctl`` process."""

    name: str
    port: int
    pgdata: Path
    proc: subprocess.Popen[bytes] | None = None

    def dsn(self, database: str = "safemap") -> str:
        """The libpq connection string of a database on this node alone."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database} connect_timeout=2"


@dataclass
class HACluster:
    """A running formation; ``url`` is the multi-host SQLAlchemy URL the app uses."""

    directory: Path
    bindir: Path
    as_postgres: bool
    monitor: Node
    nodes: dict[str, Node] = field(default_factory=dict)

    # ------------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        """SQLAlchemy URL naming both data nodes; libpq picks the one that accepts writes.

        SQLAlchemy 2 takes several ``host=h:p`` query parameters for psycopg; libpq tries them in
        order and keeps the first session that is ``read-write`` (the primary).
        """
        hosts = "&".join(f"host=127.0.0.1:{n.port}" for n in self.nodes.values())
        return f"postgresql+psycopg://postgres@/safemap?{hosts}&target_session_attrs=read-write&connect_timeout=2"

    def formation_uri(self) -> str:
        """The multi-host URI pg_auto_failover prints for clients (``pg_autoctl show uri --formation default``).

        The operator's source for ``SAFEMAP_DATABASE_URL``: its ``host:port`` list and
        ``target_session_attrs=read-write`` are what :attr:`url` says in SQLAlchemy's form.
        """
        cmd = ["pg_autoctl", "show", "uri", "--pgdata", str(self.monitor.pgdata), "--formation", "default"]
        return _run(self, cmd).stdout.strip()

    @property
    def monitor_dsn(self) -> str:
        """libpq connection string of the monitor's ``pg_auto_failover`` database."""
        return f"host=127.0.0.1 port={self.monitor.port} user=autoctl_node dbname=pg_auto_failover connect_timeout=2"

    # ------------------------------------------------------------------ state

    def state(self) -> dict[str, dict[str, Any]]:
        """Each data node's state as the monitor sees it: ``{name: {reported, assigned, health, port}}``.

        ``reported`` is the state the node's keeper last reached (``primary``, ``secondary``,
        ``wait_primary``, ``demoted``, …), ``assigned`` the goal the monitor gave it.
        """
        with psycopg.connect(self.monitor_dsn, autocommit=True) as con:
            rows = con.execute(
                "SELECT nodename, reportedstate::text, goalstate::text, health, nodeport"
                " FROM pgautofailover.node WHERE formationid = 'default' ORDER BY nodeid"
            ).fetchall()
        return {
            name: {"reported": rep, "assigned": goal, "health": health, "port": port}
            for name, rep, goal, health, port in rows
        }

    def primary(self) -> str | None:
        """The name of the node reported (and assigned) as the writable primary, if exactly one is."""
        try:
            states = self.state()
        except psycopg.Error:
            return None
        writable = [
            name
            for name, s in states.items()
            if s["reported"] in ("primary", "wait_primary", "single") and s["reported"] == s["assigned"]
        ]
        return writable[0] if len(writable) == 1 else None

    def wait_for(
        self, wanted: dict[str, str], timeout: float = 120.0, *, checkpoint_on: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Wait until each named node reports (and is assigned) the wanted state; return the states.

        ``checkpoint_on`` names a primary a standby is cloned from: ``pg_autoctl`` runs
        ``pg_basebackup`` without ``--checkpoint=fast``, which waits for a spread checkpoint
        (minutes); a ``CHECKPOINT`` every second on the primary makes it finish at once.
        """
        deadline = time.monotonic() + timeout
        states: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.Error):
                states = self.state()
                if all(
                    states.get(n, {}).get("reported") == s and states[n]["assigned"] == s for n, s in wanted.items()
                ):
                    return states
            if checkpoint_on is not None:
                with (
                    contextlib.suppress(psycopg.Error),
                    psycopg.connect(self.nodes[checkpoint_on].dsn("postgres"), autocommit=True) as con,
                ):
                    con.execute("CHECKPOINT")
            self._check_alive()
            time.sleep(1.0 if checkpoint_on else 0.2)
        raise RuntimeError(f"formation did not reach {wanted} within {timeout:.0f} s: {states}\n{self.logs()}")

    def wait_sync(self, primary: str, timeout: float = 60.0) -> str:
        """Wait until ``primary`` replicates synchronously to a standby; return ``synchronous_standby_names``."""
        deadline = time.monotonic() + timeout
        names = ""
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(psycopg.Error),
                psycopg.connect(self.nodes[primary].dsn("postgres"), autocommit=True) as con,
            ):
                names = con.execute("SHOW synchronous_standby_names").fetchone()[0]  # type: ignore[index]
                sync = con.execute("SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')")
                if names and sync.fetchone()[0] >= 1:  # type: ignore[index]
                    return str(names)
            time.sleep(0.2)
        raise RuntimeError(f"{primary} has no synchronous standby after {timeout:.0f} s ({names!r})")

    # ------------------------------------------------------------------ failures

    def stop_primary(self) -> str:
        """Kill the current primary as a crash would (keeper killed, PostgreSQL stopped ``immediate``).

        Returns the name of the node stopped. Its data directory stays, so it can :meth:`rejoin`.
        """
        name = self.primary()
        if name is None:
            raise RuntimeError(f"no single primary to stop: {self.state()}")
        self.kill_node(name)
        return name

    def kill_node(self, name: str) -> None:
        """Kill a node's ``pg_autoctl`` (so it restarts nothing) and its PostgreSQL at once (SIGKILL).

        The keeper's process group holds the postmaster and its backends too: they all die at
        once, as in a power cut (the data directory is left as a crash leaves it).
        """
        node = self.nodes.get(name, self.monitor)
        _kill_group(node.proc)
        node.proc = None
        _kill_postmaster(node.pgdata)

    def rejoin(self, name: str) -> None:
        """Start a stopped node's keeper again: the monitor makes it the standby of the new primary."""
        node = self.nodes[name]
        node.proc = _spawn(self, node.name, ["run", "--pgdata", str(node.pgdata)])

    # ------------------------------------------------------------------ teardown

    def stop(self) -> None:
        """Stop every node (data nodes first, then the monitor), kill what remains, delete the files."""
        for node in [*self.nodes.values(), self.monitor]:
            if node.proc is not None and node.proc.poll() is None:
                _run(self, ["pg_autoctl", "stop", "--pgdata", str(node.pgdata), "--fast"], check=False)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.proc.wait(timeout=20)
            _kill_group(node.proc)
            node.proc = None
            _run(
                self,
                [str(self.bindir / "pg_ctl"), "-D", str(node.pgdata), "-m", "immediate", "-w", "stop"],
                check=False,
            )
            _kill_postmaster(node.pgdata)
        shutil.rmtree(self.directory, ignore_errors=True)

    def logs(self, tail: int = 40) -> str:
        """The last lines of every node's ``pg_autoctl`` log (for failure messages)."""
        out = []
        for log in sorted(self.directory.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(out)

    def _check_alive(self) -> None:
        for node in [self.monitor, *self.nodes.values()]:
            if node.proc is not None and node.proc.poll() is not None:
                raise RuntimeError(f"pg_autoctl of {node.name} exited with {node.proc.returncode}\n{self.logs()}")


# ---------------------------------------------------------------------- processes


def _env(cluster: HACluster) -> dict[str, str]:
    """pg_autoctl keeps its config and state under XDG dirs: keep them in the cluster's directory."""
    base = cluster.directory
    return {
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_DATA_HOME": str(base / "share"),
        "XDG_RUNTIME_DIR": str(base / "run"),
        "HOME": str(base),
        "PATH": f"{cluster.bindir}:/usr/bin:/bin",
        "PG_CONFIG": str(cluster.bindir / "pg_config") if (cluster.bindir / "pg_config").exists() else "",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def _command(cluster: HACluster, cmd: list[str]) -> list[str]:
    env = [f"{k}={v}" for k, v in _env(cluster).items() if v]
    if cluster.as_postgres:
        return ["runuser", "-u", "postgres", "--", "env", *env, *cmd]
    return ["env", *env, *cmd]


def _run(
    cluster: HACluster, cmd: list[str], *, check: bool = True, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run a command to its end; on timeout kill its whole process group (pg_autoctl forks services)."""
    proc = subprocess.Popen(
        _command(cluster, cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd="/",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise RuntimeError(f"{' '.join(cmd[:3])} did not finish within {timeout:.0f} s: {err[-2000:]}") from None
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}): {err[-2000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _spawn(cluster: HACluster, name: str, args: list[str]) -> subprocess.Popen[bytes]:
    """Start ``pg_autoctl ARGS`` in its own process group, logging to ``<name>.log``."""
    log = open(cluster.directory / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
    try:
        return subprocess.Popen(
            _command(cluster, ["pg_autoctl", *args]),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd="/",
            start_new_session=True,
        )
    finally:
        log.close()


def _kill_group(proc: subprocess.Popen[Any] | None) -> None:
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _kill_postmaster(pgdata: Path) -> None:
    """Kill a postmaster still running on ``pgdata`` (by the pid in its ``postmaster.pid``)."""
    pidfile = pgdata / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not _alive(pid):
            return
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie — killed, not yet reaped by its new parent — does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# ---------------------------------------------------------------------- start


def start(*, timeout: float = 180.0) -> HACluster:
    """Create and start a monitor and two data nodes; return once node1 is primary and node2 its sync standby.

    The ``safemap`` database is created on the primary with PostGIS (it reaches the standby by
    physical replication). Raise ``RuntimeError`` with the nodes' logs if the formation does not
    come up within ``timeout`` seconds.
    """
    bindir = _bindir()
    if shutil.which("pg_autoctl") is None:
        packages = f"pg-auto-failover-cli postgresql-{bindir.parent.name}-auto-failover"
        raise RuntimeError(f"pg_auto_failover is not installed (apt-get install {packages})")
    as_postgres = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="safemap-ha-"))
    for sub in ("config", "share", "run"):
        (directory / sub).mkdir()
    if as_postgres:
        for path in (directory, *directory.iterdir()):
            shutil.chown(path, "postgres", "postgres")
    os.chmod(directory, 0o700)
    monitor = Node("monitor", _free_port(), directory / "monitor")
    cluster = HACluster(directory, bindir, as_postgres, monitor)
    try:
        _start(cluster, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start(cluster: HACluster, timeout: float) -> None:
    pg_ctl = str(cluster.bindir / "pg_ctl")
    common = ["--pgctl", pg_ctl, "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"]
    monitor = cluster.monitor
    _run(
        cluster,
        ["pg_autoctl", "create", "monitor", "--pgdata", str(monitor.pgdata), "--pgport", str(monitor.port), *common],
    )
    # The monitor listens on every interface by default; a throwaway one stays on loopback.
    _run(
        cluster,
        ["pg_autoctl", "config", "set", "--pgdata", str(monitor.pgdata), "postgresql.listen_addresses", "127.0.0.1"],
    )
    monitor.proc = _spawn(cluster, "monitor", ["run", "--pgdata", str(monitor.pgdata)])
    _wait_monitor(cluster, timeout)
    with psycopg.connect(monitor.dsn("pg_auto_failover"), autocommit=True) as con:
        for name, value in MONITOR_SETTINGS.items():
            con.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        con.execute("SELECT pg_reload_conf()")
    uri = _run(cluster, ["pg_autoctl", "show", "uri", "--pgdata", str(monitor.pgdata), "--formation", "monitor"])
    uri = uri.stdout.strip()
    for i, name in enumerate(DATA_NODES):
        node = Node(name, _free_port(), cluster.directory / name)
        cluster.nodes[name] = node
        create = [
            "create",
            "postgres",
            "--pgdata",
            str(node.pgdata),
            "--pgport",
            str(node.port),
            "--pghost",
            "127.0.0.1",
            "--listen",
            "127.0.0.1",
            "--username",
            "postgres",
            "--dbname",
            "safemap",
            "--name",
            name,
            "--monitor",
            uri,
            *common,
        ]
        # ``create … --run`` keeps going as the node's keeper: a standby's creation waits for the
        # primary to prepare its replication slot, which needs both keepers running.
        node.proc = _spawn(cluster, name, [*create, "--run"])
        if i == 0:
            # The first node must be the primary before the second registers (it clones from it).
            cluster.wait_for({name: "single"}, timeout)
            _execute(cluster, node, "CREATE EXTENSION IF NOT EXISTS postgis", timeout)
    cluster.wait_for({"node1": "primary", "node2": "secondary"}, timeout, checkpoint_on="node1")
    for node in cluster.nodes.values():
        for key, value in KEEPER_SETTINGS.items():
            # ``config set`` on a running keeper also makes it reload its configuration.
            _run(cluster, ["pg_autoctl", "config", "set", "--pgdata", str(node.pgdata), key, value])
    cluster.wait_sync("node1", timeout)


def _execute(cluster: HACluster, node: Node, sql: str, timeout: float) -> None:
    """Run ``sql`` in the node's ``safemap`` database, waiting for it to accept connections."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(node.dsn(), autocommit=True) as con:
                con.execute(sql)
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            cluster._check_alive()
            time.sleep(0.2)


def _wait_monitor(cluster: HACluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(psycopg.Error), psycopg.connect(cluster.monitor.dsn("pg_auto_failover")) as con:
            con.execute("SELECT 1 FROM pgautofailover.formation")
            return
        cluster._check_alive()
        time.sleep(0.2)
    raise RuntimeError(f"pg_auto_failover monitor did not start within {timeout:.0f} s\n{cluster.logs()}")


if __name__ == "__main__":
    c = start()
    print(c.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        c.stop()

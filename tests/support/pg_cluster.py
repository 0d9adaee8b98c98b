"""A throwaway PostgreSQL + PostGIS cluster for tests, benchmarks and local try-outs.

``initdb`` refuses to run as root, and CI runs as root: the cluster is then created
and run as the ``postgres`` system user (``runuser``), in a temporary directory it
owns. Durability is switched off (``fsync=off``): the data is thrown away.

Run ``python -m layers.pg_cluster`` to start one in the foreground and print its URL.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path:
    env = os.environ.get("SAFEMAP_PG_BINDIR")
    if env:
        return Path(env)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway cluster; ``url`` points at its ``safemap`` database."""

    directory: Path
    port: int
    bindir: Path
    as_postgres: bool

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``safemap`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/safemap"

    def dsn(self, database: str = "safemap") -> str:
        """The libpq connection string of a database in the cluster."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def create_database(self, name: str) -> str:
        """Create an empty database in the cluster; return its SQLAlchemy URL."""
        _run(self, [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the server and delete its files."""
        _run(
            self,
            [str(self.bindir / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop"],
            check=False,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


def _run(cluster: Cluster, cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if cluster.as_postgres:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, cwd="/")


def start(port: int | None = None, *, settings: str = "") -> Cluster:
    """Create and start a cluster on 127.0.0.1; raise with a hint if PostGIS is missing.

    ``settings``: more server options (``-c wal_level=logical`` for a publisher).
    """
    bindir = _bindir()
    version = bindir.parent.name
    control = Path(f"/usr/share/postgresql/{version}/extension/postgis.control")
    if version.isdigit() and not control.exists():
        raise RuntimeError(
            f"PostGIS is not installed for PostgreSQL {version} (apt-get install postgresql-{version}-postgis-3)"
        )
    as_postgres = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="safemap-pg-"))
    cluster = Cluster(directory, port or _free_port(), bindir, as_postgres)
    if as_postgres:
        shutil.chown(directory, "postgres", "postgres")
    os.chmod(directory, 0o700)
    try:
        _run(
            cluster,
            [
                str(bindir / "initdb"),
                "-D",
                str(directory / "data"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        )
        options = (
            f"-p {cluster.port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 {settings}"
        )
        _run(
            cluster,
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(directory / "data"),
                "-o",
                options,
                "-l",
                str(directory / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        cluster.create_database("safemap")
    except subprocess.CalledProcessError as exc:
        log = directory / "server.log"
        detail = log.read_text() if log.exists() else ""
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr}\n{detail}") from exc
    return cluster


if __name__ == "__main__":
    c = start()
    print(c.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        c.stop()

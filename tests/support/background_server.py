"""Run the app in a child process on a free port (tests with real HTTP clients, benchmarks).

A child process, not a thread: GDAL, Chromium or a benchmark client in the parent
then never competes with the server for the GIL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackgroundServer:
    """``uvicorn api.app:create_app`` serving ``target`` (a PostgreSQL URL or a GeoPackage path).

    Use as a context manager; it yields the base URL (``http://127.0.0.1:PORT``).
    Extra ``SAFEMAP_*`` settings can be given as keyword arguments.
    """

    def __init__(self, target: str | Path, **settings: str) -> None:
        self.env = {**os.environ, "SAFEMAP_BASEMAP": "none"}
        self.env.pop("SAFEMAP_DATABASE_URL", None)
        if str(target).startswith("postgresql"):
            self.env["SAFEMAP_DATABASE_URL"] = str(target)
        else:
            self.env["SAFEMAP_GPKG_PATH"] = str(target)
        self.env.update({f"SAFEMAP_{k.upper()}": v for k, v in settings.items()})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "safemap.api.http.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self.url
            except httpx.TransportError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("server did not answer /healthz within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

"""Local services for development and tests: a private Redis, a throwaway PostgreSQL
cluster and an SMTP sink. Real servers on loopback, started and stopped by us."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def ensure_command(command: str, package: str) -> str | None:
    """Path of ``command``; installs Debian's ``package`` when it is missing and we are root."""
    found = shutil.which(command)
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print(f"rapport: installing {package} with apt-get ...", file=sys.stderr, flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False, **quiet)
    return shutil.which(command)


def ensure_redis_server() -> str:
    found = ensure_command("redis-server", "redis-server")
    if not found:
        raise RuntimeError("redis-server not found: install it (apt-get install redis-server) or set REDIS_URL")
    return found


class RedisServer:
    """redis-server on a loopback port; ``data_dir`` keeps data across restarts (dev), else throwaway."""

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self._tmp: str | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        directory = self.data_dir or Path(self._make_tmp())
        directory.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes"] if self.data_dir else ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [
                ensure_redis_server(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(directory),
                *persistence,
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port, process=self.process)
        return self

    def _make_tmp(self) -> str:
        self._tmp = tempfile.mkdtemp(prefix="rapport-redis-")
        return self._tmp

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


class PostgresCluster:
    """A throwaway PostgreSQL cluster under a temp dir, on a loopback port.

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres``
    user (Debian's packages create it) and the commands run through runuser.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
        self.data = self.directory / "data"
        self._as_user: list[str] = []

    @staticmethod
    def available() -> bool:
        return bool(shutil.which("initdb") and shutil.which("pg_ctl"))

    @property
    def url(self) -> str:
        return f"postgres://rapport@127.0.0.1:{self.port}/rapport"

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_user, *command], check=True, stdout=subprocess.DEVNULL)

    def start(self) -> PostgresCluster:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "rapport", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "rapport", "rapport")
        return self

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [*self._as_user, "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def benchmark_services() -> Iterator[None]:
    """A throwaway Redis, and a throwaway PostgreSQL unless DATABASE_URL names a database,
    exported through the environment for one benchmark run and stopped afterwards."""
    started: list[RedisServer | PostgresCluster] = []
    try:
        if not os.environ.get("DATABASE_URL"):
            started.append(PostgresCluster().start())
            os.environ["DATABASE_URL"] = started[-1].url
        started.append(RedisServer().start())
        os.environ["REDIS_URL"] = started[-1].url
        yield
    finally:
        for service in reversed(started):
            service.stop()

"""A real PostgreSQL server for the tests: Debian's binaries, a cluster in a temporary folder,
127.0.0.1 on a free port, run as the ``postgres`` user when the tests run as root (PostgreSQL
refuses to run as root)."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from pathlib import Path

import pytest

from obsgen.tools.postgres_local import binary
from tests.helpers import eventually, free_port

SUPERUSER = "llmobs"


def require_postgres() -> None:
    """Skip the calling tests without PostgreSQL; in CI its absence is an error."""
    if binary("initdb") is None or binary("postgres") is None:
        if os.environ.get("CI"):
            raise RuntimeError("PostgreSQL is required in CI: apt-get install -y postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")


class PostgresServer:
    """One cluster in ``root``: ``start``, ``stop``, ``kill``, and a database per test."""

    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.root = root
        self.fsync = fsync  # off for the tests (faster); on for benchmarks, as in production
        self.data = root / "data"
        self.port = free_port()
        self.log = root / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._user = "postgres" if os.geteuid() == 0 else None
        self._databases = 0

    def _run_as(self) -> dict[str, object]:
        return {} if self._user is None else {"user": self._user, "group": self._user}

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            record = pwd.getpwnam(self._user)
            os.chown(self.root, record.pw_uid, record.pw_gid)
        subprocess.run(
            [binary("initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True, timeout=120, **self._run_as(),
        )  # fmt: skip

    def start(self) -> None:
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [binary("postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.root), "-c", f"fsync={'on' if self.fsync else 'off'}",
             "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, **self._run_as(),
        )  # fmt: skip
        log.close()
        process = self.process
        eventually(lambda: process.poll() is not None or self.accepts(), "PostgreSQL answered", 60)
        if process.poll() is not None:
            raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-2000:]}")

    def accepts(self) -> bool:
        ready = binary("pg_isready")
        command = [ready, "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER]
        return subprocess.run(command, capture_output=True, timeout=10).returncode == 0

    def stop(self) -> None:
        """A fast shutdown (clients are disconnected), as an operator restarting the database
        would do."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)

    def kill(self) -> None:
        """The server dies at once (SIGKILL of the postmaster)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=60)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg

        self._databases += 1
        name = f"test_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

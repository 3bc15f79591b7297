"""A local PostgreSQL for the stack's demo: Debian's binaries, a cluster in the stack's state
folder, on 127.0.0.1 only (no Unix socket), run as the ``postgres`` user when obsgen runs as
root, since PostgreSQL refuses to run as root."""

from __future__ import annotations

import glob
import grp
import os
import pwd
import shutil
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

#: The cluster's superuser, which the demo connects as (trust, 127.0.0.1 only).
SUPERUSER = "obsgen"
#: The user PostgreSQL runs as when obsgen runs as root.
SERVICE_USER = "postgres"
INSTALL_HINT = "apt-get install postgresql (Debian, Ubuntu) or postgresql.org/download"


class PostgresError(RuntimeError):
    """The local PostgreSQL cannot be set up; the message says why and what to do."""


def binary(name: str) -> str | None:
    """A PostgreSQL program: on PATH, else from Debian's versioned folder (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version, reverse=True)
    return candidates[0] if candidates else None


def _version(path: str) -> float:
    try:
        return float(Path(path).parts[-3])
    except ValueError:
        return 0.0


def service_user() -> str | None:
    """Who the server must run as: ``postgres`` when this process is root, else this user."""
    return SERVICE_USER if os.geteuid() == 0 else None


def run_as() -> dict[str, Any]:
    """``subprocess`` arguments that run a PostgreSQL program as ``service_user()``."""
    user = service_user()
    return {} if user is None else {"user": user, "group": user}


def _reachable(folder: Path, user: str) -> Path | None:
    """The first folder on the way to ``folder`` that ``user`` cannot pass through, if any."""
    record = pwd.getpwnam(user)
    groups = {g.gr_gid for g in grp.getgrall() if user in g.gr_mem} | {record.pw_gid}
    for part in [*reversed(folder.parents), folder]:
        if not part.exists():
            break
        info = part.stat()
        if info.st_uid == record.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return part
    return None


def prepare(folder: Path) -> Path:
    """A cluster under ``folder`` (created once); returns its data folder."""
    data = folder / "data"
    if (data / "PG_VERSION").exists():
        return data
    initdb = binary("initdb")
    if initdb is None or binary("postgres") is None:
        raise PostgresError(f"PostgreSQL is not installed (install: {INSTALL_HINT})")
    user = service_user()
    folder.mkdir(parents=True, exist_ok=True)
    if user is not None:
        try:
            record = pwd.getpwnam(user)
        except KeyError:
            raise PostgresError(
                f"PostgreSQL refuses to run as root and there is no {user!r} user to run it as "
                f"(install: {INSTALL_HINT}), or run obsgen as another user"
            ) from None
        blocked = _reachable(folder, user)
        if blocked is not None:
            raise PostgresError(
                f"PostgreSQL refuses to run as root, and the {user!r} user it runs as cannot "
                f"enter {blocked}: choose a --state-dir it can reach (under /tmp, say), or run "
                "obsgen as another user"
            )
        os.chown(folder, record.pw_uid, record.pw_gid)
    result = subprocess.run(
        [initdb, "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"],
        capture_output=True,
        text=True,
        timeout=300,
        **run_as(),
    )
    if result.returncode != 0:
        raise PostgresError(f"initdb failed in {data}: {result.stderr.strip()[-500:]}")
    return data


def server_command(data: Path, port: int) -> tuple[str, ...]:
    """The server on 127.0.0.1:``port`` over ``data``, with TCP only."""
    postgres = binary("postgres")
    if postgres is None:
        raise PostgresError(f"PostgreSQL is not installed (install: {INSTALL_HINT})")
    return (
        postgres, "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
        "-c", "unix_socket_directories=", "-c", "max_connections=200",
    )  # fmt: skip


def url(port: int, database: str = "postgres") -> str:
    """The demo's connection URL."""
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def accepts(port: int) -> bool:
    """Whether the server on ``port`` accepts connections (``pg_isready``; a TCP connect
    without it)."""
    ready = binary("pg_isready")
    if ready is None:
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(("127.0.0.1", port)) == 0
    command = [ready, "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER]
    return subprocess.run(command, capture_output=True, timeout=10).returncode == 0

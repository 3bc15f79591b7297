"""The local stack's state folder, kept safe from others: a folder only its user can write,
files made there without following symlinks, and a record of each process the stack started
(pid, start time, program) so that a pid that now belongs to another process is never
signalled."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: Made folders are readable by others (PostgreSQL, run as its own user, reads its data in it).
FOLDER_MODE = 0o755
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: A child that Popen has just returned may still be inside execve for a moment: its command
#: line reads empty until the kernel has set up the new program's arguments.
_EXEC_RETRIES = 100
_EXEC_RETRY_SECONDS = 0.01


class UnsafeStateError(RuntimeError):
    """The state folder, or a file in it, is not this user's alone; the message says why."""


def secure_folder(path: Path) -> Path:
    """``path`` as a folder of this user that nobody else can write (made if missing)."""
    try:
        path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        info = os.lstat(path)
    except FileExistsError:
        raise UnsafeStateError(f"{path}: not a folder") from None
    except OSError as exc:
        raise UnsafeStateError(
            f"{path}: cannot be used as the state folder: {exc.strerror}"
        ) from None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeStateError(
            f"{path}: is a symbolic link; the state folder must be a real folder"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateError(f"{path}: not a folder")
    if info.st_uid != os.geteuid():
        raise UnsafeStateError(
            f"{path}: owned by user id {info.st_uid}, not by you: use a state folder of your own"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeStateError(
            f"{path}: others can write to it (mode {stat.S_IMODE(info.st_mode):o}); "
            f"`chmod go-w {path}` or use another state folder"
        )
    return path


def create(path: Path, mode: int = 0o644) -> int:
    """A new file at ``path`` (an old entry, even a symlink, is replaced, never followed),
    opened for writing."""
    try:
        path.unlink(missing_ok=True)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
    except OSError as exc:
        raise UnsafeStateError(f"{path}: cannot be created: {exc.strerror}") from None


def append(path: Path) -> int:
    """``path`` opened to append to (made if missing); a symlink there is refused."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW, 0o644)
    except OSError as exc:
        raise UnsafeStateError(f"{path}: cannot be written: {exc.strerror}") from None


def read(path: Path) -> str | None:
    """The text of ``path``, None if there is no such file (a symlink there is not followed)."""
    try:
        handle = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UnsafeStateError(f"{path}: cannot be read: {exc.strerror}") from None
    with os.fdopen(handle, encoding="utf-8", errors="replace") as stream:
        return stream.read()


def identity(pid: int) -> tuple[str, str] | None:
    """When a running process started and its program's name, None if there is no such
    process: together they tell a process from a later one given the same pid."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        started = stat_line.rsplit(")", 1)[1].split()[19]  # field 22: start time in ticks
        return started, Path(argv[0].decode(errors="replace")).name
    except (OSError, IndexError):
        pass
    if Path("/proc/self/stat").exists():
        return None  # /proc is there, and the process is not
    try:  # elsewhere (macOS): ps tells the start time (to the second) and the program
        shown = subprocess.run(
            ["ps", "-p", str(pid), "-o", "lstart=,comm="],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    if not shown:
        return None
    *when, program = shown.split()
    return " ".join(when), Path(program).name


@dataclass(frozen=True)
class ProcessRecord:
    """A process the stack started: what its pid file holds, and where it answered."""

    pid: int
    started: str
    program: str
    #: Where it answered when it started ("" in records written before they were kept).
    ready_url: str = ""
    url: str = ""

    @classmethod
    def of(cls, pid: int, ready_url: str = "", url: str = "") -> ProcessRecord | None:
        """The record of the running process ``pid``, None if it is gone already."""
        found = identity(pid)
        for _ in range(_EXEC_RETRIES):  # caught inside execve: no program name yet
            if found is None or found[1]:
                break
            time.sleep(_EXEC_RETRY_SECONDS)
            found = identity(pid)
        return None if found is None else cls(pid, *found, ready_url, url)

    @classmethod
    def parse(cls, text: str) -> ProcessRecord | None:
        """A pid file's record; None for anything else (an old plain pid, garbage)."""
        try:
            data = json.loads(text)
            record = cls(
                int(data["pid"]),
                str(data["started"]),
                str(data["program"]),
                str(data.get("ready_url", "")),
                str(data.get("url", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return record if record.pid > 1 else None

    def text(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    def running(self) -> bool:
        """Whether the very process recorded still runs (not another one with its pid)."""
        return identity(self.pid) == (self.started, self.program)

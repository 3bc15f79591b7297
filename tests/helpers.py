"""Helpers shared by the tests that start real servers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from obsgen.tools import promtool as promtool_runs

T = TypeVar("T")

PROMTOOL = shutil.which("promtool")


#: Ports this process has handed out: a port closed after probing is free again, and the
#: system may well offer it to the next probe, so two servers of one test would share it.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, never one this process handed
    out before."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def eventually(
    check: Callable[[], T], what: str, timeout: float = 30.0, interval: float = 0.1
) -> T:
    """``check()`` once it returns something truthy, polled every ``interval`` seconds for at
    most ``timeout``; else the test fails saying ``what`` never happened, with the last result.
    An AssertionError from ``check`` counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            last: object = check()
        except AssertionError as error:
            last = error
        else:
            if last:
                return last  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} within {timeout:g} s; last result: {last!r}")
        time.sleep(interval)


def obsgen(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run this obsgen's command line as a user would, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "obsgen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers; fail with the process's stderr if it exits or times out."""

    def answers() -> bool:
        if process.poll() is not None:
            return True  # reported below
        try:
            with urllib.request.urlopen(url, timeout=5):
                return True
        except OSError:
            return False

    try:
        eventually(answers, f"{url} answered", timeout)
        if process.poll() is None:
            return
    except pytest.fail.Exception:
        pass
    process.kill()
    stderr = process.stderr.read() if process.stderr else ""
    if isinstance(stderr, bytes):
        stderr = stderr.decode(errors="replace")
    raise RuntimeError(f"{url} never answered: {stderr}")


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive TCP ports on 127.0.0.1 that nothing listens on."""
    for _ in range(100):
        first = free_port()
        block = range(first + 1, first + count)
        if all(p not in _HANDED_OUT and _port_free(p) for p in block):
            _HANDED_OUT.update(block)
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def require_binaries(*names: str, install: str) -> None:
    """Skip the calling test module unless every program ``names`` is on PATH; in CI a missing
    one is an error (``install`` says how to get it)."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    if os.environ.get("CI"):
        raise RuntimeError(f"{', '.join(missing)} required in CI: {install}")
    pytest.skip(f"{', '.join(missing)} not installed ({install})", allow_module_level=True)


def require_promtool() -> None:
    """Skip the calling test module without promtool; in CI its absence is an error."""
    if PROMTOOL is None:
        if os.environ.get("CI"):
            raise RuntimeError("promtool is required in CI: apt-get install -y prometheus")
        pytest.skip(
            "promtool is not installed (apt-get install prometheus)", allow_module_level=True
        )


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run promtool; its output is in the result."""
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=300)


def promtool_test_rules(*files: str | Path) -> subprocess.CompletedProcess[str]:
    """``promtool test rules`` of each file in a process of its own, side by side, as
    ``obsgen validate`` runs them; one result, failed if any file failed, outputs (stdout and
    stderr together) in file order."""
    results = promtool_runs.run_all([("test", "rules", file) for file in files])
    return subprocess.CompletedProcess(
        [str(PROMTOOL), "test", "rules", *map(str, files)],
        0 if all(ok for ok, _ in results) else 1,
        "\n".join(output for _, output in results),
        "",
    )


def build(config: Path, out: Path) -> None:
    """``obsgen build`` of ``config`` into ``out``; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", "obsgen", "build", "-c", str(config), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr

"""The unit tier starts no processes: a test that would is an integration test
(``tests/integration``), where real servers and workers run."""

from __future__ import annotations

import multiprocessing
import os
import subprocess

import pytest


class _NoProcesses(RuntimeError):
    pass


def _refuse(*args: object, **kwargs: object) -> None:
    raise _NoProcesses("a unit test starts no process: move it to tests/integration")


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse)
    monkeypatch.setattr(os, "fork", _refuse)
    monkeypatch.setattr(multiprocessing.Process, "start", _refuse)

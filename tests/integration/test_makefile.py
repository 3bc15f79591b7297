"""The Makefile reinstalls the package only when ``pyproject.toml`` changed."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_question(venv: Path, *extra: str) -> int:
    """``make -q install``: 0 when nothing would run, 1 when the install would."""
    return subprocess.run(
        ["make", "-q", "-C", str(ROOT), f"VENV={venv}", *extra, "install"],
        capture_output=True,
        timeout=60,
    ).returncode


def test_install_runs_once_until_pyproject_changes(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    assert make_question(venv) == 1  # never installed
    stamp = venv / ".installed"
    stamp.write_text("")
    later = time.time() + 60
    os.utime(stamp, (later, later))
    assert make_question(venv) == 0  # installed since pyproject.toml last changed
    assert make_question(venv, "-W", "pyproject.toml") == 1  # pyproject.toml changed


def dry_run(tmp_path: Path, target: str) -> tuple[Path, str]:
    """What ``make -n target`` would run with a fresh venv under ``tmp_path``."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    return venv, subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"VENV={venv}", target],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


def test_make_up_installs_only_the_runtime_and_the_generator(tmp_path):
    _, commands = dry_run(tmp_path, "up")
    assert "-e '.[generator,postgres]'" in commands
    assert ".[dev]" not in commands
    assert "obsgen: installing the runtime and the generator" in commands


def test_a_dev_install_serves_make_up_too(tmp_path):
    venv, commands = dry_run(tmp_path, "install")
    assert "-e '.[dev]'" in commands
    assert f"{venv}/.installed-run" in commands  # `make up` then installs nothing more

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


def test_make_up_installs_only_the_runtime_and_the_generator(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    dry_run = subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"VENV={venv}", "up"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "-e '.[generator,postgres]'" in dry_run
    assert ".[dev]" not in dry_run
    assert "obsgen: installing the runtime and the generator" in dry_run


def test_a_dev_install_serves_make_up_too(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    dry_run = subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"VENV={venv}", "install"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "-e '.[dev]'" in dry_run
    assert f"{venv}/.installed-run" in dry_run  # `make up` then installs nothing more

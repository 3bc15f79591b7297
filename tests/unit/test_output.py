"""Generated files are written all or none, and a killed build is finished by the next one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from obsgen import config as configuration
from obsgen import output

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def files_of(name: str) -> dict[str, str]:
    return output.generate(configuration.load(FIXTURES / name))


def on_disk(root: Path, relatives) -> dict[str, str]:
    return {r: (root / r).read_text(encoding="utf-8") for r in relatives}


def obsgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "obsgen", *args], capture_output=True, text=True, timeout=120
    )


def staged_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(output.STAGED_SUFFIX)]


def test_an_output_folder_below_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    result = obsgen("build", "-c", str(FIXTURES / "odd.yaml"), "-o", str(tmp_path / "file/sub"))
    assert result.returncode == 2
    assert result.stderr.startswith("obsgen: error: ")
    assert "Not a directory; no file was replaced" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_one_unwritable_folder_replaces_no_file(tmp_path):
    old = files_of("odd.yaml")
    output.write_all(tmp_path, old)
    locked = tmp_path / "docs"
    subprocess.run(["chattr", "+i", str(locked)], check=True)
    try:
        with pytest.raises(output.OutputError, match="docs: cannot write there"):
            output.write_all(tmp_path, files_of("full.yaml"))
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert on_disk(tmp_path, old) == old
    assert staged_leftovers(tmp_path) == []


def test_a_build_interrupted_while_replacing_is_finished_by_the_next(tmp_path, monkeypatch):
    old, new = files_of("odd.yaml"), files_of("full.yaml")
    output.write_all(tmp_path, old)
    real_replace, moved = os.replace, []

    def dies_on_the_third(source, target):
        if str(target).endswith(output.JOURNAL) or len(moved) < 2:
            moved.append(target)
            return real_replace(source, target)
        raise KeyboardInterrupt  # as if killed here

    monkeypatch.setattr(output.os, "replace", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        output.write_all(tmp_path, new)
    monkeypatch.setattr(output.os, "replace", real_replace)
    assert on_disk(tmp_path, new) not in (old, new)  # mixed, until the next build
    assert output.recover(tmp_path, list(new))
    assert on_disk(tmp_path, new) == new
    assert staged_leftovers(tmp_path) == []
    assert not (tmp_path / output.JOURNAL).exists()


def test_files_staged_by_a_killed_build_are_removed(tmp_path):
    old = files_of("odd.yaml")
    output.write_all(tmp_path, old)
    stray = tmp_path / "docs" / f".alerts.md.abc{output.STAGED_SUFFIX}"
    stray.write_text("half")
    output.write_all(tmp_path, old)
    assert not stray.exists()


def test_builds_killed_at_random_moments_leave_one_whole_set(tmp_path):
    sets = {name: files_of(name) for name in ("odd.yaml", "full.yaml")}
    output.write_all(tmp_path, sets["odd.yaml"])
    rng = random.Random(7)
    for attempt in range(12):
        name = ("full.yaml", "odd.yaml")[attempt % 2]
        build = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "obsgen",
                "build",
                "-c",
                str(FIXTURES / name),
                "-o",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 1.5))
        build.send_signal(signal.SIGKILL)
        build.wait()
        output.recover(tmp_path, list(sets["odd.yaml"]))
        current = on_disk(tmp_path, sets["odd.yaml"])
        assert current in sets.values(), f"attempt {attempt}: a mix of two builds"
        assert staged_leftovers(tmp_path) == []

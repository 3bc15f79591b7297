"""Generated files are written all or none, as the real command writes them: a folder it cannot
write replaces nothing, and builds killed at random moments leave one whole set."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest

from obsgen import output
from tests.helpers import obsgen
from tests.unit.test_output import FIXTURES, files_of, on_disk, staged_leftovers


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


@pytest.mark.slow
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

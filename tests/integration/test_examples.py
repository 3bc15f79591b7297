"""Every example in ``examples/`` runs as it is, as ``make example`` runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_there_are_examples():
    assert [example.name for example in EXAMPLES] == ["record_metrics.py", "track_costs.py"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.stem for example in EXAMPLES])
def test_an_example_runs_as_it_is(example, tmp_path):
    env = {**os.environ, "LLMOBS_COST_DB": str(tmp_path / "costs.sqlite3")}
    env.pop("LLMOBS_CONFIG", None)
    result = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip()

"""``make bench-prometheus --keep``: a run stopped inside a backfill stage leaves partial
blocks, which the next run's stage must not add to the history it times."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import bench_prometheus  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs prometheus")


def test_a_stage_stopped_midway_leaves_nothing_for_the_next_run(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    partial = tmp_path / "rules-data" / "01PARTIALBLOCK000000000000"
    partial.mkdir(parents=True)
    (partial / "meta.json").write_text("{}")
    assert bench_prometheus._backfill(tmp_path, data, [[]]) == 0
    assert not (data / partial.name).exists()

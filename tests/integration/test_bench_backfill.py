"""``make bench-prometheus``: the history it sends arrives whole, and with ``--keep`` a run
stopped inside a backfill stage leaves partial blocks, which the next run's stage must not add
to the history it times."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import bench_prometheus  # noqa: E402
import fleet_history  # noqa: E402
from fleet_history import Fleet  # noqa: E402
from query_servers import Prometheus  # noqa: E402

from tests.dashboard_queries import QueryAPI  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs prometheus")


def test_a_stage_stopped_midway_leaves_nothing_for_the_next_run(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    partial = tmp_path / "rules-data" / "01PARTIALBLOCK000000000000"
    partial.mkdir(parents=True)
    (partial / "meta.json").write_text("{}")
    assert bench_prometheus._backfill(tmp_path, data, [[]]) == 0
    assert not (data / partial.name).exists()


def test_the_history_sent_over_remote_write_reads_back_sample_for_sample(tmp_path):
    """Every sample sent arrives, with its value to the last bit, and ends in blocks: those
    Prometheus cut of the hours its head moved past, and the head's own."""
    fleet = Fleet(agents=3, models=2, providers=1, end=int(time.time()) // 60 * 60 - 600, hours=5)
    data = tmp_path / "data"
    data.mkdir()
    sent = bench_prometheus._import_history(fleet, tmp_path, data)
    assert sent > 0
    cut = {meta.parent.name for meta in data.glob("*/meta.json")}
    assert cut, "no block was cut"
    bench_prometheus._flush_head(tmp_path, data)
    assert {meta.parent.name for meta in data.glob("*/meta.json")} > cut
    assert not (data / "wal").exists()
    prometheus = Prometheus(data, [], tmp_path)
    api = QueryAPI(prometheus.url)
    try:
        names = api.get(f"{prometheus.url}/api/v1/label/__name__/values")["data"]
        counts = [api.value(f"sum(count_over_time({name}[6h]))", fleet.end) for name in names]
        assert sum(counts) == sent
        cost = 'llm_cost_total{agent_id="team1.agent1",model="model-1"}'
        per_second = 0.05 / (1 + 1 / 10) * 0.002 * 2
        assert api.value(cost, fleet.end) == per_second * fleet_history._day_curve(fleet)[-1]
        active = api.query('llm_active_requests{agent_id="team2.agent2"}', fleet.end)
        assert [float(s["value"][1]) for s in active] == [2.0]
    finally:
        prometheus.stop()

"""The dashboard's rule switch on a real VictoriaMetrics: with every variable at All, the
branches not taken add no series (VictoriaMetrics reads ``!~".*"`` as true of every series)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request

import pytest

from obsgen import plan as planning
from obsgen.config import parse
from tests.dashboard_queries import QueryAPI, substitute
from tests.helpers import eventually, free_port, wait_until_serving

pytestmark = pytest.mark.skipif(
    shutil.which("victoria-metrics") is None, reason="needs victoria-metrics"
)

AGENTS = 12


@pytest.fixture
def store(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            "victoria-metrics",
            f"-storageDataPath={tmp_path}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/health", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _import(url: str, now: int) -> None:
    """Each agent's request rate, and the ten busiest kept, as the rules record them."""
    lines = []
    for agent in range(AGENTS):
        for record in ("agent_id:llm_requests:rate5m", "agent_id:llm_requests:rate5m_top10"):
            if record.endswith("top10") and agent >= 10:
                continue
            metric = {"__name__": record, "agent_id": f"agent{agent}"}
            stamps = [1000 * (now - 60 * i) for i in range(5)]
            lines.append(json.dumps({"metric": metric, "values": [1.0] * 5, "timestamps": stamps}))
    body = "\n".join(lines).encode()
    for request in (
        urllib.request.Request(f"{url}/api/v1/import", data=body),
        f"{url}/internal/force_flush",
    ):
        with urllib.request.urlopen(request, timeout=30):
            pass


def test_every_variable_at_all_reads_only_the_ten_busiest_agents(store):
    now = int(time.time())
    _import(store, now)
    plan = planning.build(parse({"apiVersion": "obsgen/v1"}, {}, "obsgen.yaml"))
    (panel,) = [p for p in plan.dashboard.panels if p.title == "Requests per Agent"]
    expr = substitute(panel.queries[0].expr, {}, 3600, 60)
    agents = eventually(
        lambda: QueryAPI(store).query(expr, now), "the store never answered the panel's query"
    )
    assert sorted(s["metric"]["agent_id"] for s in agents) == sorted(f"agent{a}" for a in range(10))

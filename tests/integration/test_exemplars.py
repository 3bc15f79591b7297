"""Exemplars end to end: a call recorded inside an OpenTelemetry span carries its trace id to
the latency and time-to-first-token buckets; the real Prometheus, started with the generated
flags and config, scrapes them (OpenMetrics) and keeps them; its exemplar API, asked with the
panels' own exemplar probes, returns that trace id, while the probes themselves draw nothing."""

from __future__ import annotations

import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from llmobs import LLMMetrics, start_metrics_server
from obsgen import paths
from obsgen import plan as planning
from obsgen.config import load
from tests import helpers
from tests.dashboard_queries import QueryAPI, exemplar_queries, substitute

pytest.importorskip("opentelemetry.sdk.trace")
helpers.require_binaries("prometheus", install="apt-get install -y prometheus")
pytestmark = pytest.mark.slow

CONFIG = """
apiVersion: obsgen/v1
prometheus:
  evaluation_interval: 1s
  scrape: {{job_name: llm-exemplars, targets: ["127.0.0.1:{port}"], interval: 1s, timeout: 1s}}
"""


def _record_in_a_span(metrics: LLMMetrics) -> str:
    """One streamed call recorded inside a sampled span; its trace id."""
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("exemplar-test")
    with tracer.start_as_current_span("chat gpt-4o") as span:
        metrics.record_request(
            "support.bot", "gpt-4o", "openai", duration_seconds=0.7, prompt_tokens=10, cost=0.01
        )
        metrics.record_stream("support.bot", "gpt-4o", "openai", 0.3)
        return format(span.get_span_context().trace_id, "032x")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> Iterator[tuple[QueryAPI, Path, str]]:
    root = tmp_path_factory.mktemp("exemplars")
    metrics = LLMMetrics(registry=CollectorRegistry())
    server, _ = start_metrics_server(0, registry=metrics.registry)
    (root / "obsgen.yaml").write_text(CONFIG.format(port=server.server_port))
    helpers.build(root / "obsgen.yaml", root)
    listen = f"127.0.0.1:{helpers.free_port()}"
    servers = planning.build(load(root / "obsgen.yaml")).servers
    flags = servers.prometheus(str(root / paths.PROMETHEUS), str(root / "data"), listen)
    process = subprocess.Popen(
        ["prometheus", *flags], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        helpers.wait_until_serving(f"http://{listen}/-/ready", process)
        api = QueryAPI(f"http://{listen}")
        trace_id = _record_in_a_span(metrics)
        helpers.eventually(
            lambda: api.query("llm_time_to_first_token_seconds_count"), "no scrape yet"
        )
        yield api, root, trace_id
    finally:
        process.kill()
        process.wait()
        server.shutdown()


def _exemplars(api: QueryAPI, expr: str) -> list[dict]:
    now = time.time()
    params = urllib.parse.urlencode({"query": expr, "start": now - 300, "end": now + 60})
    body = api.get(f"{api.url}/api/v1/query_exemplars?{params}")
    assert body["status"] == "success", body
    return body["data"]


def test_the_generated_prometheus_keeps_exemplars():
    config = yaml.safe_load((Path(__file__).parents[2] / paths.PROMETHEUS).read_text())
    assert config["storage"]["exemplars"]["max_exemplars"] > 0


@pytest.mark.parametrize("title", ["Request Latency Distribution", "Time to First Token"])
def test_the_exemplar_api_returns_the_trace_id_recorded(prometheus, title):
    api, root, trace_id = prometheus
    probe = substitute(exemplar_queries(root)[title], {}, range_seconds=300, step=2)
    found = helpers.eventually(lambda: _exemplars(api, probe), f"no exemplars for {probe}")
    ids = {e["labels"]["trace_id"] for series in found for e in series["exemplars"]}
    assert ids == {trace_id}
    assert api.query_range(probe, 300, 2) == [], "an exemplar probe draws nothing"


def test_the_cost_counter_carries_the_trace_id(prometheus):
    api, _, trace_id = prometheus
    found = helpers.eventually(lambda: _exemplars(api, "llm_cost_total"), "no cost exemplars")
    assert {e["labels"]["trace_id"] for s in found for e in s["exemplars"]} == {trace_id}

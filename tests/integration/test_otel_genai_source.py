"""End to end with ``source: otel-genai``: a service instrumented by OpenTelemetry alone (the
contrib OpenAI instrumentation and the OTel SDK's Prometheus exporter) calls the local provider
server; a real Prometheus scrapes it with the generated config and evaluates the generated rules.
The translated series hold what the service did, every panel the plan keeps answers, and the
liveness alert fires from what this source has (``target_info``) when the service stops."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from obsgen import paths
from tests import helpers
from tests.dashboard_queries import (
    QueryAPI,
    dashboard,
    empty_panel_queries,
    panel,
    panel_queries,
    recording_rules_without_series,
    substitute,
    variable_values,
)
from tests.provider_server import ProviderServer

pytest.importorskip("opentelemetry.instrumentation.openai_v2")
pytest.importorskip("opentelemetry.exporter.prometheus")
helpers.require_binaries("prometheus", install="apt-get install -y prometheus")
pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("otel_genai_worker.py")
JOB = "support-bot"
CONFIG = """
apiVersion: obsgen/v1
source: otel-genai
prometheus:
  evaluation_interval: 1s
  scrape:
    job_name: {job}
    targets: ["127.0.0.1:{service}"]
    interval: 1s
    timeout: 1s
  alertmanagers: ["127.0.0.1:{alertmanager}"]
alerts:
  for:
    LLMMetricsDown: 0s
dashboard:
  uid: otel-genai
"""
#: What queries read that this service never produces: it calls no reasoning model, and the
#: contrib instrumentation records no time to first chunk.
NEVER_RECORDED = ("time_to_first_token", "reasoning")
eventually = functools.partial(helpers.eventually, timeout=60.0, interval=0.5)


@dataclass
class Setup:
    root: Path
    api: QueryAPI
    service: subprocess.Popen
    pause: Path
    counts: Path

    def paused_counts(self) -> dict[str, int]:
        """Stop the service's calls; what it did, once Prometheus has scraped and recorded it."""
        self.pause.touch()
        time.sleep(1.5)  # the round in flight ends and writes its counts
        counts = json.loads(self.counts.read_text())
        expected = (counts["success"] + counts["error"], counts["runs"])
        eventually(
            lambda: self._recorded() == expected or None,
            f"the translated request and run counts never reached the service's {counts}",
        )
        return counts

    def resume(self) -> None:
        self.pause.unlink(missing_ok=True)

    def _recorded(self) -> tuple[float, float]:
        """Requests and agent runs as the translated series count them (-1: none yet)."""
        found = [
            self.api.query(f"sum({name})")
            for name in ("llm_requests_total", "llm_agent_runs_total")
        ]
        requests, runs = (float(f[0]["value"][1]) if f else -1.0 for f in found)
        return requests, runs

    def total(self, expr: str) -> float:
        found = self.api.query(expr)
        assert len(found) == 1, f"{expr} returned {found}"
        return float(found[0]["value"][1])


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("otel-genai")
    service_port, prometheus_port = helpers.free_port(), helpers.free_port()
    config = CONFIG.format(job=JOB, service=service_port, alertmanager=helpers.free_port())
    (root / "obsgen.yaml").write_text(config)
    helpers.build(root / "obsgen.yaml", root)
    pause, counts = root / "pause", root / "counts.json"
    with ProviderServer() as provider:
        service = subprocess.Popen(
            [sys.executable, str(WORKER), provider.url, str(service_port), str(pause), str(counts)],
            stderr=subprocess.PIPE,
            text=True,
        )
        prometheus = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={root / paths.PROMETHEUS}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            helpers.wait_until_serving(f"http://127.0.0.1:{service_port}/metrics", service)
            url = f"http://127.0.0.1:{prometheus_port}"
            helpers.wait_until_serving(f"{url}/-/ready", prometheus)
            api = QueryAPI(url)
            eventually(lambda: api.query("llm_errors_total"), "no translated errors yet")
            time.sleep(6)  # several evaluations, so every rate over the rules has two samples
            yield Setup(root, api, service, pause, counts)
        finally:
            for process in (service, prometheus):
                process.kill()
                process.wait()


def test_the_translated_series_hold_what_the_service_did(setup):
    counts = setup.paused_counts()
    try:
        by_status = {
            status: setup.total(f'sum(llm_requests_total{{status="{status}"}})')
            for status in ("success", "error")
        }
        assert by_status == {"success": counts["success"], "error": counts["error"]}
        assert setup.total("sum(llm_errors_total)") == counts["error"]
        tokens = {
            kind: setup.total(f'sum(llm_tokens_used_total{{token_type="{kind}"}})')
            for kind in ("prompt", "completion")
        }
        assert tokens == {"prompt": counts["prompt"], "completion": counts["completion"]}
        assert setup.total("sum(llm_request_duration_seconds_count)") == counts["success"]
        assert setup.total("sum(llm_failed_request_duration_seconds_count)") == counts["error"]
        labels = setup.api.query(
            "count by (agent_id, model, provider, operation, status) (llm_requests_total)"
        )
        assert {tuple(sorted(r["metric"].items())) for r in labels} == {
            tuple(sorted({"agent_id": JOB, "provider": "openai", "operation": "chat", **m}.items()))
            for m in (
                {"model": "gpt-4o-mini", "status": "success"},
                {"model": "gpt-4o", "status": "success"},
                {"model": "gpt-4o-mini", "status": "error"},
            )
        }
    finally:
        setup.resume()


def test_agent_runs_and_tools_translate_by_agent_tool_and_outcome(setup):
    counts = setup.paused_counts()
    try:
        runs = setup.total('sum(llm_agent_runs_total{agent_id="triage", outcome="completed"})')
        assert runs == counts["runs"]
        calls = {
            status: setup.total(
                f'sum(llm_tool_calls_total{{agent_id="triage", tool="web_search", '
                f'status="{status}"}})'
            )
            for status in ("success", "error")
        }
        assert calls == {
            "success": counts["tools"] - counts["tool_errors"],
            "error": counts["tool_errors"],
        }
        assert setup.total("sum(llm_tool_duration_seconds_count)") == counts["tools"]
        assert setup.total("sum(llm_agent_run_llm_calls_sum)") == 3 * counts["runs"]
    finally:
        setup.resume()


def test_only_panels_on_data_the_source_has_are_kept(setup):
    board = dashboard(setup.root)
    titles = {p["title"] for p in board["panels"]}
    assert {
        "Total LLM Requests",
        "Request Latency Distribution",
        "Token Usage by Model",
        "Tool Error Rate",
        "Slowest Tools",
    } <= titles
    left_out = {
        "Total Cost 24h",
        "Cache Hit Rate",
        "Budget Used",
        "Active Requests",
        "Cost per Run",
    }
    assert not titles & left_out
    for title in left_out:
        assert title in board["description"]


@pytest.mark.parametrize("variables", ["all", "concrete", "agent_id", "model", "provider"])
def test_every_kept_panel_query_returns_data(setup, variables):
    empty = empty_panel_queries(setup.api, setup.root, variables, NEVER_RECORDED)
    assert not empty, "panel queries that returned no data:\n" + "\n".join(empty)


def test_the_panels_count_what_the_service_did(setup):
    counts = setup.paused_counts()
    try:
        error_rate = panel(setup.root, "Error Rate")["targets"][0]["expr"]
        share = setup.total(substitute(error_rate, {}, range_seconds=60, step=2))
        expected = counts["error"] / (counts["success"] + counts["error"])
        assert share == pytest.approx(expected, rel=0.2), (share, counts)
        tokens = panel(setup.root, "Token Usage by Model")["targets"][0]["expr"]
        models = setup.api.query_range(substitute(tokens, {}, 60, 2), 30, 2)
        assert {r["metric"]["model"] for r in models} == {"gpt-4o-mini", "gpt-4o"}
    finally:
        setup.resume()


def test_the_variables_list_the_services_values(setup):
    queries = {
        v["name"]: v["query"]["query"]
        for v in dashboard(setup.root)["templating"]["list"]
        if v["type"] == "query"
    }
    expected = {"agent_id": {JOB}, "model": {"gpt-4o-mini", "gpt-4o"}, "provider": {"openai"}}
    for name, query in queries.items():
        eventually(
            lambda q=query, n=name: variable_values(setup.api, q) == (expected[n],) * 2 or None,
            f"{name}: {query} does not list {expected[name]}",
        )


def test_every_recording_rule_but_time_to_first_token_produces_series(setup):
    missing = recording_rules_without_series(setup.api, setup.root)
    unexpected = [m for m in missing if not any(n in m for n in NEVER_RECORDED)]
    assert not unexpected, f"recording rules with no series: {unexpected}"


def test_panels_on_data_never_recorded_show_none_rather_than_zero(setup):
    unrecorded = [
        (title, expr)
        for title, expr, _ in panel_queries(setup.root)
        if any(name in expr for name in NEVER_RECORDED)
    ]
    assert unrecorded
    for title, expr in unrecorded:
        assert setup.api.query_range(substitute(expr, {}, 120, 2), 60, 2) == [], title


def test_the_liveness_alert_fires_when_the_service_stops(setup):
    """Runs last: it stops the service."""
    assert not setup.api.query('ALERTS{alertname="LLMMetricsDown"}')
    setup.service.kill()
    setup.service.wait()
    firing = eventually(
        lambda: setup.api.query('ALERTS{alertname="LLMMetricsDown", alertstate="firing"}'),
        "LLMMetricsDown never fired after the service stopped",
    )
    assert firing[0]["metric"]["job"] == JOB

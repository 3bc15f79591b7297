"""End to end: the demo service, a real Prometheus and a real Alertmanager, on the generated
files. Each check says what it expected when it fails.

Native binaries from PATH by default; ``OBSGEN_TEST_STACK=docker`` runs the compose stack
instead (its fixed ports 9090, 9093 and 8000 must be free).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from llmobs import CostTracker
from llmobs.schema import METRICS, MetricKind
from obsgen.plan.panels import BUSIEST_AGENTS
from obsgen.tools import stack_assets
from obsgen.tools.stack import LocalStack, Ports, port_is_free
from tests import helpers
from tests.dashboard_queries import (
    ALL_SELECTED,
    VARIABLES,
    QueryAPI,
    concrete_values,
    dashboard,
    empty_panel_queries,
    panel,
    recording_rules_without_series,
    substitute,
    variable_values,
)
from tests.helpers import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOCKER = os.environ.get("OBSGEN_TEST_STACK") == "docker"

for binary in ("prometheus", "promtool"):
    if shutil.which(binary) is None and not DOCKER:
        if os.environ.get("CI"):
            raise RuntimeError(f"{binary} is required in CI: apt-get install -y prometheus")
        pytest.skip(f"{binary} is not installed", allow_module_level=True)

TEST_CONFIG = """
apiVersion: obsgen/v1
prometheus:
  evaluation_interval: 1s
  scrape:
    job_name: llm-e2e
    targets: ["127.0.0.1:{demo}"]
    interval: 1s
    timeout: 1s
  alertmanagers: ["127.0.0.1:{alertmanager}"]
budgets:
  daily: 0.05
  warning_percent: 50
  critical_percent: 100
slo:
  error_rate_percent: 1
alerts:
  for:
    LLMBudgetWarning: 0s
    LLMBudgetExceeded: 0s
    LLMBudgetRefusingCalls: 0s
    LLMBudgetNotExported: 0s
    LLMBudgetLimitMismatch: 0s
    LLMErrorRateHigh: 0s
dashboard:
  uid: llm-e2e
attribution:
  labels: [feature]
"""


class Stack(QueryAPI):
    """URLs of the running stack, and queries against it."""

    def __init__(self, root: Path, local: LocalStack | None, ports: Ports, db: Path) -> None:
        self.root, self.local, self.ports, self.db = root, local, ports, db
        self.prometheus = f"http://127.0.0.1:{ports.prometheus}"
        super().__init__(self.prometheus)
        self.alertmanager = f"http://127.0.0.1:{ports.alertmanager}"
        self.demo = f"http://127.0.0.1:{ports.demo}"

    def firing(self, alertname: str) -> list[dict[str, Any]]:
        return self.query(f'ALERTS{{alertname="{alertname}", alertstate="firing"}}')

    def in_alertmanager(self, alertname: str) -> list[dict[str, Any]]:
        alerts = self.get(f"{self.alertmanager}/api/v2/alerts")
        return [a for a in alerts if a["labels"].get("alertname") == alertname]


#: Prometheus evaluates every few seconds: polled once a second, for up to 90 s.
eventually = functools.partial(helpers.eventually, timeout=90.0, interval=1.0)


def _demo_args(version: str, root: Path) -> tuple[str, ...]:
    return (
        "--config",
        str(root / "obsgen.yaml"),
        "--rate",
        "80",
        "--workers",
        "4",
        "--time-scale",
        "0",
        "--seed",
        "7",
        "--service-version",
        version,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    if DOCKER:
        yield from _docker_stack()
        return
    root = tmp_path_factory.mktemp("e2e")
    ports = Ports(
        prometheus=free_port(), alertmanager=free_port(), grafana=free_port(), demo=free_port()
    )
    (root / "obsgen.yaml").write_text(
        TEST_CONFIG.replace("{demo}", str(ports.demo)).replace(
            "{alertmanager}", str(ports.alertmanager)
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "obsgen", "build", "-o", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    stack_assets.install_missing(root)
    local = LocalStack(
        root, root / "state", ports, demo_args=_demo_args("v1", root), with_grafana=False
    )
    local.up(echo=lambda _: None)
    try:
        yield Stack(root, local, ports, root / "state" / "demo-costs.sqlite3")
    finally:
        local.down()


def _docker_stack():
    compose = ["docker", "compose", "-f", str(ROOT / "stack" / "docker-compose.yml")]
    assert all(port_is_free(p) for p in (9090, 9093, 8000)), "ports 9090, 9093, 8000 are busy"
    subprocess.run(
        [sys.executable, "-m", "obsgen", "stack", "up", "--mode", "docker"],
        cwd=ROOT,
        check=True,
        timeout=900,
    )
    try:
        yield Stack(ROOT, None, Ports(), Path("/nonexistent"))
    finally:
        subprocess.run([*compose, "down", "-v"], cwd=ROOT, check=False, timeout=300)
        down = [sys.executable, "-m", "obsgen", "stack", "down", "--mode", "local"]
        subprocess.run(down, cwd=ROOT, check=False, timeout=300)  # the demo beside the containers


# -- 1. Prometheus scrapes the demo -------------------------------------------------------------


def _series_names() -> list[str]:
    names = []
    for spec in METRICS:
        names.append(spec.name + ("_bucket" if spec.kind is MetricKind.HISTOGRAM else ""))
    return names


def test_prometheus_scrapes_the_demo_and_every_schema_metric(stack):
    up = eventually(
        lambda: stack.query('up{job=~"llm-e2e|llm-service"} == 1'),
        "Prometheus never saw the demo up (up == 1)",
    )
    assert up[0]["value"][1] == "1"

    def missing() -> list[str]:
        present = {
            r["metric"]["__name__"]
            for r in stack.query('count by (__name__) ({__name__=~"llm_.+"})')
        }
        return [name for name in _series_names() if name not in present]

    eventually(
        lambda: not missing() or None,
        f"these schema metrics never appeared in Prometheus: {missing()}",
    )


# -- 2. Every dashboard query returns data ------------------------------------------------------


@pytest.mark.parametrize("variables", ["all", "concrete", *VARIABLES])
def test_every_panel_query_returns_data(stack, variables):
    eventually(lambda: stack.query("llm_label_overflow_total"), "no label overflow yet")
    eventually(lambda: stack.query("llm_errors_total"), "no errors recorded yet")
    time.sleep(5)  # several scrapes, so rates over $__rate_interval have two samples
    empty = empty_panel_queries(stack, stack.root, variables)
    assert not empty, "panel queries that returned no data:\n" + "\n".join(empty)


@pytest.mark.parametrize("alone", VARIABLES)
@pytest.mark.parametrize("title", ["Request Latency Distribution", "Requests per Agent"])
def test_a_variable_chosen_alone_reads_its_own_rule_and_agrees_with_the_full_one(
    stack, title, alone
):
    """With one variable chosen a panel reads the rule kept by that variable; choosing another
    variable as ``.+`` (every value) reads the rule that keeps every label instead. Both
    answer the same. (``.+`` leaves out series without that label: the other variable is one
    every series has.)"""
    expr = panel(stack.root, title)["targets"][0]["expr"]
    value = eventually(lambda: concrete_values(stack, expr)[alone], f"no series to choose {alone}")
    metric = "llm_request_duration_seconds_count" if "duration" in expr else "llm_requests_total"
    other = next(
        name
        for name in VARIABLES
        if name != alone and not stack.query(f'count({metric}{{{name}=""}})')
    )
    by_itself = substitute(expr, {alone: value}, range_seconds=120, step=2)
    in_full = substitute(expr, {alone: value, other: ".+"}, range_seconds=120, step=2)
    assert f'{alone}=~"{value}",{ALL_SELECTED}=~' in by_itself

    def agree() -> bool | None:
        """Both answers at one time, equal; None while either is empty or they differ (a
        group may be mid-evaluation at that time, one rule written and the next not yet).
        The values are compared, and the series of every value but the lowest: of agents tied
        at a top ten's last place, either rule may keep either (the demo's one-call sessions
        tie often). A busiest-agents panel with the other variable chosen lists every agent
        chosen: its ten busiest are compared."""
        at = time.time() - 3
        one, two = (
            sorted((float(s["value"][1]), tuple(sorted(s["metric"].items()))) for s in found)
            for found in (stack.query(q, at) for q in (by_itself, in_full))
        )
        if len(one) == BUSIEST_AGENTS < len(two):  # a busiest-agents panel: with the other
            two = two[-BUSIEST_AGENTS:]  # variable chosen, it lists every agent chosen
        if not one or len(one) != len(two):
            return None
        if [v for v, _ in one] != pytest.approx([v for v, _ in two], rel=1e-9):
            return None
        floor = one[0][0]
        above = [[k for v, k in side if v != floor] for side in (one, two)]
        return above[0] == above[1] or None

    eventually(agree, f"{title} with {alone}={value} alone differs from the full rule's")


def test_variables_list_the_recorded_values_on_both_endpoints(stack):
    queries = {
        v["name"]: v["query"]["query"]
        for v in dashboard(stack.root)["templating"]["list"]
        if v["type"] == "query"
    }
    assert set(queries) == set(VARIABLES)
    for name, query in queries.items():
        recorded = {
            s["metric"][name] for s in stack.query(f"count by ({name}) (llm_requests_total)")
        }
        assert len(recorded) > 1
        eventually(
            lambda q=query, r=recorded: variable_values(stack, q) == (r, r) or None,
            f"{name}: {query} does not list {sorted(recorded)} on both endpoints",
        )


# -- 3. Every recording rule produces series ----------------------------------------------------


def test_every_recording_rule_produces_series(stack):
    missing = recording_rules_without_series(stack, stack.root)
    if missing:
        time.sleep(10)
        missing = recording_rules_without_series(stack, stack.root)
    assert not missing, f"recording rules with no series: {missing}"


# -- 4. Budget alerts fire, reach Alertmanager, and show as annotations -------------------------


def test_budget_alerts_fire_and_reach_alertmanager(stack):
    daily = {"scope": "global", "name": "all", "period": "day"}
    for alertname in ("LLMBudgetWarning", "LLMBudgetExceeded"):
        firing = eventually(
            lambda a=alertname: stack.firing(a),
            f"{alertname} never fired in Prometheus with a 0.05 USD daily budget",
        )
        assert [{k: a["metric"][k] for k in daily} for a in firing] == [daily]
        arrived = eventually(
            lambda a=alertname: stack.in_alertmanager(a),
            f"{alertname} never arrived in Alertmanager",
        )
        assert arrived[0]["labels"]["severity"] in ("warning", "critical")
        assert arrived[0]["annotations"]["runbook_url"].endswith(alertname.lower())
    annotation = next(
        a for a in dashboard(stack.root)["annotations"]["list"] if a["name"] == "Budget alerts"
    )
    events = stack.query_range(annotation["target"]["expr"], 120, 5)
    assert {e["metric"]["alertname"] for e in events} >= {"LLMBudgetWarning", "LLMBudgetExceeded"}


def test_the_budget_gauges_carry_the_trackers_spend_once(stack):
    if stack.local is None:
        pytest.skip("the compose demo keeps its cost database inside its container")
    used = eventually(
        lambda: stack.query('name_period_scope:llm_budget_used:ratio{scope="global"}'),
        "the budget-used rule never had a series for the global budget",
    )
    assert float(used[0]["value"][1]) > 1  # 0.05 USD a day is spent within seconds
    (limit,) = stack.query("name_period_scope:llm_budget_limit_usd:max")
    assert float(limit["value"][1]) == 0.05  # as the config says: the demo reads it
    for alertname in ("LLMBudgetNotExported", "LLMBudgetLimitMismatch"):
        assert not stack.firing(alertname), f"{alertname} fired though the demo uses the config"


def test_calls_the_budgets_refuse_are_counted_and_alerted(stack):
    firing = eventually(
        lambda: stack.firing("LLMBudgetRefusingCalls"),
        "LLMBudgetRefusingCalls never fired, though the demo's capped sessions are refused",
    )
    assert {a["metric"]["scope"] for a in firing} >= {"run"}


# -- 5. An error burst fires the error-rate SLO alert --------------------------------------------


def test_error_burst_fires_the_error_rate_alert(stack):
    stack.post(f"{stack.demo}/control/burst")
    firing = eventually(
        lambda: stack.firing("LLMErrorRateHigh"),
        "LLMErrorRateHigh never fired after an error burst",
    )
    assert {alert["metric"]["provider"] for alert in firing} <= {
        "openai",
        "anthropic",
        "google",
        "vllm",
    }
    eventually(
        lambda: stack.in_alertmanager("LLMErrorRateHigh"),
        "LLMErrorRateHigh never arrived in Alertmanager",
    )


# -- 7. The spend Prometheus reports equals the tracker's --------------------------------------


def test_prometheus_spend_equals_the_tracker_total(stack):
    if stack.local is None:
        pytest.skip("the compose demo keeps its cost database inside its container")
    stack.post(f"{stack.demo}/control/pause")
    time.sleep(4)  # let calls in flight finish and Prometheus scrape the final counters
    (row,) = stack.query("sum(llm_cost_total)")
    prometheus_total = float(row["value"][1])
    tracker = CostTracker(stack.db, read_only=True)
    today = tracker.get_daily_summary()
    yesterday = tracker.get_daily_summary(today.date - timedelta(days=1))
    tracked = today.total_cost + yesterday.total_cost
    tokens = sum(s.prompt_tokens + s.completion_tokens for s in (today, yesterday))
    tracker.close()
    token_types = token_type_matcher(stack.root)
    (row,) = stack.query(f"sum(llm_tokens_used_total{{{token_types}}})")
    dashboard_tokens = float(row["value"][1])
    stack.post(f"{stack.demo}/control/resume")
    assert prometheus_total > 0.05
    assert abs(prometheus_total - tracked) < 0.01, (
        f"Prometheus reports {prometheus_total:.6f} USD, the tracker {tracked:.6f} USD"
    )
    assert dashboard_tokens == tokens, (
        f"the token panel's token types count {dashboard_tokens:.0f} tokens, the tracker "
        f"recorded {tokens} prompt and completion tokens"
    )


def token_type_matcher(root: Path) -> str:
    """The token types the token panel counts, as a matcher."""
    expr = panel(root, "Token Usage by Model")["targets"][0]["expr"]
    found = re.search(r'token_type=~"[^"]+"', expr)
    assert found is not None, expr
    return found.group(0)


# -- 6. A restart with a new version marks a deployment -----------------------------------------


def test_restart_with_a_new_version_marks_a_deployment(stack):
    if stack.local is None:
        pytest.skip("restarting the compose demo with a new version is done by hand")
    annotation = next(
        a for a in dashboard(stack.root)["annotations"]["list"] if a["name"] == "Deployments"
    )
    expr = annotation["target"]["expr"]
    versions = {e["metric"].get("version") for e in stack.query_range(expr, 120, 2)}
    assert "v2" not in versions
    stack.local.down(only=["demo"])
    restarted = LocalStack(
        stack.root,
        stack.local.state,
        stack.ports,
        demo_args=_demo_args("v2", stack.root),
        with_grafana=False,
    )
    restarted.up(echo=lambda _: None)

    def deployed() -> set[str]:
        return {e["metric"].get("version") for e in stack.query_range(expr, 120, 2)} & {"v2"}

    eventually(deployed, "the deployment annotation query never returned version v2")

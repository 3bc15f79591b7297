"""The central topology end to end: two demo replicas, an HA pair of real scrapers (Prometheus
in agent mode, or vmagent) writing into a real VictoriaMetrics, the generated rules in a real
vmalert and a real Alertmanager, all started by ``obsgen stack up``; a third scraper of the
other kind joins them. The store must count every replica once, however many scrapers send
it, and alert once."""

from __future__ import annotations

import dataclasses
import functools
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from obsgen import config as configuration
from obsgen import plan
from obsgen.render import scraper_config
from obsgen.tools.stack import LocalStack
from tests import helpers
from tests.dashboard_queries import (
    QueryAPI,
    empty_panel_queries,
    panel,
    recording_rules_without_series,
    substitute,
)
from tests.helpers import free_port, free_ports, obsgen

pytestmark = pytest.mark.slow

helpers.require_binaries(
    "prometheus",
    "prometheus-alertmanager",
    "victoria-metrics",
    "vmalert",
    "vmagent",
    install="apt-get install -y prometheus prometheus-alertmanager victoria-metrics",
)

CONFIG = """
apiVersion: obsgen/v1
prometheus:
  evaluation_interval: 1s
  scrape:
    job_name: llm-central
    targets: ["127.0.0.1:{demo}", "127.0.0.1:{replica}"]
    interval: 1s
    timeout: 1s
  alertmanagers: ["127.0.0.1:{alertmanager}"]
topology:
  kind: central
  scraper: {scraper}
  scrapers: 2
  store:
    query_url: http://127.0.0.1:{store}
budgets:
  daily: 0.05
  warning_percent: 50
  critical_percent: 100
alerts:
  for:
    LLMBudgetWarning: 0s
    LLMBudgetExceeded: 0s
attribution:
  labels: [feature]
"""

#: The store shows a sample a few seconds after a scrape: polled once a second, up to 90 s.
eventually = functools.partial(helpers.eventually, timeout=90.0, interval=1.0)


@dataclass
class Central:
    root: Path
    store: QueryAPI
    demos: tuple[str, ...]
    scrapers: tuple[str, ...]
    alertmanager: str
    stack_args: tuple[str, ...]

    def in_alertmanager(self, alertname: str) -> list[dict]:
        alerts = QueryAPI.get(f"{self.alertmanager}/api/v2/alerts")
        return [a for a in alerts if a["labels"].get("alertname") == alertname]

    def recorded(self, metric: str, **labels: str) -> float:
        """What the replicas' own /metrics say of ``metric`` (its samples with ``labels``),
        summed over the replicas."""
        total = 0.0
        for demo in self.demos:
            with urllib.request.urlopen(f"{demo}/metrics", timeout=10) as response:
                text = response.read().decode()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == metric and labels.items() <= sample.labels.items():
                        total += sample.value
        return total


@pytest.fixture(scope="module", params=["prometheus", "vmagent"])
def central(request, tmp_path_factory) -> Iterator[Central]:
    root = tmp_path_factory.mktemp("central")
    ports = {
        "demo": free_port(),
        "replica": free_port(),
        "alertmanager": free_port(),
        "store": free_port(),
    }
    text = CONFIG.replace("{scraper}", request.param)
    for name, port in ports.items():
        text = text.replace(f"{{{name}}}", str(port))
    (root / "obsgen.yaml").write_text(text)
    scraper, vmalert = free_ports(2), free_port()
    stack_args = ("--state-dir", str(root / "state"))
    up = obsgen(
        "stack",
        "up",
        "--no-grafana",
        "--demo-rate",
        "40",
        "--scraper-port",
        str(scraper),
        "--vmalert-port",
        str(vmalert),
        *stack_args,
        cwd=root,
    )
    third = None
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        third = _third_scraper(root, request.param)
        yield Central(
            root,
            QueryAPI(f"http://127.0.0.1:{ports['store']}"),
            (f"http://127.0.0.1:{ports['demo']}", f"http://127.0.0.1:{ports['replica']}"),
            (f"http://127.0.0.1:{scraper}", f"http://127.0.0.1:{scraper + 1}"),
            f"http://127.0.0.1:{ports['alertmanager']}",
            stack_args,
        )
    finally:
        if third is not None:
            third.terminate()
            third.wait(timeout=30)
        down = obsgen("stack", "down", *stack_args, cwd=root)
        assert down.returncode == 0, down.stdout + down.stderr


def _third_scraper(root: Path, kind: str) -> subprocess.Popen[bytes]:
    """A scraper of the other kind, on the same targets and store, beside the stack's pair:
    its generated config and flags, run by hand. The pair on one host takes its samples at the
    same moments (their scrape offsets derive from the host); scrapers on different hosts, as
    an HA set runs, take them at different moments, as this one does."""
    other = "vmagent" if kind == "prometheus" else "prometheus"
    config = configuration.load(root / "obsgen.yaml")
    config = dataclasses.replace(
        config, topology=dataclasses.replace(config.topology, scraper=other)
    )
    built = plan.build(config)
    (root / "third-scraper.yml").write_text(scraper_config.render(built))
    port = free_port()
    flags = built.servers.scraper(
        str(root / "third-scraper.yml"), str(root / "third-scraper"), f"127.0.0.1:{port}"
    )
    process = subprocess.Popen(
        [shutil.which(other) or other, *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    ready = "/-/ready" if other == "prometheus" else "/health"
    helpers.wait_until_serving(f"http://127.0.0.1:{port}{ready}", process)
    return process


def test_stack_status_knows_every_process_of_the_topology(central):
    status = obsgen("stack", "status", *central.stack_args, cwd=central.root)
    assert status.returncode == 0, status.stderr
    states = {line.split()[0]: line.split()[1] for line in status.stdout.splitlines()}
    assert states == dict.fromkeys(
        [
            "demo",
            "demo-2",
            "alertmanager",
            "victoria-metrics",
            "vmalert",
            "scraper-1",
            "scraper-2",
        ],
        "ready",
    )


def test_both_scrapers_write_and_the_store_keeps_one_copy(central):
    for scraper in central.scrapers:
        sent = eventually(
            lambda s=scraper: _sent(s),
            f"{scraper} never sent a sample to the store",
        )
        assert sent > 0
    eventually(lambda: central.store.query("llm_cost_total"), "no spend in the store")
    # Three scrapers each take a sample a second: the store keeps one a second of a series.
    eventually(
        lambda: central.store.value("min(count_over_time(up[20s] offset 20s))"),
        "the store never held 40 s of every replica's up series",
    )
    samples = central.store.value("max(count_over_time(up[20s]))") or 0
    assert 15 <= samples <= 21, f"{samples:g} samples of a series in 20 s: one a second is kept"
    # Copies interleaved from two scrapers would read as counter resets.
    assert central.store.value("sum(resets(llm_requests_total[1m]))") == 0


def _sent(scraper: str) -> float:
    """What ``scraper`` has written to the store: Prometheus' samples sent, or vmagent's
    requests answered with 2xx."""
    with urllib.request.urlopen(f"{scraper}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "prometheus_remote_storage_samples_total"
        or (
            sample.name == "vmagent_remotewrite_requests_total"
            and sample.labels.get("status_code") == "2XX"
        )
    )


@pytest.mark.parametrize("variables", ["all", "concrete"])
def test_every_panel_query_returns_data_from_the_store(central, variables):
    eventually(
        lambda: not recording_rules_without_series(central.store, central.root),
        "the recording rules never all had series in the store",
    )
    # the rarer events (folded labels, failures) start their series later: data, eventually

    def all_have_data() -> bool:
        empty = empty_panel_queries(central.store, central.root, variables)
        assert not empty, "\n".join(empty)
        return True

    eventually(all_have_data, "some panel queries never returned data from the store")


def test_a_budget_alert_reaches_alertmanager_once(central):
    for alertname in ("LLMBudgetWarning", "LLMBudgetExceeded"):
        arrived = eventually(
            lambda a=alertname: central.in_alertmanager(a),
            f"{alertname} never arrived in Alertmanager with a 0.05 USD daily budget",
        )
        keys = [(a["labels"]["scope"], a["labels"]["name"], a["labels"]["period"]) for a in arrived]
        assert keys == [("global", "all", "day")], arrived


def test_spend_requests_and_tokens_in_the_store_equal_what_the_replicas_recorded(central):
    for demo in central.demos:
        QueryAPI.post(f"{demo}/control/pause")
    try:
        eventually(_settled(central), "the paused replicas' calls in flight never finished")
        cost = central.recorded("llm_cost_total")
        requests = central.recorded("llm_requests_total")
        tokens = sum(
            central.recorded("llm_tokens_used_total", token_type=kind)
            for kind in ("prompt", "completion")
        )
        assert cost > 0.05 and requests > 0 and tokens > 0
        spend_panel = panel(central.root, "Total Cost 24h")["targets"][0]["expr"]
        token_panel = panel(central.root, "Token Usage by Model")["targets"][0]["expr"]
        assert 'token_type=~"prompt|completion"' in token_panel  # what is summed below
        checks = {
            "the Total Cost 24h panel": (substitute(spend_panel, {}, 3600, 1), cost),
            "the spend": ("sum(llm_cost_total)", cost),
            "the requests": ("sum(llm_requests_total)", requests),
            "the prompt and completion tokens": (
                'sum(llm_tokens_used_total{token_type=~"prompt|completion"})',
                tokens,
            ),
        }
        for what, (expr, expected) in checks.items():
            eventually(
                lambda e=expr, x=expected: abs((central.store.value(e) or 0) - x) <= 1e-6 * x,
                f"{what} in the store ({expr}) never equalled the replicas' {expected:g}; "
                "twice that would mean both scrapers' copies counted",
            )
    finally:
        for demo in central.demos:
            QueryAPI.post(f"{demo}/control/resume")


def _settled(central: Central):
    """A check that the replicas' request count stayed the same since it was last called."""
    last: list[float] = []

    def check() -> bool:
        now = central.recorded("llm_requests_total")
        same = last == [now]
        last[:] = [now]
        return same

    return check


def test_the_store_keeps_filling_when_a_scraper_stops(central):
    LocalStack(central.root, central.root / "state").down(only=["scraper-1"])
    before = central.store.value("sum(llm_requests_total)") or 0
    eventually(
        lambda: (central.store.value("sum(llm_requests_total)") or 0) > before,
        "the requests in the store stopped growing with one scraper of the two left",
    )
    assert central.store.value("max(count_over_time(up[5s]))") >= 3

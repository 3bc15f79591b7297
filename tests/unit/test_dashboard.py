"""The generated dashboard: the seed's 13 panels, house rules, variables and annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obsgen import plan
from obsgen.config import load
from obsgen.render import grafana

ROOT = Path(__file__).resolve().parents[2]
SEED_PANELS = [
    ("Total LLM Requests", "stat"),
    ("Total Cost 24h", "stat"),
    ("Cache Hit Rate", "gauge"),
    ("Error Rate", "stat"),
    ("Requests per Agent", "timeseries"),
    ("Cost per Team", "piechart"),
    ("Request Latency Distribution", "timeseries"),
    ("Token Usage by Model", "timeseries"),
    ("Cache Performance", "timeseries"),
    ("Error Rate by Provider", "timeseries"),
    ("Cost Breakdown by Model", "bargauge"),
    ("Active Requests", "timeseries"),
    ("Request Success Rate", "timeseries"),
]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@pytest.fixture(scope="module")
def board() -> dict:
    return json.loads((ROOT / "dashboards" / "llm_usage_dashboard.json").read_text())


def by_title(board: dict) -> dict[str, dict]:
    return {panel["title"]: panel for panel in board["panels"]}


def test_the_seeds_thirteen_panels_in_order(board):
    assert [(p["title"], p["type"]) for p in board["panels"][:13]] == SEED_PANELS
    assert all(p["gridPos"]["y"] == 0 and p["gridPos"]["h"] == 5 for p in board["panels"][:4])


def test_rows_on_completeness_budgets_streaming_and_error_budgets_follow(board):
    extra = board["panels"][13:]
    assert [(p["title"], p["type"]) for p in extra] == [
        ("Data completeness", "row"),
        ("Requests Recorded at 0 USD", "timeseries"),
        ("Folded, Rejected and Dropped Records", "timeseries"),
        ("Budgets", "row"),
        ("Budget Used", "bargauge"),
        ("Top Spenders this Month", "bargauge"),
        ("Calls Refused by Budgets", "timeseries"),
        ("Streaming", "row"),
        ("Time to First Token", "timeseries"),
        ("Output Speed", "timeseries"),
        ("Retries and 429s", "timeseries"),
        ("Rate-Limit Headroom", "timeseries"),
        ("Reasoning Share", "timeseries"),
        ("Operations and Tags", "row"),
        ("Requests by Operation", "timeseries"),
        ("Cost by Operation", "bargauge"),
        ("Spend by Labelled Tag", "bargauge"),
        ("Agent Runs and Tools", "row"),
        ("Agent Runs by Outcome", "timeseries"),
        ("Cost per Run", "timeseries"),
        ("Tool Error Rate", "timeseries"),
        ("Slowest Tools", "bargauge"),
        ("Error budgets", "row"),
        ("Error Budget Remaining", "bargauge"),
        ("Error Budget Burn Rate", "timeseries"),
    ]


def test_each_slo_has_its_budget_and_burn_read_from_its_recorded_rates(board):
    panels = by_title(board)
    remaining = panels["Error Budget Remaining"]["targets"]
    burns = panels["Error Budget Burn Rate"]["targets"]
    slis = ["availability", "latency", "time_to_first_token"]
    assert [t["legendFormat"] for t in remaining] == [t["legendFormat"] for t in burns] == slis
    assert all(t["instant"] for t in remaining)
    availability = remaining[0]["expr"]
    assert 'sum_over_time(sli:llm_slo_errors:rate5m{sli="availability"}[30d])' in availability
    assert availability.endswith(") / 0.005")  # 99.5%: a budget of 0.5% of requests
    assert burns[1]["expr"] == 'sli:llm_slo_errors:ratio_rate1h{sli="latency"} / 0.01'


def test_reasoning_share_is_reasoning_of_completion_tokens_by_model(board):
    (target,) = by_title(board)["Reasoning Share"]["targets"]
    numerator, denominator = target["expr"].split("\n/\n")
    assert 'token_type="reasoning"' in numerator and "by (model)" in numerator
    assert 'token_type="completion"' in denominator and "> 0" in denominator


def test_output_speed_inverts_the_time_per_output_token(board):
    targets = by_title(board)["Output Speed"]["targets"]
    assert [t["legendFormat"] for t in targets] == ["median", "slowest 5%"]
    for target, quantile in zip(targets, ("0.5", "0.95"), strict=True):
        assert target["expr"].startswith(f"1 / (histogram_quantile({quantile}, ")
        assert "llm_time_per_output_token_seconds_bucket" in target["expr"]


def test_budget_used_reads_each_budget_once_and_colours_at_the_alert_shares(board):
    panel = by_title(board)["Budget Used"]
    (target,) = panel["targets"]
    assert target["expr"] == "name_period_scope:llm_budget_used:ratio" and target["instant"]
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(s["color"], s["value"]) for s in steps] == [
        ("green", None),
        ("yellow", 0.8),
        ("red", 1.0),
    ]


def test_top_spenders_read_the_months_attributed_spend_once_biggest_first(board):
    (target,) = by_title(board)["Top Spenders this Month"]["targets"]
    assert target["instant"] and target["legendFormat"] == "{{tag}} {{value}}"
    assert target["expr"] == (
        'sort_desc(period_tag_value:llm_attributed_spend_usd:max{period="month"})'
    )


def test_house_rules_on_every_panel(board):
    ids = set()
    for panel in board["panels"]:
        ids.add(panel["id"])
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"} and grid["x"] + grid["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert "maxDataPoints" not in panel
        refs = [t["refId"] for t in panel["targets"]]
        assert refs == [chr(ord("A") + i) for i in range(len(refs))], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE
            assert set(target) >= {"expr", "refId", "legendFormat", "instant", "range"}
            assert "intervalFactor" not in target and "step" not in target
    assert len(ids) == len(board["panels"])


def test_panels_do_not_overlap(board):
    cells = set()
    for panel in board["panels"]:
        g = panel["gridPos"]
        area = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & area, panel["title"]
        cells |= area


def test_units(board):
    units = {
        t: p["fieldConfig"]["defaults"]["unit"]
        for t, p in by_title(board).items()
        if p["type"] != "row"
    }
    assert units["Total Cost 24h"] == units["Cost per Team"] == "currencyUSD"
    assert units["Cost Breakdown by Model"] == "currencyUSD"
    assert units["Cache Hit Rate"] == units["Error Rate"] == "percentunit"
    assert units["Request Latency Distribution"] == "s"
    assert units["Requests per Agent"] == "reqps"
    assert units["Token Usage by Model"] == "suffix: tokens/s"


def test_thresholds_come_from_the_config(board):
    panels = by_title(board)
    cost = panels["Total Cost 24h"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert cost == [
        {"color": "green", "value": None},
        {"color": "yellow", "value": 80.0},
        {"color": "red", "value": 100.0},
    ]
    errors = panels["Error Rate"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert errors == [{"color": "green", "value": None}, {"color": "red", "value": 0.01}]
    cache = panels["Cache Hit Rate"]["fieldConfig"]["defaults"]
    assert cache["thresholds"]["steps"][1] == {"color": "green", "value": 0.3}
    assert (cache["min"], cache["max"]) == (0, 1)


def test_modern_gauge_and_bar_gauge_options(board):
    for title in ("Cache Hit Rate", "Cost Breakdown by Model"):
        panel = by_title(board)[title]
        assert "fieldOptions" not in panel["options"]
        assert panel["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]
    assert by_title(board)["Cost Breakdown by Model"]["options"]["displayMode"] == "gradient"


def test_latency_shows_p50_p90_p99_of_answers_and_p99_of_failures(board):
    *targets, traces = by_title(board)["Request Latency Distribution"]["targets"]
    assert [t["legendFormat"] for t in targets] == ["p50", "p90", "p99", "p99 of failed"]
    assert not any(t["exemplar"] for t in targets)
    assert traces["exemplar"] and traces["expr"].startswith("llm_request_duration_seconds_bucket{")
    assert all(
        t["expr"].startswith(f"histogram_quantile({q}, (sum by (le)")
        for t, q in zip(targets, ("0.5", "0.9", "0.99", "0.99"), strict=True)
    )
    assert "llm_failed_request_duration_seconds" in targets[3]["expr"]
    assert all("llm_request_duration_seconds" in t["expr"] for t in targets[:3])


def test_token_usage_is_stacked(board):
    custom = by_title(board)["Token Usage by Model"]["fieldConfig"]["defaults"]["custom"]
    assert custom["stacking"]["mode"] == "normal"


def test_template_variables(board):
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert list(variables) == ["datasource", "agent_id", "model", "provider"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("agent_id", "model", "provider"):
        variable = variables[name]
        assert variable["type"] == "query" and variable["datasource"] == DATASOURCE
        values = f"dashboard_{name}"
        assert variable["query"]["query"] == f"label_values({values}:llm_requests:values, {values})"
        assert variable["includeAll"] and variable["multi"] and variable["allValue"] == ".*"
        assert variable["refresh"] == 2  # on time-range change


def test_annotations(board):
    annotations = {a["name"]: a for a in board["annotations"]["list"]}
    assert "llm_build_info" in annotations["Deployments"]["target"]["expr"]
    assert annotations["Budget alerts"]["target"]["expr"].startswith('ALERTS{alertname=~"LLM')
    assert annotations["Budget alerts"]["datasource"] == DATASOURCE


def test_identity_and_schema(board):
    assert board["uid"] == "llm-usage" and board["title"] == "LLM Usage"
    assert board["schemaVersion"] == 42
    assert "rows" not in board
    assert board["__inputs"][0]["pluginId"] == "prometheus"
    assert "Generated by obsgen" in board["description"]


def test_title_with_quotes_is_kept_intact():
    config = load(ROOT / "tests" / "fixtures" / "full.yaml")
    built = grafana.render(plan.build(config).dashboard)
    assert built["title"] == 'Gateway "LLM" costs' and built["uid"] == "gateway-llm"
    cost = next(p for p in built["panels"] if p["title"] == "Total Cost 24h")
    steps = cost["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 187.5, 237.5]


def test_no_daily_budget_means_no_cost_thresholds(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("apiVersion: obsgen/v1\nbudgets: {daily: null}\n")
    panels = grafana.render(plan.build(load(path)).dashboard)["panels"]
    cost = next(p for p in panels if p["title"] == "Total Cost 24h")
    assert cost["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "green", "value": None}
    ]

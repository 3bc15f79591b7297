"""Every panel query, annotation and rule expression uses only metrics and labels the llmobs
schema defines, and every recording rule it reads is defined."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmobs.schema import METRICS, MetricKind
from obsgen import dashboard, rules
from obsgen.config import load

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [ROOT / "obsgen.yaml", ROOT / "tests" / "fixtures" / "full.yaml"]
SERIES = {}
for spec in METRICS:
    extra = ("le",) if spec.kind is MetricKind.HISTOGRAM else ()
    names = [spec.name + s for s in ("_bucket", "_sum", "_count")] if extra else [spec.name]
    for name in names:
        SERIES[name] = set(spec.labels) | (set(extra) if name.endswith("_bucket") else set())
BUILTIN = {"up": {"job", "instance"}, "ALERTS": {"alertname", "alertstate", "severity"}}
SELECTOR = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(?:=~|!~|!=|=)\s*"')
BY = re.compile(r"sum by \(([^)]*)\) \((?:rate|increase)\(([\w:]+)")


def expressions(config) -> list[tuple[str, str]]:
    found = []
    for doc, _ in dashboard.panels(config):
        found += [(f"panel {doc.title}", query.expr) for query in doc.queries]
    found += [(f"annotation {a['name']}", a["expr"]) for a in dashboard.annotations()[1:]]
    for group in (rules.recording_rules(config), *rules.alert_groups(config)):
        found += [(getattr(r, "record", None) or r.alert, r.expr) for r in group.rules]
    return found


def recorded(config) -> set[str]:
    return {rule.record for rule in rules.recording_rules(config).rules}


@pytest.mark.parametrize("path", CONFIGS, ids=["default", "full"])
def test_expressions_use_only_schema_metrics_and_labels(path):
    config = load(path)
    records = recorded(config)
    for where, expr in expressions(config):
        metrics = set(re.findall(r"(?<![\w:])(llm_\w+)", expr))
        assert metrics <= set(SERIES), f"{where}: unknown metric in {expr}"
        for name, body in SELECTOR.findall(expr):
            labels = SERIES.get(name) or BUILTIN.get(name)
            if labels is None:
                assert name in records, f"{where}: {name} is neither a metric nor a rule"
                labels = set(name.split(":")[0].split("_")) | {"agent_id"}
            for label in MATCHER.findall(body):
                assert label in labels, f"{where}: {name} has no label {label!r}"
        for by, name in BY.findall(expr):
            wanted = {label.strip() for label in by.split(",")}
            assert wanted <= SERIES[name], f"{where}: {name} cannot be summed by {wanted}"
        for name in re.findall(r"(?<![\w])(\w*:[\w:]+)", expr):
            assert name in records, f"{where}: reads {name}, which no rule records"


def test_dashboard_filters_apply_only_labels_the_metric_has():
    config = load(CONFIGS[0])
    queries = {doc.title: [q.expr for q in doc.queries] for doc, _ in dashboard.panels(config)}
    cache = queries["Cache Performance"][0]
    assert 'agent_id=~"$agent_id"' in cache and 'model=~"$model"' in cache
    assert "$provider" not in cache
    active = queries["Active Requests"][0]
    assert "$provider" in active and "$model" not in active
    for title, exprs in queries.items():
        for expr in exprs:
            assert not re.search(r"\[\d+[smh]\]", expr) or "24h" in expr, (title, expr)
            assert (
                "[$__rate_interval]" in expr
                or "[$__range]" in expr
                or "[24h]" in expr
                or "rate(" not in expr
            ), (title, expr)


def test_quantiles_sum_by_le():
    config = load(CONFIGS[0])
    for where, expr in expressions(config):
        for inner in re.findall(r"histogram_quantile\([\d.]+, sum by \(([^)]*)\)", expr):
            assert "le" in [label.strip() for label in inner.split(",")], where


def test_recording_rule_names_follow_the_convention():
    for path in CONFIGS:
        for name in recorded(load(path)):
            _level, metric, operation = name.split(":")
            assert metric.startswith("llm_") and operation, name


def test_team_is_derived_with_the_configured_separator():
    full = load(CONFIGS[1])
    team_rule = next(r for r in rules.recording_rules(full).rules if r.record.startswith("team:"))
    assert '"([^/]*).*"' in team_rule.expr

"""Every panel query, annotation and rule expression uses only metrics and labels the llmobs
schema defines, every recording rule it reads is recorded, and the KPIs mean one thing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmobs.schema import METRICS, MetricKind
from obsgen import plan
from obsgen.catalogue.promql import ALL_SELECTED, TOTAL_TOKEN_TYPES
from obsgen.config import load

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [ROOT / "obsgen.yaml", ROOT / "tests" / "fixtures" / "full.yaml"]
SERIES = {}
for spec in METRICS:
    extra = ("le",) if spec.kind is MetricKind.HISTOGRAM else ()
    names = [spec.name + s for s in ("_bucket", "_sum", "_count")] if extra else [spec.name]
    for name in names:
        SERIES[name] = set(spec.labels) | (set(extra) if name.endswith("_bucket") else set())
LABELS = set().union(*SERIES.values()) | {"team", "sli"}  # labels rules add
BUILTIN = {"up": {"job", "instance"}, "ALERTS": {"alertname", "alertstate", "severity"}}
SELECTOR = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(?:=~|!~|!=|=)\s*"')
BY = re.compile(r"sum by \(([^)]*)\) \((?:rate|increase)\(([\w:]+)")


def level_labels(record: str) -> set[str]:
    """The labels a rule named ``level:metric:operation`` keeps (label names contain '_')."""
    level, found = record.split(":")[0], set()
    while level:
        label = max((lb for lb in LABELS if level == lb or level.startswith(lb + "_")), key=len)
        found.add(label)
        level = level[len(label) + 1 :]
    return found


def expressions(config) -> list[tuple[str, str]]:
    built = plan.build(config)
    found = [
        (f"panel {panel.title}", query.expr)
        for panel in built.dashboard.panels
        for query in panel.queries
    ]
    found += [(f"annotation {a.name}", a.expr) for a in built.dashboard.annotations]
    found += [(rule.record, rule.expr) for rule in built.recording.rules]
    found += [(alert.name, alert.expr) for alert in built.alert_specs()]
    return found


def recorded(config) -> set[str]:
    return {rule.record for rule in plan.build(config).recording.rules}


def panel_queries(config) -> dict[str, list[str]]:
    board = plan.build(config).dashboard
    return {panel.title: [q.expr for q in panel.queries] for panel in board.panels}


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
                labels = level_labels(name)
            for label in MATCHER.findall(body):
                assert label in labels | {ALL_SELECTED}, f"{where}: {name} has no label {label!r}"
        for by, name in BY.findall(expr):
            wanted = {label.strip() for label in by.split(",")}
            assert wanted <= SERIES[name], f"{where}: {name} cannot be summed by {wanted}"
        for name in re.findall(r"(?<![\w])(\w*:[\w:]+)", expr):
            assert name in records, f"{where}: reads {name}, which no rule records"


def test_rules_come_after_the_rules_they_read():
    rules = plan.build(load(CONFIGS[1])).recording.rules
    for index, rule in enumerate(rules):
        later = {r.record for r in rules[index + 1 :]}
        assert not [name for name in later if name in rule.expr], rule.record


def test_dashboard_filters_apply_only_labels_the_metric_has():
    queries = panel_queries(load(CONFIGS[0]))
    cache = queries["Cache Performance"][0]
    assert 'agent_id=~"$agent_id"' in cache and 'model=~"$model"' in cache
    assert "$provider" not in cache
    (active,) = re.findall(r"llm_active_requests\{([^}]*)\}", queries["Active Requests"][0])
    assert "$provider" in active and "$model" not in active


def test_per_agent_panels_show_the_busiest_agents_at_all():
    """At All, the per-agent panels read a recorded top list (a few series at any fleet
    size); with agents chosen, they show every chosen agent."""
    built = plan.build(load(CONFIGS[0]))
    rules = {rule.record: rule.expr for rule in built.recording.rules}
    for panel in built.dashboard.panels:
        if panel.title not in ("Requests per Agent", "Active Requests"):
            continue
        (top,) = re.findall(r"([\w:]+_top10)\{" + ALL_SELECTED + "=~", panel.queries[0].expr)
        assert (
            "\nand on (agent_id)\ntopk(10, sum_over_time(agent_id:llm_requests:rate5m[24h]))"
            in (rules[top])
        )
        assert ALL_SELECTED + "!~" in panel.queries[0].expr


def test_panels_read_recording_rules_not_raw_counters():
    """Raw series only where they are cheap: the in-flight gauge, and the exemplar probes,
    which Prometheus evaluates at the epoch where no sample lies."""
    board = plan.build(load(CONFIGS[0])).dashboard
    probes = 0
    for panel in board.panels:
        for query in panel.queries:
            raw = [m for m in re.findall(r"(?<![\w:])(llm_\w+)", query.expr) if m in SERIES]
            if query.exemplar:
                probes += 1
                assert len(raw) == 1 and query.expr.endswith(" @ 0"), query.expr
            else:
                assert raw in ([], ["llm_active_requests"]), (panel.title, query.expr)
    assert probes == 2


VARIABLE_NAMES = ("agent_id", "model", "provider")


def _switched_selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(rule, matchers) of every selector of ``expr`` that switches on the variables."""
    found = []
    for name, body in re.findall(r"([\w:]+)\{([^}]*)\}", expr):
        matchers = re.findall(r'(\w+)(=~|!~|!=|=)"([^"]*)"', body)
        if any(label == ALL_SELECTED for label, _, _ in matchers):
            found.append((name, matchers))
    return found


def _selects(matchers: list[tuple[str, str, str]], chosen: dict[str, str]) -> bool:
    """Whether the switch matchers hold with ``chosen`` values (the rest at All, ``.*``)."""
    for label, op, value in matchers:
        if label != ALL_SELECTED:
            continue
        for variable in VARIABLE_NAMES:
            value = value.replace(f"${variable}", chosen.get(variable, ".*"))
        if bool(re.fullmatch(value, "")) != (op == "=~"):
            return False
    return True


@pytest.mark.parametrize(
    "chosen",
    [
        {},
        {"agent_id": "a"},
        {"model": "m"},
        {"provider": "p"},
        {"agent_id": "a", "model": "m"},
        {"model": "m", "provider": "p"},
        {"agent_id": "a", "model": "m", "provider": "p"},
    ],
    ids=["all", "agent", "model", "provider", "agent+model", "model+provider", "every"],
)
def test_one_branch_of_each_switched_read_answers_and_it_filters_by_what_is_chosen(chosen):
    """Every way the variables can be set selects exactly one branch of each switched read:
    at All the coarse rule, unfiltered; one variable chosen, a rule filtered by it alone; two
    or more, the rule filtered by all of them."""
    for title, exprs in panel_queries(load(CONFIGS[0])).items():
        for expr in exprs:
            selectors = _switched_selectors(expr)
            reads = sum(_selects(m, {}) for _, m in selectors)
            active = [(rule, m) for rule, m in selectors if _selects(m, chosen)]
            assert len(active) == reads, (title, chosen)
            for rule, matchers in active:
                switch = "".join(v for label, _, v in matchers if label == ALL_SELECTED)
                relevant = {v for v in chosen if f"${v}" in switch}
                if len(relevant) > 1:  # the full rule, filtered by every variable it has
                    relevant = {v for v in VARIABLE_NAMES if f"${v}" in switch}
                filtered = {label for label, _, value in matchers if value == f"${label}"}
                assert filtered == relevant, (title, rule, chosen)


@pytest.mark.parametrize("path", CONFIGS, ids=["default", "full"])
def test_no_switch_regex_is_dot_star_alone_with_every_variable_at_all(path):
    """VictoriaMetrics reads ``!~".*"`` as true of every series: a branch so switched off
    would answer there too."""
    for title, exprs in panel_queries(load(path)).items():
        for expr in exprs:
            for rule, matchers in _switched_selectors(expr):
                for label, op, value in matchers:
                    at_all = value
                    for variable in VARIABLE_NAMES:
                        at_all = at_all.replace(f"${variable}", ".*")
                    if label == ALL_SELECTED and op == "!~":
                        assert at_all != ".*", (title, rule, matchers)


def quantile_arguments(expr: str) -> list[str]:
    """The second argument of every ``histogram_quantile(...)`` in ``expr``."""
    arguments = []
    for match in re.finditer(r"histogram_quantile\(", expr):
        depth, start = 1, match.end()
        comma = None
        for index in range(start, len(expr)):
            char = expr[index]
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    arguments.append(expr[comma + 1 : index].strip())
                    break
            elif char == "," and depth == 1 and comma is None:
                comma = index
    return arguments


def keeps_le(argument: str) -> bool:
    """Whether a quantile's argument keeps ``le``: an outer ``sum by (..le..)`` or a rule
    whose level keeps it (optionally filtered, parenthesised)."""
    inner = argument
    while inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1].strip()
    summed = re.match(r"sum by \(([^)]*)\)", inner)
    if summed:
        return "le" in {label.strip() for label in summed.group(1).split(",")}
    rule = re.fullmatch(r"(\w+:\w+:\w+)(\{[^}]*\})?", inner)
    return rule is not None and "le" in level_labels(rule.group(1))


@pytest.mark.parametrize(
    "bad",
    [
        "histogram_quantile(0.99, sum(rate(llm_request_duration_seconds_bucket[5m])))",
        "histogram_quantile(0.99, rate(llm_request_duration_seconds_bucket[5m]))",
        "histogram_quantile(0.99, sum by (model) (rate(x_bucket[5m])))",
        "histogram_quantile(0.99, model:llm_request_duration_seconds_bucket:rate5m)",
        "sum by (le) (x) + histogram_quantile(0.99, sum(rate(x_bucket[5m])))",
    ],
)
def test_the_quantile_check_catches_quantiles_that_drop_le(bad):
    assert not all(keeps_le(argument) for argument in quantile_arguments(bad))


def test_quantiles_sum_by_le():
    checked = 0
    for where, expr in expressions(load(CONFIGS[0])):
        arguments = quantile_arguments(expr)
        assert len(arguments) == expr.count("histogram_quantile("), where
        for argument in arguments:
            assert keeps_le(argument), f"{where}: {argument}"
            checked += 1
    assert checked > 0


def test_no_expression_adds_every_token_type():
    """Cache and reasoning tokens are inside prompt and completion tokens: a sum over every
    token_type counts them twice. A query reads the total's types, or one type alone."""
    wanted = f'token_type=~"{"|".join(TOTAL_TOKEN_TYPES)}"'
    for where, expr in expressions(load(CONFIGS[0])):
        for name, body in SELECTOR.findall(expr):
            if "llm_tokens_used" in name and not where.startswith(name):
                one_type = re.search(r'token_type="\w+"', body)
                assert wanted in body or one_type, f"{where}: reads {name} without {wanted}"
    assert wanted in panel_queries(load(CONFIGS[0]))["Token Usage by Model"][0]


def test_dashboard_and_alert_share_the_success_rate_kpi():
    """No successes is a success rate of 0 (not no data) in the panel as in the alert."""
    built = plan.build(load(CONFIGS[0]))
    alert = next(a for a in built.alert_specs() if a.name == "LLMSuccessRateLow")
    panel = panel_queries(load(CONFIGS[0]))["Request Success Rate"][0]
    for expr in (alert.expr, panel):
        assert re.search(r'status="success".*\nor\n.* \* 0\)', expr, re.S), expr


def test_recording_rule_names_follow_the_convention():
    for path in CONFIGS:
        for name in recorded(load(path)):
            _level, metric, operation = name.split(":")
            assert metric.startswith("llm_") and operation, name


def test_team_is_derived_with_the_configured_separator():
    full = load(CONFIGS[1])
    panels = {panel.title: panel for panel in plan.build(full).dashboard.panels}
    (team_cost,) = panels["Cost per Team"].queries
    assert '"$1$2", "agent_id", "([^/]+)/.*|(.*)"' in team_cost.expr


@pytest.mark.parametrize("title", ["Requests per Agent", "Active Requests"])
def test_a_busiest_agents_panel_keeps_its_top_list_when_a_model_or_provider_is_chosen(title):
    """With a model or provider chosen alone, a panel of the busiest agents reads the busiest
    agents of that value (a few series), not every agent that used it."""
    (expr,) = panel_queries(load(CONFIGS[0]))[title]
    for variable in ("model", "provider"):
        if f"${variable}" not in expr:
            continue
        active = [
            rule
            for rule, matchers in _switched_selectors(expr)
            if _selects(matchers, {variable: "x"})
        ]
        assert active == [next(r for r in active if r.endswith(f"_top10_per_{variable}"))]

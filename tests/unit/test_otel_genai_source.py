"""``source: otel-genai``: the series names the OTel Prometheus exporter writes, the translation
rules, what the plan keeps and leaves out, and what the config refuses."""

from __future__ import annotations

import re

import pytest
import yaml

from llmobs import otel
from obsgen import plan
from obsgen.catalogue import otel_genai
from obsgen.catalogue.promql import Expr, RecordingRule
from obsgen.config import parse
from obsgen.config.model import OTEL_GENAI
from obsgen.plan import _in_evaluation_order
from tests.unit.test_config import errors_of

OTEL = "apiVersion: obsgen/v1\nsource: otel-genai\n"


def build(text: str = OTEL) -> plan.Plan:
    return plan.build(parse(yaml.safe_load(text), {}, "obsgen.yaml"))


def test_the_names_are_those_the_otel_prometheus_exporter_writes():
    exporter = pytest.importorskip("opentelemetry.exporter.prometheus")
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import REGISTRY, generate_latest

    provider = MeterProvider(metric_readers=[exporter.PrometheusMetricReader()])
    try:
        instruments = otel.GenAIMetrics(provider)
        attributes = instruments.attributes("gpt-4o", "openai", "chat")
        instruments.record(
            attributes, input_tokens=3, output_tokens=4, duration=0.5, cost=0.01, first_chunk=0.1
        )
        text = generate_latest(REGISTRY).decode()
    finally:
        provider.shutdown()  # unregisters the exporter's collector
    written = set(re.findall(r"^(gen_ai_\w+?)(?:_bucket|_sum|_count)\{", text, re.M))
    named = {
        otel_genai.prometheus_name(i)
        for i in (otel.TOKEN_USAGE, otel.OPERATION_DURATION, otel.TIME_TO_FIRST_CHUNK)
    }
    assert written == named


def test_every_panel_and_alert_reads_only_what_the_source_provides():
    built = build()
    provided = otel_genai.provided(OTEL_GENAI)
    assert provided is not None
    exprs = [
        *(query.expr for panel in built.dashboard.panels for query in panel.queries),
        *(spec.expr for group in built.alerts for spec in group.rules),
        *(rule.expr for rule in built.recording.rules),
    ]
    for expr in exprs:
        assert otel_genai.metrics_read(Expr(expr)) <= provided, expr
    titles = {panel.title for panel in built.dashboard.panels}
    assert "Total LLM Requests" in titles and "Total Cost 24h" not in titles
    assert "Total Cost 24h" in built.dashboard.description
    alerts = {spec.name for group in built.alerts for spec in group.rules}
    assert "LLMErrorRateHigh" in alerts and "LLMBudgetWarning" not in alerts


def test_no_row_is_left_without_panels():
    panels = build().dashboard.panels
    for panel, following in zip(panels, [*panels[1:], None], strict=True):
        if panel.kind == "row":
            assert following is not None and following.kind != "row", panel.title


def test_the_translation_rules_come_first_and_record_the_llmobs_series():
    rules = build().recording.rules
    translated = {rule.record for rule in otel_genai.translation_rules()}
    first = [rule.record for rule in rules[: len(translated)]]
    assert set(first) == translated
    assert {"llm_requests_total", "llm_tokens_used_total", "llm_errors_total"} <= translated
    llmobs = plan.build(parse(yaml.safe_load("apiVersion: obsgen/v1\n"), {}, "obsgen.yaml"))
    assert not translated & {rule.record for rule in llmobs.recording.rules}


def test_the_liveness_alert_reads_the_otel_resource():
    (down,) = (s for g in build().alerts for s in g.rules if s.name == "LLMMetricsDown")
    assert down.expr == 'absent(target_info{job="llm-service"})'
    assert "up{" not in " ".join(s.expr for g in build().alerts for s in g.rules)


def test_a_rule_is_evaluated_after_every_rule_it_reads_however_deep():
    chain = [
        RecordingRule("a:x:rate5m", "sum(rate(x[5m]))"),
        RecordingRule("a:x:rate5m_top", "a:x:rate5m and topk(1, b:x:rate5m)"),
        RecordingRule("b:x:rate5m", "sum(x_total)"),
        RecordingRule("x_total", "label_replace(y, 'a', 'b', 'c', 'd')"),
    ]
    ordered = [rule.record for rule in _in_evaluation_order(frozenset(chain))]
    assert ordered.index("x_total") < ordered.index("b:x:rate5m")
    assert ordered.index("b:x:rate5m") < ordered.index("a:x:rate5m_top")
    assert ordered.index("a:x:rate5m") < ordered.index("a:x:rate5m_top")


def test_latency_objectives_default_to_the_conventions_bucket_bounds():
    config = parse(yaml.safe_load(OTEL), {}, "obsgen.yaml")
    objectives = {o.sli: o.seconds for o in config.slo.objectives}
    assert objectives == {"availability": None, "latency": 10.24, "time_to_first_token": 2.56}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "source: prometheus\n",
            "source: must be one of llmobs, otel-genai, got 'prometheus'",
        ),
        (
            "source: otel-genai\nslo:\n  objectives:\n    latency: {percent: 99, seconds: 10}\n",
            "slo.objectives.latency.seconds: must be a bucket bound of the histogram, where "
            "events are counted as good or bad: one of 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, "
            "0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92; got 10",
        ),
        (
            "source: otel-genai\nbudgets:\n  daily: 10\n",
            "budgets: source otel-genai carries no cost, so no budget can be judged: remove "
            "budgets, or record the calls with llmobs (source llmobs)",
        ),
    ],
)
def test_config_mistakes_of_the_source_are_named(tmp_path, extra, message):
    assert errors_of("apiVersion: obsgen/v1\n" + extra, tmp_path) == [message]

"""Dashboards, rules and alerts over OpenTelemetry GenAI metrics (``source: otel-genai``).

A service instrumented with OpenTelemetry (OpenLIT, OpenLLMetry, the contrib
``opentelemetry-instrumentation-openai-v2``, or llmobs's own ``enable_otel``) records GenAI client
metrics; the OTel SDK's Prometheus exporter, or a collector, turns them into Prometheus series
(``gen_ai_client_operation_duration_seconds_*``, ``gen_ai_client_token_usage_*``, ...).

Translation rules record from them, one series for one, the llmobs series every panel, rule and
alert reads. Nothing is aggregated, so each recorded counter resets with its source and its
rates stay right; the OTel series stay as they are for the user's own queries, and the
rules work alike on scraped and on pushed (remote-written) series. Labels: ``model`` from
``gen_ai_request_model``; ``provider`` from ``gen_ai_provider_name`` (``gen_ai_system`` in
instrumentations of older conventions); ``operation`` from ``gen_ai_operation_name`` (Google's
``generate_content`` and ``text_completion`` are chat calls); ``agent_id`` from
``gen_ai_agent_name`` where the instrumentation sets it, else the ``job``. A call with an
``error_type`` failed: it counts as an error, and its duration as a failed request's.

What the conventions' metrics do not carry (cost, cache hits, budgets, the runtime's own
health) is not made up: panels and alerts that read it are left out (:func:`serves`).

Example:
    >>> prometheus_name(OPERATION_DURATION)
    'gen_ai_client_operation_duration_seconds'
"""

from __future__ import annotations

import re

from llmobs.otel import (
    EXECUTE_TOOL_DURATION,
    INFERENCE_CALLS,
    INPUT,
    INVOKE_AGENT_DURATION,
    OPERATION_DURATION,
    OUTPUT,
    TIME_TO_FIRST_CHUNK,
    TOKEN_USAGE,
    Instrument,
)
from llmobs.schema import (
    AGENT_RUN_CALLS,
    AGENT_RUN_DURATION,
    AGENT_RUNS,
    ERRORS,
    FAILED_REQUEST_DURATION,
    METRICS,
    REQUEST_DURATION,
    REQUESTS,
    TIME_TO_FIRST_TOKEN,
    TOKENS,
    TOOL_CALLS,
    TOOL_DURATION,
    MetricKind,
    MetricSpec,
    Operation,
    RunOutcome,
    TokenType,
)
from obsgen.config.model import LLMOBS

from .promql import Expr, RecordingRule, absent, label_replace, selector, union

#: Prometheus unit suffixes of OTel units (the exporter's, after the OTel-Prometheus spec).
_UNIT_SUFFIXES = {"s": "seconds"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
#: The series liveness is judged by: every OTel SDK and collector exports its resource as it.
TARGET_INFO = "target_info"
#: The llmobs token types of the conventions' ``gen_ai.token.type`` values.
TOKEN_TYPES = {INPUT: TokenType.PROMPT.value, OUTPUT: TokenType.COMPLETION.value}
#: OTel operation names that llmobs counts as chat calls.
CHAT_OPERATIONS = ("generate_content", "text_completion")
_NO_ERROR = ("error_type", "=", "")
_ERROR = ("error_type", "!=", "")


def prometheus_name(instrument: Instrument) -> str:
    """The series name the OTel Prometheus exporter gives ``instrument`` (before ``_bucket``,
    ``_sum``, ``_count`` or ``_total``): dots to underscores, the unit as a suffix, an
    annotation unit (``{token}``) dropped."""
    name = re.sub(r"[^a-zA-Z0-9_]", "_", instrument.name)
    unit = "" if instrument.unit.startswith("{") else _UNIT_SUFFIXES.get(instrument.unit, "")
    return f"{name}_{unit}" if unit else name


def _llmobs_labels(expr: str) -> str:
    """``expr`` with the llmobs labels set from the conventions' attributes."""
    for target, source, regex in (
        ("agent_id", "job", "(.+)"),
        ("agent_id", "gen_ai_agent_name", "(.+)"),
        ("model", "gen_ai_request_model", "(.+)"),
        ("provider", "gen_ai_system", "(.+)"),
        ("provider", "gen_ai_provider_name", "(.+)"),
        ("operation", "gen_ai_operation_name", "(.+)"),
        ("tool", "gen_ai_tool_name", "(.+)"),
    ):
        expr = label_replace(expr, target, "$1", source, regex)
    chat = "|".join(CHAT_OPERATIONS)
    return label_replace(expr, "operation", Operation.CHAT.value, "gen_ai_operation_name", chat)


def _copied(target: str, source: str, *matchers: tuple[str, str, str]) -> RecordingRule:
    return RecordingRule(target, _llmobs_labels(selector(source, matchers)))


def _histogram(target: MetricSpec, source: str, *matchers: tuple[str, str, str]) -> set:
    return {
        _copied(target.name + suffix, source + suffix, *matchers) for suffix in HISTOGRAM_SUFFIXES
    }


def _by_outcome(
    target: MetricSpec, duration: str, label: str, ok: str, failed: str
) -> RecordingRule:
    """``target`` counted from ``duration``'s count, ``label`` set to ``failed`` where the
    operation has an ``error_type`` and to ``ok`` elsewhere."""
    count = duration + "_count"
    by_outcome = (
        label_replace(selector(count, [matcher]), label, value, "", "")
        for matcher, value in ((_NO_ERROR, ok), (_ERROR, failed))
    )
    return RecordingRule(target.name, _llmobs_labels(union(*by_outcome)))


def _tokens(usage: str) -> RecordingRule:
    read = selector(usage + "_sum", [("gen_ai_token_type", "=~", "|".join(TOKEN_TYPES))])
    for otel_type, llmobs_type in TOKEN_TYPES.items():
        read = label_replace(read, "token_type", llmobs_type, "gen_ai_token_type", otel_type)
    return RecordingRule(TOKENS.name, _llmobs_labels(read))


def translation_rules() -> frozenset[RecordingRule]:
    """The rules that record llmobs series from the OTel GenAI series."""
    duration = prometheus_name(OPERATION_DURATION)
    run = prometheus_name(INVOKE_AGENT_DURATION)
    tool = prometheus_name(EXECUTE_TOOL_DURATION)
    completed, failed = RunOutcome.COMPLETED.value, RunOutcome.FAILED.value
    return frozenset(
        {
            _by_outcome(REQUESTS, duration, "status", "success", "error"),
            _by_outcome(AGENT_RUNS, run, "outcome", completed, failed),
            _by_outcome(TOOL_CALLS, tool, "status", "success", "error"),
            *_histogram(AGENT_RUN_DURATION, run),
            *_histogram(AGENT_RUN_CALLS, prometheus_name(INFERENCE_CALLS)),
            *_histogram(TOOL_DURATION, tool),
            _copied(ERRORS.name, duration + "_count", _ERROR),
            _tokens(prometheus_name(TOKEN_USAGE)),
            *_histogram(REQUEST_DURATION, duration, _NO_ERROR),
            *_histogram(FAILED_REQUEST_DURATION, duration, _ERROR),
            *_histogram(TIME_TO_FIRST_TOKEN, prometheus_name(TIME_TO_FIRST_CHUNK)),
        }
    )


def translated(source: str) -> frozenset[RecordingRule]:
    """The translation rules ``source`` needs (none for llmobs's own metrics)."""
    return frozenset() if source == LLMOBS else translation_rules()


def _series_names(spec: MetricSpec) -> tuple[str, ...]:
    if spec.kind is MetricKind.HISTOGRAM:
        return tuple(spec.name + suffix for suffix in HISTOGRAM_SUFFIXES)
    return (spec.name,)


#: Every llmobs series name, and the metric it belongs to.
_SCHEMA_SERIES = {name: spec for spec in METRICS for name in _series_names(spec)}
_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def metrics_read(expr: Expr) -> frozenset[str]:
    """The llmobs metrics ``expr`` reads, itself or through the rules it reads."""
    texts = [expr.text, *(rule.expr for rule in expr.rules)]
    names = {name for text in texts for name in _NAME.findall(text)}
    return frozenset(_SCHEMA_SERIES[name].name for name in names if name in _SCHEMA_SERIES)


def provided(source: str) -> frozenset[str] | None:
    """The llmobs metrics ``source`` provides; None: every one."""
    if source == LLMOBS:
        return None
    recorded = {rule.record for rule in translation_rules()}
    return frozenset(spec.name for spec in METRICS if set(_series_names(spec)) <= recorded)


def serves(source: str, expr: Expr) -> bool:
    """Whether ``source`` provides every metric ``expr`` reads."""
    metrics = provided(source)
    return metrics is None or metrics_read(expr) <= metrics


def target_absent(job: str) -> Expr:
    """True (1) when no target of ``job`` exports its OTel resource: it stopped exporting, or
    (pushed) has not been heard from for the query lookback (5 minutes)."""
    return absent(TARGET_INFO, [("job", "=", job)])

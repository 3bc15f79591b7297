"""The dashboard's panels: the 13 usage panels, and rows on data completeness, budgets and
streaming, as data.

Each panel's queries are written once against a reader: the plan reads recording rules
(:class:`RuleReader`); the same definitions against :class:`RawReader` give the raw-series
queries the benchmark compares them with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from llmobs.exemplars import TRACE_ID_LABEL
from llmobs.schema import (
    ACTIVE_REQUESTS,
    AGENT_RUN_COST,
    AGENT_RUNS,
    ATTRIBUTED_SPEND,
    BUDGET_REFUSALS,
    BUILD_INFO,
    CACHE_HITS,
    CACHE_MISSES,
    COST,
    COST_RECORDS_DROPPED,
    ERRORS,
    FAILED_ATTEMPTS,
    FAILED_REQUEST_DURATION,
    INVALID_RECORDS,
    LABEL_OVERFLOW,
    RATE_LIMIT_REMAINING,
    REQUEST_DURATION,
    RETRIES,
    TAG_COST,
    TIME_PER_OUTPUT_TOKEN,
    TIME_TO_FIRST_TOKEN,
    TOOL_CALLS,
    TOOL_DURATION,
    UNPRICED_REQUESTS,
    USAGE_MISSING,
    MetricSpec,
    TokenType,
)
from obsgen.catalogue import promql as q
from obsgen.catalogue.alerts import BUDGET_ALERTS
from obsgen.catalogue.otel_genai import serves
from obsgen.catalogue.promql import Expr, RawReader, Reader, RecordingRule, RuleReader, Series
from obsgen.config import Config
from obsgen.config.model import Objective, TraceLink
from obsgen.config.validation import duration_seconds

from .model import (
    Annotation,
    Dashboard,
    ExemplarLink,
    Grid,
    Panel,
    Query,
    Step,
    Variable,
)

GREEN, YELLOW, RED, BLUE = "green", "yellow", "red", "blue"
USD, PERCENT, SECONDS, REQ_PER_SEC = "currencyUSD", "percentunit", "s", "reqps"
TOKENS_PER_SEC, REQUESTS_UNIT, COUNT = "suffix: tokens/s", "suffix: requests", "short"
RECORDS_PER_SEC = "suffix: records/s"
#: Panels with a line per agent show this many agents, the busiest in the time range.
BUSIEST_AGENTS = 10
#: The row that separates the usage panels from the data-completeness panels.
COMPLETENESS_ROW = "Data completeness"
#: The row of the budgets the cost tracker exports.
BUDGETS_ROW = "Budgets"
#: The row of how streamed answers flow.
STREAMING_ROW = "Streaming"
#: The row of what calls ask for (chat, embeddings, images, audio), and the spend of the
#: attribution tags the cost tracker labels.
OPERATIONS_ROW = "Operations and Tags"
#: The row of agent runs and their tool calls.
AGENTS_ROW = "Agent Runs and Tools"
#: The row of the SLOs' error budgets.
ERROR_BUDGETS_ROW = "Error budgets"
#: The window of the burn-rate panel: the fast page's long window.
BURN_PANEL_WINDOW = "1h"


@dataclass(frozen=True)
class Target:
    """A query written against a reader, with its legend."""

    read: Callable[[Reader], Expr]
    legend: str = ""
    instant: bool = False
    exemplar: bool = False


def _errors_in_range(reader: Reader) -> Expr:
    return q.share(reader.total(Series(ERRORS)), reader.total(q.requests()))


def _errors_by_provider(reader: Reader) -> Expr:
    by = ("provider",)
    return q.share(reader.rate(Series(ERRORS), by), reader.rate(q.requests(), by))


def _success_share(reader: Reader) -> Expr:
    return q.share(reader.rate(q.requests("success")), reader.rate(q.requests()))


def _cache_hit_share(reader: Reader) -> Expr:
    return q.hit_ratio(reader.total(Series(CACHE_HITS)), reader.total(Series(CACHE_MISSES)))


def _latency(p: float, spec: MetricSpec = REQUEST_DURATION) -> Callable[[Reader], Expr]:
    return lambda r: q.quantile(p, r.rate(Series(spec, "_bucket"), ("le",)))


def _traces(spec: MetricSpec) -> Target:
    """The exemplars (trace ids of calls) of a histogram's buckets, as points on the panel."""
    return Target(lambda _: q.exemplar_probe(Series(spec, "_bucket")), "trace", exemplar=True)


def _output_speed(p: float) -> Callable[[Reader], Expr]:
    """Output tokens per second of the stream at quantile ``p`` of time per output token."""
    return lambda r: q.per_second(_latency(p, TIME_PER_OUTPUT_TOKEN)(r))


def _reasoning_share(reader: Reader) -> Expr:
    by_model = ("model",)
    reasoning = reader.rate(q.tokens_of(TokenType.REASONING), by_model)
    return q.ratio(reasoning, reader.rate(q.tokens_of(TokenType.COMPLETION), by_model))


def _team_cost(separator: str) -> Callable[[Reader], Expr]:
    def read(reader: Reader) -> Expr:
        by_agent = q.with_team(reader.total(Series(COST), ("agent_id",)), separator)
        return by_agent.then(q.aggregate("sum", by_agent.text, ("team",)))

    return read


def _round(read: Callable[[Reader], Expr]) -> Callable[[Reader], Expr]:
    def rounded(reader: Reader) -> Expr:
        expr = read(reader)
        return expr.then(f"round({expr})")

    return rounded


def _top_spenders(reader: Reader) -> Expr:
    spent = reader.once(ATTRIBUTED_SPEND, period="month")
    return spent.then(f"sort_desc({spent})")


def _budget_steps(config: Config) -> tuple[tuple[Step, ...], str]:
    budgets = config.budgets
    daily = budgets.daily
    if daily is None:
        return (Step(GREEN, None),), "No daily budget is configured."
    steps = (
        Step(GREEN, None),
        Step(YELLOW, daily * budgets.warning_percent / 100),
        Step(RED, daily * budgets.critical_percent / 100),
    )
    note = (
        f"Yellow from {budgets.warning_percent:g}% and red from "
        f"{budgets.critical_percent:g}% of the {daily:g} USD daily budget."
    )
    return steps, note


@dataclass(frozen=True)
class PanelDraft:
    """A panel before its queries are read: its targets are reader functions."""

    panel: Panel
    targets: tuple[Target, ...]


def _draft(
    title: str,
    kind: str,
    unit: str,
    description: str,
    targets: tuple[Target, ...],
    grid: Grid,
    thresholds: tuple[Step, ...] = (),
    **drawing: Any,
) -> PanelDraft:
    return PanelDraft(
        Panel(title, kind, unit, description, (), grid, thresholds, **drawing), targets
    )


def _row(title: str, y: int) -> PanelDraft:
    """A full-width row header at height ``y``."""
    return _draft(title, "row", "", "", (), Grid(0, y, 24, 1))


def _rate_panel(
    title: str,
    description: str,
    series: Series,
    by: tuple[str, ...],
    legend: str,
    grid: Grid,
) -> PanelDraft:
    """A time series of ``series`` per second by ``by``, one line per value."""
    target = Target(lambda r: r.rate(series, by), legend)
    return _draft(title, "timeseries", REQ_PER_SEC, description, (target,), grid, minimum=0)


def _budget_left(o: Objective) -> Callable[[Reader], Expr]:
    def read(reader: Reader) -> Expr:
        return reader.slo_remaining(o.sli, o.seconds, o.budget, o.window)

    return read


def _burning(o: Objective) -> Callable[[Reader], Expr]:
    def read(reader: Reader) -> Expr:
        return reader.slo_burn(o.sli, o.seconds, o.budget, BURN_PANEL_WINDOW)

    return read


def _error_budget_rows(config: Config, y: int) -> tuple[PanelDraft, ...]:
    """The SLOs' error budgets: what is left of each, and how fast each burns."""
    objectives = config.slo.objectives
    if not objectives:
        return ()
    listed = ", ".join(f"{o.sli} {o.percent:g}% over {o.window}" for o in objectives)
    remaining = tuple(Target(_budget_left(o), o.sli, True) for o in objectives)
    burns = tuple(Target(_burning(o), o.sli) for o in objectives)
    return (
        _row(ERROR_BUDGETS_ROW, y),
        _draft(
            "Error Budget Remaining",
            "bargauge",
            PERCENT,
            f"Share of each SLO's error budget left over its window ({listed}); below 0 the "
            "objective is missed. The agent, model and provider variables do not apply: an "
            "SLO judges the whole service.",
            remaining,
            Grid(0, y + 1, 12, 8),
            (Step(RED, None), Step(YELLOW, 0), Step(GREEN, 0.25)),
            minimum=-1,
            maximum=1,
        ),
        _draft(
            "Error Budget Burn Rate",
            "timeseries",
            COUNT,
            f"How many times as fast as it lasts each SLO spends its error budget, over the "
            f"last {BURN_PANEL_WINDOW} (1: the budget lasts exactly its window). Burning "
            "above 14.4 for an hour, or 6 for six, pages; 3 for a day, or 1 for three, opens a "
            "ticket (for a 30-day window).",
            burns,
            Grid(12, y + 1, 12, 8),
            minimum=0,
        ),
    )


def drafts(config: Config) -> tuple[PanelDraft, ...]:
    """Every panel in layout order, its queries still to be read."""
    slo = config.slo
    cost_steps, budget_note = _budget_steps(config)
    return (
        _draft(
            "Total LLM Requests",
            "stat",
            COUNT,
            "Requests completed in the dashboard's time range, successful or not.",
            (Target(_round(lambda r: r.total(q.requests())), "requests", True),),
            Grid(0, 0, 6, 5),
            (Step(BLUE, None),),
            decimals=0,
        ),
        _draft(
            "Total Cost 24h",
            "stat",
            USD,
            "Spend over the last 24 hours. " + budget_note,
            (Target(lambda r: r.window(Series(COST), "24h"), "spend", True),),
            Grid(6, 0, 6, 5),
            cost_steps,
            decimals=2,
        ),
        _draft(
            "Cache Hit Rate",
            "gauge",
            PERCENT,
            "Share of response-cache lookups that hit, in the time range. Red below the "
            f"{slo.cache_hit_rate_percent:g}% objective. Services without a cache show no value.",
            (Target(_cache_hit_share, "hit rate", True),),
            Grid(12, 0, 6, 5),
            (Step(RED, None), Step(GREEN, slo.cache_hit_rate_percent / 100)),
            minimum=0,
            maximum=1,
        ),
        _draft(
            "Error Rate",
            "stat",
            PERCENT,
            "Share of requests that failed, in the time range. Red above the "
            f"{slo.error_rate_percent:g}% objective.",
            (Target(_errors_in_range, "error rate", True),),
            Grid(18, 0, 6, 5),
            (Step(GREEN, None), Step(RED, slo.error_rate_percent / 100)),
            decimals=2,
        ),
        _draft(
            "Requests per Agent",
            "timeseries",
            REQ_PER_SEC,
            f"Requests per second by agent: the {BUSIEST_AGENTS} agents with the most requests "
            "over the last 24 hours (of the model or provider chosen alone), or the agents "
            "chosen with the agent_id variable.",
            (
                Target(
                    lambda r: r.busiest_rate(q.requests(), "agent_id", BUSIEST_AGENTS),
                    "{{agent_id}}",
                ),
            ),
            Grid(0, 5, 12, 8),
            minimum=0,
        ),
        _draft(
            "Cost per Team",
            "piechart",
            USD,
            f"Spend in the time range by team (the agent id up to the first "
            f"'{config.team_separator}').",
            (Target(_team_cost(config.team_separator), "{{team}}", True),),
            Grid(12, 5, 12, 8),
        ),
        _draft(
            "Request Latency Distribution",
            "timeseries",
            SECONDS,
            f"p50, p90 and p99 latency of answered requests; the p99 objective is below "
            f"{slo.p99_latency_seconds:g} s. Failed requests are timed apart: p99 of failed.",
            (
                *(Target(_latency(p), f"p{round(p * 100)}") for p in (0.5, 0.9, 0.99)),
                Target(_latency(0.99, FAILED_REQUEST_DURATION), "p99 of failed"),
                _traces(REQUEST_DURATION),
            ),
            Grid(0, 13, 12, 8),
            minimum=0,
        ),
        _draft(
            "Token Usage by Model",
            "timeseries",
            TOKENS_PER_SEC,
            "Tokens per second by model, stacked: prompt plus completion tokens. Cache-read and "
            "cache-write tokens are part of prompt tokens and are not added again.",
            (Target(lambda r: r.rate(q.tokens(), ("model",)), "{{model}}"),),
            Grid(12, 13, 12, 8),
            minimum=0,
            stacked=True,
        ),
        _draft(
            "Cache Performance",
            "timeseries",
            REQ_PER_SEC,
            "Response-cache hits and misses per second.",
            (
                Target(lambda r: r.rate(Series(CACHE_HITS)), "hits"),
                Target(lambda r: r.rate(Series(CACHE_MISSES)), "misses"),
            ),
            Grid(0, 21, 12, 8),
            minimum=0,
        ),
        _draft(
            "Error Rate by Provider",
            "timeseries",
            PERCENT,
            "Share of requests that failed, by provider.",
            (Target(_errors_by_provider, "{{provider}}"),),
            Grid(12, 21, 12, 8),
            minimum=0,
        ),
        _draft(
            "Cost Breakdown by Model",
            "bargauge",
            USD,
            "Spend in the time range by model.",
            (Target(lambda r: r.total(Series(COST), ("model",)), "{{model}}", True),),
            Grid(0, 29, 8, 8),
            (Step(BLUE, None),),
            minimum=0,
        ),
        _draft(
            "Active Requests",
            "timeseries",
            REQUESTS_UNIT,
            f"Requests in flight by agent and provider: the {BUSIEST_AGENTS} agents with the most "
            "requests over the last 24 hours (of the provider chosen alone), or the agents "
            "chosen with the agent_id variable.",
            (
                Target(
                    lambda r: r.busiest_gauge(
                        ACTIVE_REQUESTS, ("agent_id", "provider"), BUSIEST_AGENTS
                    ),
                    "{{agent_id}} / {{provider}}",
                ),
            ),
            Grid(8, 29, 8, 8),
            minimum=0,
        ),
        _draft(
            "Request Success Rate",
            "timeseries",
            PERCENT,
            f"Share of requests that succeeded. The objective is {slo.success_rate_percent:g}%.",
            (Target(_success_share, "success rate"),),
            Grid(16, 29, 8, 8),
        ),
        _row(COMPLETENESS_ROW, 37),
        _draft(
            "Requests Recorded at 0 USD",
            "timeseries",
            REQ_PER_SEC,
            "Requests whose spend is not known, so the cost panels under-count while this is "
            "above zero: models with no known price (add them to a price file), and calls that "
            "ended without usage (by reason: not_reported, stream_closed when the caller stopped "
            "reading a stream before its usage came, stream_error).",
            (
                Target(
                    lambda r: r.rate(Series(UNPRICED_REQUESTS), ("model", "provider")),
                    "unpriced: {{model}} ({{provider}})",
                ),
                Target(
                    lambda r: r.rate(Series(USAGE_MISSING), ("reason",)), "no usage: {{reason}}"
                ),
            ),
            Grid(0, 38, 12, 7),
            minimum=0,
        ),
        _draft(
            "Folded, Rejected and Dropped Records",
            "timeseries",
            RECORDS_PER_SEC,
            "Records whose label value was folded into __overflow__ (by label), records "
            "rejected for bad input (by reason), and cost entries the cost tracker could not "
            "store (by reason): the numbers above, or the tracker's spend, miss what shows here.",
            (
                Target(lambda r: r.rate(Series(LABEL_OVERFLOW), ("label",)), "folded {{label}}"),
                Target(
                    lambda r: r.rate(Series(INVALID_RECORDS), ("reason",)), "rejected: {{reason}}"
                ),
                Target(
                    lambda r: r.rate(Series(COST_RECORDS_DROPPED), ("reason",)),
                    "cost entries dropped: {{reason}}",
                ),
            ),
            Grid(12, 38, 12, 7),
            minimum=0,
        ),
        _row(BUDGETS_ROW, 45),
        _draft(
            "Budget Used",
            "bargauge",
            PERCENT,
            "Share of each budget its calendar period has spent, as the cost tracker exports it "
            "(llm_budget_spent_usd of llm_budget_limit_usd, once however many replicas). "
            f"Yellow from {config.budgets.warning_percent:g}%, red from "
            f"{config.budgets.critical_percent:g}%. The agent, model and provider variables do "
            "not apply.",
            (Target(lambda r: r.budget_used(), "{{scope}} {{name}} per {{period}}", True),),
            Grid(0, 46, 8, 8),
            (
                Step(GREEN, None),
                Step(YELLOW, config.budgets.warning_percent / 100),
                Step(RED, config.budgets.critical_percent / 100),
            ),
            minimum=0,
            maximum=1,
        ),
        _draft(
            "Top Spenders this Month",
            "bargauge",
            USD,
            "The customers, users, features (each attribution tag) that spent most in the "
            "current calendar month, as the cost tracker exports them (llm_attributed_spend_usd: "
            "the ten biggest values of each tag key, once however many replicas). Every value is "
            "in the cost store: obsgen costs --by customer, or a chargeback report. The agent, "
            "model and provider variables do not apply.",
            (Target(_top_spenders, "{{tag}} {{value}}", True),),
            Grid(8, 46, 8, 8),
            (Step(BLUE, None),),
            minimum=0,
        ),
        _rate_panel(
            "Calls Refused by Budgets",
            "Calls an enforced budget or a run's cap refused before they were made, per second, "
            "by what refused them: a budget's scope (global, team, agent, an attribution tag "
            "such as customer, run) and period.",
            Series(BUDGET_REFUSALS),
            ("scope", "period"),
            "{{scope}} per {{period}}",
            Grid(16, 46, 8, 8),
        ),
        _row(STREAMING_ROW, 54),
        _draft(
            "Time to First Token",
            "timeseries",
            SECONDS,
            "p50, p95 and p99 of the time from a streamed call's start to its first output "
            f"chunk. The p95 objective is below {slo.p95_time_to_first_token_seconds:g} s.",
            (
                *(
                    Target(_latency(p, TIME_TO_FIRST_TOKEN), f"p{round(p * 100)}")
                    for p in (0.5, 0.95, 0.99)
                ),
                _traces(TIME_TO_FIRST_TOKEN),
            ),
            Grid(0, 55, 12, 8),
            minimum=0,
        ),
        _draft(
            "Output Speed",
            "timeseries",
            TOKENS_PER_SEC,
            "Output tokens per second of streamed calls after their first token, of streams "
            "read to their end: the median stream, and the slowest 5% (from the p50 and p95 of "
            "llm_time_per_output_token_seconds).",
            (
                Target(_output_speed(0.5), "median"),
                Target(_output_speed(0.95), "slowest 5%"),
            ),
            Grid(12, 55, 12, 8),
            minimum=0,
        ),
        _draft(
            "Retries and 429s",
            "timeseries",
            REQ_PER_SEC,
            "Attempts the SDKs made again on their own, by provider, and the 429 and 5xx "
            "responses to attempts, by code, per second: counted even when a later attempt "
            "succeeded.",
            (
                Target(lambda r: r.rate(Series(RETRIES), ("provider",)), "retries: {{provider}}"),
                Target(lambda r: r.rate(Series(FAILED_ATTEMPTS), ("code",)), "HTTP {{code}}"),
            ),
            Grid(0, 63, 8, 8),
            minimum=0,
        ),
        _draft(
            "Rate-Limit Headroom",
            "timeseries",
            PERCENT,
            "Share of each provider's rate limit left at its last answer (the lowest any replica "
            f"saw), by model and limit. Red below {slo.rate_limit_headroom_percent:g}%.",
            (
                Target(
                    lambda r: r.lowest(RATE_LIMIT_REMAINING),
                    "{{provider}} {{model}} {{limit}}",
                ),
            ),
            Grid(8, 63, 8, 8),
            (Step(RED, None), Step(GREEN, slo.rate_limit_headroom_percent / 100)),
            minimum=0,
            maximum=1,
        ),
        _draft(
            "Reasoning Share",
            "timeseries",
            PERCENT,
            "Share of output tokens spent on reasoning, by model (OpenAI reasoning, Anthropic "
            "thinking, Gemini thoughts): billed as output, never shown. Only models that "
            "reason have a line.",
            (Target(_reasoning_share, "{{model}}"),),
            Grid(16, 63, 8, 8),
            minimum=0,
            maximum=1,
        ),
        _row(OPERATIONS_ROW, 71),
        _rate_panel(
            "Requests by Operation",
            "Requests per second by what they asked for (the operation label): chat, "
            "embeddings, image, audio.",
            q.requests(),
            ("operation",),
            "{{operation}}",
            Grid(0, 72, 8, 8),
        ),
        _draft(
            "Cost by Operation",
            "bargauge",
            USD,
            "Spend in the time range by operation: what chat, embeddings, image and audio "
            "calls cost.",
            (Target(lambda r: r.total(Series(COST), ("operation",)), "{{operation}}", True),),
            Grid(8, 72, 8, 8),
            (Step(BLUE, None),),
            minimum=0,
        ),
        _draft(
            "Spend by Labelled Tag",
            "bargauge",
            USD,
            "Spend in the time range by the value of each attribution tag the cost tracker "
            "labels (attribution.labels: feature, environment, ...), values past a key's cap "
            "as __overflow__. The agent, model and provider variables do not apply; every tag "
            "value, labelled or not, is in the cost store (obsgen costs --by feature).",
            (
                Target(
                    lambda r: r.total(Series(TAG_COST), ("tag", "value")),
                    "{{tag}} {{value}}",
                    True,
                ),
            ),
            Grid(16, 72, 8, 8),
            (Step(BLUE, None),),
            minimum=0,
        ),
        *_agent_rows(80),
        *_error_budget_rows(config, 89),
    )


def _per_run(p: float) -> Callable[[Reader], Expr]:
    return lambda r: q.quantile(p, r.rate(Series(AGENT_RUN_COST, "_bucket"), ("agent_id", "le")))


def _tool_error_share(reader: Reader) -> Expr:
    failed = Series(TOOL_CALLS, matchers=(("status", "=", "error"),))
    return q.share(reader.rate(failed, ("tool",)), reader.rate(Series(TOOL_CALLS), ("tool",)))


def _slowest_tools(reader: Reader) -> Expr:
    return q.quantile(0.95, reader.window(Series(TOOL_DURATION, "_bucket"), "1h", ("tool", "le")))


def _agent_rows(y: int) -> tuple[PanelDraft, ...]:
    """Agent runs (``llmobs.agent_run``): how they end, what each costs, and their tools."""
    return (
        _row(AGENTS_ROW, y),
        _rate_panel(
            "Agent Runs by Outcome",
            "Agent runs ended per second: completed, failed (an exception left the run), "
            "refused (a budget or the run's own cap refused one of its calls).",
            Series(AGENT_RUNS),
            ("outcome",),
            "{{outcome}}",
            Grid(0, y + 1, 6, 8),
        ),
        _draft(
            "Cost per Run",
            "timeseries",
            USD,
            "p50 and p95 of what one agent run's LLM calls cost, by agent, over runs ended "
            "in the last 5 minutes.",
            (
                Target(_per_run(0.5), "p50 {{agent_id}}"),
                Target(_per_run(0.95), "p95 {{agent_id}}"),
            ),
            Grid(6, y + 1, 6, 8),
            minimum=0,
        ),
        _draft(
            "Tool Error Rate",
            "timeseries",
            PERCENT,
            "Share of each tool's calls that failed (raised inside run.tool()).",
            (Target(_tool_error_share, "{{tool}}"),),
            Grid(12, y + 1, 6, 8),
            minimum=0,
            maximum=1,
        ),
        _draft(
            "Slowest Tools",
            "bargauge",
            SECONDS,
            "p95 of each tool's call duration over the last hour, failed calls included.",
            (Target(_slowest_tools, "{{tool}}", True),),
            Grid(18, y + 1, 6, 8),
            (Step(BLUE, None),),
            minimum=0,
        ),
    )


def dashboard_annotations() -> tuple[Annotation, ...]:
    """Deployments (a new ``llm_build_info`` version) and budget alerts (``ALERTS``)."""
    return (
        Annotation(
            "Deployments",
            q.new_versions(BUILD_INFO),
            "Deployed {{version}}",
            "A new version of the LLM service started.",
            "version",
            "rgba(115, 191, 105, 1)",
        ),
        Annotation(
            "Budget alerts",
            q.firing(BUDGET_ALERTS),
            "{{alertname}}",
            "{{alertname}} is firing",
            "severity,scope,name,period",
            "rgba(242, 73, 92, 1)",
        ),
    )


def _without_empty_rows(panels: list[Panel]) -> tuple[Panel, ...]:
    """``panels`` less the rows no panel follows before the next row (or the end)."""
    kept = []
    for index, panel in enumerate(panels):
        following = panels[index + 1] if index + 1 < len(panels) else None
        if panel.kind == "row" and (following is None or following.kind == "row"):
            continue
        kept.append(panel)
    return tuple(kept)


def _description(config: Config, left_out: list[str]) -> str:
    described = f"Generated by obsgen from {config.source_name}; do not edit by hand."
    if not left_out:
        return described
    return (
        f"{described} Source {config.metrics_source} carries no data for: "
        f"{', '.join(left_out)}; those panels are left out."
    )


def dashboard(config: Config) -> tuple[Dashboard, frozenset[RecordingRule]]:
    """The dashboard for ``config``, and the recording rules its panels read. Panels whose
    data the config's metric source lacks are left out, and named in its description."""
    rules_reader = RuleReader(duration_seconds(config.prometheus.evaluation_interval))
    raw_reader = RawReader()
    rules: set[RecordingRule] = set()
    panels = []
    left_out = []
    for draft in drafts(config):
        exprs = [target.read(rules_reader) for target in draft.targets]
        if not all(serves(config.metrics_source, expr) for expr in exprs):
            left_out.append(draft.panel.title)
            continue
        queries = []
        for target, expr in zip(draft.targets, exprs, strict=True):
            rules |= expr.rules
            baseline = target.read(raw_reader).text
            queries.append(
                Query(expr.text, target.legend, target.instant, baseline, target.exemplar)
            )
        panels.append(replace(draft.panel, queries=tuple(queries)))
    variables = []
    for label in q.DASHBOARD_FILTERS:
        values = q.label_values(label)
        rules |= values.rules
        variables.append(Variable(label, label.replace("_", " "), values.text))
    annotations = tuple(
        a for a in dashboard_annotations() if serves(config.metrics_source, Expr(a.expr))
    )
    board = Dashboard(
        title=config.dashboard.title,
        uid=config.dashboard.uid,
        refresh=config.dashboard.refresh,
        description=_description(config, left_out),
        panels=_without_empty_rows(panels),
        variables=tuple(variables),
        annotations=annotations,
        switch_label=q.ALL_SELECTED,
        exemplar_link=_exemplar_link(config.dashboard.traces),
    )
    return board, frozenset(rules)


def _exemplar_link(traces: TraceLink | None) -> ExemplarLink | None:
    if traces is None:
        return None
    return ExemplarLink(TRACE_ID_LABEL, traces.datasource_uid, traces.url)

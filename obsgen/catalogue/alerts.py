"""The alert catalogue: every alert obsgen can generate, one entry each.

An entry names the alert and says everything about it: its rule group, severity, default
``for:``, the kind of promtool scenario that proves it, and how its rules are built from a
config (none when the config does not ask for it, several for per-team or per-agent budgets).
Adding an alert means adding one entry here and a section with its name in
``docs/runbooks.md``; the plan, the rule files, the promtool tests, the alert index and the
config's ``alerts.for`` all read this table.

Example:
    >>> [entry.name for entry in CATALOGUE if entry.group == "llm-slo"]
    ['LLMSuccessRateLow', 'LLMErrorRateHigh', 'LLMLatencyP99High', 'LLMCacheHitRateLow']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmobs.schema import (
    CACHE_HITS,
    CACHE_MISSES,
    COST,
    COST_RECORDS_DROPPED,
    ERRORS,
    INVALID_RECORDS,
    LABEL_OVERFLOW,
    REQUEST_DURATION,
    UNPRICED_REQUESTS,
    MetricSpec,
)

from . import promql as q
from .promql import Expr, Series

if TYPE_CHECKING:
    from obsgen.config import Config

SECONDS_PER_DAY = 86400
SECONDS_PER_HOUR = 3600
VALUE = '{{ $value | printf "%.2f" }}'
PERCENT = "{{ $value | humanizePercentage }}"
DURATION = "{{ $value | humanizeDuration }}"
#: Labels of the series the promtool scenarios feed to the rules.
TEST_SERIES = {"agent_id": "test.agent", "model": "gpt-4o", "provider": "openai"}


@dataclass(frozen=True)
class Scenario:
    """What a promtool test must feed an alert: the kind of input, the metric, the labels of the
    input series and of the alert, and the threshold the alert compares against."""

    kind: str
    metric: MetricSpec | None = None
    series_labels: tuple[tuple[str, str], ...] = ()
    alert_labels: tuple[tuple[str, str], ...] = ()
    threshold: float = 0.0
    reference: float = 0.0


@dataclass(frozen=True)
class Instance:
    """One rule of an alert, as a config asks for it."""

    expr: Expr
    summary: str
    description: str
    scenario: Scenario
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AlertEntry:
    """One alert of the catalogue."""

    name: str
    group: str
    severity: str
    default_for: str
    instances: Callable[[Config], list[Instance]]


def template_text(text: str) -> str:
    """``text`` for an annotation, which Prometheus runs as a Go template: text with a brace
    becomes an action printing it as a string literal, so a name is shown, never run."""
    if "{" not in text and "}" not in text:
        return text
    return "{{ " + q.string_literal(text) + " }}"


# -- budgets ----------------------------------------------------------------------------------


def _spend(window: str, by: tuple[str, ...] = (), **where: str) -> Expr:
    return q.recorded("increase", Series(COST), window, by, **where)


def _budget_instance(
    config: Config,
    warning: bool,
    spend: Expr,
    budget: float,
    window: str,
    scope: str,
    series_labels: dict[str, str] | None = None,
    alert_labels: tuple[tuple[str, str], ...] = (),
    labels: tuple[tuple[str, str], ...] = (),
) -> Instance:
    budgets = config.budgets
    percent = budgets.warning_percent if warning else budgets.critical_percent
    threshold = budget * percent / 100
    return Instance(
        expr=spend.then(f"{spend} > {q.number(threshold)}"),
        summary=f"LLM spend passed {percent:g}% of the {template_text(scope)} budget",
        description=(
            f"{window} spend{{{{ with $labels.team }}}} of team {{{{ . }}}}{{{{ end }}}}"
            f"{{{{ with $labels.agent_id }}}} of agent {{{{ . }}}}{{{{ end }}}} is {VALUE} USD, "
            f"over {q.number(threshold)} USD ({percent:g}% of the {budget:g} USD budget)."
        ),
        scenario=Scenario(
            "spend_step",
            COST,
            tuple(sorted((series_labels or TEST_SERIES).items())),
            alert_labels,
            threshold,
        ),
        labels=labels,
    )


def _total_budget(
    amount: Callable[[Config], float | None], window: str, label: str, scope: str, warning: bool
) -> Callable[[Config], list[Instance]]:
    def instances(config: Config) -> list[Instance]:
        budget = amount(config)
        if budget is None:
            return []
        return [_budget_instance(config, warning, _spend(window), budget, label, scope)]

    return instances


def _team_budgets(warning: bool) -> Callable[[Config], list[Instance]]:
    def instances(config: Config) -> list[Instance]:
        result = []
        for team, amount in config.budgets.teams:
            teams = q.team_rule(_spend("24h", ("agent_id",)), config.team_separator)
            spend = teams.then(f"{teams}{{team={q.string_literal(team)}}}")
            agent = f"{team}{config.team_separator}agent"
            result.append(
                _budget_instance(
                    config,
                    warning,
                    spend,
                    amount,
                    "24 h",
                    f"{team} team daily",
                    series_labels={**TEST_SERIES, "agent_id": agent},
                    alert_labels=(("team", team),),
                    labels=(("budget_scope", "team"), ("team", template_text(team))),
                )
            )
        return result

    return instances


def _agent_budgets(warning: bool) -> Callable[[Config], list[Instance]]:
    def instances(config: Config) -> list[Instance]:
        return [
            _budget_instance(
                config,
                warning,
                _spend("24h", agent_id=agent),
                amount,
                "24 h",
                f"{agent} agent daily",
                series_labels={**TEST_SERIES, "agent_id": agent},
                alert_labels=(("agent_id", agent),),
                labels=(("budget_scope", "agent"), ("agent_id", template_text(agent))),
            )
            for agent, amount in config.budgets.agents
        ]

    return instances


def _forecast(config: Config) -> list[Instance]:
    daily = config.budgets.daily
    if daily is None:
        return []
    spend, burn = _spend("24h"), q.recorded("rate", Series(COST), "1h")
    until_midnight = f"({SECONDS_PER_DAY} - time() % {SECONDS_PER_DAY})"
    text = (
        f"({spend} + {burn} * {until_midnight}) > {q.number(daily)}\n"
        f"and\n{spend} <= {q.number(daily)}"
    )
    return [
        Instance(
            expr=q.combine(text, spend, burn),
            summary="LLM spend is on course to exhaust the daily budget before midnight UTC",
            description=(
                f"At the last hour's burn rate, spend reaches {VALUE} USD by midnight "
                f"UTC, over the {daily:g} USD daily budget."
            ),
            scenario=Scenario("forecast", COST, tuple(sorted(TEST_SERIES.items())), (), daily),
        )
    ]


def _spend_anomaly(config: Config) -> list[Instance]:
    daily, factor = config.budgets.daily, config.budgets.anomaly_factor
    if daily is None or factor is None:
        return []
    floor = daily / 100  # an hour at 1% of the daily budget: below that, no anomaly is worth it
    burn = q.recorded("rate", Series(COST), "1h")
    hourly = f"{burn} * {SECONDS_PER_HOUR}"
    text = (
        f"{hourly}\n> {q.number(factor)} * ({burn} offset 1w) * {SECONDS_PER_HOUR}\n"
        f"and\n{hourly} > {q.number(floor)}"
    )
    return [
        Instance(
            expr=burn.then(text),
            summary="LLM spend rate is far above the same hour last week",
            description=(
                f"Spend over the last hour runs at {VALUE} USD/h, more than {factor:g} times "
                "the same hour a week ago."
            ),
            scenario=Scenario(
                "anomaly", COST, tuple(sorted(TEST_SERIES.items())), (), factor, floor
            ),
        )
    ]


# -- service level objectives ------------------------------------------------------------------


def _by_provider(series: Series) -> Expr:
    return q.rate(series, ("provider",))


def _request_share(
    part: Series,
    percent: Callable[[Config], float],
    too_low: bool,
    kind: str,
    what: str,
    outcome: str,
) -> Callable[[Config], list[Instance]]:
    """An SLO on the share of requests to a provider that ``part`` counts: too low (success)
    or too high (errors)."""

    def instances(config: Config) -> list[Instance]:
        objective = percent(config)
        rate = q.share(_by_provider(part), _by_provider(q.requests()))
        side, objective_text = (
            ("below", f"{objective:g}%")
            if too_low
            else (
                "above",
                f"below {objective:g}%",
            )
        )
        return [
            Instance(
                expr=q.compare(rate, "<" if too_low else ">", objective / 100),
                summary=f"LLM {what} is {side} {objective:g}%",
                description=(
                    f"{PERCENT} of requests to {{{{ $labels.provider }}}} {outcome} over "
                    f"5 minutes; the objective is {objective_text}."
                ),
                scenario=Scenario(
                    kind,
                    alert_labels=(("provider", TEST_SERIES["provider"]),),
                    threshold=objective / 100,
                ),
            )
        ]

    return instances


def _latency(config: Config) -> list[Instance]:
    objective = config.slo.p99_latency_seconds
    buckets = q.rate(Series(REQUEST_DURATION, "_bucket"), ("le", "model", "provider"))
    return [
        Instance(
            expr=q.compare(q.quantile(0.99, buckets), ">", objective),
            summary=f"LLM p99 latency is above {objective:g} s",
            description=(
                "p99 latency of {{ $labels.model }} at {{ $labels.provider }} is "
                f"{DURATION}; the objective is below {objective:g} s."
            ),
            scenario=Scenario(
                "latency",
                REQUEST_DURATION,
                tuple(sorted(TEST_SERIES.items())),
                (("model", TEST_SERIES["model"]), ("provider", TEST_SERIES["provider"])),
                objective,
            ),
        )
    ]


def _cache(config: Config) -> list[Instance]:
    objective = config.slo.cache_hit_rate_percent
    hits = q.rate(Series(CACHE_HITS), ("agent_id",))
    misses = q.rate(Series(CACHE_MISSES), ("agent_id",))
    rate = q.hit_ratio(hits, misses)
    return [
        Instance(
            expr=q.compare(rate, "<", objective / 100),
            summary=f"LLM response-cache hit rate is below {objective:g}%",
            description=(
                f"Agent {{{{ $labels.agent_id }}}} hits its response cache on {PERCENT} "
                f"of lookups; the objective is above {objective:g}%."
            ),
            scenario=Scenario(
                "cache_share",
                alert_labels=(("agent_id", TEST_SERIES["agent_id"]),),
                threshold=objective / 100,
            ),
        )
    ]


# -- telemetry health --------------------------------------------------------------------------


def _down(config: Config) -> list[Instance]:
    job = config.prometheus.scrape.job_name
    return [
        Instance(
            expr=Expr(f"up{{job={q.string_literal(job)}}} == 0"),
            summary="Prometheus cannot scrape the LLM service's metrics",
            description="Target {{ $labels.instance }} of job {{ $labels.job }} is down: "
            "no LLM requests, costs or errors are being recorded from it.",
            scenario=Scenario(
                "target_down", alert_labels=(("instance", "localhost:8000"), ("job", job))
            ),
        )
    ]


def _counted(
    spec: MetricSpec, by: tuple[str, ...], example: dict[str, str], summary: str, description: str
) -> Callable[[Config], list[Instance]]:
    def instances(config: Config) -> list[Instance]:
        labels = tuple(sorted(example.items()))
        return [
            Instance(
                expr=q.compare(q.raw_increase(Series(spec), "1h", by), ">", 0),
                summary=summary,
                description=description,
                scenario=Scenario("counted", spec, labels, labels),
            )
        ]

    return instances


BUDGET, SLO, TELEMETRY = "llm-budget", "llm-slo", "llm-telemetry"


def _budget_pair(
    name: str, amount: Callable[[Config], float | None], window: str, label: str, scope: str
) -> list[AlertEntry]:
    return [
        AlertEntry(
            f"LLM{name}BudgetWarning",
            BUDGET,
            "warning",
            "5m",
            _total_budget(amount, window, label, scope, True),
        ),
        AlertEntry(
            f"LLM{name}BudgetExceeded",
            BUDGET,
            "critical",
            "1m",
            _total_budget(amount, window, label, scope, False),
        ),
    ]


CATALOGUE: tuple[AlertEntry, ...] = (
    *_budget_pair("Daily", lambda c: c.budgets.daily, "24h", "24 h", "daily"),
    AlertEntry("LLMDailyBudgetForecast", BUDGET, "warning", "15m", _forecast),
    AlertEntry("LLMSpendAnomaly", BUDGET, "warning", "30m", _spend_anomaly),
    *_budget_pair("Weekly", lambda c: c.budgets.weekly, "7d", "7-day", "weekly"),
    *_budget_pair("Monthly", lambda c: c.budgets.monthly, "30d", "30-day", "monthly"),
    AlertEntry("LLMTeamDailyBudgetWarning", BUDGET, "warning", "5m", _team_budgets(True)),
    AlertEntry("LLMTeamDailyBudgetExceeded", BUDGET, "critical", "1m", _team_budgets(False)),
    AlertEntry("LLMAgentDailyBudgetWarning", BUDGET, "warning", "5m", _agent_budgets(True)),
    AlertEntry("LLMAgentDailyBudgetExceeded", BUDGET, "critical", "1m", _agent_budgets(False)),
    AlertEntry(
        "LLMSuccessRateLow",
        SLO,
        "critical",
        "10m",
        _request_share(
            q.requests("success"),
            lambda c: c.slo.success_rate_percent,
            True,
            "success_share",
            "request success rate",
            "succeeded",
        ),
    ),
    AlertEntry(
        "LLMErrorRateHigh",
        SLO,
        "warning",
        "5m",
        _request_share(
            Series(ERRORS),
            lambda c: c.slo.error_rate_percent,
            False,
            "error_share",
            "error rate",
            "failed",
        ),
    ),
    AlertEntry("LLMLatencyP99High", SLO, "warning", "10m", _latency),
    AlertEntry("LLMCacheHitRateLow", SLO, "info", "30m", _cache),
    AlertEntry("LLMMetricsDown", TELEMETRY, "critical", "5m", _down),
    AlertEntry(
        "LLMUnpricedRequests",
        TELEMETRY,
        "warning",
        "15m",
        _counted(
            UNPRICED_REQUESTS,
            ("model", "provider"),
            {"model": "my-llama", "provider": "vllm"},
            "LLM requests of a model with no known price: spend is under-counted",
            f"{VALUE} requests of {{{{ $labels.model }}}} ({{{{ $labels.provider }}}}) in the "
            "last hour were recorded at 0 USD.",
        ),
    ),
    AlertEntry(
        "LLMLabelOverflow",
        TELEMETRY,
        "warning",
        "15m",
        _counted(
            LABEL_OVERFLOW,
            ("label",),
            {"label": "agent_id"},
            "LLM metric label values are being folded into __overflow__",
            f"{VALUE} records in the last hour had their {{{{ $labels.label }}}} folded: the "
            "label reached its cap on distinct values.",
        ),
    ),
    AlertEntry(
        "LLMInvalidRecords",
        TELEMETRY,
        "warning",
        "15m",
        _counted(
            INVALID_RECORDS,
            ("reason",),
            {"reason": "negative_tokens"},
            "The LLM service sends telemetry that llmobs rejects",
            f"{VALUE} records were rejected in the last hour for {{{{ $labels.reason }}}}.",
        ),
    ),
    AlertEntry(
        "LLMCostRecordsDropped",
        TELEMETRY,
        "warning",
        "5m",
        _counted(
            COST_RECORDS_DROPPED,
            ("reason",),
            {"reason": "queue_full"},
            "The cost tracker is losing cost entries: its spend and budgets under-count",
            f"{VALUE} cost entries were dropped in the last hour ({{{{ $labels.reason }}}}).",
        ),
    ),
)
#: The names of every alert, for config validation (``alerts.for``).
ALERT_NAMES: tuple[str, ...] = tuple(entry.name for entry in CATALOGUE)
#: Rule groups in file order.
GROUPS: tuple[str, ...] = (BUDGET, SLO, TELEMETRY)
#: Budget alerts, by name, for the dashboard's annotation.
BUDGET_ALERTS: tuple[str, ...] = tuple(e.name for e in CATALOGUE if e.group == BUDGET)

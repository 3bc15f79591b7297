"""The alert catalogue: every alert obsgen can generate, one entry each.

An entry names the alert and says everything about it: its rule group, severity, default
``for:``, the kind of promtool scenario that proves it, and how its rules are built from a
config (none when the config does not ask for it).
Adding an alert means adding one entry here and a section with its name in ``runbooks.md``
beside this module (which ``obsgen build`` writes to ``docs/runbooks.md``); the plan, the rule
files, the promtool tests, the alert index and the config's ``alerts.for`` all read this table.

Example:
    >>> [entry.name for entry in CATALOGUE if entry.group == "llm-slo"][:3]
    ['LLMSuccessRateLow', 'LLMErrorRateHigh', 'LLMLatencyP99High']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from llmobs.configfile import Limit
from llmobs.enforcement import GLOBAL_NAME, Scope
from llmobs.errors import Reason
from llmobs.periods import Period
from llmobs.schema import (
    AGENT_RUN_COST,
    AGENT_RUN_STEPS,
    BUDGET_LABELS,
    BUDGET_LIMIT,
    BUDGET_REFUSALS,
    BUDGET_SPENT,
    CACHE_HITS,
    CACHE_MISSES,
    COST,
    COST_RECORDS_DROPPED,
    ERRORS,
    INVALID_RECORDS,
    LABEL_OVERFLOW,
    PRICE_DATA_TIME,
    RATE_LIMIT_REMAINING,
    REQUEST_DURATION,
    TIME_TO_FIRST_TOKEN,
    UNPRICED_REQUESTS,
    USAGE_MISSING,
    MetricSpec,
)
from obsgen.config.model import OTEL_GENAI, ROUTE_KINDS
from obsgen.config.validation import duration_seconds as seconds_of

from . import promql as q
from .otel_genai import target_absent
from .promql import Expr, Series

if TYPE_CHECKING:
    from obsgen.config import Config

VALUE = '{{ $value | printf "%.2f" }}'
PERCENT = "{{ $value | humanizePercentage }}"
DURATION = "{{ $value | humanizeDuration }}"
#: Labels of the series the promtool scenarios feed to the rules.
TEST_SERIES = {"agent_id": "test.agent", "model": "gpt-4o", "provider": "openai"}


#: A configured budget, for the scenarios of the budget alerts: its labels and USD.
ConfiguredBudget = tuple[tuple[tuple[str, str], ...], float]


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
    #: The configured budgets' labels (scope, name, period) and USD, for budget scenarios.
    budgets: tuple[ConfiguredBudget, ...] = ()
    #: Labels of input series the alert must ignore however much they count.
    ignored: tuple[tuple[str, str], ...] = ()
    #: For burn-rate scenarios: the SLI's error budget and latency bound, and every window
    #: pair of the alert (long, short, factor, least events a second), the alert's own first.
    budget: float = 0.0
    seconds: float | None = None
    burns: tuple[tuple[str, str, float, float], ...] = ()


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
# The budget alerts read the gauges the cost tracker exports from the cost store (one value per
# budget, whatever the replicas), so they mean the calendar period the tracker enforces.

#: The burn rate each period's forecast extrapolates: recent enough to react, long enough not
#: to project one busy minute over a month.
FORECAST_WINDOWS = ((Period.DAY, "1h"), (Period.WEEK, "6h"), (Period.MONTH, "1d"))
#: Labels of the budget the promtool scenarios feed to the budget rules.
TEST_BUDGET = {"scope": Scope.GLOBAL.value, "name": GLOBAL_NAME, "period": Period.DAY.value}
BUDGET_NAMED = "the {{ $labels.scope }} budget {{ $labels.name }}"


def _budget_used(warning: bool) -> Callable[[Config], list[Instance]]:
    def instances(config: Config) -> list[Instance]:
        budgets = config.budgets
        percent = budgets.warning_percent if warning else budgets.critical_percent
        return [
            Instance(
                expr=q.compare(q.budget_used(), ">", percent / 100),
                summary=f"LLM spend passed {percent:g}% of a budget",
                description=(
                    f"This {{{{ $labels.period }}}}'s spend is {PERCENT} of the limit of "
                    f"{BUDGET_NAMED}, over {percent:g}%."
                ),
                scenario=Scenario(
                    "budget_share",
                    alert_labels=tuple(sorted(TEST_BUDGET.items())),
                    threshold=percent / 100,
                    budgets=_configured(_tag_limits(config)),
                ),
            )
        ]

    return instances


def _forecast(config: Config) -> list[Instance]:
    spent, limit = q.budget_gauge(BUDGET_SPENT), q.budget_gauge(BUDGET_LIMIT)
    projected = q.budget_forecast((period.value, window) for period, window in FORECAST_WINDOWS)
    return [
        Instance(
            expr=q.forecast_over_limit(projected, spent, limit),
            summary="LLM spend is on course to exhaust a budget before its period ends",
            description=(
                f"At its recent burn rate, spend reaches {VALUE} USD by the end of this "
                f"{{{{ $labels.period }}}}, over the limit of {BUDGET_NAMED}."
            ),
            scenario=Scenario("budget_forecast", alert_labels=tuple(sorted(TEST_BUDGET.items()))),
        )
    ]


def _tag_limits(config: Config) -> tuple[Limit, ...]:
    """The budgets of named tag values (a customer's), exported under their own names."""
    return tuple(b for b in config.budgets.limits() if b.tag is not None and b.exported)


def _budget_labels(limit: Limit) -> dict[str, str]:
    return {"scope": limit.scope_label, "name": limit.name, "period": limit.period.value}


def _configured(limits: tuple[Limit, ...]) -> tuple[ConfiguredBudget, ...]:
    return tuple((tuple(sorted(_budget_labels(limit).items())), limit.usd) for limit in limits)


def _not_exported(config: Config) -> list[Instance]:
    limits = tuple(limit for limit in config.budgets.limits() if limit.exported)
    if not limits:
        return []
    absent = q.budget_absent(_budget_labels(limit) for limit in limits)
    job = config.prometheus.scrape.job_name
    return [
        Instance(
            expr=q.while_scraped(absent, job),
            summary="A budget of the config is not exported: its alerts cannot fire",
            description=(
                f"No replica exports {BUDGET_NAMED} per {{{{ $labels.period }}}}, which "
                f"{config.source_name} sets: its spend is neither alerted on nor enforced."
            ),
            scenario=Scenario(
                "budget_absent", series_labels=(("job", job),), budgets=_configured(limits)
            ),
        )
    ]


def _limit_differs(config: Config) -> list[Instance]:
    limits = tuple(limit for limit in config.budgets.limits() if limit.exported)
    if not limits:
        return []
    return [
        Instance(
            expr=q.budget_limit_differs((_budget_labels(limit), limit.usd) for limit in limits),
            summary="A replica enforces a budget limit other than the config's",
            description=(
                f"{{{{ $labels.instance }}}} sets {BUDGET_NAMED} per {{{{ $labels.period }}}} "
                f"at {VALUE} USD, not at what {config.source_name} says: it runs with another "
                "config."
            ),
            scenario=Scenario(
                "budget_mismatch",
                series_labels=(("job", config.prometheus.scrape.job_name),),
                budgets=_configured(limits),
            ),
        )
    ]


def _spend_anomaly(config: Config) -> list[Instance]:
    daily, factor = config.budgets.daily, config.budgets.anomaly_factor
    if daily is None or factor is None:
        return []
    floor = daily / 100  # an hour at 1% of the daily budget: below that, no anomaly is worth it
    return [
        Instance(
            expr=q.hourly_rate_jump(Series(COST), factor, floor),
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


def _quantile_objective(
    spec: MetricSpec,
    q_value: float,
    objective: Callable[[Config], float],
    summary: str,
) -> Callable[[Config], list[Instance]]:
    """An SLO on a quantile of a histogram of seconds, by model and provider."""

    def instances(config: Config) -> list[Instance]:
        seconds = objective(config)
        buckets = q.rate(Series(spec, "_bucket"), ("le", "model", "provider"))
        percentile = f"p{round(q_value * 100)}"
        return [
            Instance(
                expr=q.compare(q.quantile(q_value, buckets), ">", seconds),
                summary=f"{summary} is above {seconds:g} s",
                description=(
                    f"{percentile} of {{{{ $labels.model }}}} at {{{{ $labels.provider }}}} is "
                    f"{DURATION}; the objective is below {seconds:g} s."
                ),
                scenario=Scenario(
                    "latency",
                    spec,
                    tuple(sorted(TEST_SERIES.items())),
                    (("model", TEST_SERIES["model"]), ("provider", TEST_SERIES["provider"])),
                    seconds,
                    q_value,
                ),
            )
        ]

    return instances


def _headroom(config: Config) -> list[Instance]:
    percent = config.slo.rate_limit_headroom_percent
    labels = (("limit", "tokens"), ("model", TEST_SERIES["model"]), ("provider", "openai"))
    return [
        Instance(
            expr=q.compare(q.lowest(RATE_LIMIT_REMAINING), "<", percent / 100),
            summary=f"Less than {percent:g}% of a provider's rate limit is left",
            description=(
                f"Only {PERCENT} of the {{{{ $labels.limit }}}} rate limit of "
                "{{ $labels.model }} at {{ $labels.provider }} is left: calls will soon be "
                "refused with 429."
            ),
            scenario=Scenario(
                "headroom", RATE_LIMIT_REMAINING, labels, labels, threshold=percent / 100
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


# -- error budgets ------------------------------------------------------------------------------
# Multi-window, multi-burn-rate alerts, as the SRE workbook writes them: a pair of windows alerts
# when both burn the error budget more than ``factor`` times as fast as the SLO window allows,
# ``factor`` being the share of the budget the long window would spend, scaled to that window.
# The short window makes an alert end soon after the burn does.


@dataclass(frozen=True)
class BurnWindows:
    """A long and a short window, and the share of the error budget the long one spends."""

    long: str
    short: str
    budget_share: float

    def factor(self, slo_window: str) -> float:
        """The burn rate at which the long window spends its share of a ``slo_window`` budget."""
        return round(self.budget_share * seconds_of(slo_window) / seconds_of(self.long), 6)

    def min_rate(self, budget: float, factor: float) -> float:
        """The fewest events a second over the long window at which one bad event stays under
        ``factor``: below it, a single failure would be enough to alert."""
        return float(f"{1 / (factor * budget * seconds_of(self.long)):.3g}")


#: Page: 2% of the budget in an hour, or 5% in six. Ticket: 10% in a day, or in three.
PAGE_BURNS = (BurnWindows("1h", "5m", 0.02), BurnWindows("6h", "30m", 0.05))
TICKET_BURNS = (BurnWindows("1d", "2h", 0.10), BurnWindows("3d", "6h", 0.10))
SLI_NAMES = {
    "availability": "requests that succeed",
    "latency": "answered requests within {seconds:g} s",
    "time_to_first_token": "streamed answers whose first token comes within {seconds:g} s",
}


def _burn(pairs: tuple[BurnWindows, ...], how: str) -> Callable[[Config], list[Instance]]:
    def instances(config: Config) -> list[Instance]:
        found = []
        for objective in config.slo.objectives:
            sli, seconds, budget = objective.sli, objective.seconds, objective.budget
            burns = [
                (w.long, w.short, factor, w.min_rate(budget, factor))
                for w in pairs
                for factor in [w.factor(objective.window)]
            ]
            what = SLI_NAMES[sli].format(seconds=seconds or 0)
            for index, (long, short, factor, min_rate) in enumerate(burns):
                found.append(
                    Instance(
                        expr=q.burning(sli, seconds, budget, (long, short), factor, min_rate),
                        summary=f"An LLM error budget is burning {how}",
                        description=(
                            f"The {sli} SLO ({objective.percent:g}% of {what} over "
                            f"{objective.window}) spent its error budget {VALUE} times as fast "
                            f"as it lasts over the last {long} (and {short}); above "
                            f"{factor:g} the budget is gone in "
                            f"{seconds_of(objective.window) / factor / 86400:.3g} days."
                        ),
                        scenario=Scenario(
                            "burn_rate",
                            alert_labels=(("long_window", long), ("short_window", short)),
                            series_labels=(("sli", sli),),
                            threshold=factor,
                            budget=budget,
                            seconds=seconds,
                            burns=tuple([burns[index], *burns[:index], *burns[index + 1 :]]),
                        ),
                        labels=(("long_window", long), ("short_window", short), ("sli", sli)),
                    )
                )
        return found

    return instances


# -- telemetry health --------------------------------------------------------------------------


def _down(config: Config) -> list[Instance]:
    job = config.prometheus.scrape.job_name
    if config.metrics_source == OTEL_GENAI:
        return [
            Instance(
                expr=target_absent(job),
                summary="No OpenTelemetry resource of the LLM service is reported",
                description=f"No target of job {job} exports target_info (a scraped one "
                "answers no more, a pushed one was not heard from in 5 minutes): no LLM requests "
                "or errors are being recorded from it.",
                scenario=Scenario("target_absent", alert_labels=(("job", job),)),
            )
        ]
    return [
        Instance(
            expr=q.scrape_down(job),
            summary="Prometheus cannot scrape the LLM service's metrics",
            description="Target {{ $labels.instance }} of job {{ $labels.job }} is down: "
            "no LLM requests, costs or errors are being recorded from it.",
            scenario=Scenario(
                "target_down", alert_labels=(("instance", "localhost:8000"), ("job", job))
            ),
        )
    ]


def _stale_prices(config: Config) -> list[Instance]:
    days = config.prices.max_age_days
    return [
        Instance(
            expr=q.compare(q.age_of_oldest(PRICE_DATA_TIME), ">", days * 86400),
            summary="The model prices an LLM service uses are old: its spend may be wrong",
            description=f"The oldest prices a replica uses were fetched {DURATION} ago (more "
            f"than {days} days): new models go unpriced and price changes are missed. Run "
            "obsgen prices update.",
            scenario=Scenario("stale", PRICE_DATA_TIME, threshold=days * 86400),
        )
    ]


def _counted(
    spec: MetricSpec,
    by: tuple[str, ...],
    example: dict[str, str],
    summary: str,
    description: str,
    matchers: tuple[tuple[str, str, str], ...] = (),
) -> Callable[[Config], list[Instance]]:
    def instances(config: Config) -> list[Instance]:
        labels = tuple(sorted(example.items()))
        return [
            Instance(
                expr=q.compare(q.raw_increase(Series(spec, matchers=matchers), "1h", by), ">", 0),
                summary=summary,
                description=description,
                scenario=Scenario(
                    "counted",
                    spec,
                    labels,
                    labels,
                    ignored=tuple((label, value) for label, op, value in matchers if op == "!="),
                ),
            )
        ]

    return instances


def _runaway(
    spec: MetricSpec, bound: Callable[[Config], float | None], what: str, unit: str
) -> Callable[[Config], list[Instance]]:
    """Agent runs that ended past ``bound`` of ``spec`` (a histogram of one value per run) in
    the last hour, by agent."""

    def instances(config: Config) -> list[Instance]:
        limit = bound(config)
        if limit is None:
            return []
        return [
            Instance(
                expr=q.compare(q.runs_above(spec, limit, RUNAWAY_WINDOW), ">", 0),
                summary=f"Agent runs of {{{{ $labels.agent_id }}}} ran past {limit:g} {unit}",
                description=f"Runs of agent {{{{ $labels.agent_id }}}} ended in the last "
                f"{RUNAWAY_WINDOW} with {what} above {limit:g} {unit}: a loop that does not "
                "stop, or a task far larger than planned.",
                scenario=Scenario(
                    "runaway",
                    spec,
                    (("agent_id", TEST_SERIES["agent_id"]),),
                    (("agent_id", TEST_SERIES["agent_id"]),),
                    limit,
                ),
            )
        ]

    return instances


#: How far back a runaway run keeps its alert firing.
RUNAWAY_WINDOW = "1h"
#: The rule group of each kind of alert that notifications are routed by.
KIND_GROUPS = {kind: f"llm-{kind}" for kind in ROUTE_KINDS}
BUDGET, SLO, TELEMETRY = KIND_GROUPS.values()


CATALOGUE: tuple[AlertEntry, ...] = (
    AlertEntry("LLMBudgetWarning", BUDGET, "warning", "5m", _budget_used(warning=True)),
    AlertEntry("LLMBudgetExceeded", BUDGET, "critical", "1m", _budget_used(warning=False)),
    AlertEntry("LLMBudgetForecast", BUDGET, "warning", "15m", _forecast),
    AlertEntry("LLMSpendAnomaly", BUDGET, "warning", "30m", _spend_anomaly),
    AlertEntry(
        "LLMBudgetRefusingCalls",
        BUDGET,
        "warning",
        "1m",
        _counted(
            BUDGET_REFUSALS,
            ("agent_id", "scope", "period"),
            {"agent_id": TEST_SERIES["agent_id"], "scope": "team", "period": "day"},
            "An enforced LLM budget is refusing calls",
            f"{VALUE} calls of agent {{{{ $labels.agent_id }}}} were refused in the last hour: "
            "a {{ $labels.scope }} budget per {{ $labels.period }} had no room for them.",
        ),
    ),
    AlertEntry("LLMBudgetNotExported", BUDGET, "warning", "15m", _not_exported),
    AlertEntry("LLMBudgetLimitMismatch", BUDGET, "warning", "15m", _limit_differs),
    AlertEntry(
        "LLMSuccessRateLow",
        SLO,
        "warning",
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
    AlertEntry(
        "LLMLatencyP99High",
        SLO,
        "warning",
        "10m",
        _quantile_objective(
            REQUEST_DURATION, 0.99, lambda c: c.slo.p99_latency_seconds, "LLM p99 latency"
        ),
    ),
    AlertEntry(
        "LLMTimeToFirstTokenHigh",
        SLO,
        "warning",
        "10m",
        _quantile_objective(
            TIME_TO_FIRST_TOKEN,
            0.95,
            lambda c: c.slo.p95_time_to_first_token_seconds,
            "LLM p95 time to first token",
        ),
    ),
    AlertEntry("LLMErrorBudgetBurnFast", SLO, "critical", "2m", _burn(PAGE_BURNS, "fast")),
    AlertEntry("LLMErrorBudgetBurnSlow", SLO, "warning", "15m", _burn(TICKET_BURNS, "slowly")),
    AlertEntry("LLMRateLimitHeadroomLow", SLO, "warning", "5m", _headroom),
    AlertEntry("LLMCacheHitRateLow", SLO, "info", "30m", _cache),
    AlertEntry(
        "LLMAgentRunCostHigh",
        BUDGET,
        "warning",
        "0m",
        _runaway(AGENT_RUN_COST, lambda c: c.runs.max_cost_usd, "a cost", "USD"),
    ),
    AlertEntry(
        "LLMAgentRunStepsHigh",
        SLO,
        "warning",
        "0m",
        _runaway(AGENT_RUN_STEPS, lambda c: c.runs.max_steps, "a number of steps", "steps"),
    ),
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
    AlertEntry("LLMPriceDataStale", TELEMETRY, "warning", "1h", _stale_prices),
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
            # An SDK older than a method llmobs instruments is not bad telemetry: the
            # dashboard's rejected-records series shows it, nobody is paged for it.
            (("reason", "!=", Reason.SDK_METHOD_MISSING.value),),
        ),
    ),
    AlertEntry(
        "LLMUsageMissing",
        TELEMETRY,
        "warning",
        "15m",
        _counted(
            USAGE_MISSING,
            ("model", "provider", "reason"),
            {"model": "gpt-4o", "provider": "openai", "reason": "stream_closed"},
            "LLM calls end without token usage: their spend is recorded as 0",
            f"{VALUE} calls of {{{{ $labels.model }}}} ({{{{ $labels.provider }}}}) in the last "
            "hour ended without usage ({{ $labels.reason }}), so their tokens and cost are "
            "missing.",
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
#: Alerts of earlier versions, by the alert that replaces them: a config naming one is told.
_CALENDAR = "which alerts on the calendar period's spend the cost tracker exports"
RENAMED: dict[str, tuple[str, str]] = {
    **{
        f"LLM{scope}{period}Budget{level}": (f"LLMBudget{level}", _CALENDAR)
        for scope in ("", "Team", "Agent")
        for period in ("Daily", "Weekly", "Monthly")
        for level in ("Warning", "Exceeded")
    },
    "LLMDailyBudgetForecast": ("LLMBudgetForecast", "which forecasts every budget's period"),
}
#: The names of every alert, for checking the config's ``alerts.for``.
ALERT_NAMES: tuple[str, ...] = tuple(entry.name for entry in CATALOGUE)
#: Rule groups in file order.
GROUPS: tuple[str, ...] = (BUDGET, SLO, TELEMETRY)
#: Alerts that make others redundant while they fire for the same subject: a budget exceeded
#: needs no warning or forecast about it.
INHIBITIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("LLMBudgetExceeded", ("LLMBudgetWarning", "LLMBudgetForecast"), BUDGET_LABELS),
    ("LLMErrorBudgetBurnFast", ("LLMErrorBudgetBurnSlow",), ("sli",)),
)


def runbooks() -> str:
    """The runbook document: a ``### Name`` section for every alert of the catalogue."""
    return resources.files(__package__).joinpath("runbooks.md").read_text(encoding="utf-8")


#: Budget alerts, by name, for the dashboard's annotation.
BUDGET_ALERTS: tuple[str, ...] = tuple(e.name for e in CATALOGUE if e.group == BUDGET)

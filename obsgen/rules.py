"""Recording and alert rules for LLM spend, SLOs and telemetry health, as data.

Templates lay these out as Prometheus rule files; ``alert_tests`` proves each alert with promtool.
Recording rules are named ``level:metric:operations``; alerts are CamelCase, start with ``LLM``
and carry a severity, a static summary, a templated description and a runbook URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from llmobs.schema import (
    CACHE_HITS,
    CACHE_MISSES,
    COST,
    ERRORS,
    INVALID_RECORDS,
    LABEL_OVERFLOW,
    REQUEST_DURATION,
    REQUESTS,
    UNPRICED_REQUESTS,
)

from . import queries as q
from .config import Config

SECONDS_PER_DAY = 86400
VALUE = '{{ $value | printf "%.2f" }}'
PERCENT = "{{ $value | humanizePercentage }}"


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    duration: str
    severity: str
    summary: str
    description: str
    runbook: str
    labels: tuple[tuple[str, str], ...] = ()
    #: What the expression compares against, and the label the spend is selected by (team or
    #: agent_id): the unit tests derive their series from these.
    threshold: float | None = None
    watched: tuple[tuple[str, str], ...] = ()

    def all_labels(self) -> dict[str, str]:
        return {"severity": self.severity, **dict(self.labels)}


@dataclass(frozen=True)
class RuleGroup:
    name: str
    interval: str
    rules: tuple[RecordingRule | AlertRule, ...] = field(default_factory=tuple)


# Recording rule names, referenced by the alerts below and by the dashboard.
COST_1H = "agent_id_model_provider:llm_cost:increase1h"
COST_24H_BY_SERIES = "agent_id_model_provider:llm_cost:increase24h"
COST_24H = ":llm_cost:increase24h"
COST_RATE_1H = ":llm_cost:rate1h"
COST_7D = ":llm_cost:increase7d"
COST_30D = ":llm_cost:increase30d"
TEAM_COST_24H = "team:llm_cost:increase24h"
AGENT_COST_24H = "agent_id:llm_cost:increase24h"
REQUESTS_5M = "provider_status:llm_requests:rate5m"
ERRORS_5M = "provider:llm_errors:rate5m"
P99_5M = "model_provider:llm_request_duration_seconds:p99_rate5m"
CACHE_HITS_5M = "agent_id:llm_cache_hits:rate5m"
CACHE_MISSES_5M = "agent_id:llm_cache_misses:rate5m"

SERIES = ("agent_id", "model", "provider")


def recording_rules(config: Config) -> RuleGroup:
    """Spend over 1 h and 24 h by agent, model and provider; request, error, latency and cache
    rates; the rolling windows of any weekly or monthly budget."""
    rules = [
        RecordingRule(COST_1H, q.increase(COST, "1h", SERIES)),
        RecordingRule(COST_24H_BY_SERIES, q.increase(COST, "24h", SERIES)),
        RecordingRule(COST_24H, f"sum({COST_24H_BY_SERIES})"),
        RecordingRule(COST_RATE_1H, q.rate(COST, "1h")),
        RecordingRule(AGENT_COST_24H, f"sum by (agent_id) ({COST_24H_BY_SERIES})"),
        RecordingRule(
            TEAM_COST_24H,
            f"sum by (team) ({q.with_team(COST_24H_BY_SERIES, config.team_separator)})",
        ),
        RecordingRule(REQUESTS_5M, q.rate(REQUESTS, "5m", ("provider", "status"))),
        RecordingRule(ERRORS_5M, q.rate(ERRORS, "5m", ("provider",))),
        RecordingRule(P99_5M, q.quantile(0.99, REQUEST_DURATION, "5m", ("model", "provider"))),
        RecordingRule(CACHE_HITS_5M, q.rate(CACHE_HITS, "5m", ("agent_id",))),
        RecordingRule(CACHE_MISSES_5M, q.rate(CACHE_MISSES, "5m", ("agent_id",))),
    ]
    if config.budgets.weekly is not None:
        rules.append(RecordingRule(COST_7D, q.increase(COST, "7d")))
    if config.budgets.monthly is not None:
        rules.append(RecordingRule(COST_30D, q.increase(COST, "30d")))
    return RuleGroup("llm-recording", config.prometheus.evaluation_interval, tuple(rules))


def _runbook(config: Config, alert: str) -> str:
    return f"{config.runbook_url}#{alert.lower()}"


def number(value: float) -> str:
    """A threshold as PromQL reads it back exactly: ``80`` rather than ``80.0``, never rounded."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def _budget_alert(
    config: Config,
    name: str,
    level: str,
    spend: str,
    budget: float,
    window: str,
    scope: str,
    watched: tuple[tuple[str, str], ...],
    labels: tuple[tuple[str, str], ...],
) -> AlertRule:
    warning = level == "Warning"
    percent = config.budgets.warning_percent if warning else config.budgets.critical_percent
    threshold = budget * percent / 100
    alert = f"LLM{name}Budget{level}"
    return AlertRule(
        alert=alert,
        expr=f"{spend} > {number(threshold)}",
        duration="5m" if warning else "1m",
        severity="warning" if warning else "critical",
        summary=f"LLM spend passed {percent:g}% of the {scope} budget",
        description=(
            f"{window} spend{{{{ with $labels.team }}}} of team {{{{ . }}}}{{{{ end }}}}"
            f"{{{{ with $labels.agent_id }}}} of agent {{{{ . }}}}{{{{ end }}}} is {VALUE} USD, "
            f"over {number(threshold)} USD ({percent:g}% of the {budget:g} USD budget)."
        ),
        runbook=_runbook(config, alert),
        labels=labels,
        threshold=threshold,
        watched=watched,
    )


def _threshold_pair(
    config: Config,
    name: str,
    spend: str,
    budget: float,
    window: str,
    scope: str,
    watched: tuple[tuple[str, str], ...] = (),
    labels: tuple[tuple[str, str], ...] = (),
) -> list[AlertRule]:
    return [
        _budget_alert(config, name, level, spend, budget, window, scope, watched, labels)
        for level in ("Warning", "Exceeded")
    ]


def budget_alerts(config: Config) -> RuleGroup:
    """Warning and critical alerts on rolling spend for each configured budget, and a forecast
    of the daily budget running out before midnight UTC at the last hour's burn rate."""
    budgets = config.budgets
    rules: list[AlertRule] = []
    if budgets.daily is not None:
        rules += _threshold_pair(config, "Daily", COST_24H, budgets.daily, "24 h", "daily")
        forecast = f"{COST_24H} + {COST_RATE_1H} * ({SECONDS_PER_DAY} - time() % {SECONDS_PER_DAY})"
        rules.append(
            AlertRule(
                alert="LLMDailyBudgetForecast",
                expr=(
                    f"({forecast}) > {number(budgets.daily)}\n"
                    f"and\n{COST_24H} <= {number(budgets.daily)}"
                ),
                duration="15m",
                severity="warning",
                summary="LLM spend is on course to exhaust the daily budget before midnight UTC",
                description=(
                    f"At the last hour's burn rate, spend reaches {VALUE} USD by midnight "
                    f"UTC, over the {budgets.daily:g} USD daily budget."
                ),
                runbook=_runbook(config, "LLMDailyBudgetForecast"),
            )
        )
    if budgets.weekly is not None:
        rules += _threshold_pair(config, "Weekly", COST_7D, budgets.weekly, "7-day", "weekly")
    if budgets.monthly is not None:
        rules += _threshold_pair(config, "Monthly", COST_30D, budgets.monthly, "30-day", "monthly")
    for team, amount in budgets.teams:
        spend = f"{TEAM_COST_24H}{{team={q.string_literal(team)}}}"
        rules += _threshold_pair(
            config,
            "TeamDaily",
            spend,
            amount,
            "24 h",
            f"{team} team daily",
            watched=(("team", team),),
            labels=(("budget_scope", "team"),),
        )
    for agent, amount in budgets.agents:
        spend = f"{AGENT_COST_24H}{{agent_id={q.string_literal(agent)}}}"
        rules += _threshold_pair(
            config,
            "AgentDaily",
            spend,
            amount,
            "24 h",
            f"{agent} agent daily",
            watched=(("agent_id", agent),),
            labels=(("budget_scope", "agent"),),
        )
    return RuleGroup("llm-budget", config.prometheus.evaluation_interval, tuple(rules))


def slo_alerts(config: Config) -> RuleGroup:
    """The seed's key metrics as alerts: success rate, error rate, p99 latency, cache hit rate."""
    slo = config.slo
    requests = f"sum by (provider) ({REQUESTS_5M})"
    success = f'(sum by (provider) ({REQUESTS_5M}{{status="success"}})\n or\n{requests} * 0)'
    return RuleGroup(
        "llm-slo",
        config.prometheus.evaluation_interval,
        (
            AlertRule(
                alert="LLMSuccessRateLow",
                expr=f"{q.ratio(success, requests)}\n< {slo.success_rate_percent / 100:g}",
                duration="10m",
                severity="critical",
                summary=f"LLM request success rate is below {slo.success_rate_percent:g}%",
                description=(
                    f"{PERCENT} of requests to {{{{ $labels.provider }}}} succeeded over "
                    f"5 minutes; the objective is {slo.success_rate_percent:g}%."
                ),
                runbook=_runbook(config, "LLMSuccessRateLow"),
            ),
            AlertRule(
                alert="LLMErrorRateHigh",
                expr=f"{q.ratio(ERRORS_5M, requests)}\n> {slo.error_rate_percent / 100:g}",
                duration="5m",
                severity="warning",
                summary=f"LLM error rate is above {slo.error_rate_percent:g}%",
                description=(
                    f"{PERCENT} of requests to {{{{ $labels.provider }}}} failed over 5 "
                    f"minutes; the objective is below {slo.error_rate_percent:g}%."
                ),
                runbook=_runbook(config, "LLMErrorRateHigh"),
            ),
            AlertRule(
                alert="LLMLatencyP99High",
                expr=f"{P99_5M} > {slo.p99_latency_seconds:g}",
                duration="10m",
                severity="warning",
                summary=f"LLM p99 latency is above {slo.p99_latency_seconds:g} s",
                description=(
                    "p99 latency of {{ $labels.model }} at {{ $labels.provider }} is "
                    f"{{{{ $value | humanizeDuration }}}}; the objective is below "
                    f"{slo.p99_latency_seconds:g} s."
                ),
                runbook=_runbook(config, "LLMLatencyP99High"),
            ),
            AlertRule(
                alert="LLMCacheHitRateLow",
                expr=(
                    f"{q.ratio(CACHE_HITS_5M, f'{CACHE_HITS_5M} + {CACHE_MISSES_5M}')}\n"
                    f"< {slo.cache_hit_rate_percent / 100:g}"
                ),
                duration="30m",
                severity="info",
                summary=f"LLM response-cache hit rate is below {slo.cache_hit_rate_percent:g}%",
                description=(
                    f"Agent {{{{ $labels.agent_id }}}} hits its response cache on {PERCENT} "
                    f"of lookups; the objective is above {slo.cache_hit_rate_percent:g}%."
                ),
                runbook=_runbook(config, "LLMCacheHitRateLow"),
            ),
        ),
    )


def telemetry_alerts(config: Config) -> RuleGroup:
    """When the numbers themselves are missing or incomplete."""
    job = q.string_literal(config.prometheus.scrape.job_name)
    return RuleGroup(
        "llm-telemetry",
        config.prometheus.evaluation_interval,
        (
            AlertRule(
                alert="LLMMetricsDown",
                expr=f"up{{job={job}}} == 0",
                duration="5m",
                severity="critical",
                summary="Prometheus cannot scrape the LLM service's metrics",
                description="Target {{ $labels.instance }} of job {{ $labels.job }} is down: "
                "no LLM requests, costs or errors are being recorded from it.",
                runbook=_runbook(config, "LLMMetricsDown"),
            ),
            AlertRule(
                alert="LLMUnpricedRequests",
                expr=f"{q.increase(UNPRICED_REQUESTS, '1h', ('model', 'provider'))} > 0",
                duration="15m",
                severity="warning",
                summary="LLM requests of a model with no known price: spend is under-counted",
                description=(
                    f"{VALUE} requests of {{{{ $labels.model }}}} ({{{{ $labels.provider }}}}"
                    ") in the last hour were recorded at 0 USD."
                ),
                runbook=_runbook(config, "LLMUnpricedRequests"),
            ),
            AlertRule(
                alert="LLMLabelOverflow",
                expr=f"{q.increase(LABEL_OVERFLOW, '1h', ('label',))} > 0",
                duration="15m",
                severity="warning",
                summary="LLM metric label values are being folded into __overflow__",
                description=(
                    f"{VALUE} records in the last hour had their "
                    "{{ $labels.label }} folded: the label reached its cap on distinct "
                    "values."
                ),
                runbook=_runbook(config, "LLMLabelOverflow"),
            ),
            AlertRule(
                alert="LLMInvalidRecords",
                expr=f"{q.increase(INVALID_RECORDS, '1h', ('reason',))} > 0",
                duration="15m",
                severity="warning",
                summary="The LLM service sends telemetry that llmobs rejects",
                description=(
                    f"{VALUE} records were rejected in the last hour for {{{{ $labels.reason }}}}."
                ),
                runbook=_runbook(config, "LLMInvalidRecords"),
            ),
        ),
    )


def _with_overrides(group: RuleGroup, config: Config) -> RuleGroup:
    rules_ = tuple(
        replace(rule, duration=config.for_duration(rule.alert, rule.duration))
        for rule in group.rules
    )
    return replace(group, rules=rules_)


def alert_groups(config: Config) -> tuple[RuleGroup, ...]:
    """Every alert group, in file order, with the config's ``alerts.for`` overrides applied."""
    groups = budget_alerts(config), slo_alerts(config), telemetry_alerts(config)
    return tuple(_with_overrides(group, config) for group in groups)

"""The LLM usage dashboard: the seed's 13 panels and a row on data completeness."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grafanalib.core as g

from llmobs.schema import (
    ACTIVE_REQUESTS,
    BUILD_INFO,
    CACHE_HITS,
    CACHE_MISSES,
    COST,
    ERRORS,
    INVALID_RECORDS,
    LABEL_OVERFLOW,
    REQUEST_DURATION,
    REQUESTS,
    TOKENS,
    UNPRICED_REQUESTS,
)

from . import grafana_house as house
from . import queries as q
from .config import Config
from .grafana_house import Query, Step, grid

RATE = q.RATE_INTERVAL
RANGE = q.DASHBOARD_RANGE
GREEN, YELLOW, RED, BLUE = "green", "yellow", "red", "blue"
USD, PERCENT, SECONDS, REQ_PER_SEC = "currencyUSD", "percentunit", "s", "reqps"
TOKENS_PER_SEC, REQUESTS_UNIT, COUNT = "suffix: tokens/s", "suffix: requests", "short"
BUDGET_ALERTS = "LLM(Daily|Weekly|Monthly|TeamDaily|AgentDaily)Budget.*"


@dataclass(frozen=True)
class PanelDoc:
    """What a panel shows, for ``dashboards/README.md``."""

    title: str
    kind: str
    unit: str
    description: str
    queries: tuple[Query, ...]


def _filtered(function: str, spec, window: str, by: tuple[str, ...] = (), **options) -> str:
    return q.summed(function, spec, window, by, dashboard=True, **options)


def _error_ratio(window: str, by: tuple[str, ...] = ()) -> str:
    return q.ratio(_filtered("rate", ERRORS, window, by), _filtered("rate", REQUESTS, window, by))


def _cache_hit_ratio(window: str, by: tuple[str, ...] = ()) -> str:
    hits = _filtered("rate", CACHE_HITS, window, by)
    misses = _filtered("rate", CACHE_MISSES, window, by)
    return q.ratio(hits, f"{hits} + {misses}")


def _success_ratio(window: str) -> str:
    success = _filtered("rate", REQUESTS, window, matchers={"status": "success"})
    return q.ratio(success, _filtered("rate", REQUESTS, window))


def panels(config: Config) -> list[tuple[PanelDoc, Any]]:
    """Every panel with its documentation, in layout order."""
    slo, budgets = config.slo, config.budgets
    daily = budgets.daily
    cost_steps = [Step(GREEN, None)]
    if daily is not None:
        cost_steps += [
            Step(YELLOW, daily * budgets.warning_percent / 100),
            Step(RED, daily * budgets.critical_percent / 100),
        ]
    budget_note = (
        f"Yellow from {budgets.warning_percent:g}% and red from "
        f"{budgets.critical_percent:g}% of the {daily:g} USD daily budget."
        if daily is not None
        else "No daily budget is configured."
    )
    team_cost = q.with_team(
        _filtered("increase", COST, RANGE, ("agent_id",)), config.team_separator
    )
    specs: list[tuple[str, str, str, str, list[Query], Any]] = [
        (
            "Total LLM Requests",
            "stat",
            COUNT,
            "Requests completed in the dashboard's time range, successful or not.",
            [Query(f"round({_filtered('increase', REQUESTS, RANGE)})", "requests", instant=True)],
            lambda t, d, qs, u: house.stat(
                t, d, qs, u, grid(0, 0, 6, 5), [Step(BLUE, None)], decimals=0
            ),
        ),
        (
            "Total Cost 24h",
            "stat",
            USD,
            "Spend over the last 24 hours. " + budget_note,
            [Query(_filtered("increase", COST, "24h"), "spend", instant=True)],
            lambda t, d, qs, u: house.stat(t, d, qs, u, grid(6, 0, 6, 5), cost_steps, decimals=2),
        ),
        (
            "Cache Hit Rate",
            "gauge",
            PERCENT,
            "Share of response-cache lookups that hit, in the time range. Red below the "
            f"{slo.cache_hit_rate_percent:g}% objective. Services without a cache show no value.",
            [Query(_cache_hit_ratio(RANGE), "hit rate", instant=True)],
            lambda t, d, qs, u: house.gauge(
                t,
                d,
                qs,
                u,
                grid(12, 0, 6, 5),
                [Step(RED, None), Step(GREEN, slo.cache_hit_rate_percent / 100)],
                0,
                1,
            ),
        ),
        (
            "Error Rate",
            "stat",
            PERCENT,
            "Share of requests that failed, in the time range. Red above the "
            f"{slo.error_rate_percent:g}% objective.",
            [Query(_error_ratio(RANGE), "error rate", instant=True)],
            lambda t, d, qs, u: house.stat(
                t,
                d,
                qs,
                u,
                grid(18, 0, 6, 5),
                [Step(GREEN, None), Step(RED, slo.error_rate_percent / 100)],
                decimals=2,
            ),
        ),
        (
            "Requests per Agent",
            "timeseries",
            REQ_PER_SEC,
            "Requests per second by agent.",
            [Query(_filtered("rate", REQUESTS, RATE, ("agent_id",)), "{{agent_id}}")],
            lambda t, d, qs, u: house.timeseries(t, d, qs, u, grid(0, 5, 12, 8)),
        ),
        (
            "Cost per Team",
            "piechart",
            USD,
            f"Spend in the time range by team (the agent id up to the first "
            f"'{config.team_separator}').",
            [Query(f"sum by (team) ({team_cost})", "{{team}}", instant=True)],
            lambda t, d, qs, u: house.pie(t, d, qs, u, grid(12, 5, 12, 8)),
        ),
        (
            "Request Latency Distribution",
            "timeseries",
            SECONDS,
            f"p50, p90 and p99 request latency. The p99 objective is below "
            f"{slo.p99_latency_seconds:g} s.",
            [
                Query(q.quantile(p, REQUEST_DURATION, RATE, dashboard=True), f"p{round(p * 100)}")
                for p in (0.5, 0.9, 0.99)
            ],
            lambda t, d, qs, u: house.timeseries(t, d, qs, u, grid(0, 13, 12, 8)),
        ),
        (
            "Token Usage by Model",
            "timeseries",
            TOKENS_PER_SEC,
            "Tokens per second by model, stacked; prompt tokens include cached ones.",
            [Query(_filtered("rate", TOKENS, RATE, ("model",)), "{{model}}")],
            lambda t, d, qs, u: house.timeseries(t, d, qs, u, grid(12, 13, 12, 8), stacked=True),
        ),
        (
            "Cache Performance",
            "timeseries",
            REQ_PER_SEC,
            "Response-cache hits and misses per second.",
            [
                Query(_filtered("rate", CACHE_HITS, RATE), "hits"),
                Query(_filtered("rate", CACHE_MISSES, RATE), "misses"),
            ],
            lambda t, d, qs, u: house.timeseries(t, d, qs, u, grid(0, 21, 12, 8)),
        ),
        (
            "Error Rate by Provider",
            "timeseries",
            PERCENT,
            "Share of requests that failed, by provider.",
            [Query(_error_ratio(RATE, ("provider",)), "{{provider}}")],
            lambda t, d, qs, u: house.timeseries(t, d, qs, u, grid(12, 21, 12, 8)),
        ),
        (
            "Cost Breakdown by Model",
            "bargauge",
            USD,
            "Spend in the time range by model.",
            [Query(_filtered("increase", COST, RANGE, ("model",)), "{{model}}", instant=True)],
            lambda t, d, qs, u: house.bar_gauge(t, d, qs, u, grid(0, 29, 8, 8), [Step(BLUE, None)]),
        ),
        (
            "Active Requests",
            "timeseries",
            REQUESTS_UNIT,
            "Requests in flight by agent and provider.",
            [
                Query(
                    q.gauge_sum(ACTIVE_REQUESTS, ("agent_id", "provider"), dashboard=True),
                    "{{agent_id}} / {{provider}}",
                )
            ],
            lambda t, d, qs, u: house.timeseries(t, d, qs, u, grid(8, 29, 8, 8)),
        ),
        (
            "Request Success Rate",
            "timeseries",
            PERCENT,
            f"Share of requests that succeeded. The objective is {slo.success_rate_percent:g}%.",
            [Query(_success_ratio(RATE), "success rate")],
            lambda t, d, qs, u: house.timeseries(t, d, qs, u, grid(16, 29, 8, 8), minimum=None),
        ),
        (
            "Unpriced Requests",
            "timeseries",
            REQ_PER_SEC,
            "Requests of models with no known price, recorded at 0 USD: while this is above zero "
            "the cost panels under-count. Add the model to a price file.",
            [
                Query(
                    q.rate(UNPRICED_REQUESTS, RATE, ("model", "provider"), dashboard=True),
                    "{{model}} ({{provider}})",
                )
            ],
            lambda t, d, qs, u: house.timeseries(t, d, qs, u, grid(0, 38, 12, 7)),
        ),
        (
            "Folded and Rejected Records",
            "timeseries",
            "suffix: records/s",
            "Records whose label value was folded into __overflow__ (by label) and records "
            "rejected for bad input (by reason): the numbers above miss what shows here.",
            [
                Query(q.rate(LABEL_OVERFLOW, RATE, ("label",)), "folded {{label}}"),
                Query(q.rate(INVALID_RECORDS, RATE, ("reason",)), "rejected: {{reason}}"),
            ],
            lambda t, d, qs, u: house.timeseries(t, d, qs, u, grid(12, 38, 12, 7)),
        ),
    ]
    built = []
    for title, kind, unit, description, queries, make in specs:
        built.append(
            (
                PanelDoc(title, kind, unit, description, tuple(queries)),
                make(title, description, queries, unit),
            )
        )
    return built


def annotations() -> list[dict[str, Any]]:
    """Deployments (a new ``llm_build_info`` version) and budget alerts (``ALERTS``)."""
    build = q.selector(BUILD_INFO)
    return [
        {
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        },
        house.annotation(
            "Deployments",
            f"max by (version) ({build}) unless max by (version) ({build} offset 5m)",
            "Deployed {{version}}",
            "A new version of the LLM service started.",
            "version",
            "rgba(115, 191, 105, 1)",
        ),
        house.annotation(
            "Budget alerts",
            f'ALERTS{{alertname=~"{BUDGET_ALERTS}", alertstate="firing"}}',
            "{{alertname}}",
            "{{alertname}} is firing",
            "severity,team,agent_id",
            "rgba(242, 73, 92, 1)",
        ),
    ]


def build(config: Config) -> dict[str, Any]:
    """The dashboard JSON for ``config``."""
    made = panels(config)
    completeness = house.row("Data completeness", 37)
    variables = [house.datasource_variable()] + [
        house.query_variable(
            label, label.replace("_", " "), f"label_values({REQUESTS.name}, {label})"
        )
        for label in q.DASHBOARD_FILTERS
    ]
    dashboard = g.Dashboard(
        title=config.dashboard.title,
        uid=config.dashboard.uid,
        description=f"Generated by obsgen from {Path(config.source).name}; do not edit by hand.",
        tags=["llm", "obsgen"],
        timezone="browser",
        refresh=config.dashboard.refresh,
        time=g.Time("now-24h", "now"),
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        editable=True,
        panels=[panel for _, panel in made[:13]]
        + [completeness]
        + [panel for _, panel in made[13:]],
        templating=g.Templating(list=variables),
        annotations=g.Annotations(list=annotations()),
    ).auto_panel_ids()
    return house.dashboard_json(dashboard)

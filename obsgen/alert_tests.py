"""promtool unit tests for every alert, derived from the same config as the rules.

For each alert: input series that stay on the safe side of its threshold (no alert), and series
past it, checked one evaluation before its ``for:`` has elapsed (no alert yet) and when it has
(the alert, with its full labels and rendered annotations). The expected values are computed
here from the series; promtool evaluates the real rule expressions against them.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

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

from . import rules
from .config import Config
from .queries import string_literal
from .validation import duration_seconds

SERIES_LABELS = {"agent_id": "test.agent", "model": "gpt-4o", "provider": "openai"}


# Values fed to the tests keep clear of rounding boundaries, so that the annotations promtool
# renders ("%.2f", 4 significant digits) match the expected text whatever float noise the rates
# add: spends a tenth of a cent past a cent, shares with one significant digit.


def _cents_above(threshold: float) -> float:
    """An amount past ``threshold`` whose third decimal is 1."""
    return max(round(threshold * 1.01, 2), round(threshold, 2) + 0.01) + 0.001


def _one_digit(value: float, up: bool = False) -> float:
    """``value`` rounded to one significant digit (down, or up), avoiding a final 5."""
    exponent = math.floor(math.log10(value))
    digit = (math.ceil if up else math.floor)(value / 10**exponent)
    if digit == 5:
        digit += 1 if up else -1
    if digit == 0:
        digit, exponent = 9, exponent - 1
    return round(digit * 10.0**exponent, 12 - exponent)


def _series(name: str, labels: dict[str, str]) -> str:
    body = ",".join(f"{key}={string_literal(value)}" for key, value in sorted(labels.items()))
    return f"{name}{{{body}}}"


def _minutes(duration: str) -> int:
    """Whole evaluation minutes until a ``for:`` of ``duration`` has elapsed."""
    return math.ceil(duration_seconds(duration) / 60)


def _humanize_percentage(value: float) -> str:
    return f"{_go_g(value * 100)}%"


def _humanize_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{_go_g(seconds)}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest}s"


def _go_g(value: float) -> str:
    """Go's ``%.4g``, as Prometheus' humanize functions format numbers."""
    return f"{value:.4g}"


def _render(template: str, value: float, labels: dict[str, str]) -> str:
    """Render the few Go template forms the alert descriptions use."""

    def with_block(match: re.Match[str]) -> str:
        label_value = labels.get(match.group(1))
        return match.group(2).replace("{{ . }}", label_value) if label_value else ""

    text = re.sub(r"\{\{ with \$labels\.(\w+) \}\}(.*?)\{\{ end \}\}", with_block, template)
    text = text.replace('{{ $value | printf "%.2f" }}', f"{value:.2f}")
    text = text.replace("{{ $value | humanizePercentage }}", _humanize_percentage(value))
    text = text.replace("{{ $value | humanizeDuration }}", _humanize_duration(value))
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)


def _expected(rule: rules.AlertRule, value: float, labels: dict[str, str]) -> dict[str, Any]:
    all_labels = {**labels, **rule.all_labels()}
    return {
        "exp_labels": dict(sorted(all_labels.items())),
        "exp_annotations": {
            "summary": rule.summary,
            "description": _render(rule.description, value, all_labels),
            "runbook_url": rule.runbook,
        },
    }


def _case(name: str, series: list[tuple[str, str]], checks: list[dict[str, Any]]) -> dict:
    return {
        "name": name,
        "interval": "1m",
        "input_series": [{"series": s, "values": v} for s, v in series],
        "alert_rule_test": checks,
    }


def _fires(
    rule: rules.AlertRule, active_from: int, value: float, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """No alert one minute before ``for:`` elapses, the alert when it has."""
    fire_at = active_from + _minutes(rule.duration)
    return [
        {"eval_time": f"{fire_at - 1}m", "alertname": rule.alert, "exp_alerts": []},
        {
            "eval_time": f"{fire_at}m",
            "alertname": rule.alert,
            "exp_alerts": [_expected(rule, value, labels)],
        },
    ]


def _silent(rule: rules.AlertRule, at: int) -> list[dict[str, Any]]:
    return [{"eval_time": f"{at}m", "alertname": rule.alert, "exp_alerts": []}]


def _pair(
    rule: rules.AlertRule,
    quiet: list,
    loud: list,
    active_from: int,
    value: float,
    labels: dict[str, str],
    horizon: int,
) -> list[dict[str, Any]]:
    return [
        _case(
            f"{rule.alert} stays silent on the safe side of its threshold",
            quiet,
            _silent(rule, horizon),
        ),
        _case(
            f"{rule.alert} fires past its threshold once its for: has elapsed",
            loud,
            _fires(rule, active_from, value, labels),
        ),
    ]


# -- budget alerts ------------------------------------------------------------------------------


def _spend_labels(rule: rules.AlertRule, config: Config) -> tuple[dict[str, str], dict[str, str]]:
    """Labels of the cost series to feed, and the labels the alert will carry."""
    watched = dict(rule.watched)
    if "team" in watched:
        agent = f"{watched['team']}{config.team_separator}agent"
        return {**SERIES_LABELS, "agent_id": agent}, watched
    return {**SERIES_LABELS, **watched}, watched


def _spend_tests(rule: rules.AlertRule, config: Config) -> list[dict[str, Any]]:
    threshold = rule.threshold
    series_labels, alert_labels = _spend_labels(rule, config)
    name = _series(COST.name, series_labels)
    step_at = 10  # spend jumps from 0 after 10 minutes: increase() then equals the jump exactly
    horizon = step_at + _minutes(rule.duration) + 10

    def stepped(amount: float) -> list[tuple[str, str]]:
        return [(name, f"0x{step_at - 1} {amount!r}x{horizon}")]

    return _pair(
        rule,
        stepped(threshold),
        stepped(_cents_above(threshold)),
        step_at,
        _cents_above(threshold),
        alert_labels,
        horizon,
    )


def _forecast_value(rate_per_minute: float, minute: int) -> float:
    """Spend in the last 24 h plus the last hour's burn rate until midnight UTC, for a counter
    rising by ``rate_per_minute`` from 0 at time 0 (Prometheus' extrapolation, exactly)."""
    spent = rate_per_minute * minute
    per_second = rate_per_minute * min(minute, 60) / 3600
    return spent + per_second * (rules.SECONDS_PER_DAY - 60 * minute)


def _forecast_tests(rule: rules.AlertRule, budget: float) -> list[dict[str, Any]]:
    name = _series(COST.name, SERIES_LABELS)
    # From the first hour on the forecast is 1440 x the rate per minute: aim it just past a cent.
    loud_rate, quiet_rate = _cents_above(budget * 1.44) / 1440, budget * 0.05 / 100
    active_from = next(m for m in range(1, 60) if _forecast_value(loud_rate, m) > budget)
    fire_at = active_from + _minutes(rule.duration)
    check_at = max(fire_at, 60)  # from 60 minutes the forecast is the exact daily burn
    return [
        _case(
            f"{rule.alert} stays silent when the burn rate fits the budget",
            [(name, f"0+{quiet_rate!r}x180")],
            _silent(rule, 120),
        ),
        _case(
            f"{rule.alert} fires when the burn rate would exhaust the budget by midnight",
            [(name, f"0+{loud_rate!r}x180")],
            [
                {"eval_time": f"{fire_at - 1}m", "alertname": rule.alert, "exp_alerts": []},
                {
                    "eval_time": f"{check_at}m",
                    "alertname": rule.alert,
                    "exp_alerts": [_expected(rule, _forecast_value(loud_rate, check_at), {})],
                },
            ],
        ),
    ]


# -- SLO alerts ---------------------------------------------------------------------------------


def _requests(failing: float) -> list[tuple[str, str]]:
    per_minute = 100.0
    base = {**SERIES_LABELS}
    return [
        (
            _series(REQUESTS.name, {**base, "status": "success"}),
            f"0+{per_minute * (1 - failing):g}x60",
        ),
        (_series(REQUESTS.name, {**base, "status": "error"}), f"0+{per_minute * failing:g}x60"),
        (_series(ERRORS.name, {**base, "error_type": "timeout"}), f"0+{per_minute * failing:g}x60"),
    ]


def _success_tests(rule: rules.AlertRule, config: Config) -> list[dict[str, Any]]:
    allowed = 1 - config.slo.success_rate_percent / 100
    loud = _one_digit(allowed * 2, up=True)
    return _pair(
        rule,
        _requests(_one_digit(allowed / 2)),
        _requests(loud),
        1,
        1 - loud,
        {"provider": SERIES_LABELS["provider"]},
        30,
    )


def _error_tests(rule: rules.AlertRule, config: Config) -> list[dict[str, Any]]:
    allowed = config.slo.error_rate_percent / 100
    loud = _one_digit(allowed * 2, up=True)
    return _pair(
        rule,
        _requests(_one_digit(allowed / 2)),
        _requests(loud),
        1,
        loud,
        {"provider": SERIES_LABELS["provider"]},
        30,
    )


def _latency_series(observed: float) -> list[tuple[str, str]]:
    series = []
    labels = dict(SERIES_LABELS)
    for bound in (*REQUEST_DURATION.buckets, math.inf):
        le = (
            "+Inf" if bound == math.inf else f"{bound:g}" if bound != int(bound) else f"{bound:.1f}"
        )
        per_minute = 60 if observed <= bound else 0
        series.append(
            (_series(f"{REQUEST_DURATION.name}_bucket", {**labels, "le": le}), f"0+{per_minute}x60")
        )
    return series


def _latency_tests(rule: rules.AlertRule, config: Config) -> list[dict[str, Any]]:
    objective = config.slo.p99_latency_seconds
    bounds = REQUEST_DURATION.buckets
    upper_index = next(i for i, b in enumerate(bounds) if b > objective)
    upper, lower = bounds[upper_index], bounds[upper_index - 1]
    p99 = lower + (upper - lower) * 0.99
    if p99 <= objective:  # the objective sits near the top of its bucket: use the next one
        lower, upper = upper, bounds[upper_index + 1]
        p99 = lower + (upper - lower) * 0.99
    return _pair(
        rule,
        _latency_series(bounds[0]),
        _latency_series(upper),
        1,
        p99,
        {"model": SERIES_LABELS["model"], "provider": SERIES_LABELS["provider"]},
        30,
    )


def _cache_series(hit_share: float) -> list[tuple[str, str]]:
    labels = {"agent_id": SERIES_LABELS["agent_id"], "model": SERIES_LABELS["model"]}
    return [
        (_series(CACHE_HITS.name, labels), f"0+{100 * hit_share:g}x60"),
        (_series(CACHE_MISSES.name, labels), f"0+{100 * (1 - hit_share):g}x60"),
    ]


def _cache_tests(rule: rules.AlertRule, config: Config) -> list[dict[str, Any]]:
    objective = config.slo.cache_hit_rate_percent / 100
    return _pair(
        rule,
        _cache_series(objective * 1.1),
        _cache_series(_one_digit(objective * 0.9)),
        1,
        _one_digit(objective * 0.9),
        {"agent_id": SERIES_LABELS["agent_id"]},
        45,
    )


# -- telemetry alerts ---------------------------------------------------------------------------


def _down_tests(rule: rules.AlertRule, config: Config) -> list[dict[str, Any]]:
    labels = {"job": config.prometheus.scrape.job_name, "instance": "localhost:8000"}
    name = _series("up", labels)
    return _pair(rule, [(name, "1x20")], [(name, "0x20")], 0, 0, labels, 15)


def _counted_tests(rule: rules.AlertRule, spec, labels: dict[str, str]) -> list[dict[str, Any]]:
    name = _series(spec.name, labels)
    return _pair(rule, [(name, "0x40")], [(name, "0x2 1x40")], 3, 1, labels, 30)


def render(config: Config, rule_files: list[str]) -> str:
    """The promtool test file for ``config``'s alerts."""
    tests: list[dict[str, Any]] = []
    for group in rules.alert_groups(config):
        for rule in group.rules:
            tests += _tests_for(rule, config)
    document = {
        "rule_files": rule_files,
        "evaluation_interval": "1m",
        # Recording rules first, as the alerts read them (promtool's order is random otherwise).
        "group_eval_order": [
            rules.recording_rules(config).name,
            *(group.name for group in rules.alert_groups(config)),
        ],
        "tests": tests,
    }
    return yaml.safe_dump(document, sort_keys=False, width=1000, allow_unicode=True)


def _tests_for(rule: rules.AlertRule, config: Config) -> list[dict[str, Any]]:
    name = rule.alert
    if name == "LLMDailyBudgetForecast":
        return _forecast_tests(rule, config.budgets.daily)
    if name.endswith(("BudgetWarning", "BudgetExceeded")):
        return _spend_tests(rule, config)
    special = {
        "LLMSuccessRateLow": _success_tests,
        "LLMErrorRateHigh": _error_tests,
        "LLMLatencyP99High": _latency_tests,
        "LLMCacheHitRateLow": _cache_tests,
        "LLMMetricsDown": _down_tests,
    }
    if name in special:
        return special[name](rule, config)
    counted = {
        "LLMUnpricedRequests": (UNPRICED_REQUESTS, {"model": "my-llama", "provider": "vllm"}),
        "LLMLabelOverflow": (LABEL_OVERFLOW, {"label": "agent_id"}),
        "LLMInvalidRecords": (INVALID_RECORDS, {"reason": "negative_tokens"}),
    }
    spec, labels = counted[name]
    return _counted_tests(rule, spec, labels)

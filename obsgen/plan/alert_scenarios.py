"""The promtool scenarios of every alert, derived from the same config as the rules: each
alert carries its test cases in the plan, which the alert-test renderer only serialises.

For each alert: input series that stay on the safe side of its threshold (no alert), and series
past it, checked one evaluation before its ``for:`` has elapsed (no alert yet) and when it has
(the alert, with its full labels and rendered annotations). The expected values are computed
here from the series; promtool evaluates the real rule expressions against them.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Any

from llmobs.schema import (
    BUDGET_LIMIT,
    BUDGET_PERIOD_END,
    BUDGET_SPENT,
    CACHE_HITS,
    CACHE_MISSES,
    ERRORS,
    REQUESTS,
    MetricSpec,
)
from obsgen.catalogue.alerts import FORECAST_WINDOWS, TEST_SERIES, Scenario
from obsgen.catalogue.otel_genai import TARGET_INFO
from obsgen.catalogue.promql import LATENCY_SLIS, RULE_WINDOW, bucket_label, string_literal
from obsgen.config.validation import duration_seconds

from .model import AlertSpec, AlertTestFile

SERIES_LABELS = TEST_SERIES


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


def _metric(scenario: Scenario) -> MetricSpec:
    """The metric a scenario feeds; every scenario kind that reads one names it."""
    if scenario.metric is None:
        raise ValueError(f"a {scenario.kind!r} scenario needs a metric")
    return scenario.metric


def _series(name: str, labels: dict[str, str]) -> str:
    body = ",".join(f"{key}={string_literal(value)}" for key, value in sorted(labels.items()))
    return f"{name}{{{body}}}"


def _minutes(duration: str) -> int:
    """Whole evaluation minutes until a ``for:`` of ``duration`` has elapsed."""
    return math.ceil(duration_seconds(duration) / 60)


def _humanize_percentage(value: float) -> str:
    return f"{_go_g(value * 100)}%"


def _humanize_duration(seconds: float) -> str:
    """Prometheus' ``humanizeDuration``: days to seconds from 1 s up, SI prefixes below."""
    if seconds == 0 or not math.isfinite(seconds):
        return f"{_go_g(seconds)}s" if seconds == 0 else _go_g(seconds)
    sign, value = ("-", -seconds) if seconds < 0 else ("", seconds)
    if value >= 1:
        whole = int(value)
        days, hours = whole // 86400, whole // 3600 % 24
        minutes, rest = whole // 60 % 60, whole % 60
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {rest}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {rest}s"
        if minutes:
            return f"{sign}{minutes}m {rest}s"
        return f"{sign}{_go_g(value)}s"
    prefix = ""
    for candidate in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if value >= 1:
            break
        prefix, value = candidate, value * 1000
    return f"{sign}{_go_g(value)}{prefix}s"


def _go_g(value: float) -> str:
    """Go's ``%.4g``, as Prometheus' humanize functions format numbers."""
    return f"{value:.4g}"


_ACTION = re.compile(
    r"\{\{ with \$labels\.(?P<with>\w+) \}\}(?P<body>.*?)\{\{ end \}\}"
    r"|\{\{ \$labels\.(?P<label>\w+) \}\}"
    r"|\{\{ \$value \| (?P<format>[^}]*?) \}\}"
    r'|\{\{ (?P<literal>"(?:[^"\\]|\\.)*") \}\}'
)


def _render(template: str, value: float, labels: dict[str, str]) -> str:
    """Render the few Go template forms the alert annotations use, in one pass, so that what
    a label value holds is never read as a template."""
    formats = {
        'printf "%.2f"': f"{value:.2f}",
        "humanizePercentage": _humanize_percentage(value),
        "humanizeDuration": _humanize_duration(value),
    }

    def action(match: re.Match[str]) -> str:
        if match.group("with") is not None:
            label_value = labels.get(match.group("with"))
            return match.group("body").replace("{{ . }}", label_value) if label_value else ""
        if match.group("label") is not None:
            return labels[match.group("label")]
        if match.group("format") is not None:
            return formats[match.group("format")]
        return str(ast.literal_eval(match.group("literal")))  # Go's escapes as we write them

    return _ACTION.sub(action, template)


def _expected(rule: AlertSpec, value: float, labels: dict[str, str]) -> dict[str, Any]:
    static = {key: _render(text, value, labels) for key, text in rule.all_labels().items()}
    all_labels = {**labels, **static}
    return {
        "exp_labels": dict(sorted(all_labels.items())),
        "exp_annotations": {
            "summary": _render(rule.summary, value, all_labels),
            "description": _render(rule.description, value, all_labels),
            "runbook_url": rule.runbook,
        },
    }


def _case(
    name: str, series: list[tuple[str, str]], checks: list[dict[str, Any]], interval: str = "1m"
) -> dict:
    return {
        "name": name,
        "interval": interval,
        "input_series": [{"series": s, "values": v} for s, v in series],
        "alert_rule_test": checks,
    }


def _not_yet(rule: AlertSpec, fire_at: int, step: int = 1) -> list[dict[str, Any]]:
    """No alert one evaluation (``step`` minutes) before ``fire_at`` (nothing to check when it
    fires from the start)."""
    if fire_at < step:
        return []
    return [{"eval_time": f"{fire_at - step}m", "alertname": rule.name, "exp_alerts": []}]


def _fires(
    rule: AlertSpec, active_from: int, value: float, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """No alert one minute before ``for:`` elapses, the alert when it has."""
    fire_at = active_from + _minutes(rule.duration)
    return [
        *_not_yet(rule, fire_at),
        {
            "eval_time": f"{fire_at}m",
            "alertname": rule.name,
            "exp_alerts": [_expected(rule, value, labels)],
        },
    ]


def _silent(rule: AlertSpec, at: int) -> list[dict[str, Any]]:
    return [{"eval_time": f"{at}m", "alertname": rule.name, "exp_alerts": []}]


def _pair(
    rule: AlertSpec,
    quiet: list,
    loud: list,
    active_from: int,
    value: float,
    labels: dict[str, str],
    horizon: int,
) -> list[dict[str, Any]]:
    return [
        _case(
            f"{rule.name} stays silent on the safe side of its threshold",
            quiet,
            _silent(rule, horizon),
        ),
        _case(
            f"{rule.name} fires past its threshold once its for: has elapsed",
            loud,
            _fires(rule, active_from, value, labels),
        ),
    ]


# -- budget alerts ------------------------------------------------------------------------------
# Two replicas export every budget gauge alike, as replicas sharing a cost store do: a rule that
# summed them instead of taking one would see twice the spend, and the quiet cases would fire.

REPLICAS = ("replica-1:8000", "replica-2:8000")
TEST_LIMIT = 100.0
BUDGET_JOB = "llm-service"


def _budget_series(
    labels: dict[str, str], values: dict[MetricSpec, str], job: str = BUDGET_JOB
) -> list[tuple[str, str]]:
    """``values`` of the budget gauges with ``labels``, exported by every replica."""
    return [
        (_series(spec.name, {**labels, "instance": instance, "job": job}), value)
        for instance in REPLICAS
        for spec, value in values.items()
    ]


def _budget_share_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    """The share alert on the test budget, and on each budget the scenario names (the tag
    values' budgets of the config: a customer's gauges alert as the global budget's do)."""
    tests = _budget_share_pair(rule, dict(rule.scenario.alert_labels))
    for labels, _ in rule.scenario.budgets:
        tests += _budget_share_pair(rule, dict(labels))
    return tests


def _budget_share_pair(rule: AlertSpec, labels: dict[str, str]) -> list[dict[str, Any]]:
    threshold = TEST_LIMIT * rule.scenario.threshold
    step_at = 10  # spend jumps after 10 minutes
    horizon = step_at + _minutes(rule.duration) + 10

    def exported(spent: float) -> list[tuple[str, str]]:
        values = {
            BUDGET_LIMIT: f"{TEST_LIMIT!r}x{horizon}",
            BUDGET_SPENT: f"0x{step_at - 1} {spent!r}x{horizon}",
        }
        return _budget_series(labels, values)

    loud = _cents_above(threshold)
    return _pair(
        rule,
        exported(threshold - 0.01),
        exported(loud),
        step_at,
        loud / TEST_LIMIT,
        labels,
        horizon,
    )


def _budget_forecast_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    """Spend rising steadily from 0 in a budget of each period, read once every burn-rate
    window is full: then the forecast is exactly the rate times the period's end. The limit
    drops from far above to the budget at ``limit_at``, so the alert turns active then. A day
    of history: samples and evaluations every LONG_STEP minutes."""
    step = LONG_STEP
    windows = [duration_seconds(window) / 60 for _, window in FORECAST_WINDOWS]
    limit_at = (math.ceil(max(windows) / step) + 1) * step
    fire_at = limit_at + math.ceil(_minutes(rule.duration) / step) * step
    samples = fire_at // step + 2
    ends_minute = limit_at + 600
    base = dict(rule.scenario.alert_labels)

    def exported(forecast: float) -> list[tuple[str, str]]:
        per_step = forecast / ends_minute * step
        values = {
            BUDGET_LIMIT: f"1e9x{limit_at // step - 1} {TEST_LIMIT!r}x{samples}",
            BUDGET_SPENT: f"0+{per_step!r}x{samples}",
            BUDGET_PERIOD_END: f"{ends_minute * 60}x{samples}",
        }
        series = []
        for period, _ in FORECAST_WINDOWS:
            series += _budget_series({**base, "period": period.value}, values)
        return series

    loud = _cents_above(TEST_LIMIT)
    expected = [
        _expected(rule, loud, {**base, "period": period.value}) for period, _ in FORECAST_WINDOWS
    ]
    return [
        _case(
            f"{rule.name} stays silent when the burn rate fits the budgets",
            exported(TEST_LIMIT * 0.9),
            _silent(rule, fire_at),
            interval=f"{step}m",
        ),
        _case(
            f"{rule.name} fires when the burn rate would exhaust each period's budget",
            exported(loud),
            [
                *_not_yet(rule, fire_at, step),
                {"eval_time": f"{fire_at}m", "alertname": rule.name, "exp_alerts": expected},
            ],
            interval=f"{step}m",
        ),
    ]


def _configured_series(
    rule: AlertSpec, samples: int, limit_of: Callable[[int, str, float], float | None]
) -> list[tuple[str, str]]:
    """The configured budgets as the replicas export them: ``limit_of(index, instance, usd)``
    of each (None: not exported), and the replicas' ``up``."""
    job = dict(rule.scenario.series_labels)["job"]
    series = [
        (_series("up", {"instance": instance, "job": job}), f"1x{samples}") for instance in REPLICAS
    ]
    for index, (labels, usd) in enumerate(rule.scenario.budgets):
        for instance in REPLICAS:
            limit = limit_of(index, instance, usd)
            if limit is not None:
                name = _series(
                    BUDGET_LIMIT.name, {**dict(labels), "instance": instance, "job": job}
                )
                series.append((name, f"{limit!r}x{samples}"))
    return series


def _budget_absent_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    horizon = _after_hold(rule, 10)
    samples = horizon + 5
    first = dict(rule.scenario.budgets[0][0])
    as_configured = _configured_series(rule, samples, lambda _i, _r, usd: usd)
    service_down = [(name, values.replace("1x", "0x")) for name, values in as_configured[:2]]
    return [
        *_pair(
            rule,
            as_configured,
            _configured_series(rule, samples, lambda i, _r, usd: None if i == 0 else usd),
            0,
            1,
            first,
            horizon,
        ),
        _case(
            f"{rule.name} stays silent while the service is down (LLMMetricsDown says so)",
            service_down,
            _silent(rule, horizon),
        ),
    ]


def _budget_mismatch_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    horizon = _after_hold(rule, 10)
    samples = horizon + 5
    job = dict(rule.scenario.series_labels)["job"]
    labels, usd = rule.scenario.budgets[0]
    other = _cents_above(usd)

    def stale(index: int, instance: str, limit: float) -> float:
        return other if index == 0 and instance == REPLICAS[1] else limit

    return _pair(
        rule,
        _configured_series(rule, samples, lambda _i, _r, limit: limit),
        _configured_series(rule, samples, stale),
        0,
        other,
        {**dict(labels), "instance": REPLICAS[1], "job": job},
        horizon,
    )


# -- SLO alerts ---------------------------------------------------------------------------------


def _after_hold(rule: AlertSpec, minutes: int) -> int:
    """``minutes`` past the end of the rule's ``for:``: when a scenario can be judged."""
    return minutes + _minutes(rule.duration)


def _requests(failing: float, samples: int) -> list[tuple[str, str]]:
    per_minute = 100.0
    base = {**SERIES_LABELS}
    failed = f"0+{per_minute * failing:g}x{samples}"
    return [
        (
            _series(REQUESTS.name, {**base, "status": "success"}),
            f"0+{per_minute * (1 - failing):g}x{samples}",
        ),
        (_series(REQUESTS.name, {**base, "status": "error"}), failed),
        (_series(ERRORS.name, {**base, "error_type": "timeout"}), failed),
    ]


def _failing_shares(allowed: float) -> tuple[float, float]:
    """Shares of failed requests on the safe side of ``allowed`` and past it (at most all)."""
    quiet = _one_digit(allowed / 2) if allowed > 0 else 0.0
    loud = _one_digit((1 + allowed) / 2 if allowed >= 0.5 else max(allowed * 2, 0.001), up=True)
    return quiet, min(loud, 1.0)


def _share_tests(rule: AlertSpec, allowed: float, shown: Callable[[float], float]) -> list[Any]:
    quiet, loud = _failing_shares(allowed)
    horizon = _after_hold(rule, 30)
    return _pair(
        rule,
        _requests(quiet, horizon + 30),
        _requests(loud, horizon + 30),
        1,
        shown(loud),
        dict(rule.scenario.alert_labels),
        horizon,
    )


def _success_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    return _share_tests(rule, 1 - rule.scenario.threshold, lambda failing: 1 - failing)


def _error_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    return _share_tests(rule, rule.scenario.threshold, lambda failing: failing)


def _latency_series(spec: MetricSpec, observed: float, samples: int) -> list[tuple[str, str]]:
    """``spec``'s buckets as 60 observations a minute of ``observed`` seconds would fill them."""
    series = []
    labels = dict(SERIES_LABELS)
    assert spec.buckets is not None
    for bound in (*spec.buckets, math.inf):
        le = (
            "+Inf" if bound == math.inf else f"{bound:g}" if bound != int(bound) else f"{bound:.1f}"
        )
        per_minute = 60 if observed <= bound else 0
        series.append(
            (
                _series(f"{spec.name}_bucket", {**labels, "le": le}),
                f"0+{per_minute}x{samples}",
            )
        )
    return series


def _latency_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    """Every observation in the bucket just past the objective: the quantile is then the
    bucket's lower bound plus the quantile's share of its width, over the objective."""
    spec, objective, q = _metric(rule.scenario), rule.scenario.threshold, rule.scenario.reference
    bounds = spec.buckets
    assert bounds is not None
    upper_index = next(i for i, b in enumerate(bounds) if b > objective)
    upper, lower = bounds[upper_index], bounds[upper_index - 1]
    quantile = lower + (upper - lower) * q
    if quantile <= objective:  # the objective sits near the top of its bucket: use the next one
        lower, upper = upper, bounds[upper_index + 1]
        quantile = lower + (upper - lower) * q
    horizon = _after_hold(rule, 30)
    return _pair(
        rule,
        _latency_series(spec, bounds[0], horizon + 30),
        _latency_series(spec, upper, horizon + 30),
        1,
        quantile,
        dict(rule.scenario.alert_labels),
        horizon,
    )


def _cache_series(hit_share: float, samples: int) -> list[tuple[str, str]]:
    labels = {"agent_id": SERIES_LABELS["agent_id"], "model": SERIES_LABELS["model"]}
    return [
        (_series(CACHE_HITS.name, labels), f"0+{100 * hit_share:g}x{samples}"),
        (_series(CACHE_MISSES.name, labels), f"0+{100 * (1 - hit_share):g}x{samples}"),
    ]


def _cache_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    objective = rule.scenario.threshold
    horizon = _after_hold(rule, 45)
    loud = _one_digit(objective * 0.9)
    return _pair(
        rule,
        _cache_series(min(objective * 1.1, 1.0), horizon + 15),
        _cache_series(loud, horizon + 15),
        1,
        loud,
        dict(rule.scenario.alert_labels),
        horizon,
    )


def _headroom_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    """Two replicas report the headroom; the alert reads the lower one, so a replica whose
    last answer left little room is enough."""
    labels = dict(rule.scenario.series_labels)
    threshold = rule.scenario.threshold
    horizon = _after_hold(rule, 10)
    samples = horizon + 5
    low = _one_digit(threshold / 2)

    def reported(lower: float) -> list[tuple[str, str]]:
        spec = _metric(rule.scenario)
        return [
            (_series(spec.name, {**labels, "instance": "replica-1:8000"}), f"0.9x{samples}"),
            (_series(spec.name, {**labels, "instance": "replica-2:8000"}), f"{lower!r}x{samples}"),
        ]

    return _pair(rule, reported(min(threshold * 2, 1.0)), reported(low), 0, low, labels, horizon)


# -- telemetry alerts ---------------------------------------------------------------------------


def _down_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    labels = dict(rule.scenario.alert_labels)
    name = _series("up", labels)
    horizon = _after_hold(rule, 10)
    samples = horizon + 5
    return _pair(rule, [(name, f"1x{samples}")], [(name, f"0x{samples}")], 0, 0, labels, horizon)


def _runaway_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    """Runs ending one a minute, each within the bound (quiet) or past it (loud): the count
    grows, and the bound's bucket with it or not."""
    labels = dict(rule.scenario.series_labels)
    spec = _metric(rule.scenario)
    count = _series(f"{spec.name}_count", labels)
    within = _series(f"{spec.name}_bucket", {**labels, "le": bucket_label(rule.scenario.threshold)})
    check_at = 10 + _minutes(rule.duration)
    samples = check_at + 5
    expected = [_expected(rule, 0, dict(rule.scenario.alert_labels))]
    return [
        _case(
            f"{rule.name} stays silent while every run ends within its bound",
            [(count, f"0+1x{samples}"), (within, f"0+1x{samples}")],
            _silent(rule, check_at),
        ),
        _case(
            f"{rule.name} fires once a run ends past its bound",
            [(count, f"0+1x{samples}"), (within, f"0+1x5 5x{samples - 5}")],
            [
                *_silent(rule, 4),
                {"eval_time": f"{check_at}m", "alertname": rule.name, "exp_alerts": expected},
            ],
        ),
    ]


def _absent_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    """Quiet: the job's target exports its resource (``target_info``); loud: it exports none."""
    labels = dict(rule.scenario.alert_labels)
    horizon = _after_hold(rule, 10)
    present = [(_series(TARGET_INFO, {**labels, "instance": REPLICAS[0]}), f"1x{horizon + 5}")]
    other = [(_series(TARGET_INFO, {"job": "another-job", "instance": REPLICAS[0]}), "1x5")]
    return _pair(rule, present, other, 0, 1, labels, horizon)


def _stale_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    """Two replicas export when their prices were fetched; the alert reads the older. Quiet:
    both an hour short of the limit when judged. Loud: one a minute past it from the start,
    so at the end of ``for:`` its age is the limit plus that hold and a minute."""
    limit = rule.scenario.threshold
    name = _metric(rule.scenario).name
    horizon = _after_hold(rule, 10)
    samples = horizon + 5

    def exported(older: float) -> list[tuple[str, str]]:
        fresh = horizon * 60 - limit / 2
        return [
            (_series(name, {"instance": REPLICAS[0]}), f"{fresh:.0f}+0x{samples}"),
            (_series(name, {"instance": REPLICAS[1]}), f"{older:.0f}+0x{samples}"),
        ]

    fire_at = _minutes(rule.duration)
    shown = fire_at * 60 + limit + 60
    quiet = exported(horizon * 60 - (limit - 3600))
    return _pair(rule, quiet, exported(-(limit + 60)), 0, shown, {}, horizon)


def _counted_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    """A counter that stays at 0, and one that counts one a minute from minute 3 on: judged
    once the hour's window lies within the counting, where its increase is exactly 60."""
    labels = dict(rule.scenario.series_labels)
    name = _series(_metric(rule.scenario).name, labels)
    fire_at = 3 + _minutes(rule.duration)
    check_at = max(fire_at, 70)
    samples = check_at + 10
    ignored = [
        _case(
            f"{rule.name} stays silent while only records of {label}={value} are counted",
            [
                (
                    _series(_metric(rule.scenario).name, {**labels, label: value}),
                    f"0x2 1+1x{samples}",
                )
            ],
            _silent(rule, check_at),
        )
        for label, value in rule.scenario.ignored
    ]
    return [
        _case(
            f"{rule.name} stays silent while nothing is counted",
            [(name, f"0x{samples}")],
            _silent(rule, check_at),
        ),
        *ignored,
        _case(
            f"{rule.name} fires while records are counted once its for: has elapsed",
            [(name, f"0x2 1+1x{samples}")],
            [
                *_not_yet(rule, fire_at),
                {
                    "eval_time": f"{check_at}m",
                    "alertname": rule.name,
                    "exp_alerts": [_expected(rule, 60, labels)],
                },
            ],
        ),
    ]


def _anomaly_tests(rule: AlertSpec) -> list[dict[str, Any]]:
    """A week and an hour at a base spend rate, then a jump: silent when the jump stays under
    the factor, firing when it is far over it (from the first sample after the jump). Samples
    and evaluations every LONG_STEP minutes keep a week of them cheap."""
    scenario = rule.scenario
    name = _series(_metric(scenario).name, dict(scenario.series_labels))
    factor, floor = scenario.threshold, scenario.reference
    step = LONG_STEP  # minutes between samples and between evaluations
    jump_at = 7 * 24 * 60 + 60  # an hour of base rate a week before the jump
    base = floor / 60 * step  # USD per sample: exactly the floor per hour
    loud_hourly = _cents_above(120 * factor * floor)
    quiet = (1 + factor) / 2 * base  # above the floor, below the factor

    loud_from = jump_at + step
    fire_at = loud_from + math.ceil(_minutes(rule.duration) / step) * step
    check_at = max(fire_at, loud_from + 70)  # once the hour's window holds only the new rate
    after_jump = math.ceil((check_at - jump_at) / step) + 3

    def series(per_step: float) -> list[tuple[str, str]]:
        start = base * jump_at / step
        rising = f"{start + per_step!r}+{per_step!r}x{after_jump}"
        return [(name, f"0+{base!r}x{jump_at // step} {rising}")]

    return [
        _case(
            f"{rule.name} stays silent below {factor:g} times last week's spend rate",
            series(quiet),
            _silent(rule, check_at),
            interval=f"{step}m",
        ),
        _case(
            f"{rule.name} fires far above last week's spend rate once its for: has elapsed",
            series(loud_hourly / 60 * step),
            [
                *_not_yet(rule, fire_at, step),
                {
                    "eval_time": f"{check_at}m",
                    "alertname": rule.name,
                    "exp_alerts": [_expected(rule, loud_hourly, {})],
                },
            ],
            interval=f"{step}m",
        ),
    ]


# -- error budget burns ----------------------------------------------------------------------
# An SLI's events at a steady rate, a steady share of them bad: every window's error ratio is
# that share from the first evaluation on, so each burn rate is exact. A burn just past a pair's
# factor fires that pair (with every pair of a lower factor), just under it does not; for the
# pages, a burn of every event fails nobody's threshold but the traffic floor's.

BURN_EVENTS_PER_MINUTE = 100.0


def _sli_series(
    scenario: Scenario, per_minute: float, bad_share: float, samples: int
) -> list[tuple[str, str]]:
    """An SLI's events as the metrics the service exports count them."""
    labels = dict(SERIES_LABELS)
    bad, good = per_minute * bad_share, per_minute * (1 - bad_share)
    if scenario.seconds is None:  # availability: requests that failed
        return [
            (_series(REQUESTS.name, {**labels, "status": "success"}), f"0+{good!r}x{samples}"),
            (_series(REQUESTS.name, {**labels, "status": "error"}), f"0+{bad!r}x{samples}"),
        ]
    sli = dict(scenario.series_labels)["sli"]
    name = LATENCY_SLIS[sli].name
    bound = {**labels, "le": bucket_label(scenario.seconds)}
    return [
        (_series(f"{name}_count", labels), f"0+{per_minute!r}x{samples}"),
        (_series(f"{name}_bucket", bound), f"0+{good!r}x{samples}"),
    ]


def burn_above(factor: float, every: float) -> float:
    """A burn just past ``factor`` and short of ``every`` (every event failing) whose "%.2f"
    is clear of a rounding boundary: promtool measures it with float noise, which must not
    tip the annotation's last digit."""
    above = min(round(factor * 1.1, 1), round((factor + every) / 2, 3))
    if abs(above * 100 % 1 - 0.5) < 1e-6:  # x.xx5: either way, by the noise
        above += min(0.001, (every - above) / 2)
    return above


def _traffic_reading(per_minute: float, long: str, at: int) -> float:
    """What a traffic floor reads at minute ``at`` of events counted from minute 0 on: the
    average over ``long`` of the per-second rate over RULE_WINDOW, which reads low while the
    counter is younger than that window."""
    window, span = _minutes(RULE_WINDOW), _minutes(long)
    rates = [per_minute / 60 * min(k, window) / window for k in range(max(1, at - span), at + 1)]
    return sum(rates) / len(rates)


def _burn_fires(
    pair: tuple[str, str, float, float], burn: float, per_minute: float, judged: int, held: int
) -> bool:
    """Whether a window pair ``(long, short, factor, min_rate)`` fires at minute ``judged``: the
    burn is past its factor, and its traffic floor has read enough at every evaluation of the
    ``held`` minutes its ``for:`` asks."""
    long, _, factor, min_rate = pair
    return burn > factor and all(
        _traffic_reading(per_minute, long, at) >= min_rate
        for at in range(max(1, judged - held), judged + 1)
    )


def _burn_tests(rule: AlertSpec, siblings: tuple[AlertSpec, ...]) -> list[dict[str, Any]]:
    """Both sides of this pair's factor, and for a page both sides of its traffic floor; what
    fires is every window pair of the SLI (``siblings``) whose burn and traffic are past its
    own."""
    scenario = rule.scenario
    sli = dict(scenario.series_labels)["sli"]
    long, short, factor, min_rate = scenario.burns[0]
    held = _minutes(rule.duration)
    fire_at = 1 + held
    labels = {"sli": sli}

    def case(
        title: str, fires: bool, burn: float, per_minute: float, at: int | None = None
    ) -> dict[str, Any]:
        """Events from minute 0 on; judged when the pair's ``for:`` has just elapsed (and
        one evaluation before), or only ``at``, once the traffic floor reads the steady event
        rate: a counter's first minutes read low."""
        judged = fire_at if at is None else at
        pairs = [
            s for s in siblings if _burn_fires(s.scenario.burns[0], burn, per_minute, judged, held)
        ]
        if (rule in pairs) != fires:
            raise ValueError(f"the case of {rule.name} over {long} that {title} would not")
        firing = [_expected(sibling, burn, labels) for sibling in pairs]
        series = _sli_series(scenario, per_minute, burn * scenario.budget, judged + 5)
        check = {"eval_time": f"{judged}m", "alertname": rule.name, "exp_alerts": firing}
        checks = [*_not_yet(rule, fire_at), check] if at is None else [check]
        return _case(f"{rule.name} for {sli} over {long} and {short} {title}", series, checks)

    every = 1 / scenario.budget  # the burn of every event failing: the most there can be
    above = burn_above(factor, every)
    # Enough events that every pair's traffic floor holds from the first evaluation on, where
    # the rate over RULE_WINDOW reads a fraction of the steady one.
    highest_floor = max(sibling.scenario.burns[0][3] for sibling in siblings)
    busiest = 1.25 * highest_floor / _traffic_reading(1.0, long, 1)
    steady = max(BURN_EVENTS_PER_MINUTE, 100.0 * math.ceil(busiest / 100))
    cases = [
        case(f"fires just above {factor:g} times the budget", True, above, steady),
        case(f"stays silent just under {factor:g}", False, round(factor * 0.9, 1), steady),
    ]
    if rule.severity == "critical":  # a page: one failure at low traffic must not be enough
        floor, settled = min_rate * 60, fire_at + 12
        cases += [
            case("stays silent when every event fails under its traffic floor", False, every,
                 floor * 0.8, settled),
            case("fires when every event fails above its traffic floor", True, every,
                 floor * 1.25, settled),
        ]  # fmt: skip
    return cases


#: Scenarios judged with the other rules of their alert (``siblings``): what fires depends on
#: every window pair of an SLI.
SIBLING_SCENARIOS = {"burn_rate": _burn_tests}
SCENARIOS = {
    "budget_share": _budget_share_tests,
    "budget_forecast": _budget_forecast_tests,
    "budget_absent": _budget_absent_tests,
    "budget_mismatch": _budget_mismatch_tests,
    "anomaly": _anomaly_tests,
    "success_share": _success_tests,
    "error_share": _error_tests,
    "latency": _latency_tests,
    "cache_share": _cache_tests,
    "headroom": _headroom_tests,
    "target_down": _down_tests,
    "target_absent": _absent_tests,
    "runaway": _runaway_tests,
    "counted": _counted_tests,
    "stale": _stale_tests,
}


#: Scenarios that need a day or more of history: they go in a file of their own, evaluated
#: every LONG_STEP minutes, so that a week costs 1,000 evaluations rather than 10,000, and the
#: long windows of the SLO rules are not read at every minute of a day. The other scenarios
#: keep their one-minute steps.
LONG_KINDS = frozenset({"anomaly", "budget_forecast"})
LONG_STEP = 10


def test_files(specs: tuple[AlertSpec, ...]) -> tuple[AlertTestFile, AlertTestFile]:
    """The promtool cases of ``specs``: those evaluated every minute, and those that need a
    day or more of history (evaluated every ``LONG_STEP`` minutes)."""
    minute: list[dict[str, Any]] = []
    long: list[dict[str, Any]] = []
    for rule in specs:
        kind = rule.scenario.kind
        if kind in SIBLING_SCENARIOS:  # judged with the other rules of its alert and SLI
            siblings = tuple(
                s
                for s in specs
                if s.name == rule.name and s.scenario.series_labels == rule.scenario.series_labels
            )
            cases = SIBLING_SCENARIOS[kind](rule, siblings)
        else:
            cases = SCENARIOS[rule.scenario.kind](rule)
        (long if rule.scenario.kind in LONG_KINDS else minute).extend(cases)
    return AlertTestFile("1m", tuple(minute)), AlertTestFile(f"{LONG_STEP}m", tuple(long))

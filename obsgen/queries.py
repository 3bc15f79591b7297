"""Every PromQL expression obsgen writes, built from the llmobs metric schema.

Selectors only use labels a metric really has: with dashboard filters on, a metric with an
``agent_id`` label gets ``agent_id=~"$agent_id"``, one without it (``llm_cache_size``) does not.
The dashboard and the rules share these builders; layout lives elsewhere.
"""

from __future__ import annotations

import re

from llmobs.schema import MetricKind, MetricSpec

#: Grafana template variables, by the label they filter.
DASHBOARD_FILTERS = ("agent_id", "model", "provider")
RATE_INTERVAL = "$__rate_interval"
DASHBOARD_RANGE = "$__range"


def string_literal(value: str) -> str:
    """``value`` as a PromQL double-quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def series_name(spec: MetricSpec, suffix: str = "") -> str:
    """The exposed series name: the metric's, or a histogram's ``_bucket``, ``_sum``, ``_count``."""
    if suffix and (
        spec.kind is not MetricKind.HISTOGRAM or suffix not in ("_bucket", "_sum", "_count")
    ):
        raise ValueError(f"{spec.name} has no {suffix} series")
    return spec.name + suffix


def selector(
    spec: MetricSpec,
    suffix: str = "",
    *,
    dashboard: bool = False,
    matchers: dict[str, str] | None = None,
) -> str:
    """A series selector; with ``dashboard`` it is filtered by the template variables."""
    parts = []
    if dashboard:
        parts += [f'{label}=~"${label}"' for label in DASHBOARD_FILTERS if label in spec.labels]
    for label, value in (matchers or {}).items():
        if label not in spec.labels:
            raise ValueError(f"{spec.name} has no label {label!r}")
        parts.append(f"{label}={string_literal(value)}")
    body = ",".join(parts)
    return f"{series_name(spec, suffix)}{{{body}}}" if body else series_name(spec, suffix)


def _by(labels: tuple[str, ...], spec: MetricSpec | None = None) -> str:
    if spec is not None:
        allowed = set(spec.labels) | ({"le"} if spec.kind is MetricKind.HISTOGRAM else set())
        missing = [label for label in labels if label not in allowed]
        if missing:
            raise ValueError(f"{spec.name} has no label {missing[0]!r} to aggregate by")
    return f" by ({', '.join(labels)})" if labels else ""


def summed(
    function: str,
    spec: MetricSpec,
    window: str,
    by: tuple[str, ...] = (),
    *,
    suffix: str = "",
    dashboard: bool = False,
    matchers: dict[str, str] | None = None,
) -> str:
    """``sum by (...) (function(selector[window]))`` for ``rate`` or ``increase``."""
    inner = selector(spec, suffix, dashboard=dashboard, matchers=matchers)
    return _sum(f"{function}({inner}[{window}])", by, spec)


def _sum(expr: str, by: tuple[str, ...], spec: MetricSpec | None = None) -> str:
    by_clause = _by(by, spec)
    return f"sum{by_clause} ({expr})" if by_clause else f"sum({expr})"


def rate(spec: MetricSpec, window: str, by: tuple[str, ...] = (), **options) -> str:
    """Per-second rate of a counter, summed."""
    return summed("rate", spec, window, by, **options)


def increase(spec: MetricSpec, window: str, by: tuple[str, ...] = (), **options) -> str:
    """Increase of a counter over ``window``, summed."""
    return summed("increase", spec, window, by, **options)


def gauge_sum(spec: MetricSpec, by: tuple[str, ...] = (), *, dashboard: bool = False) -> str:
    """A gauge's current value, summed."""
    return _sum(selector(spec, dashboard=dashboard), by, spec)


def ratio(numerator: str, denominator: str) -> str:
    """``numerator / denominator``; empty (not 0 or NaN) where the denominator is 0."""
    return f"({numerator})\n/\n({denominator} > 0)"


def quantile(
    q: float, spec: MetricSpec, window: str, by: tuple[str, ...] = (), *, dashboard: bool = False
) -> str:
    """The ``q`` quantile of a histogram, from its buckets summed by ``le``."""
    buckets = summed("rate", spec, window, ("le", *by), suffix="_bucket", dashboard=dashboard)
    return f"histogram_quantile({q:g}, {buckets})"


def team_regex(separator: str) -> str:
    """RE2 pattern whose first group is the team: the agent id up to the first separator."""
    return f"([^{re.escape(separator)}]*).*"


def with_team(expr: str, separator: str) -> str:
    """``expr`` with a ``team`` label derived from its ``agent_id`` label."""
    return (
        f'label_replace({expr}, "team", "$1", "agent_id", {string_literal(team_regex(separator))})'
    )

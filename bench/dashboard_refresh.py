"""One refresh of the generated dashboard against a Prometheus-compatible query API, timed.

A refresh is what Grafana asks for: every panel's range query over 24 h at its step (60 s) and
the instant queries, the annotations, and each variable's values through both endpoints Grafana
uses (label values, and series on data sources that list variables that way). It runs for a
:class:`Choice` of variables: every one at All, or one value of one variable.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from llmobs.schema import REQUESTS

STEP = 60  # Grafana's step for 24 h on a dashboard-wide panel (about 1,400 points)
RANGE = 86400
RATE_INTERVAL = max(STEP + 15, 4 * 15)  # Grafana's $__rate_interval for a 15 s scrape
VARIABLES = ("agent_id", "model", "provider")


@dataclass(frozen=True)
class Choice:
    """Values chosen for some dashboard variables; the others are at All."""

    label: str
    values: dict[str, str] = field(default_factory=dict)


class QueryAPI:
    """The Prometheus query API at ``url``, timing each call."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: object) -> float:
        """Seconds one API call took; fail on an error answer."""
        url = f"{self.url}{path}?{urllib.parse.urlencode(params, doseq=True)}"
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=900) as response:
            body = json.loads(response.read())
        elapsed = time.perf_counter() - start
        if body["status"] != "success":
            raise SystemExit(f"query failed: {params}: {body}")
        return elapsed


def substitute(expr: str, choice: Choice) -> str:
    """``expr`` with the variables and Grafana's macros replaced as Grafana would."""
    for label in VARIABLES:
        value = choice.values.get(label)
        escaped = re.escape(value).replace("\\", "\\\\") if value else ".*"
        expr = expr.replace(f"${label}", escaped)
    return (
        expr.replace("$__rate_interval", f"{RATE_INTERVAL}s")
        .replace("$__range", f"{RANGE}s")
        .replace("$__interval", f"{STEP}s")
    )


def variable_source(query: str, name: str, baseline: bool) -> tuple[str, str]:
    """(metric, label) that lists a variable's values: the plan's ``label_values(metric,
    label)``, or for the baseline the raw request counter's own label."""
    if baseline:
        return REQUESTS.name, name
    metric, label = query.removeprefix("label_values(").removesuffix(")").split(",")
    return metric.strip(), label.strip()


def refresh(api: QueryAPI, board, end: int, baseline: bool, choice: Choice) -> dict[str, float]:
    """Seconds per panel of one refresh, with the annotations and the variables as rows."""
    times: dict[str, float] = {}
    for panel in board.panels:
        for query in panel.queries:
            expr = substitute(query.baseline if baseline else query.expr, choice)
            if query.instant:
                took = api.get("/api/v1/query", query=expr, time=end)
            else:
                took = api.get(
                    "/api/v1/query_range", query=expr, start=end - RANGE, end=end, step=STEP
                )
            times[panel.title] = times.get(panel.title, 0.0) + took
    times["(annotations)"] = sum(
        api.get("/api/v1/query_range", query=a.expr, start=end - RANGE, end=end, step=STEP)
        for a in board.annotations
    )
    span = {"start": end - RANGE, "end": end}
    for row, path in (
        ("(variables: label values)", "label/{}/values"),
        ("(variables: series)", "series"),
    ):
        times[row] = 0.0
        for variable in board.variables:
            metric, label = variable_source(variable.query, variable.name, baseline)
            times[row] += api.get(f"/api/v1/{path.format(label)}", **span, **{"match[]": metric})
    return times


def best(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each row's fastest time over the rounds."""
    return {name: min(r[name] for r in rounds) for name in rounds[0]}


def slowest(times: dict[str, float]) -> str:
    """The row that took longest."""
    return max(times, key=times.__getitem__)

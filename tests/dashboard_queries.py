"""The generated dashboard's queries run against a real Prometheus-compatible API (Prometheus,
or the central store), with Grafana's variables and macros replaced as Grafana would."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from llmobs.schema import METRICS
from obsgen import paths

VARIABLES = ("agent_id", "model", "provider")
#: The label the dashboard's queries switch rules on (no series carries it).
ALL_SELECTED = "__obsgen_all_selected__"


class QueryAPI:
    """The Prometheus HTTP API at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def get(url: str) -> Any:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise AssertionError(f"{exc.code} from {urllib.parse.unquote(url)}: {detail}") from None

    @staticmethod
    def post(url: str) -> Any:
        request = urllib.request.Request(url, data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} if at is None else {"query": expr, "time": at}
        body = self.get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode(params))
        assert body["status"] == "success", f"query failed: {expr}: {body}"
        return body["data"]["result"]

    def value(self, expr: str, at: float | None = None) -> float | None:
        """The one value ``expr`` returns now (or at ``at``), None if it returns nothing."""
        result = self.query(expr, at)
        assert len(result) <= 1, f"{expr} returned {len(result)} series"
        return float(result[0]["value"][1]) if result else None

    def query_range(self, expr: str, seconds: float, step: float) -> list[dict[str, Any]]:
        end = time.time()
        params = {"query": expr, "start": end - seconds, "end": end, "step": step}
        body = self.get(f"{self.url}/api/v1/query_range?" + urllib.parse.urlencode(params))
        assert body["status"] == "success", f"range query failed: {expr}: {body}"
        return body["data"]["result"]


def dashboard(root: Path) -> dict[str, Any]:
    return json.loads((root / paths.DASHBOARD).read_text())


def panel_queries(root: Path) -> list[tuple[str, str, bool]]:
    """(panel title, expression, instant) of every target of the dashboard that draws data
    (not the exemplar probes, which draw none by design)."""
    return [
        (panel["title"], target["expr"], target["instant"])
        for panel in dashboard(root)["panels"]
        for target in panel.get("targets", [])
        if not target["exemplar"]
    ]


def exemplar_queries(root: Path) -> dict[str, str]:
    """The exemplar probe of each panel that shows exemplars, by panel title."""
    return {
        panel["title"]: target["expr"]
        for panel in dashboard(root)["panels"]
        for target in panel.get("targets", [])
        if target["exemplar"]
    }


def panel(root: Path, title: str) -> dict[str, Any]:
    return next(p for p in dashboard(root)["panels"] if p["title"] == title)


def substitute(expr: str, values: dict[str, str], range_seconds: int, step: int) -> str:
    """Replace Grafana's variables and macros as Grafana would for a Prometheus query."""
    rate_interval = max(step + 1, 4 * 1)  # max($__interval + scrape interval, 4 x scrape)
    for name in VARIABLES:
        expr = expr.replace(f"${{{name}}}", values.get(name, ".*"))
        expr = expr.replace(f"${name}", values.get(name, ".*"))
    return (
        expr.replace("$__rate_interval", f"{rate_interval}s")
        .replace("$__range_s", str(range_seconds))
        .replace("$__range", f"{range_seconds}s")
        .replace("$__interval", f"{step}s")
    )


def _first_metric(expr: str) -> str:
    """The first schema series the query reads, directly or through a recording rule."""
    names = {name for spec in METRICS for name in (spec.name, spec.name + "_bucket")}
    for found in re.findall(r"(llm_\w+)", expr):
        for name in (found, found + "_total"):
            if name in names:
                return name
    raise AssertionError(f"no schema metric in {expr}")


def _narrowing(expr: str) -> str:
    """The query's first equality matcher on each label that is not a variable (such as
    ``token_type="reasoning"``), as a selector's matchers: the series it reads."""
    found: dict[str, str] = {}
    for label, value in re.findall(r'(\w+)="([^"$]*)"', expr):
        if label not in VARIABLES and not label.startswith("__"):
            found.setdefault(label, value)
    return ",".join(f'{label}="{value}"' for label, value in found.items())


def concrete_values(api: QueryAPI, expr: str) -> dict[str, str]:
    """Label values of the longest-lived series of the first metric the query reads, among
    those it narrows to (a series born a second ago has one sample, too few for a rate)."""
    metric = _first_metric(expr)
    selector = f"{metric}{{{_narrowing(expr)}}}"
    series = api.query(
        f"topk(1, sum by (agent_id, model, provider) (count_over_time({selector}[60s])))"
    )
    assert series, f"no series of {metric} to pick concrete variable values from"
    labels = series[0]["metric"]
    # Grafana escapes regex characters of a variable's value, then the PromQL string escapes.
    return {k: re.escape(v).replace("\\", "\\\\") for k, v in labels.items() if k in VARIABLES}


def chosen_values(api: QueryAPI, expr: str, variables: str) -> dict[str, str]:
    """Variable values for ``expr``: none (``variables`` = "all"), values that have data for
    every variable ("concrete"), or for one variable alone (its name), the others at All."""
    if variables == "all" or not any(f"${name}" in expr for name in VARIABLES):
        return {}
    values = concrete_values(api, expr)
    if variables in VARIABLES:
        return {name: value for name, value in values.items() if name == variables}
    return values


def variable_values(api: QueryAPI, query: str) -> tuple[set[str], set[str]]:
    """The values Grafana lists for the variable query ``label_values(metric, label)``,
    through the label-values endpoint and through the series endpoint."""
    metric, label = (part.strip() for part in query.removeprefix("label_values(")[:-1].split(","))
    match = urllib.parse.urlencode({"match[]": metric})
    listed = api.get(f"{api.url}/api/v1/label/{label}/values?{match}")["data"]
    series = api.get(f"{api.url}/api/v1/series?{match}")["data"]
    return set(listed), {s[label] for s in series if label in s}


def empty_panel_queries(
    api: QueryAPI, root: Path, variables: str, unrecorded: tuple[str, ...] = ()
) -> list[str]:
    """The dashboard's queries that return no data, with variables chosen as
    :func:`chosen_values` does; queries naming any of ``unrecorded`` (data the service never
    produces) are not asked."""
    empty = []
    for title, expr, instant in panel_queries(root):
        if any(name in expr for name in unrecorded):
            continue
        values = chosen_values(api, expr, variables)
        query = substitute(expr, values, range_seconds=120, step=2)
        result = api.query(query) if instant else api.query_range(query, 60, 2)
        if not result:
            empty.append(f"{title}: {query}")
    return empty


def recording_rules_without_series(api: QueryAPI, root: Path) -> list[str]:
    """The recording rules of ``root`` that have no series in ``api``."""
    import yaml

    records = [
        rule["record"]
        for group in yaml.safe_load((root / paths.RECORDING_RULES).read_text())["groups"]
        for rule in group["rules"]
    ]
    return [record for record in records if not api.query(record)]

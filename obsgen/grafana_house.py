"""House rules over grafanalib: modern panel JSON for Grafana 10 to 12.

grafanalib builds the JSON; this layer fixes its dated defaults: every panel and target on the
``${datasource}`` variable, refIds, no ``maxDataPoints`` of 100 or Graphite-era target fields,
stat thresholds that start at null, gauge and bar-gauge options in the current layout, and a
current schema version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import grafanalib.core as g
from grafanalib._gen import DashboardEncoder

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_KEYS_TO_DROP = (
    "cacheTimeout",
    "error",
    "height",
    "hideTimeOverride",
    "minSpan",
    "span",
    "repeat",
    "repeatDirection",
    "maxPerRow",
    "timeFrom",
    "timeShift",
    "interval",
    "editable",
    "maxDataPoints",
    "thresholds",
)


@dataclass(frozen=True)
class Query:
    """One PromQL target: expression and legend; ``instant`` for a single value per series."""

    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Step:
    """A threshold step: the colour from ``value`` up (None is the base step)."""

    color: str
    value: float | None


def targets(queries: list[Query]) -> list[g.Target]:
    return [
        g.Target(
            expr=query.expr,
            legendFormat=query.legend,
            refId=chr(ord("A") + index),
            instant=query.instant,
            datasource=DATASOURCE,
        )
        for index, query in enumerate(queries)
    ]


def _common(title: str, description: str, queries: list[Query], pos: g.GridPos) -> dict[str, Any]:
    """What every panel sets the same way: titles, the datasource variable, targets, position."""
    return {
        "title": title,
        "description": description,
        "dataSource": DATASOURCE,
        "targets": targets(queries),
        "gridPos": pos,
    }


def _thresholds(steps: list[Step]) -> dict[str, Any]:
    return {
        "mode": "absolute",
        "steps": [{"color": step.color, "value": step.value} for step in steps],
    }


def grid(x: int, y: int, w: int, h: int) -> g.GridPos:
    return g.GridPos(h=h, w=w, x=x, y=y)


def stat(
    title: str,
    description: str,
    queries: list[Query],
    unit: str,
    pos: g.GridPos,
    steps: list[Step],
    decimals: int | None = None,
) -> g.Stat:
    return g.Stat(
        **_common(title, description, queries, pos),
        format=unit,
        reduceCalc="lastNotNull",
        graphMode="area",
        decimals=decimals,
        colorMode="value",
        noValue="0",
        extraJson={
            "fieldConfig": {
                "defaults": {"thresholds": _thresholds(steps), "color": {"mode": "thresholds"}}
            }
        },
    )


def gauge(
    title: str,
    description: str,
    queries: list[Query],
    unit: str,
    pos: g.GridPos,
    steps: list[Step],
    minimum: float,
    maximum: float,
) -> g.GaugePanel:
    panel = g.GaugePanel(
        **_common(title, description, queries, pos),
        format=unit,
    )
    return _modern_gauge(panel, unit, steps, minimum, maximum, {})


def bar_gauge(
    title: str, description: str, queries: list[Query], unit: str, pos: g.GridPos, steps: list[Step]
) -> g.BarGauge:
    panel = g.BarGauge(
        **_common(title, description, queries, pos),
        format=unit,
        orientation=g.ORIENTATION_HORIZONTAL,
        displayMode=g.GAUGE_DISPLAY_MODE_GRADIENT,
    )
    options = {
        "displayMode": "gradient",
        "orientation": "horizontal",
        "showUnfilled": True,
        "valueMode": "color",
        "namePlacement": "auto",
        "sizing": "auto",
    }
    return _modern_gauge(panel, unit, steps, 0, None, options)


def _modern_gauge(
    panel: Any,
    unit: str,
    steps: list[Step],
    minimum: float | None,
    maximum: float | None,
    options: dict[str, Any],
) -> Any:
    panel.extraJson = {
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": minimum,
                "max": maximum,
                "thresholds": _thresholds(steps),
                "color": {"mode": "thresholds"},
                "mappings": [],
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
            **options,
        },
    }
    return panel


def timeseries(
    title: str,
    description: str,
    queries: list[Query],
    unit: str,
    pos: g.GridPos,
    *,
    stacked: bool = False,
    minimum: int | None = 0,
) -> g.TimeSeries:
    return g.TimeSeries(
        **_common(title, description, queries, pos),
        unit=unit,
        fillOpacity=20 if stacked else 10,
        lineWidth=1,
        valueMin=minimum,
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none"},
        legendDisplayMode="table",
        legendPlacement="right",
        legendCalcs=["mean", "max"],
        tooltipMode="multi",
        tooltipSort="desc",
    )


def pie(
    title: str, description: str, queries: list[Query], unit: str, pos: g.GridPos
) -> g.PieChartv2:
    return g.PieChartv2(
        **_common(title, description, queries, pos),
        unit=unit,
        pieType="donut",
        legendDisplayMode="table",
        legendPlacement="right",
        legendValues=["value", "percent"],
        reduceOptionsCalcs=["lastNotNull"],
    )


def row(title: str, y: int) -> g.RowPanel:
    return g.RowPanel(title=title, gridPos=grid(0, y, 24, 1))


def query_variable(name: str, label: str, query: str) -> g.Template:
    return g.Template(
        name=name,
        label=label,
        query={"query": query, "refId": f"{name}-variable"},
        dataSource=DATASOURCE,
        includeAll=True,
        multi=True,
        allValue=".*",
        default="All",
        refresh=g.REFRESH_ON_TIME_RANGE_CHANGE,
        sort=g.SORT_ALPHA_ASC,
    )


def datasource_variable() -> g.Template:
    return g.Template(
        name="datasource",
        label="Data source",
        query="prometheus",
        type="datasource",
        default="Prometheus",
    )


def annotation(
    name: str, expr: str, title: str, text: str, tags: str, color: str
) -> dict[str, Any]:
    return {
        "name": name,
        "datasource": DATASOURCE,
        "enable": True,
        "hide": False,
        "iconColor": color,
        "expr": expr,
        "step": "60s",
        "titleFormat": title,
        "textFormat": text,
        "tagKeys": tags,
        "useValueForTime": False,
    }


def _finish_panel(panel: dict[str, Any]) -> dict[str, Any]:
    for key in PANEL_KEYS_TO_DROP:
        panel.pop(key, None)
    if panel.get("type") in ("gauge", "bargauge"):
        panel.get("options", {}).pop("fieldOptions", None)
        for key in ("calcs", "decimals", "limit", "links", "override", "title", "values"):
            panel["fieldConfig"]["defaults"].pop(key, None)
        panel["fieldConfig"].pop("showThresholdLabels", None)
        panel["fieldConfig"].pop("showThresholdMarkers", None)
    if panel.get("type") == "row":
        panel.update({"collapsed": False, "panels": []})
        panel.pop("targets", None)
        panel.pop("fieldConfig", None)
        panel.pop("datasource", None)
        return panel
    for target in panel.get("targets", []):
        for key in ("target", "metric", "step", "query", "intervalFactor", "interval", "hide"):
            target.pop(key, None)
        target["range"] = not target["instant"]
        target["editorMode"] = "code"
    return panel


def dashboard_json(dashboard: g.Dashboard) -> dict[str, Any]:
    """The dashboard as JSON data with the house rules applied."""
    data = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    data["panels"] = [_finish_panel(panel) for panel in data["panels"]]
    data["schemaVersion"] = SCHEMA_VERSION
    for key in ("rows", "hideControls", "sharedCrosshair", "style", "gnetId", "id", "__inputs"):
        data.pop(key, None)
    for variable in data["templating"]["list"]:
        for key in ("auto", "auto_count", "auto_min", "useTags", "tagsQuery", "tagValuesQuery"):
            variable.pop(key, None)
    return data

"""House rules over grafanalib: panel JSON that matches Grafana 11.6 and 12's published schema.

grafanalib builds the JSON; this layer fixes its dated defaults: every panel and target on the
``${datasource}`` variable, refIds, no ``maxDataPoints`` of 100 or Graphite-era target fields,
thresholds that start at null, gauge and bar-gauge options in the current layout, legends that
say they are shown, no nulls where the schema wants a value, annotations in the Prometheus
plugin's ``target`` form, and the current schema version.
"""

from __future__ import annotations

import json
from typing import Any

import grafanalib.core as g
from grafanalib._gen import DashboardEncoder

from obsgen.plan.model import Annotation, Grid, Panel, Query, Step

#: Grafana 12's dashboard schema version: Grafana 11 and 12 load it without migrating it.
SCHEMA_VERSION = 42
#: The data source the import dialog asks for (``__inputs``); the datasource variable starts on
#: it, and provisioning, which substitutes nothing, falls back to the default Prometheus.
DATASOURCE_INPUT = "DS_PROMETHEUS"
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
TARGET_KEYS_TO_DROP = ("target", "metric", "step", "query", "intervalFactor", "interval", "hide")
LEGEND = {"showLegend": True, "displayMode": "table", "placement": "right"}


class PrometheusTarget:
    """A grafanalib Target that may also ask for exemplars (grafanalib's cannot)."""

    def __init__(self, target: g.Target, exemplar: bool) -> None:
        self.target, self.exemplar = target, exemplar

    def to_json_data(self) -> dict[str, Any]:
        return {**self.target.to_json_data(), "exemplar": self.exemplar}


def targets(queries: tuple[Query, ...]) -> list[PrometheusTarget]:
    return [
        PrometheusTarget(
            g.Target(
                expr=query.expr,
                legendFormat=query.legend,
                refId=chr(ord("A") + index),
                instant=query.instant,
                datasource=DATASOURCE,
            ),
            query.exemplar,
        )
        for index, query in enumerate(queries)
    ]


def grid(where: Grid) -> g.GridPos:
    return g.GridPos(h=where.h, w=where.w, x=where.x, y=where.y)


def _common(panel: Panel) -> dict[str, Any]:
    """What every panel sets the same way: titles, the datasource variable, targets, position."""
    return {
        "title": panel.title,
        "description": panel.description,
        "dataSource": DATASOURCE,
        "targets": targets(panel.queries),
        "gridPos": grid(panel.grid),
    }


def _thresholds(steps: tuple[Step, ...]) -> dict[str, Any]:
    return {
        "mode": "absolute",
        "steps": [{"color": step.color, "value": step.value} for step in steps],
    }


def _defaults(panel: Panel, **extra: Any) -> dict[str, Any]:
    """The field defaults every panel kind shares: unit, thresholds, limits, decimals."""
    defaults: dict[str, Any] = {"unit": panel.unit, "mappings": [], **extra}
    if panel.thresholds:
        defaults["thresholds"] = _thresholds(panel.thresholds)
        defaults["color"] = {"mode": "thresholds"}
    for key, value in (
        ("min", panel.minimum),
        ("max", panel.maximum),
        ("decimals", panel.decimals),
    ):
        if value is not None:
            defaults[key] = value
    return defaults


def _reduce() -> dict[str, Any]:
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


def stat(panel: Panel) -> g.Stat:
    built = g.Stat(**_common(panel), format=panel.unit)
    built.extraJson = {
        "fieldConfig": {"defaults": _defaults(panel, noValue="0"), "overrides": []},
        "options": {
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": _reduce(),
            "textMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
            "percentChangeColorMode": "standard",
        },
    }
    return built


def gauge(panel: Panel) -> g.GaugePanel:
    built = g.GaugePanel(**_common(panel), format=panel.unit)
    built.extraJson = {
        "fieldConfig": {"defaults": _defaults(panel), "overrides": []},
        "options": {
            "orientation": "auto",
            "reduceOptions": _reduce(),
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
            "sizing": "auto",
            "minVizHeight": 75,
            "minVizWidth": 75,
        },
    }
    return built


def bar_gauge(panel: Panel) -> g.BarGauge:
    built = g.BarGauge(**_common(panel), format=panel.unit)
    built.extraJson = {
        "fieldConfig": {"defaults": _defaults(panel), "overrides": []},
        "options": {
            "displayMode": "gradient",
            "orientation": "horizontal",
            "reduceOptions": _reduce(),
            "showUnfilled": True,
            "valueMode": "color",
            "namePlacement": "auto",
            "sizing": "auto",
            "minVizHeight": 16,
            "minVizWidth": 8,
            "maxVizHeight": 300,
            "legend": {
                "showLegend": False,
                "displayMode": "list",
                "placement": "bottom",
                "calcs": [],
            },
        },
    }
    return built


def timeseries(panel: Panel) -> g.TimeSeries:
    built = g.TimeSeries(**_common(panel), unit=panel.unit)
    custom = {
        "drawStyle": "line",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "fillOpacity": 20 if panel.stacked else 10,
        "gradientMode": "none",
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if panel.stacked else "none", "group": "A"},
        "axisPlacement": "auto",
    }
    built.extraJson = {
        "fieldConfig": {"defaults": _defaults(panel, custom=custom), "overrides": []},
        "options": {
            "legend": {**LEGEND, "calcs": ["mean", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }
    return built


def pie(panel: Panel) -> g.PieChartv2:
    built = g.PieChartv2(**_common(panel), unit=panel.unit)
    built.extraJson = {
        "fieldConfig": {"defaults": _defaults(panel, custom={}), "overrides": []},
        "options": {
            "pieType": "donut",
            "displayLabels": [],
            "orientation": "auto",
            "legend": {**LEGEND, "values": ["value", "percent"], "calcs": []},
            "reduceOptions": _reduce(),
            "tooltip": {"mode": "single", "sort": "none"},
        },
    }
    return built


def row(panel: Panel) -> g.RowPanel:
    return g.RowPanel(title=panel.title, gridPos=grid(panel.grid))


BUILDERS = {
    "stat": stat,
    "gauge": gauge,
    "bargauge": bar_gauge,
    "timeseries": timeseries,
    "piechart": pie,
    "row": row,
}


def query_variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {
            "qryType": 1,
            "query": query,
            "refId": "PrometheusVariableQueryEditor-VariableQuery",
        },
        "includeAll": True,
        "allowCustomValue": True,
        "multi": True,
        "allValue": ".*",
        "current": {"text": ["All"], "value": ["$__all"]},
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "hide": 0,
        "skipUrlSync": False,
    }


def datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {"text": "Prometheus", "value": "${" + DATASOURCE_INPUT + "}"},
        "includeAll": False,
        "allowCustomValue": True,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
        "hide": 0,
        "skipUrlSync": False,
    }


def built_in_annotation() -> dict[str, Any]:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def annotation(spec: Annotation) -> dict[str, Any]:
    """A Prometheus annotation in the plugin's stored form: the query in ``target``; title,
    text, tag and time fields at the top, where the plugin reads them."""
    return {
        "builtIn": 0,
        "name": spec.name,
        "datasource": DATASOURCE,
        "enable": True,
        "hide": False,
        "iconColor": spec.color,
        "target": {"expr": spec.expr, "interval": "60s", "refId": "Anno"},
        "titleFormat": spec.title,
        "textFormat": spec.text,
        "tagKeys": spec.tags,
        "useValueForTime": False,
    }


def inputs() -> list[dict[str, Any]]:
    """What Grafana's import dialog asks for: the Prometheus data source."""
    return [
        {
            "name": DATASOURCE_INPUT,
            "label": "Prometheus",
            "description": "The Prometheus that scrapes the LLM service",
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus",
        }
    ]


def _finish_panel(panel: dict[str, Any]) -> dict[str, Any]:
    for key in PANEL_KEYS_TO_DROP:
        panel.pop(key, None)
    panel.pop("transformations", None)
    if panel.get("type") == "row":
        for key in (
            "targets",
            "fieldConfig",
            "datasource",
            "options",
            "links",
            "description",
            "transparent",
        ):
            panel.pop(key, None)
        panel.update({"collapsed": False, "panels": []})
        return panel
    panel.pop("links", None)
    panel.update({"repeatDirection": "h", "transparent": False})
    for target in panel.get("targets", []):
        for key in TARGET_KEYS_TO_DROP:
            target.pop(key, None)
        target["range"] = not target["instant"]
        target["editorMode"] = "code"
    return panel


def dashboard_json(dashboard: g.Dashboard, variables: list[dict[str, Any]]) -> dict[str, Any]:
    """The dashboard as JSON data with the house rules applied."""
    data = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    for panel, source in zip(data["panels"], dashboard.panels, strict=True):
        # grafanalib deep-merges its own dated field config and options into ours: use ours.
        for key in ("fieldConfig", "options"):
            if key in (source.extraJson or {}):
                panel[key] = source.extraJson[key]
    data["panels"] = [_finish_panel(panel) for panel in data["panels"]]
    data["schemaVersion"] = SCHEMA_VERSION
    data["templating"] = {"list": variables}
    data["timepicker"] = {
        "hidden": False,
        "refresh_intervals": data["timepicker"]["refresh_intervals"],
    }
    data["fiscalYearStartMonth"] = 0
    data["__inputs"] = inputs()
    for key in ("rows", "hideControls", "sharedCrosshair", "style", "gnetId", "id"):
        data.pop(key, None)
    return data

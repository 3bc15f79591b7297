"""The dashboard plan as Grafana JSON, built with grafanalib and the house layer."""

from __future__ import annotations

from typing import Any

import grafanalib.core as g

from obsgen.plan.model import Dashboard

from . import grafana_house as house


def render(board: Dashboard) -> dict[str, Any]:
    """The dashboard JSON for ``board``."""
    variables = [house.datasource_variable()] + [
        house.query_variable(v.name, v.label, v.query) for v in board.variables
    ]
    dashboard = g.Dashboard(
        title=board.title,
        uid=board.uid,
        description=board.description,
        tags=["llm", "obsgen"],
        timezone="browser",
        refresh=board.refresh,
        time=g.Time("now-24h", "now"),
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        editable=True,
        panels=[house.BUILDERS[panel.kind](panel) for panel in board.panels],
        annotations=g.Annotations(
            list=[house.built_in_annotation()] + [house.annotation(a) for a in board.annotations]
        ),
    ).auto_panel_ids()
    return house.dashboard_json(dashboard, variables)

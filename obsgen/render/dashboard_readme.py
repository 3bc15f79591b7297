"""``dashboards/README.md``: every panel of the generated dashboard and its queries."""

from __future__ import annotations

from pathlib import PurePosixPath

from obsgen.plan import MARKDOWN_HEADER, Dashboard


def render(board: Dashboard, dashboard_file: str, recording_rules_file: str) -> str:
    """The README of the dashboard ``board``, written to ``dashboard_file``."""
    lines = [
        MARKDOWN_HEADER,
        f"# {board.title} dashboard",
        "",
        f"`{PurePosixPath(dashboard_file).name}` (uid `{board.uid}`) is built by "
        "`obsgen build dashboards` from the obsgen config and the llmobs metric schema.",
        "",
        "## Importing it",
        "",
        "- **Provisioning:** point a Grafana dashboard provider at `dashboards/`; the variable "
        "`datasource` picks the Prometheus data source.",
        "- **An existing Grafana (11 or 12):** Dashboards > New > Import, upload the JSON and "
        "pick your Prometheus data source when asked. Or through the API (the `datasource` "
        "variable then starts on your default Prometheus):",
        "",
        "  ```bash",
        "  jq '{dashboard: ., overwrite: true}' " + dashboard_file + " |",
        "    curl -X POST http://localhost:3000/api/dashboards/db \\",
        '      -H "Content-Type: application/json" -H "Authorization: Bearer $GRAFANA_TOKEN" -d @-',
        "  ```",
        "",
        "## Variables",
        "",
        "- `datasource`: the Prometheus data source every panel and annotation queries.",
        "- `agent_id`, `model`, `provider`: the values seen in `llm_requests_total`, multi-select "
        "with All, refreshed when the time range changes. A panel applies only the filters "
        "whose label its metric has: cache panels have no provider, active requests no model.",
        "",
        "  Each is read from a recording rule of one series per value, under a label of its own:",
        "",
        *(f"  - `{v.name}`: `{v.query}`" for v in board.variables),
        "",
        "  so that Grafana's label-values and series requests read a few series rather than "
        "every series of the fleet.",
        "",
        "## Annotations",
        "",
    ]
    for annotation in board.annotations:
        lines += [f"- **{annotation.name}**: `{annotation.expr}`"]
    lines += [
        "",
        "  Deployments appear when `llm_build_info` reports a new `version`: set "
        "`LLMOBS_SERVICE_VERSION` in the service's environment, or call "
        "`metrics.set_build_info(version)` at startup. Budget alerts are Prometheus' `ALERTS` "
        "series of the budget alerts while they fire.",
        "",
        "## Panels",
        "",
        f"Panels read recording rules (`{recording_rules_file}`), so a refresh stays fast "
        "with thousands of agents. Rates are 5-minute rates; totals over the time range "
        "integrate them (`sum_over_time` times the rule interval), so the last few minutes "
        "count only in part. With every variable at *All* a panel reads a rule summed down to "
        "the panel's own grouping; with one variable set, the rule kept by that variable (and "
        "the grouping) filtered by it; with two or more, the rule that keeps `agent_id`, "
        "`model` and `provider` filtered by them. Matchers on "
        f"`{board.switch_label}` (a label no series has) pick the one branch that answers.",
        "",
    ]
    panels = [panel for panel in board.panels if panel.kind != "row"]
    for number, doc in enumerate(panels, start=1):
        lines += [
            f"### {number}. {doc.title}",
            "",
            f"{doc.kind}, unit `{doc.unit}`. {doc.description}",
            "",
            "```promql",
        ]
        for query in doc.queries:
            lines += [query.expr, ""] if len(doc.queries) > 1 else [query.expr]
        if lines[-1] == "":
            lines.pop()
        lines += ["```", ""]
    return "\n".join(lines)

"""The generated dashboard against Grafana's own published schema.

- TypeScript: every object of the dashboard is written as a literal typed with the types of
  ``@grafana/schema`` 11.6 and 12.4 (the dashboard, variables, annotations, panels and each
  panel plugin's options and field config) and compiled with ``tsc --strict``, so every
  object gets an excess-property check.
- Python: the dashboard loads through ``grafana-foundation-sdk`` (the Grafana 11.6 and 12
  builds) and comes back unchanged.

``make schema-deps`` installs both (npm packages under tests/grafana_schema, the SDK builds
under .venv/grafana-sdk).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from obsgen import paths

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "tests" / "grafana_schema"
TSC = SCHEMA_DIR / "node_modules" / ".bin" / "tsc"
SDK_DIR = ROOT / ".venv" / "grafana-sdk"
SCHEMAS = {"11.6": "schema-11/dist/esm", "12.4": "schema-12/dist/types"}
PANEL_TYPES = {
    "stat": "stat/panelcfg/x/{}",
    "gauge": "gauge/panelcfg/x/{}",
    "bargauge": "bargauge/panelcfg/x/{}",
    "piechart": "piechart/panelcfg/x/{}",
    "timeseries": "timeseries/panelcfg/x/{}",
}
CFG_FILES = {
    "stat": "StatPanelCfg_types.gen",
    "gauge": "GaugePanelCfg_types.gen",
    "bargauge": "BarGaugePanelCfg_types.gen",
    "piechart": "PieChartPanelCfg_types.gen",
    "timeseries": "TimeSeriesPanelCfg_types.gen",
}
# Fields Grafana's schema has no place for, kept on purpose:
# - ``__inputs``: what Grafana's import dialog reads to ask for the data source.
# - An annotation's ``titleFormat``, ``textFormat``, ``tagKeys`` and ``useValueForTime``: the
#   Prometheus plugin reads them from the top level of the annotation.
DASHBOARD_EXTRAS = ("__inputs",)
ANNOTATION_EXTRAS = ("titleFormat", "textFormat", "tagKeys", "useValueForTime")
# Panel options are merged with the plugin's defaults when a panel loads, and each version adds
# options the other does not know (12.4's gauge shape and pie sort): options may be missing,
# never unknown (``Partial``, still checked for excess properties).
# The Prometheus query of targets and annotations: the plugin's DataQuery, as the Foundation
# SDK's prometheus.Dataquery defines it (@grafana/schema does not ship the plugin's types).
PROM_QUERY = """
// JSON spells enum members as their string values: map each enum type to the union of them.
type Json<T> = T extends string
  ? `${T}`
  : T extends Array<infer U>
    ? Array<Json<U>>
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

interface PromQuery extends DataQuery {
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  exemplar?: boolean;
  editorMode?: "code" | "builder";
  format?: "time_series" | "table" | "heatmap";
  interval?: string;
}
"""


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        raise RuntimeError(f"{what} is required in CI: run `make schema-deps`")
    pytest.skip(f"{what} is not installed (make schema-deps)")


def _dashboard() -> dict[str, Any]:
    return json.loads((ROOT / paths.DASHBOARD).read_text())


def _cfg_module(schema: str, kind: str) -> Path:
    folder = SCHEMA_DIR / "node_modules" / SCHEMAS[schema] / "raw" / "composable"
    for name in (CFG_FILES[kind], "types.gen"):
        candidate = folder / PANEL_TYPES[kind].format(name)
        if Path(f"{candidate}.d.ts").exists():
            return candidate
    raise AssertionError(f"no panel config types for {kind} in @grafana/schema {schema}")


def typescript_for(board: dict[str, Any], schema: str) -> str:
    """The dashboard as TypeScript literals typed with @grafana/schema ``schema``."""
    root = f"./node_modules/{SCHEMAS[schema]}/index"
    lines = [
        "import type { AnnotationQuery, Dashboard, DataQuery, Panel, RowPanel, VariableModel }",
        f'  from "{root}";',
        PROM_QUERY,
    ]
    kinds = sorted({p["type"] for p in board["panels"] if p["type"] != "row"})
    for kind in kinds:
        module = os.path.relpath(_cfg_module(schema, kind), SCHEMA_DIR)
        lines.append(f'import type * as {kind}Cfg from "./{module}";')
    top = {k: v for k, v in board.items() if k not in (*DASHBOARD_EXTRAS, "panels")}
    top["templating"] = {"list": []}
    top["annotations"] = {"list": []}
    lines.append(f"export const dashboard: Json<Dashboard> = {json.dumps(top)};")
    for index, variable in enumerate(board["templating"]["list"]):
        lines.append(f"export const variable{index}: Json<VariableModel> = {json.dumps(variable)};")
    for index, annotation in enumerate(board["annotations"]["list"]):
        plain = {k: v for k, v in annotation.items() if k not in ANNOTATION_EXTRAS}
        target = plain.pop("target", None)
        lines.append(
            f"export const annotation{index}: Json<AnnotationQuery<PromQuery>> = "
            f"{json.dumps(plain)};"
        )
        if target is not None:
            lines.append(f"export const annotationTarget{index}: PromQuery = {json.dumps(target)};")
    for index, panel in enumerate(board["panels"]):
        if panel["type"] == "row":
            lines.append(f"export const row{index}: Json<RowPanel> = {json.dumps(panel)};")
            continue
        kind = panel["type"]
        plain = {k: v for k, v in panel.items() if k not in ("options", "targets")}
        custom = plain["fieldConfig"]["defaults"].pop("custom", None)
        lines += [
            f"export const panel{index}: Json<Panel> = {json.dumps(plain)};",
            f"export const options{index}: Json<Partial<{kind}Cfg.Options>> = "
            f"{json.dumps(panel['options'])};",
            f"export const targets{index}: PromQuery[] = {json.dumps(panel['targets'])};",
        ]
        if custom is not None:
            field_type = (
                f"{kind}Cfg.FieldConfig"
                if kind in ("timeseries", "piechart")
                else ("Record<string, never>")
            )
            lines.append(f"export const custom{index}: Json<{field_type}> = {json.dumps(custom)};")
    return "\n".join(lines) + "\n"


def type_check(board: dict[str, Any], schema: str) -> subprocess.CompletedProcess[str]:
    """Compile the dashboard typed with @grafana/schema ``schema``; ``@grafana/schema`` inside
    the panel types resolves to the same version."""
    name = f"check-{schema}"
    check, config = SCHEMA_DIR / f"{name}.ts", SCHEMA_DIR / f"{name}.tsconfig.json"
    check.write_text(typescript_for(board, schema))
    options = {
        "strict": True,
        "noEmit": True,
        "skipLibCheck": False,
        "target": "es2020",
        "moduleResolution": "node",
        "baseUrl": ".",
        "paths": {"@grafana/schema": [f"./node_modules/{SCHEMAS[schema]}/index"]},
    }
    config.write_text(json.dumps({"compilerOptions": options, "files": [check.name]}))
    try:
        return subprocess.run(
            [str(TSC), "-p", str(config)],
            cwd=SCHEMA_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        check.unlink()
        config.unlink()


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_dashboard_type_checks_against_grafana_schema(schema):
    if not TSC.exists():
        _missing("typescript and @grafana/schema")
    result = type_check(_dashboard(), schema)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stray_property_fails_the_type_check():
    """The check is real: a property the schema does not know fails it."""
    if not TSC.exists():
        _missing("typescript and @grafana/schema")
    board = _dashboard()
    board["panels"][0]["options"]["notAnOption"] = True
    result = type_check(board, "12.4")
    assert result.returncode != 0 and "notAnOption" in result.stdout


@pytest.mark.parametrize("build", ["11.6", "12"])
def test_dashboard_round_trips_through_the_foundation_sdk(build):
    sdk = SDK_DIR / build
    if not sdk.exists():
        _missing(f"grafana-foundation-sdk {build}")
    result = subprocess.run(
        [sys.executable, str(SCHEMA_DIR / "roundtrip.py"), str(ROOT / paths.DASHBOARD)],
        env={**os.environ, "PYTHONPATH": str(sdk)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, "the SDK changed:\n" + result.stdout + result.stderr

"""Stage 3: the plan serialised into file contents. Each renderer reads only the plan; none
imports another."""

from __future__ import annotations

import json

import yaml

from obsgen import paths
from obsgen.plan import MARKDOWN_HEADER, Plan

from . import (
    alert_index,
    alert_tests,
    alertmanager_config,
    central_stack,
    dashboard_readme,
    grafana,
    grafana_datasource,
    kubernetes,
    prometheus_config,
    rule_files,
    scraper_config,
)


def render_all(plan: Plan) -> dict[str, str]:
    """Every generated file, by path relative to the output folder."""
    files = {
        paths.DASHBOARD: json.dumps(grafana.render(plan.dashboard), indent=2, sort_keys=True)
        + "\n",
        paths.DASHBOARD_README: dashboard_readme.render(
            plan.dashboard, paths.DASHBOARD, paths.RECORDING_RULES
        ),
        paths.PROMETHEUS: prometheus_config.render(
            plan, [paths.RECORDING_RULES, paths.ALERT_RULES], paths.PROMETHEUS
        ),
        paths.RECORDING_RULES: rule_files.render(plan.header, (plan.recording,)),
        paths.ALERT_RULES: rule_files.render(plan.header, plan.alerts),
        paths.ALERT_TESTS: alert_tests.render(
            plan, plan.alert_tests, [paths.RECORDING_RULES, paths.ALERT_RULES], paths.ALERT_TESTS
        ),
        paths.WEEK_ALERT_TESTS: alert_tests.render(
            plan,
            plan.week_alert_tests,
            [paths.RECORDING_RULES, paths.ALERT_RULES],
            paths.WEEK_ALERT_TESTS,
        ),
        paths.ALERT_INDEX: alert_index.render(plan, paths.RUNBOOKS, paths.ALERT_INDEX),
        paths.RUNBOOKS: MARKDOWN_HEADER + "\n" + plan.runbooks,
        paths.ALERTMANAGER: alertmanager_config.render(plan),
        paths.DATASOURCE: grafana_datasource.render(
            plan, grafana_datasource.LOCAL_URL, "the stack's Prometheus"
        ),
    }
    if plan.servers.topology.central:
        files[paths.SCRAPER] = scraper_config.render(plan)
        files[paths.CENTRAL_COMPOSE] = central_stack.compose(plan)
        files[paths.CENTRAL_DATASOURCE] = grafana_datasource.render(
            plan, plan.servers.topology.store.query_url, "the central store (VictoriaMetrics)"
        )
    if plan.kubernetes is not None:
        rule_texts = [files[path] for path in paths.RULE_FILES]
        files |= kubernetes.render(plan, files[paths.DASHBOARD], rule_texts)
    for path, content in files.items():
        _parse_back(path, content)
    return files


def _parse_back(path: str, content: str) -> None:
    """Every rendered file must parse: a template bug fails here, not in Prometheus."""
    try:
        if path.endswith(".json"):
            json.loads(content)
        elif path.endswith((".yml", ".yaml")):
            yaml.safe_load(content)
    except (ValueError, yaml.YAMLError) as exc:
        raise RuntimeError(f"obsgen rendered {path} that does not parse: {exc}") from exc

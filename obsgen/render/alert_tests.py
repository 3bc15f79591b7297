"""The promtool unit test files of the plan's alerts: their cases as the plan holds them, with
the rule files they test and the order the groups are evaluated in."""

from __future__ import annotations

from typing import Any

import yaml

from obsgen.plan import AlertTestFile, Plan

from .templating import relative


def render(plan: Plan, tests: AlertTestFile, rule_files: list[str], at: str) -> str:
    """The promtool test file of ``tests``, written to ``at``."""
    document: dict[str, Any] = {
        "rule_files": [relative(at, path) for path in rule_files],
        "evaluation_interval": tests.interval,
        # Recording rules first, as the alerts read them (promtool's order is random otherwise).
        "group_eval_order": [plan.recording.name, *(group.name for group in plan.alerts)],
        "tests": list(tests.cases),
    }
    return (
        plan.header
        + "\n"
        + yaml.safe_dump(document, sort_keys=False, width=1000, allow_unicode=True)
    )

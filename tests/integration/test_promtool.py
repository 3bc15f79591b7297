"""Real promtool checks the generated Prometheus config and rules and runs the alert tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from obsgen import paths as render
from tests.helpers import build, promtool, promtool_test_rules, require_promtool

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
require_promtool()


@pytest.fixture(
    params=[
        "obsgen.yaml",
        "tests/fixtures/full.yaml",
        "tests/fixtures/odd.yaml",
        "tests/fixtures/hostile.yaml",
        "tests/fixtures/otel_genai.yaml",
    ],
    ids=["default", "full", "odd", "hostile", "otel-genai"],
)
def generated(request, tmp_path) -> Path:
    if request.param == "obsgen.yaml":
        return ROOT
    build(ROOT / request.param, tmp_path)
    return tmp_path


def test_check_config(generated):
    result = promtool("check", "config", generated / render.PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("rules", [render.RECORDING_RULES, render.ALERT_RULES])
def test_check_rules(generated, rules):
    result = promtool("check", "rules", generated / rules)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass(generated):
    result = promtool_test_rules(*(generated / f for f in render.ALERT_TEST_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(render.ALERT_TEST_FILES)


def test_unit_tests_cover_every_alert_on_both_sides(generated):
    import yaml

    alerts = {
        rule["alert"]
        for group in yaml.safe_load((generated / render.ALERT_RULES).read_text())["groups"]
        for rule in group["rules"]
    }
    tests = [
        test
        for path in render.ALERT_TEST_FILES
        for test in yaml.safe_load((generated / path).read_text())["tests"]
    ]
    silent, firing = set(), set()
    for test in tests:
        for check in test["alert_rule_test"]:
            (firing if check["exp_alerts"] else silent).add(check["alertname"])
            for alert in check["exp_alerts"]:
                assert {"severity"} <= set(alert["exp_labels"])
                assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url"}
    assert alerts == silent == firing


@pytest.mark.parametrize(
    ("path", "correct", "broken", "alert"),
    [
        # a threshold loosened
        (
            render.ALERT_RULES,
            "llm_budget_used:ratio\n          > 0.8\n",
            "llm_budget_used:ratio\n          > 0.81\n",
            "LLMBudgetWarning",
        ),
        # a budget counted once per replica instead of once
        (
            render.RECORDING_RULES,
            "max by (scope, name, period) (llm_budget_spent_usd)",
            "sum by (scope, name, period) (llm_budget_spent_usd)",
            "LLMBudgetExceeded",
        ),
        # the spend anomaly, in the week-long tests
        (
            render.ALERT_RULES,
            "> 3 * (:llm_cost:rate1h offset 1w)",
            "> 3000 * (:llm_cost:rate1h offset 1w)",
            "LLMSpendAnomaly",
        ),
    ],
    ids=["threshold", "replicas-summed", "anomaly-factor"],
)
def test_a_broken_rule_fails_its_unit_test(tmp_path, path, correct, broken, alert):
    """The unit tests really check the expressions: break one and its alert's tests fail (the
    tests of that alert only are run, and they pass on the rules as generated)."""
    build(ROOT / "obsgen.yaml", tmp_path)
    tests = _tests_of(alert, tmp_path)
    assert promtool_test_rules(*tests).returncode == 0
    rules = tmp_path / path
    text = rules.read_text()
    assert correct in text
    rules.write_text(text.replace(correct, broken))
    assert promtool_test_rules(*tests).returncode != 0


def _tests_of(alert: str, folder: Path) -> list[Path]:
    """Copies of the generated test files holding only the tests of ``alert``."""
    kept = []
    for name in render.ALERT_TEST_FILES:
        tests = yaml.safe_load((folder / name).read_text())
        tests["tests"] = [t for t in tests["tests"] if t["name"].startswith(alert + " ")]
        if tests["tests"]:
            kept.append(folder / name.replace(".yml", f"_{alert}.yml"))
            kept[-1].write_text(yaml.safe_dump(tests, sort_keys=False))
    assert kept, f"no test of {alert}"
    return kept


def test_validate_runs_the_promtool_checks():
    result = subprocess.run(
        [sys.executable, "-m", "obsgen", "validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok   promtool") == 3 + len(render.ALERT_TEST_FILES)
    if shutil.which("amtool"):
        assert "ok   amtool check-config stack/alertmanager/alertmanager.yml" in result.stdout

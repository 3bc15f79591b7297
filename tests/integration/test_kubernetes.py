"""The prometheus-operator's objects against real checkers: each object validated by the
published schema of its kind (CRDs of monitoring.coreos.com, Kubernetes' ConfigMap; see
tests/kubernetes_schema/README.md), and the rule groups a PrometheusRule embeds checked and
unit-tested by promtool exactly as the operator hands them to Prometheus."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from obsgen import paths
from obsgen.tools import promtool as promtool_checks
from tests.helpers import build, promtool, promtool_test_rules, require_binaries, require_promtool
from tests.unit.test_kubernetes import config_text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "tests" / "kubernetes_schema"
require_promtool()
require_binaries("node", install="apt-get install -y nodejs")


def validate(objects: list[dict]) -> list[dict]:
    """Each object's kind, name and the schema's complaint (None if it has none)."""
    if not (SCHEMA_DIR / "node_modules" / ".package-lock.json").exists():
        if os.environ.get("CI"):
            raise RuntimeError("the Kubernetes schemas are required in CI: make schema-deps")
        pytest.skip("the Kubernetes schemas are not installed (make schema-deps)")
    result = subprocess.run(
        ["node", "validate.mjs"],
        cwd=SCHEMA_DIR,
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _build(folder: Path, monitor: str) -> Path:
    config = folder / "obsgen.yaml"
    config.write_text(config_text(namespace="llm", monitor=monitor))
    build(config, folder)
    return folder


@pytest.fixture(scope="module", params=["service", "pod"])
def generated(request, tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp(f"kubernetes-{request.param}"), request.param)


@pytest.fixture(scope="module")
def with_rules(tmp_path_factory) -> Path:
    """The objects with a ServiceMonitor: the rules do not depend on the kind of monitor."""
    return _build(tmp_path_factory.mktemp("kubernetes-rules"), "service")


def manifests(root: Path) -> dict[str, dict]:
    return {path: yaml.safe_load((root / path).read_text()) for path in paths.KUBERNETES_OBJECTS}


def test_every_object_matches_the_schema_of_its_kind(generated):
    objects = manifests(generated)
    results = validate(list(objects.values()))
    assert [r["kind"] for r in results] == [o["kind"] for o in objects.values()]
    assert [r for r in results if r["error"] is not None] == []


def test_the_schemas_refuse_a_broken_object_of_each_kind(generated):
    objects = manifests(generated)
    broken = json.loads(json.dumps(list(objects.values())))
    rule, monitor, config_map, alertmanager = broken
    del rule["spec"]["groups"][0]["name"]
    endpoints = "podMetricsEndpoints" if monitor["kind"] == "PodMonitor" else "endpoints"
    monitor["spec"][endpoints] = {"port": "metrics"}
    config_map["data"]["count"] = 1
    alertmanager["spec"]["route"]["matchers"] = [{"name": "a", "value": "b", "matchType": "=="}]
    results = validate(broken)
    assert all(r["error"] for r in results), results


def _embedded_groups(root: Path, folder: Path) -> Path:
    groups = yaml.safe_load((root / paths.KUBERNETES_RULES).read_text())["spec"]["groups"]
    rules = folder / "embedded-groups.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return rules


def test_promtool_checks_the_embedded_groups(with_rules, tmp_path):
    result = promtool("check", "rules", _embedded_groups(with_rules, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alert_unit_tests_pass_on_the_embedded_groups(with_rules, tmp_path):
    """The generated promtool tests, run against the PrometheusRule's groups: every alert they
    expect carries the namespace label besides its own."""
    rules = _embedded_groups(with_rules, tmp_path)
    test_files = []
    for path in paths.ALERT_TEST_FILES:
        tests = yaml.safe_load((with_rules / path).read_text())
        tests["rule_files"] = [str(rules)]
        for case in tests["tests"]:
            for check in case.get("alert_rule_test", []):
                for alert in check.get("exp_alerts", []):
                    alert["exp_labels"] = {**alert.get("exp_labels", {}), "namespace": "llm"}
        test_files.append(tmp_path / Path(path).name)
        test_files[-1].write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool_test_rules(*test_files)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_validate_checks_the_embedded_groups(with_rules, tmp_path):
    """What ``obsgen validate`` runs on the PrometheusRule, on it and on a broken copy."""
    ((step, ok, _),) = promtool_checks.check_prometheus_rule(with_rules, paths.KUBERNETES_RULES)
    assert ok and paths.KUBERNETES_RULES in step
    rule = yaml.safe_load((with_rules / paths.KUBERNETES_RULES).read_text())
    rule["spec"]["groups"][0]["rules"][0]["expr"] = "sum(rate(x[5m]"
    (tmp_path / "kubernetes").mkdir()
    (tmp_path / paths.KUBERNETES_RULES).write_text(yaml.safe_dump(rule))
    ((_, ok, printed),) = promtool_checks.check_prometheus_rule(tmp_path, paths.KUBERNETES_RULES)
    assert not ok and "unclosed left parenthesis" in printed

"""Data flows one way (``scripts/check_layers.py``, run by ``make lint``): the runtime never
imports the generator, a stage imports no later one, a renderer reads only the plan; and every
PromQL fragment is written in ``obsgen/catalogue/promql.py``."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_layers", ROOT / "scripts" / "check_layers.py")
assert spec is not None and spec.loader is not None
layers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(layers)


def test_the_code_keeps_its_layers():
    assert layers.check(layers.sources()) == []


@pytest.mark.parametrize(
    ("importer", "imported", "why"),
    [
        ("llmobs.config_budgets", "obsgen.config", "the runtime imports the generator"),
        ("obsgen.config.load", "obsgen.catalogue.alerts", "stage config imports the later"),
        ("obsgen.plan.model", "obsgen.render.grafana", "stage plan imports the later stage"),
        ("obsgen.render.alert_tests", "obsgen.catalogue.alerts", "a renderer reads catalogue"),
        ("obsgen.render.alert_tests", "llmobs.schema", "a renderer reads the runtime"),
        ("obsgen.render.grafana", "obsgen.render.rule_files", "imports another renderer"),
    ],
)
def test_each_forbidden_direction_is_named(importer, imported, why):
    assert why in layers.violation(importer, imported)


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("obsgen.config.load", "llmobs.configfile"),
        ("obsgen.render.grafana", "obsgen.render.grafana_house"),
        ("obsgen.render.rule_files", "obsgen.plan"),
        ("obsgen.tools.cli", "obsgen.output"),
    ],
)
def test_allowed_directions_pass(importer, imported):
    assert layers.violation(importer, imported) is None


def test_a_lazy_import_inside_a_function_is_seen(tmp_path, monkeypatch):
    runtime = tmp_path / "llmobs"
    runtime.mkdir()
    (runtime / "__init__.py").write_text("")
    (runtime / "sneaky.py").write_text("def f():\n    from obsgen.config import load\n")
    monkeypatch.setattr(layers, "PACKAGES", {"llmobs": runtime, "obsgen": ROOT / "obsgen"})
    monkeypatch.setattr(layers, "ROOT", tmp_path)
    (problem,) = layers.check([runtime / "sneaky.py"])
    assert problem == "llmobs/sneaky.py:2: imports obsgen.config: the runtime imports the generator"


#: PromQL as only queries are written: functions and aggregations with their parenthesis,
#: offsets, vector matching and the ``up`` and ``ALERTS`` series.
PROMQL = re.compile(
    r"\b(?:sum|avg|min|max|count|rate|irate|increase|histogram_quantile|label_replace|absent|"
    r"clamp_min|clamp_max|topk|bottomk)\s*(?:(?:by|without)\s*\([^)]*\)\s*)?\(|"
    r"\boffset\s+\d+[smhdwy]\b|\b(?:and|or|unless)\s+on\s*\(|\bup\{|\bALERTS\{"
)
PROMQL_HOME = ROOT / "obsgen" / "catalogue" / "promql.py"


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string constant of ``path`` (f-string parts too), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_promql_is_written_only_in_the_promql_module():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:60]!r}"
        for path in sorted((ROOT / "obsgen").rglob("*.py"))
        if path != PROMQL_HOME
        for line, text in _strings(path)
        if PROMQL.search(text)
    ]
    assert found == []


def test_the_guard_sees_promql():
    assert PROMQL.search("max by (version) (llm_build_info offset 5m)")
    assert PROMQL.search('(x) and on () up{job="a"} == 1')
    assert not PROMQL.search("LLM spend rate is far above the same hour last week")
    assert any(PROMQL.search(text) for _, text in _strings(PROMQL_HOME))

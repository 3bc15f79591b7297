"""The team of an agent is one definition: the runtime's ``team_of`` and the ``label_replace``
the generated rules and panels use give the same team for every agent id, checked by promtool
evaluating the generated expression."""

from __future__ import annotations

import pytest
import yaml

from llmobs.teams import team_of
from obsgen.catalogue import promql as q
from tests.helpers import promtool, require_promtool

require_promtool()

AGENTS = [
    "meetmind.coordinator", "solo", ".hidden", "..twice", "a.b.c", "trailing.", "ünï.cödé",
    "with space.agent", 'quote".agent', "back\\slash.agent", "a-b/c|d.e", "x", "-lead-",
    "/slash/first", "$money$.x", "star*.x",
]  # fmt: skip
SEPARATORS = [".", "-", "/", "|", "\\", "$", "*", "_", ":"]


def selector(name: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f"{key}={q.string_literal(value)}" for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


@pytest.mark.parametrize("separator", SEPARATORS)
def test_prometheus_derives_the_team_llmobs_derives(tmp_path, separator):
    expr = q.with_team(q.Expr("llm_cost_total"), separator)
    rules = {"groups": [{"name": "team", "rules": [{"record": "test:team", "expr": expr.text}]}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": selector("llm_cost_total", {"agent_id": agent}), "values": "1x2"}
                    for agent in AGENTS
                ],
                "promql_expr_test": [
                    {
                        "expr": "test:team",
                        "eval_time": "1m",
                        "exp_samples": [
                            {
                                "labels": selector(
                                    "test:team",
                                    {"agent_id": agent, "team": team_of(agent, separator)},
                                ),
                                "value": 1,
                            }
                            for agent in AGENTS
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests, allow_unicode=True))
    result = promtool("test", "rules", tmp_path / "test.yml")
    assert result.returncode == 0, result.stdout + result.stderr

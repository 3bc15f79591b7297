"""Every config the validator accepts builds files that pass promtool: its checks and the
generated alert tests. Configs are drawn at random within the documented bounds."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs.schema import DURATION_BUCKETS, FIRST_TOKEN_BUCKETS
from obsgen import config as configuration
from obsgen import paths
from obsgen.catalogue.alerts import ALERT_NAMES, PAGE_BURNS, TICKET_BURNS
from tests.helpers import build, promtool, promtool_test_rules, require_promtool

pytestmark = pytest.mark.slow

require_promtool()

budget = st.one_of(
    st.sampled_from([0.01, 1e9]),
    st.floats(min_value=0.01, max_value=1e9, allow_nan=False, allow_infinity=False),
)
percent = st.floats(min_value=0.01, max_value=99.99, allow_nan=False).map(lambda p: round(p, 2))
latency = st.floats(
    min_value=DURATION_BUCKETS[0] + 0.001, max_value=DURATION_BUCKETS[-2] - 0.001, allow_nan=False
).map(lambda s: round(s, 3))

names = st.sampled_from(["ops", "🤖 bots", '{{ query "up" }}', "a'b\"c", "team-9"])
hold = st.sampled_from(["0s", "30s", "1m", "5m", "45m", "1h", "2h30m", "6h"])


@st.composite
def objective(draw: st.DrawFn, bounds: tuple[float, ...] = ()) -> dict | None:
    """An objective its burn-rate alerts can fire on: its budget leaves room for the fastest
    burn they ask for (or None: no objective on that SLI)."""
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    window = draw(st.sampled_from(["7d", "28d", "30d", "90d"]))
    fastest = max(pair.factor(window) for pair in (*PAGE_BURNS, *TICKET_BURNS))
    lowest = 100 * (1 - 1 / fastest) + 0.01
    drawn = {"window": window, "percent": draw(st.floats(min_value=lowest, max_value=99.99))}
    if bounds:
        drawn["seconds"] = draw(st.sampled_from(bounds))
    return drawn


@st.composite
def configs(draw: st.DrawFn) -> dict:
    warning = draw(st.floats(min_value=1, max_value=900).map(lambda p: round(p, 1)))
    budgets = {
        "daily": draw(st.one_of(st.none(), budget)),
        "weekly": draw(st.one_of(st.none(), budget)),
        "monthly": draw(st.one_of(st.none(), budget)),
        "warning_percent": warning,
        "critical_percent": round(warning + draw(st.floats(min_value=1, max_value=100)), 1),
        "anomaly_factor": draw(st.one_of(st.none(), st.floats(min_value=1.01, max_value=1000))),
        "teams": draw(st.dictionaries(names, budget, max_size=2)),
        "agents": {
            f"ops.{name}": amount
            for name, amount in draw(st.dictionaries(names, budget, max_size=2)).items()
        },
    }
    return {
        "apiVersion": configuration.API_VERSION,
        "prometheus": {"evaluation_interval": draw(st.sampled_from(["15s", "1m", "1h"]))},
        "budgets": budgets,
        "slo": {
            "success_rate_percent": draw(percent),
            "error_rate_percent": draw(percent),
            "cache_hit_rate_percent": draw(percent),
            "p99_latency_seconds": draw(latency),
            "objectives": {
                "availability": draw(objective()),
                "latency": draw(objective(DURATION_BUCKETS)),
                "time_to_first_token": draw(objective(FIRST_TOKEN_BUCKETS)),
            },
        },
        "alerts": {"for": draw(st.dictionaries(st.sampled_from(ALERT_NAMES), hold, max_size=6))},
    }


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=configs())
def test_a_valid_config_builds_files_that_pass_promtool(tmp_path_factory, document):
    folder = tmp_path_factory.mktemp("config")
    source = folder / "obsgen.yaml"
    source.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    configuration.load(source)  # valid by construction: this must not raise
    build(source, folder)
    checks = [
        promtool("check", "config", str(folder / paths.PROMETHEUS)),
        promtool(
            "check", "rules", str(folder / paths.RECORDING_RULES), str(folder / paths.ALERT_RULES)
        ),
        promtool_test_rules(*(folder / f for f in paths.ALERT_TEST_FILES)),
    ]
    for result in checks:
        assert result.returncode == 0, f"{document}\n{result.stdout}{result.stderr}"

"""obsgen.yaml validation: every mistake is one exact line naming the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmobs.configfile import ScopedBudget
from obsgen import plan
from obsgen.config import API_VERSION, ConfigError, load
from obsgen.tools import cli

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "obsgen.yaml").read_text()


BUDGET_RANGE = "must be a budget from 0.01 to 1e+09 USD, got"


def mutate(path: str, value: object) -> str:
    """The good config with one key set (``None`` deletes it), as YAML text."""
    document = yaml.safe_load(GOOD)
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return yaml.safe_dump(document, sort_keys=False)


def errors_of(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "obsgen.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        plan.build(load(path))
    return [f"{issue.path}: {issue.message}" for issue in caught.value.issues]


def test_the_repository_config_is_valid_and_matches_the_starter():
    config = load(ROOT / "obsgen.yaml")
    starter = (ROOT / "obsgen" / "config" / "starter.yaml").read_text()
    assert starter == GOOD
    assert config.budgets.daily == 100.0
    assert (
        config.slo.success_rate_percent,
        config.slo.cache_hit_rate_percent,
        config.slo.p99_latency_seconds,
        config.slo.error_rate_percent,
    ) == (99, 30, 10, 1)
    assert config.prometheus.scrape.targets == ("localhost:8000",)


def test_the_full_fixture_is_valid():
    config = load(ROOT / "tests" / "fixtures" / "full.yaml")
    assert config.budgets.teams == (
        ScopedBudget("meetmind", daily=40.0),
        ScopedBudget("svea", daily=12.5, weekly=60.0, monthly=200.0, enforce=True),
    )
    assert config.budgets.timezone == "Europe/Stockholm"
    assert config.prometheus.scrape.tls.server_name == "llm.internal"
    assert len(config.prometheus.remote_write) == 2


def test_config_is_frozen():
    config = load(ROOT / "obsgen.yaml")
    with pytest.raises(AttributeError):
        config.budgets.daily = 5  # type: ignore[misc]


CASES = [
    (
        "apiVersion",
        "obsgen/v2",
        "apiVersion: unknown version 'obsgen/v2'; this obsgen reads obsgen/v1",
    ),
    ("apiVersion", None, f"apiVersion: is required; use {API_VERSION}"),
    ("budgets.daily", -5, "budgets.daily: must be a budget from 0.01 to 1e+09 USD, got -5"),
    ("budgets.daily", "lots", "budgets.daily: must be a number, got 'lots'"),
    ("budgets.weekly", 0, "budgets.weekly: must be a budget from 0.01 to 1e+09 USD, got 0"),
    (
        "budgets.warning_percent",
        120,
        "budgets.warning_percent: must be below critical_percent (100)",
    ),
    (
        "budgets.critical_percent",
        -1,
        "budgets.critical_percent: must be a percentage of the budget above 0, got -1",
    ),
    (
        "budgets.teams",
        {"meetmind": -3},
        "budgets.teams.meetmind: must be a budget from 0.01 to 1e+09 USD, got -3; or a mapping "
        "of daily, weekly, monthly and enforce",
    ),
    (
        "budgets.teams",
        {"meetmind": {"daily": 5, "yearly": 100}},
        "budgets.teams.meetmind.yearly: unknown key (known keys: daily, enforce, monthly, weekly)",
    ),
    (
        "budgets.teams",
        {"meetmind": {"enforce": True}},
        "budgets.teams.meetmind: names no budget: give daily, weekly or monthly in USD",
    ),
    (
        "budgets.agents",
        {"svea.pm": {"weekly": 5, "enforce": "yes"}},
        "budgets.agents.svea.pm.enforce: must be true or false, got 'yes'",
    ),
    (
        "budgets.timezone",
        "Mars/Olympus",
        "budgets.timezone: unknown time zone 'Mars/Olympus': use an IANA name such as UTC or "
        "Europe/Stockholm",
    ),
    ("budgets.enforce", 1, "budgets.enforce: must be true or false, got 1"),
    (
        "alerts.for",
        {"LLMDailyBudgetExceeded": "1m"},
        "alerts.for.LLMDailyBudgetExceeded: renamed LLMBudgetExceeded, which alerts on the "
        "calendar period's spend the cost tracker exports",
    ),
    (
        "budgets.agents",
        ["svea.pm"],
        "budgets.agents: must be a mapping of names to budgets, got a list",
    ),
    (
        "budgets.anomaly_factor",
        1,
        "budgets.anomaly_factor: must be a factor above 1 and at most 1000 (spend this many times "
        "last week's), "
        "got 1",
    ),
    (
        "budgets.dialy",
        5,
        "budgets.dialy: unknown key (did you mean daily?) (known keys: agents, anomaly_factor, "
        "critical_percent, daily, enforce, monthly, reservation, tags, teams, timezone, "
        "warning_percent, weekly)",
    ),
    (
        "slo.success_rate_percent",
        101,
        "slo.success_rate_percent: must be a percentage above 0 and below 100, got 101",
    ),
    ("slo.error_rate_percent", True, "slo.error_rate_percent: must be a number, got true"),
    (
        "slo.p99_latency_seconds",
        600,
        "slo.p99_latency_seconds: must be between 0.025 and 120 "
        "seconds, where the latency histogram can tell it apart, got 600",
    ),
    (
        "prometheus.evaluation_interval",
        "15 seconds",
        "prometheus.evaluation_interval: must be a duration such as 30s, 5m or 1h, "
        "got '15 seconds'",
    ),
    (
        "prometheus.scrape.interval",
        "0s",
        "prometheus.scrape.interval: must be a duration such as 30s, 5m or 1h, got '0s'",
    ),
    (
        "prometheus.scrape.timeout",
        "1m",
        "prometheus.scrape.timeout: must not be longer than interval (15s)",
    ),
    (
        "prometheus.scrape.targets",
        ["localhost"],
        "prometheus.scrape.targets[0]: must be host:port with a port from 1 to 65535, "
        "got 'localhost'",
    ),
    (
        "prometheus.scrape.targets",
        ["localhost:99999"],
        "prometheus.scrape.targets[0]: must be host:port with a port from 1 to 65535, "
        "got 'localhost:99999'",
    ),
    (
        "prometheus.scrape.targets",
        [],
        "prometheus.scrape.targets: must be a non-empty list, got a list",
    ),
    (
        "prometheus.scrape.metrics_path",
        "metrics",
        "prometheus.scrape.metrics_path: must be a URL path starting with /, got 'metrics'",
    ),
    (
        "prometheus.scrape.scheme",
        "ftp",
        "prometheus.scrape.scheme: must be one of http, https, got 'ftp'",
    ),
    (
        "prometheus.scrape.job_name",
        "llm service",
        "prometheus.scrape.job_name: must be 1 to 40 letters, digits, '.', '_' or '-', starting "
        "with a letter or digit, got 'llm service'",
    ),
    (
        "prometheus.scrape.tls",
        {"cert_file": "c.pem"},
        "prometheus.scrape.tls: cert_file and key_file must be given together",
    ),
    (
        "prometheus.scrape.basic_auth",
        {"username": "u", "password": "hunter2"},
        "prometheus.scrape.basic_auth.password: unknown key (did you mean password_file?) "
        "(known keys: password_file, username)",
    ),
    (
        "prometheus.alertmanagers",
        "localhost:9093",
        "prometheus.alertmanagers: must be a non-empty list, got 'localhost:9093'",
    ),
    (
        "prometheus.remote_write",
        [{"url": "mimir:9009/push"}],
        "prometheus.remote_write[0].url: must be an http:// or https:// URL, got 'mimir:9009/push'",
    ),
    (
        "prometheus.remote_write",
        [{"bearer_token_file": "t"}],
        "prometheus.remote_write[0].url: is required",
    ),
    (
        "teams.separator",
        "ab",
        "teams.separator: must be one punctuation character such as '.', got 'ab'",
    ),
    (
        "dashboard.uid",
        "llm usage!",
        "dashboard.uid: must be 1 to 40 letters, digits, '.', '_' or '-', starting with a letter "
        "or digit, got 'llm usage!'",
    ),
    ("dashboard.title", "", "dashboard.title: must be a non-empty string, got ''"),
    ("slo", [1], "slo: must be a mapping, got a list"),
    (
        "alerts",
        {"for": {"LLMErrorRateHihg": "1m"}},
        "alerts.for.LLMErrorRateHihg: not an alert obsgen generates (did you mean "
        "LLMErrorRateHigh?) (see docs/alerts.md)",
    ),
    (
        "alerts",
        {"for": {"LLMErrorRateHigh": "soon"}},
        "alerts.for.LLMErrorRateHigh: must be a duration such as 30s, 5m or 1h, got 'soon'",
    ),
]


@pytest.mark.parametrize(("path", "value", "message"), CASES, ids=[c[0] for c in CASES])
def test_one_mistake_one_exact_message(tmp_path, path, value, message):
    messages = errors_of(mutate(path, value), tmp_path)
    if path == "prometheus.scrape.basic_auth":  # the misspelt key also leaves one missing
        assert messages == ["prometheus.scrape.basic_auth.password_file: is required", message]
    else:
        assert messages == [message]


def test_messages_carry_the_line_of_the_key(tmp_path):
    text = GOOD.replace("  daily: 100.0", "  daily: -1")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "daily: -1" in row)
    path = tmp_path / "obsgen.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}:{line}: budgets.daily: {BUDGET_RANGE} -1"


def test_every_mistake_is_reported_once(tmp_path):
    text = GOOD.replace("daily: 100.0", "daily: -1").replace("uid: llm-usage", "uid: 'a b'")
    assert len(errors_of(text, tmp_path)) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "apiVersion: is required (the file is empty); use obsgen/v1"),
        ("apiVersion: obsgen/v1\nbudgets: {daily: 1\n", "(syntax): not valid YAML"),
        ("apiVersion: obsgen/v1\nslo: {}\nslo: {}\n", "slo: duplicate key"),
        ("- just\n- a list\n", "(top): must be a mapping, got a list"),
        ("apiVersion: obsgen/v1\n? [a, b]\n: 1\n", "a key must be a plain value"),
        ("apiVersion: obsgen/v1\nx: &a [*a]\n", "nested more than 64 levels deep"),
        ("apiVersion: obsgen/v1\nx: " + "[" * 5000 + "]" * 5000, "nested too deeply"),
        (
            "apiVersion: obsgen/v1\nbudgets:\n  daily: !!python/object/apply:os.system [echo]\n",
            "the tag tag:yaml.org,2002:python/object/apply:os.system",
        ),
        ("apiVersion: obsgen/v1\nbudgets:\n  daily: !!python/name:os.system\n", "not valid here"),
        (
            "apiVersion: obsgen/v1\na: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
                for p, n in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "more than 10000 values once aliases are expanded",
        ),
    ],
)
def test_malformed_files(tmp_path, text, message):
    (first,) = errors_of(text, tmp_path)[:1]
    assert message in first


def test_a_file_that_is_not_utf8_is_one_error(tmp_path):
    path = tmp_path / "obsgen.yaml"
    path.write_bytes(b"apiVersion: obsgen/v1\nbudgets:\n  daily: \xff\n")
    with pytest.raises(ConfigError, match=r"obsgen.yaml:1: \(file\): not UTF-8 text \(byte 40"):
        load(path)


def test_missing_file_points_at_init(tmp_path):
    with pytest.raises(ConfigError, match="no such file; `obsgen init` writes a starter config"):
        load(tmp_path / "nope.yaml")


def test_alert_for_overrides_reach_the_rules():
    from obsgen import plan
    from obsgen.catalogue.alerts import ALERT_NAMES

    config = load(ROOT / "tests" / "fixtures" / "full.yaml")
    durations = {a.name: a.duration for a in plan.build(config).alert_specs()}
    assert durations["LLMErrorRateHigh"] == "2m"
    assert durations["LLMBudgetExceeded"] == "0s"
    assert durations["LLMSuccessRateLow"] == "10m"
    assert set(durations) <= set(ALERT_NAMES)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ops\r", "control or format character U+000D"),
        ("ops\x01", "control or format character U+0001"),
        ("ops\x7f", "control or format character U+007F"),
        ("ops\u2028x", "control or format character U+2028"),
        (" ops", "must not begin or end with spaces"),
        ("o" * 129, "must be at most 128 characters"),
        ("", "must be a non-empty string"),
    ],
)
@pytest.mark.parametrize("kind", ["teams", "agents"])
def test_budget_names_llmobs_could_never_record_are_refused(tmp_path, kind, name, message):
    messages = errors_of(mutate(f"budgets.{kind}", {name: 5}), tmp_path)
    assert len(messages) == 1
    assert messages[0].startswith(f"budgets.{kind}.")
    assert message in messages[0]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://user:hunter2@mimir.example/push", "must not hold credentials (user:password@)"),
        ("https://mimir.example/push?api_key=hunter2", "must not hold a secret in its query"),
        ("https://mimir.example/push?X-Amz-Signature=abc", "must not hold a secret in its query"),
        ("https://mimir.example/a%zzb", "every % starts an escape"),
    ],
)
def test_remote_write_urls_with_secrets_or_bad_escapes_are_refused(tmp_path, url, message):
    messages = errors_of(mutate("prometheus.remote_write", [{"url": url}]), tmp_path)
    assert len(messages) == 1
    assert messages[0].startswith("prometheus.remote_write[0].url: ")
    assert message in messages[0]
    assert "hunter2" not in messages[0]


@pytest.mark.parametrize(
    "path", ["slo.error_rate_percent", "slo.p99_latency_seconds", "dashboard.title"]
)
def test_null_never_silently_means_the_default(tmp_path, path):
    text = mutate(path, "PLACEHOLDER").replace("PLACEHOLDER", "null")
    (message,) = errors_of(text, tmp_path)
    assert message.startswith(f"{path}: null means off, and this cannot be off")


def test_null_turns_a_budget_off(tmp_path):
    path = tmp_path / "obsgen.yaml"
    path.write_text(mutate("budgets.daily", "PLACEHOLDER").replace("PLACEHOLDER", "null"))
    assert load(path).budgets.daily is None


def test_a_team_name_holding_the_separator_is_refused(tmp_path):
    messages = errors_of(mutate("budgets.teams", {"ops.infra": 5}), tmp_path)
    assert messages == [
        "budgets.teams.ops.infra: a team name cannot hold the team separator '.': the team of "
        "an agent is the part of its id before the first separator"
    ]


def test_names_that_mean_something_in_the_output_languages_are_accepted():
    config = load(Path(__file__).parents[1] / "fixtures" / "hostile.yaml")
    assert ScopedBudget('{{ query "up" }}', daily=5.0) in config.budgets.teams


def test_every_configured_budget_is_one_limit_of_scope_name_and_period():
    budgets = load(ROOT / "tests" / "fixtures" / "full.yaml").budgets
    limits = {
        (lim.scope_label, lim.name, lim.period.value): (lim.usd, lim.enforce)
        for lim in budgets.limits()
    }
    assert limits == {
        ("customer", "acme", "month"): (500.0, True),
        ("customer", "*", "month"): (50.0, False),
        ("region", "eu", "day"): (300.0, False),
        ("global", "all", "day"): (250.0, False),
        ("global", "all", "week"): (1200.0, False),
        ("global", "all", "month"): (4000.0, False),
        ("team", "meetmind", "day"): (40.0, False),
        ("team", "svea", "day"): (12.5, True),
        ("team", "svea", "week"): (60.0, True),
        ("team", "svea", "month"): (200.0, True),
        ("agent", "svea/pm", "day"): (5.0, False),
    }


NOTIFICATION_CASES = [
    (
        {"receivers": {"finance": {"slack": {"api_url": "https://hooks.slack.com/T/B/x"}}}},
        [
            "notifications.receivers.finance.slack.api_url_file: is required",
            "notifications.receivers.finance.slack.api_url: is a secret, which obsgen never "
            "writes into generated files: put it in a file and name the file in api_url_file "
            "(Alertmanager reads it)",
        ],
    ),
    (
        {"receivers": {"ops": {"email": {"to": "ops", "from": "a@b.io", "smarthost": "smtp"}}}},
        [
            "notifications.receivers.ops.email.to: must be an email address such as "
            "ops@example.com, got 'ops'",
            "notifications.receivers.ops.email.smarthost: must be host:port with a port from 1 "
            "to 65535, got 'smtp'",
        ],
    ),
    (
        {"receivers": {"ops": {"webhook": {"url": "https://u:p@hooks.example.com/x"}}}},
        [
            "notifications.receivers.ops.webhook.url: must not hold credentials "
            "(user:password@): they would be written into the generated files; use url_file, a "
            "file holding the URL",
        ],
    ),
    (
        {"receivers": {"ops": {"webhook": {"url": "https://x.example.com", "url_file": "f"}}}},
        [
            "notifications.receivers.ops.webhook: give url, or url_file for a URL that holds a "
            "secret (not both)"
        ],
    ),
    (
        {"receivers": {"ops": {}}},
        [
            "notifications.receivers.ops: names no integration: give one or more of slack, "
            "webhook, email, pagerduty"
        ],
    ),
    (
        {"receivers": {"llm-alerts": {"webhook": {"url": "https://x.example.com"}}}},
        [
            "notifications.receivers.llm-alerts: llm-alerts is the receiver of alerts no route "
            "sends: choose another name"
        ],
    ),
    (
        {"receivers": {"ops": {"pagerduty": {"routing_key_file": "k"}}}, "routes": {"slo": ["op"]}},
        ["notifications.routes.slo[0]: no receiver 'op' (receivers: ops)"],
    ),
    (
        {"routes": {"costs": ["ops"]}},
        ["notifications.routes.costs: unknown key (known keys: budget, slo, telemetry)"],
    ),
]


@pytest.mark.parametrize(("section", "messages"), NOTIFICATION_CASES)
def test_notification_mistakes_are_named(tmp_path, section, messages):
    assert errors_of(mutate("notifications", section), tmp_path) == messages


def test_the_first_token_objective_must_fall_inside_its_histogram(tmp_path):
    messages = errors_of(mutate("slo.p95_time_to_first_token_seconds", 90), tmp_path)
    assert messages == [
        "slo.p95_time_to_first_token_seconds: must be between 0.01 and 30 seconds, where the "
        "time to first token histogram can tell it apart, got 90"
    ]


def test_control_characters_of_a_name_are_shown_escaped(tmp_path, capsys):
    path = tmp_path / "obsgen.yaml"
    path.write_text('apiVersion: obsgen/v1\nbudgets:\n  teams:\n    "a\\rb\\x01c": 5\n')
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert "\r" not in message and "\x01" not in message
    assert "budgets.teams.a\\rb\\x01c: must be printable text" in message
    with pytest.raises(SystemExit) as exited:
        cli.main(["validate", "-c", str(path)])
    stderr = capsys.readouterr().err
    assert exited.value.code == 2
    assert stderr[:-1].isprintable()
    assert stderr.count("\n") == 1 and "a\\rb\\x01c" in stderr


@pytest.mark.parametrize(
    ("objectives", "message"),
    [
        (
            {"latency": {"seconds": 9}},
            "slo.objectives.latency.seconds: must be a bucket bound of the histogram, where "
            "events are counted as good or bad: one of 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, "
            "7.5, 10, 15, 20, 30, 60, 120, 300; got 9",
        ),
        (
            {"availability": {"seconds": 1}},
            "slo.objectives.availability.seconds: only a latency SLI has seconds",
        ),
        (
            {"availability": {"window": "3d"}},
            "slo.objectives.availability.window: must be at least 7d, got '3d'",
        ),
        (
            {"availability": {"percent": 100}},
            "slo.objectives.availability.percent: must be a percentage above 0 and below 100, "
            "got 100",
        ),
        (  # the page asks for 14.4 times the budget: more than every request failing
            {"availability": {"percent": 50}},
            "slo.objectives.availability.percent: 50% over 30d can never alert: spending 2% of "
            "its error budget in 1h takes a burn of 14.4 times the budget, more than every "
            "event failing; set a percent of at least 93.06 or a shorter window",
        ),
        (
            {"latency": {"percent": 99, "window": "1y"}},
            "slo.objectives.latency.percent: 99% over 1y can never alert: spending 2% of its "
            "error budget in 1h takes a burn of 175.2 times the budget, more than every event "
            "failing; set a percent of at least 99.43 or a shorter window",
        ),
        (
            {"errors": {"percent": 99}},
            "slo.objectives.errors: unknown key (known keys: availability, latency, "
            "time_to_first_token)",
        ),
    ],
)
def test_objective_mistakes_are_named(tmp_path, objectives, message):
    assert errors_of(mutate("slo.objectives", objectives), tmp_path) == [message]


def test_objectives_default_to_three_and_null_turns_one_or_all_off(tmp_path):
    default = load(ROOT / "obsgen.yaml").slo.objectives
    assert [(o.sli, o.percent, o.window, o.seconds) for o in default] == [
        ("availability", 99.5, "30d", None),
        ("latency", 99.0, "30d", 10.0),
        ("time_to_first_token", 95.0, "30d", 2.5),
    ]
    path = tmp_path / "obsgen.yaml"
    path.write_text(mutate("slo.objectives", {"latency": None, "availability": {"percent": 99.9}}))
    assert [(o.sli, o.percent) for o in load(path).slo.objectives] == [
        ("availability", 99.9),
        ("time_to_first_token", 95.0),
    ]
    path.write_text(GOOD.replace("slo:", "slo:\n  objectives: null", 1))
    assert load(path).slo.objectives == ()


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        (
            {"kind": "distributed"},
            "topology.kind: must be one of single, central, got 'distributed'",
        ),
        ({"scraper": "otel"}, "topology.scraper: must be one of prometheus, vmagent, got 'otel'"),
        (
            {"scrapers": 0},
            "topology.scrapers: must be a whole number of scrapers from 1 to 10, got 0",
        ),
        (
            {"store": {"query_url": "http://vm:8428?authKey=s3cret"}},
            "topology.store.query_url: must not hold a secret in its query (authKey=...): it "
            "would be written into the generated files; reach the store through a proxy that "
            "adds them (such as vmauth)",
        ),
        (
            {"store": {"write_url": "http://mimir:8080/api/v1/push"}},
            "topology.store.write_url: must end with /api/v1/write (VictoriaMetrics' write API, "
            "where vmalert writes the rules' results too), got 'http://mimir:8080/api/v1/push'",
        ),
        (
            {"kind": "central", "rules": "vmalert"},
            "topology.rules: unknown key (known keys: kind, scraper, scrapers, store)",
        ),
    ],
)
def test_topology_mistakes_are_named(tmp_path, topology, message):
    assert errors_of(mutate("topology", topology), tmp_path) == [message]


def test_the_central_topology_evaluates_no_more_often_than_it_scrapes(tmp_path):
    text = mutate("topology", {"kind": "central"})
    text = text.replace("evaluation_interval: 15s", "evaluation_interval: 5s")
    assert "evaluation_interval: 5s" in text
    assert errors_of(text, tmp_path) == [
        "prometheus.evaluation_interval: must not be shorter than scrape.interval (15s) in the "
        "central topology: the store keeps one sample of every series per scrape interval, the "
        "rules' results too"
    ]
    path = tmp_path / "single.yaml"
    path.write_text(text.replace("kind: central", "kind: single"))
    plan.build(load(path))  # one Prometheus evaluates as often as it likes


def test_the_topology_defaults_to_one_prometheus_and_a_local_store(tmp_path):
    topology = load(ROOT / "obsgen.yaml").topology
    assert (topology.kind, topology.scraper, topology.scrapers) == ("single", "prometheus", 2)
    assert topology.store.remote_write_url == "http://localhost:8428/api/v1/write"
    path = tmp_path / "obsgen.yaml"
    cluster = "http://vminsert:8480/insert/7/prometheus/api/v1/write"
    path.write_text(mutate("topology", {"kind": "central", "store": {"write_url": cluster}}))
    store = load(path).topology.store
    assert store.write_base == "http://vminsert:8480/insert/7/prometheus"


@pytest.mark.parametrize(
    ("budgets", "message"),
    [
        ({"tags": {"plan": {"gold": 5}}}, "budgets.tags.plan: 'plan' is not an attribution key"),
        ({"tags": {"Plan": {"gold": 5}}}, "is not an attribution tag key"),
        ({"tags": ["customer"]}, "must map tag keys to their values' budgets"),
        ({"tags": {"customer": {"acme": {"hourly": 5}}}}, "unknown key"),
    ],
)
def test_a_tag_budget_must_name_a_known_key_and_a_budget(budgets, message):
    from obsgen.config.load import parse

    document = {"apiVersion": "obsgen/v1", "budgets": budgets}
    with pytest.raises(ConfigError, match=message):
        parse(document, {}, "obsgen.yaml")


def test_tag_budgets_become_the_trackers_budgets():
    from llmobs import Budget
    from llmobs.config_budgets import options_of

    config = load(ROOT / "tests" / "fixtures" / "full.yaml")
    budgets = options_of(config.runtime)["budgets"]
    assert Budget(500.0, "month", enforce=True, tag=("customer", "acme")) in budgets
    assert Budget(50.0, "month", tag=("customer", "*")) in budgets
    assert options_of(config.runtime)["attribution_keys"] == ("region",)

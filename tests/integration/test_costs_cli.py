"""``obsgen costs`` reports spend from a tracker's database, as a real user runs it."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime, timezone

import pytest
from prometheus_client import CollectorRegistry

from llmobs import CostTracker, LLMCostCalculator, LLMMetrics
from tests.helpers import obsgen

NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "costs.sqlite3"
    calc = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry()))
    tracker = CostTracker(path, daily_budget=10.0, weekly_budget=40.0, calculator=calc)
    for agent, model, provider, cost, count in [
        ("meetmind.coordinator", "gpt-4o", "openai", 0.5, 4),
        ("meetmind.notes", "claude-3-haiku", "anthropic", 0.25, 8),
        ("svea.pm", "gemini-1.5-flash", "google", 1.0, 3),
    ]:
        for _ in range(count):
            tracker.record_cost(agent, model, provider, 100, 10, cost=cost, at=NOW)
    tracker.record_cost("svea.pm", "my-llama", "vllm", 100, 10, at=NOW)  # unpriced
    tracker.record_cost(
        "svea.pm",
        "gpt-4o",
        "openai",
        1,
        1,
        cost=30.0,
        at=datetime(2026, 11, 23, tzinfo=timezone.utc),
    )  # Monday, same week
    tracker.close()
    return path


def test_the_total_and_budget_come_first_then_the_biggest_spenders(db, tmp_path):
    result = obsgen("costs", "--db", str(db), "--date", "2026-11-25", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "LLM spend, day 2026-11-25 (UTC)",
        "",
        "total     7.000000 USD in 16 requests",
        "budget    10.00 USD: 70.00% used, 3.00 USD remaining",
    ]
    assert "1 request of a model with no known price counted at 0 USD" in lines[4]
    assert lines[6] == "by agent"
    agents = [line.split()[0] for line in lines[8:]]
    assert agents == ["svea.pm", "meetmind.coordinator", "meetmind.notes"]  # highest spend first


def test_a_table_lists_the_top_ten_unless_told_otherwise(tmp_path):
    path = tmp_path / "costs.sqlite3"
    tracker = CostTracker(path)
    for n in range(25):
        tracker.record_cost(f"demo.session{n:02}", "gpt-4o", "openai", 10, 1, cost=n + 1, at=NOW)
    tracker.close()
    common = ("costs", "--db", str(path), "--date", "2026-11-25")
    table = obsgen(*common, cwd=tmp_path).stdout.splitlines()
    listed = [line.split()[0] for line in table if line.startswith("demo.")]
    assert listed == [f"demo.session{n:02}" for n in range(24, 14, -1)]
    assert table[-1] == "(more agents spent less: --limit N or --all to list them)"
    assert "by agent, top 10" in table
    every = obsgen(*common, "--all", cwd=tmp_path).stdout
    assert every.count("demo.session") == 25 and "--all" not in every
    three = json.loads(obsgen(*common, "--json", "--limit", "3", cwd=tmp_path).stdout)
    assert [row["agent"] for row in three["rows"]] == ["demo.session24", "demo.session23",
                                                        "demo.session22"]  # fmt: skip
    assert three["more_rows"] is True
    assert len(json.loads(obsgen(*common, "--json", cwd=tmp_path).stdout)["rows"]) == 25


def test_team_and_agent_budgets_stand_beside_their_spend(db, tmp_path):
    (tmp_path / "obsgen.yaml").write_text(
        "apiVersion: obsgen/v1\nbudgets:\n  teams: {svea: {weekly: 50.0}, meetmind: 2.0}\n"
    )
    common = ("costs", "--db", str(db), "--date", "2026-11-25", "--by", "team")
    week = obsgen(*common, "--period", "week", cwd=tmp_path).stdout.splitlines()
    svea = next(line for line in week if line.startswith("svea"))
    assert svea.split()[-2:] == ["50.00", "66.0%"]  # 33 USD of its 50 USD week
    day = json.loads(obsgen(*common, "--json", cwd=tmp_path).stdout)
    budgets = {row["team"]: (row["budget_usd"], row["percent_used"]) for row in day["rows"]}
    assert budgets == {"svea": (None, None), "meetmind": (2.0, 200.0)}  # 4 USD of 2


def test_week_by_team_as_json(db):
    result = obsgen(
        "costs",
        "--db",
        str(db),
        "--date",
        "2026-11-25",
        "--period",
        "week",
        "--by",
        "team",
        "--format",
        "json",
    )
    report = json.loads(result.stdout)
    assert (report["start"], report["end"]) == ("2026-11-23", "2026-11-29")
    assert [(r["team"], r["requests"], r["cost_usd"]) for r in report["rows"]] == [
        ("svea", 5, 33.0),
        ("meetmind", 12, 4.0),
    ]
    assert report["total_cost_usd"] == 37.0 and report["budget_usd"] == 40.0
    assert report["percent_used"] == 92.5 and report["remaining_usd"] == 3.0


def test_month_by_provider_as_csv_without_budget(db):
    result = obsgen(
        "costs",
        "--db",
        str(db),
        "--date",
        "2026-11-25",
        "--period",
        "month",
        "--by",
        "provider",
        "--format",
        "csv",
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0] == {
        "provider": "openai",
        "requests": "5",
        "cost_usd": "32.000000",
        "budget_usd": "",
    }
    assert {r["provider"] for r in rows} == {"openai", "google", "anthropic", "vllm"}
    table = obsgen("costs", "--db", str(db), "--date", "2026-11-25", "--period", "month")
    assert "no month budget set" in table.stdout


def test_database_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("LLMOBS_COST_DB", str(db))
    assert "meetmind.coordinator" in obsgen("costs", "--date", "2026-11-25").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["costs", "--db", "/nonexistent/costs.sqlite3"],
            "obsgen: error: /nonexistent/costs.sqlite3: no cost database at this path",
        ),
        (["costs", "--by", "color"], "obsgen: error: obsgen costs: Invalid value for '--by'"),
        (["costs", "--date", "yesterday"], "'yesterday' is not a date like 2026-11-27"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(args, message, tmp_path):
    result = obsgen(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_corrupt_database_is_reported_not_replaced(tmp_path):
    path = tmp_path / "costs.sqlite3"
    path.write_text("garbage" * 100)
    result = obsgen("costs", "--db", str(path))
    assert result.returncode == 2
    assert "not a usable llmobs cost database" in result.stderr
    assert path.read_text() == "garbage" * 100


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_the_last_days_of_the_calendar_report(db, period):
    result = obsgen("costs", "--db", str(db), "--period", period, "--date", "9999-12-31")
    assert result.returncode == 0, result.stderr
    assert "9999-12-31" in result.stdout


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE meta SET value = '\"Mars/Base\"' WHERE key = 'timezone'",
        "INSERT OR REPLACE INTO meta VALUES ('budgets', 'not json')",
        "DROP TABLE rollup",
    ],
)
def test_a_tampered_database_is_one_line_with_exit_code_2(db, tamper):
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(tamper)
    conn.close()
    result = obsgen("costs", "--db", str(db))
    assert result.returncode == 2
    assert result.stderr.startswith(f"obsgen: error: {db}: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_path_with_a_hash_is_read_as_that_file(tmp_path):
    path = tmp_path / "team#1.sqlite3"
    tracker = CostTracker(path, durable=True)
    tracker.record_cost("a.b", "gpt-4o", "openai", 1000, 500, at=datetime(2026, 11, 25, 12))
    tracker.close()
    result = obsgen("costs", "--db", str(path), "--date", "2026-11-25")
    assert result.returncode == 0, result.stderr
    assert "0.007500" in result.stdout


def test_help_describes_every_option():
    out = obsgen("costs", "--help").stdout
    for option in ("--period", "--by", "--db", "--format", "--json", "--date", "--limit", "--all"):
        assert option in out


def test_spend_by_customer_and_by_a_key_the_config_declares(tmp_path):
    path = tmp_path / "costs.sqlite3"
    calc = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry()))
    tracker = CostTracker(path, calculator=calc, attribution_keys=("region",))
    for customer, region, cost, count in [("acme", "eu", 2.0, 3), ("globex", "us", 5.0, 1)]:
        for _ in range(count):
            tracker.record_cost("svc", "gpt-4o", "openai", 1, 1, cost=cost, at=NOW,
                                tags={"customer": customer, "region": region})  # fmt: skip
    tracker.record_cost("svc", "gpt-4o", "openai", 1, 1, cost=1.0, at=NOW)  # untagged
    tracker.close()
    args = ("costs", "--db", str(path), "--date", "2026-11-25", "--format", "csv")
    by_customer = obsgen(*args, "--by", "customer", cwd=tmp_path)
    assert by_customer.returncode == 0, by_customer.stderr
    rows = list(csv.reader(io.StringIO(by_customer.stdout)))
    assert rows == [
        ["customer", "requests", "cost_usd", "budget_usd"],
        ["acme", "3", "6.000000", ""],
        ["globex", "1", "5.000000", ""],
    ]
    undeclared = obsgen(*args, "--by", "region", cwd=tmp_path)
    assert undeclared.returncode == 2 and "'region' is not one of" in undeclared.stderr
    config = tmp_path / "obsgen.yaml"
    config.write_text("apiVersion: obsgen/v1\nattribution:\n  keys: [region]\n")
    by_region = obsgen(*args, "--by", "region", cwd=tmp_path)
    assert by_region.returncode == 0, by_region.stderr
    assert by_region.stdout.splitlines()[1:] == ["eu,3,6.000000,", "us,1,5.000000,"]

"""The rollups every summary, report and budget check reads equal the sums of the raw entries,
for any batches; a version 1 database is migrated to them once, or read as it is."""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmobs import CostStoreError, CostTracker
from llmobs.attribution import tags_text
from llmobs.store import SCHEMA_VERSION, TOTAL, SQLiteStore, StoredEntry
from tests.cost_sums import TEST_TAG_KEYS, expected_rollups, stored_rollups

V1_DUMP = Path(__file__).resolve().parents[1] / "fixtures" / "cost_db_v1.sql"
entry = st.builds(
    StoredEntry,
    ts=st.just(1_764_000_000.0),
    day=st.dates(date(2025, 12, 20), date(2026, 3, 5)),  # across a year, weeks and months
    agent_id=st.sampled_from(["a.one", "a.two", "b.three", "solo"]),
    model=st.sampled_from(["gpt-4o", "claude-3-haiku", "gemini-2.0-flash"]),
    provider=st.sampled_from(["openai", "anthropic", "google"]),
    team=st.sampled_from(["a", "b", "solo"]),
    prompt_tokens=st.integers(0, 10**9),
    completion_tokens=st.integers(0, 10**6),
    cache_read_tokens=st.integers(0, 1000),
    cache_write_tokens=st.integers(0, 1000),
    cost_nusd=st.integers(0, 10**15),
    priced=st.booleans(),
    uid=st.none(),  # entries with ids: test_store_contract
    tags=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(TEST_TAG_KEYS), st.sampled_from(["acme", "globex", "ünï"]), min_size=1
        ).map(lambda tags: tags_text(tuple(sorted(tags.items())))),
    ),
)


@settings(max_examples=40, deadline=None)
@given(entries=st.lists(entry, max_size=60), cuts=st.lists(st.integers(0, 60), max_size=4))
def test_rollups_equal_the_sums_of_the_entries_for_any_batches(entries, cuts):
    store = SQLiteStore(":memory:")
    bounds = [0, *sorted(cuts), len(entries)]
    period_totals = {}
    for low, high in itertools.pairwise(bounds):
        period_totals.update(store.add_batch(entries[low:high]))
    expected = expected_rollups(entries)
    assert stored_rollups(store) == expected
    for (period, dim, start, _), row in expected.items():
        if dim == TOTAL:
            assert store.total_nusd(period, start) == row[-1]
            assert period_totals[(period, start)] == row[-1]  # what the last write returned
    store.close()


def test_a_breakdown_is_ranked_and_paged(tmp_path):
    tracker = CostTracker(tmp_path / "costs.sqlite3", durable=True)
    day = date(2026, 11, 25)
    at = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    for n, cost in enumerate([3.0, 1.0, 2.0, 2.0, 5.0]):
        tracker.record_cost(f"team.agent{n}", "gpt-4o", "openai", 10, 5, cost=cost, at=at)
    ranked = [row["agent"] for row in tracker.breakdown("month", "agent", day)]
    assert ranked == ["team.agent4", "team.agent0", "team.agent2", "team.agent3", "team.agent1"]
    pages = [tracker.breakdown("month", "agent", day, limit=2, offset=n) for n in (0, 2, 4)]
    assert [row["agent"] for page in pages for row in page] == ranked
    assert pages[0][0] == {
        "agent": "team.agent4",
        "requests": 1,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cost_usd": 5.0,
    }
    assert tracker.breakdown("day", "agent", day + timedelta(days=1)) == []
    for bad in ({"by": "day"}, {"by": ""}, {"limit": -1}, {"offset": -2}, {"limit": True}):
        arguments = {"period": "week", "by": "agent", **bad}
        with pytest.raises(ValueError):
            tracker.breakdown(**arguments)
    tracker.close()


def load_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_DUMP.read_text())
    conn.close()


def schema_version(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    finally:
        conn.close()


def summaries_match_the_entries(tracker: CostTracker) -> None:
    entries = list(tracker.store.entries())
    assert len(entries) == 70
    expected = expected_rollups(entries)
    for (period, dim, start, key), row in expected.items():
        if dim == TOTAL:
            summary = tracker.period_summary(period, start)
            assert summary["total_requests"] == row[0]
            assert summary["unpriced_requests"] == row[1]
            assert summary["prompt_tokens"] == row[2]
            assert round(summary["total_cost"] * 1e9) == row[-1]
        elif dim == "agent":
            page = tracker.breakdown(period, dim, start)
            assert {r[dim]: r["requests"] for r in page}[key] == row[0]


def test_a_version_1_database_is_migrated_once_and_keeps_every_sum(tmp_path):
    db = tmp_path / "v1.sqlite3"
    load_v1(db)
    tracker = CostTracker(db)
    assert schema_version(db) == str(SCHEMA_VERSION)
    tables = {row[0] for row in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert "daily" not in tables and "daily_total" not in tables
    assert {"rollup", "holds"} <= tables
    assert str(tracker.timezone) == "Europe/Stockholm" and tracker.budget("week") == 200.0
    summaries_match_the_entries(tracker)
    before = tracker.get_monthly_summary(date(2026, 11, 2))["total_cost"]
    at = datetime(2026, 11, 2, 12, tzinfo=timezone.utc)
    assert tracker.record_cost("solo", "gpt-4o", "openai", 10, 5, cost=1.25, at=at) == 1.25
    assert tracker.get_monthly_summary(date(2026, 11, 2))["total_cost"] == before + 1.25
    tracker.close()


def test_a_version_1_database_read_only_is_read_as_it_is(tmp_path):
    db = tmp_path / "v1.sqlite3"
    load_v1(db)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    reader = CostTracker(db, read_only=True)
    summaries_match_the_entries(reader)
    reader.close()
    assert schema_version(db) == "1"
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def _open(path: str) -> None:
    CostTracker(path).close()


def test_processes_opening_a_version_1_database_at_once_migrate_it_once(tmp_path):
    db = tmp_path / "v1.sqlite3"
    load_v1(db)
    reference = tmp_path / "reference.sqlite3"
    load_v1(reference)
    expected = CostTracker(reference, read_only=True).get_monthly_summary(date(2026, 10, 26))
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_open, args=(str(db),)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * 4
    migrated = CostTracker(db, read_only=True).get_monthly_summary(date(2026, 10, 26))
    assert migrated == expected and migrated["total_requests"] == 42


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / "costs.sqlite3"
    CostTracker(db).close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    conn.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(CostStoreError, match=r"schema version 7, newer than this llmobs knows"):
        CostTracker(db)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_a_rollup_sum_cannot_be_tampered_into_text_and_a_bad_start_is_a_clear_error(tmp_path):
    db = tmp_path / "costs.sqlite3"
    tracker = CostTracker(db, durable=True)
    at = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    tracker.record_cost("team.agent", "gpt-4o", "openai", 10, 5, cost=1.0, at=at)
    conn = sqlite3.connect(db, isolation_level=None)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        conn.execute("UPDATE rollup SET cost_nusd = 'abc'")
    conn.execute("UPDATE rollup SET start = '2026-11-25 noon' WHERE period = 'day'")
    conn.close()
    with pytest.raises(CostStoreError, match="a rollup row is corrupt"):
        tracker.get_monthly_summary(at.date())
    tracker.close()


def test_totals_over_any_range_of_days_sum_each_days_rollups(tmp_path):
    db = tmp_path / "v1.sqlite3"
    load_v1(db)
    tracker = CostTracker(db)
    first, last = date(2026, 10, 28), date(2026, 11, 2)  # across a week and a month boundary
    inside = [e for e in tracker.store.entries() if first <= e.day <= last]
    totals = tracker.totals(first, last)
    assert totals.requests == len(inside) > 0
    assert totals.cost_nusd == sum(e.cost_nusd for e in inside)
    assert dict(totals.requests_by["agent"]) == {
        agent: sum(e.agent_id == agent for e in inside) for agent in {e.agent_id for e in inside}
    }
    assert sorted(totals.by["day"]) == sorted({e.day.isoformat() for e in inside})
    tracker.close()

"""The cost store never loses, corrupts or silently mis-stores what it was given, and recording
never waits for it."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sqlite3
import subprocess
import threading
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from llmobs import CostStoreError, CostTracker
from llmobs.store import SQLiteStore, StoredEntry
from llmobs.writer import CostWriter
from tests.helpers import free_port
from tests.unit.samples import sample

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "costs.sqlite3"


def record(tracker: CostTracker, usd: float = 1.0) -> float:
    return tracker.record_cost("team.agent", "gpt-4o", "openai", 100, 50, cost=usd, at=NOW)


def dropped(registry: CollectorRegistry, reason: str) -> float:
    return sample(registry, "llm_cost_records_dropped_total", reason=reason)


class WriteLock:
    """Another process's write transaction on the file, held until released."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_recording_does_not_wait_for_another_process_holding_the_write_lock(db, calculator):
    tracker = CostTracker(db, calculator=calculator, daily_budget=10.0, clock=lambda: NOW)
    lock = WriteLock(db)
    try:
        assert record(tracker, 2.0) == 2.0
        assert not tracker.flush(timeout=0.3)  # not stored yet: the file is locked
        assert tracker.check_budget_threshold(10.0)["spent"] == 2.0  # but counted already
    finally:
        lock.release()
    assert tracker.flush(timeout=10.0)
    assert [e.cost for e in tracker.entries()] == [2.0]
    tracker.close()


def test_a_full_queue_drops_and_counts_instead_of_blocking(db, calculator, registry, caplog):
    tracker = CostTracker(db, calculator=calculator, queue_size=3)
    lock = WriteLock(db)
    try:
        with caplog.at_level(logging.ERROR, logger="llmobs"):
            for _ in range(5):
                record(tracker)
    finally:
        lock.release()
    assert tracker.flush(timeout=10.0)
    assert dropped(registry, "queue_full") == 2
    assert sum(1 for _ in tracker.entries()) == 3
    assert any("write queue" in r.getMessage() for r in caplog.records)
    tracker.close()


def fill_the_disk(tracker: CostTracker) -> None:
    """Let the file grow no more: SQLite then fails as on a full disk."""
    conn = tracker.store._conn  # type: ignore[attr-defined]
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")


def free_the_disk(tracker: CostTracker) -> None:
    tracker.store._conn.execute("PRAGMA max_page_count = 1073741823")  # type: ignore[attr-defined]


def test_a_full_disk_is_logged_with_its_cause_and_counted(db, calculator, registry, caplog):
    tracker = CostTracker(db, calculator=calculator, durable=True, durable_timeout=0.3)
    fill_the_disk(tracker)
    refused = 0
    with caplog.at_level(logging.ERROR, logger="llmobs"):
        for _ in range(200):  # the last free pages fill, then records no longer fit
            try:
                record(tracker)
            except CostStoreError as error:  # a durable record never returns unstored
                assert "could not be stored within 0.3 s" in str(error)
                refused += 1
                if refused == 3:
                    break
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "full" in messages
    assert "cannot rollback" not in messages
    assert refused == 3
    assert dropped(registry, "store_error") == 3
    assert sample(registry, "llm_cost_store_errors_total") >= 3  # every attempt
    tracker.close()


def test_background_entries_wait_out_a_full_disk(db, calculator, registry):
    tracker = CostTracker(db, calculator=calculator)
    fill_the_disk(tracker)
    for _ in range(300):
        record(tracker, 0.5)
    assert not tracker.flush(timeout=0.5)
    assert sample(registry, "llm_cost_store_errors_total") >= 1
    free_the_disk(tracker)
    assert tracker.flush(timeout=20.0)
    assert dropped(registry, "queue_full") == 0
    summary = tracker.get_daily_summary(NOW.date())
    assert (summary.total_requests, summary.total_cost) == (300, 150.0)
    tracker.close()


def test_closing_retries_a_failing_store_at_once_instead_of_after_its_pause(
    db, calculator, registry
):
    tracker = CostTracker(db, calculator=calculator)
    fill_the_disk(tracker)
    for _ in range(300):
        record(tracker, 0.5)
    assert not tracker.flush(timeout=1.5)  # failed three times: the writer now pauses 5 s
    free_the_disk(tracker)
    assert tracker.close(timeout=2.0)  # a failing store gets one more attempt, now
    assert dropped(registry, "shutdown") == 0
    assert sum(1 for _ in CostTracker(db, calculator=calculator).entries()) == 300


def test_reads_do_not_wait_for_a_failing_store(db, calculator):
    tracker = CostTracker(db, calculator=calculator, clock=lambda: NOW)
    fill_the_disk(tracker)
    for _ in range(300):
        record(tracker, 0.5)
    assert not tracker.flush(timeout=0.5)
    reading = threading.Thread(target=tracker.get_daily_summary, args=(NOW.date(),), daemon=True)
    reading.start()
    reading.join(timeout=10)  # waited 30 s for the queue before
    assert not reading.is_alive(), "a read waited for a store that fails"
    free_the_disk(tracker)
    assert tracker.close()


class FailingUntilForked:
    """A store that fails in the process that made it and works in a forked child."""

    location = "failing-until-forked"
    batch_multiple = 1

    def __init__(self) -> None:
        self.pid = os.getpid()

    def add_batch(self, entries):
        if os.getpid() == self.pid:
            raise CostStoreError(f"{self.location}: unreachable")
        return {}


def test_a_forked_child_waits_for_its_own_writes_not_its_parents_failures():
    writer = CostWriter(
        FailingUntilForked(),  # type: ignore[arg-type]
        written=lambda batch, totals: None,
        failed=lambda exc: None,
        dropped=lambda reason, count: None,
    )
    entry = StoredEntry(NOW.timestamp(), NOW.date(), "a", "m", "p", "", 1, 1, 0, 0, 1, True)
    writer.submit(entry)
    assert not writer.flush(timeout=0.3)  # failing in the parent
    child = os.fork()
    if child == 0:
        writer.submit(entry)
        os._exit(0 if writer.catch_up(10.0) else 1)
    _, status = os.waitpid(child, 0)
    writer.close(timeout=0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child skipped its read's wait"


def test_a_read_only_file_is_a_clear_error_when_opened(db):
    CostTracker(db).close()
    subprocess.run(["chattr", "+i", str(db)], check=True)  # read-only even for root
    try:
        with pytest.raises(CostStoreError, match="read-only"):
            CostTracker(db)
        reader = CostTracker(db, read_only=True)  # reading it still works
        assert reader.get_daily_summary().total_requests == 0
        reader.close()
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


def test_another_applications_file_keeps_its_journal_mode(db):
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(CostStoreError, match="something else"):
        CostTracker(db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()
    assert not Path(f"{db}-wal").exists()


def test_a_second_process_cannot_set_another_time_zone_in_a_race(db, monkeypatch):
    CostTracker(db, timezone="Europe/Stockholm").close()
    real = SQLiteStore.get_setting

    def stale(self, key):  # as if read before the first process saved its zone
        return None if key == "timezone" else real(self, key)

    monkeypatch.setattr(SQLiteStore, "get_setting", stale)
    with pytest.raises(ValueError, match="Europe/Stockholm"):
        CostTracker(db, timezone="UTC")


def test_budgets_set_by_two_processes_are_both_kept(db):
    first = CostTracker(db)
    second = CostTracker(db)  # opened before the first saves its budget
    first.set_budgets(daily_budget=10.0)
    second.set_budgets(weekly_budget=50.0)
    reopened = CostTracker(db)
    assert (reopened.budget("day"), reopened.budget("week")) == (10.0, 50.0)
    assert (second.budget("day"), second.budget("week")) == (10.0, 50.0)
    for tracker in (first, second, reopened):
        tracker.close()


def test_a_tracker_reads_budgets_another_process_saved(db):
    reader = CostTracker(db)
    CostTracker(db, daily_budget=12.0).close()
    assert reader.budget("day") is None  # read when it opened
    reader.reload_budgets()
    assert reader.budget("day") == 12.0
    reader.close()


TAMPERED = [
    ("UPDATE meta SET value = 'abc' WHERE key = 'schema_version'", "schema version 'abc'"),
    ("UPDATE meta SET value = '\"Mars/Base\"' WHERE key = 'timezone'", "time zone 'Mars/Base'"),
    ("UPDATE meta SET value = '42' WHERE key = 'timezone'", "time zone 42"),
    ("INSERT OR REPLACE INTO meta VALUES ('budgets', '{\"day\": \"x\"}')", "budgets"),
    ("INSERT OR REPLACE INTO meta VALUES ('budgets', '{\"day\": -1}')", "budgets"),
    ("INSERT OR REPLACE INTO meta VALUES ('budgets', 'not json')", "'budgets'"),
    ("DROP TABLE rollup", "lacks its table"),
    ("UPDATE meta SET value = '99' WHERE key = 'schema_version'", "newer than this llmobs"),
]


@pytest.mark.parametrize(("tamper", "message"), TAMPERED)
@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
def test_tampered_files_are_clear_errors(db, tamper, message, read_only):
    CostTracker(db, daily_budget=5.0).close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(tamper)
    conn.close()
    with pytest.raises(CostStoreError, match=message):
        CostTracker(db, read_only=read_only)


def test_a_table_dropped_while_open_is_a_clear_error(db):
    tracker = CostTracker(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TABLE rollup")
    conn.close()
    with pytest.raises(CostStoreError, match="no such table"):
        tracker.get_daily_summary()


def _open_and_close(path: str, rounds: int) -> None:
    for _ in range(rounds):
        CostTracker(path).close()


def test_processes_opening_and_closing_one_file_at_once_all_succeed(db):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_open_and_close, args=(str(db), 40)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * 6


def test_a_path_with_hash_and_question_mark_is_that_file(tmp_path):
    path = tmp_path / "a#b?c.sqlite3"
    tracker = CostTracker(path)
    record(tracker, 3.0)
    tracker.close()
    assert json.loads(json.dumps(sorted(p.name for p in tmp_path.iterdir())))[0].startswith("a#b")
    reader = CostTracker(path, read_only=True)
    assert reader.get_daily_summary(NOW.date()).total_cost == 3.0
    reader.close()


@pytest.mark.slow
def test_an_unreachable_postgresql_database_is_named_without_its_password(caplog):
    port = free_port()  # nothing listens there
    url = f"postgresql://user:secret@127.0.0.1:{port}/costs?password=secret2"
    named = f"postgresql://user@127.0.0.1:{port}/costs"
    with pytest.raises(CostStoreError) as caught:  # a report has nothing to wait for
        CostTracker(url, read_only=True)
    assert str(caught.value).startswith(f"{named}: ") and "secret" not in str(caught.value)
    with caplog.at_level(logging.WARNING, logger="llmobs"):
        tracker = CostTracker(url)  # a service starts anyway and records into memory
    assert named in caplog.text and "secret" not in caplog.text
    assert tracker.record_cost("team.a", "gpt-4o", "openai", 10, 1, cost=0.5) == 0.5
    tracker.close(timeout=0.1)


@pytest.mark.parametrize("count", [1, 2, 511, 512, 513, 1500, 4099])
def test_a_batch_of_any_size_stores_exact_sums(tmp_path, count):
    store = SQLiteStore(tmp_path / "batch.sqlite3")
    entries = [
        StoredEntry(
            ts=1_764_000_000.0 + n,
            day=date(2026, 11, 20 + n % 3),
            agent_id=f"team.agent{n % 7}",
            model=("gpt-4o", "claude-3-haiku")[n % 2],
            provider=("openai", "anthropic")[n % 2],
            team="team",
            prompt_tokens=n,
            completion_tokens=2 * n,
            cache_read_tokens=n // 2,
            cache_write_tokens=0,
            cost_nusd=1_000 + n,
            priced=n % 5 != 0,
        )
        for n in range(count)
    ]
    totals = store.add_batch(entries)
    for day in {e.day for e in entries}:
        assert totals[("day", day)] == sum(e.cost_nusd for e in entries if e.day == day)
    assert totals[("month", date(2026, 11, 1))] == sum(e.cost_nusd for e in entries)
    agents = store.rollups("month", date(2026, 11, 1), date(2026, 11, 1), ["agent"])
    assert sum(row.requests for row in agents) == count
    assert sum(row.unpriced for row in agents) == sum(not e.priced for e in entries)
    assert sum(row.completion_tokens for row in agents) == sum(e.completion_tokens for e in entries)
    assert list(store.entries()) == entries
    store.close()

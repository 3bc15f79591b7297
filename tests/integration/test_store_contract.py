"""Every cost store backend keeps one contract: SQLite and a real PostgreSQL pass the same tests."""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from llmobs import CostStoreError, CostTracker
from llmobs.attribution import tags_of_text, tags_text
from llmobs.store import CostStore, Hold, Shortfall, StoredEntry, open_store
from tests.cost_sums import expected_rollups, stored_rollups

AGENTS = ["B.lead", "a.worker", "b.worker", "A.solo", "a.ünïcode"]  # byte order != any locale's


def entry(n: int, first: date = date(2026, 10, 20)) -> StoredEntry:
    day = first + timedelta(days=n % 19)  # across weeks and a month's end
    return StoredEntry(
        ts=1_760_000_000.0 + n,
        day=day,
        agent_id=AGENTS[n % len(AGENTS)],
        model=("gpt-4o", "claude-3-5-haiku", "self-hosted")[n % 3],
        provider=("openai", "anthropic", "vllm")[n % 3],
        team=AGENTS[n % len(AGENTS)].split(".")[0],
        prompt_tokens=1_000 + n,
        completion_tokens=n % 300,
        cache_read_tokens=n % 7,
        cache_write_tokens=n % 3,
        cost_nusd=0 if n % 3 == 2 else 1_234_567 * (n % 11 + 1),
        priced=n % 3 != 2,
    )


def tamper(location: str, statement: str) -> None:
    """Run ``statement`` on the database behind the store's back (tables unqualified)."""
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute("SET search_path TO llmobs")
            conn.execute(statement)
        return
    conn = sqlite3.connect(location, isolation_level=None)
    conn.execute(statement)
    conn.close()


@pytest.fixture
def store(cost_db):
    opened = open_store(cost_db)
    yield opened
    opened.close()


def test_batches_of_any_size_add_up_exactly_in_every_rollup(store: CostStore):
    entries = [entry(n) for n in range(1_200)]
    returned = {}
    for low, high in [(0, 1), (1, 8), (8, 700), (700, 1_200)]:
        returned.update(store.add_batch(entries[low:high]))
    expected = expected_rollups(entries)
    assert stored_rollups(store) == expected
    for (period, dim, start, _), row in expected.items():
        if dim == "":
            assert store.total_nusd(period, start) == row[-1] == returned[(period, start)]
    assert store.total_nusd("day", date(2030, 1, 1)) == 0
    assert list(store.entries()) == entries
    assert list(store.entries(filters={"agent_id": "a.ünïcode", "model": "gpt-4o"})) == [
        e for e in entries if e.agent_id == "a.ünïcode" and e.model == "gpt-4o"
    ]
    window = list(store.entries(1_760_000_100.0, 1_760_000_200.0))
    assert window == entries[100:200]
    with pytest.raises(ValueError, match="cannot filter entries by 'cost_nusd'"):
        list(store.entries(filters={"cost_nusd": "1"}))


def test_a_batch_written_again_after_a_lost_commit_adds_each_entry_once(store: CostStore):
    entries = [entry(n)._replace(uid=n.to_bytes(16, "little")) for n in range(300)]
    first = store.add_batch(entries[:200])
    again = store.add_batch(entries[:200])  # the retry of a commit whose answer was lost
    assert again == {}  # nothing new: no totals, no alerts
    store.add_batch(entries[100:])  # a retry that has grown meanwhile: only 200..299 are new
    assert list(store.entries()) == entries
    assert stored_rollups(store) == expected_rollups(entries)
    assert first  # the first write reported its periods' totals


def test_a_breakdown_is_ranked_by_spend_then_by_key_in_byte_order(store: CostStore):
    day = date(2026, 11, 25)
    store.add_batch(
        [
            StoredEntry(1.0, day, agent, "m", "p", "t", 1, 1, 0, 0, cost, True)
            for agent, cost in [("b", 5), ("B", 5), ("a", 5), ("A", 5), ("top", 9)]
        ]
    )
    ranked = [row.key for row in store.ranked("month", date(2026, 11, 1), "agent")]
    assert ranked == ["top", "A", "B", "a", "b"]
    page = store.ranked("month", date(2026, 11, 1), "agent", limit=2, offset=2)
    assert [row.key for row in page] == ["B", "a"]
    rows = store.rollups("day", day, day, ("", "agent"))
    assert [(row.dim, row.key) for row in rows] == [
        ("", ""), ("agent", "A"), ("agent", "B"), ("agent", "a"), ("agent", "b"), ("agent", "top")
    ]  # fmt: skip
    with pytest.raises(ValueError, match="dimension must be one of"):
        store.ranked("month", date(2026, 11, 1), "day")


def test_entries_are_read_in_pages_oldest_first(store: CostStore):
    entries = [entry(n) for n in range(5_003)]
    store.add_batch(entries)
    assert list(store.entries()) == entries


def test_settings_changed_at_once_by_many_writers_keep_every_change(cost_db):
    stores = [open_store(cost_db) for _ in range(3)]
    names = [f"budget{i}" for i in range(24)]

    def save(store: CostStore, name: str) -> None:
        store.update_setting("budgets", lambda current: {**(current or {}), name: 1.0})

    threads = [
        threading.Thread(target=save, args=(stores[i % 3], name)) for i, name in enumerate(names)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stores[0].get_setting("budgets") == dict.fromkeys(names, 1.0)
    assert stores[1].get_setting("never-set") is None
    for store in stores:
        store.close()


def test_an_alert_is_claimed_once_by_all_writers(cost_db):
    stores = [open_store(cost_db) for _ in range(3)]
    claims: list[bool] = []
    barrier = threading.Barrier(12)

    def claim(store: CostStore) -> None:
        barrier.wait()
        claims.append(store.claim_alert("day", date(2026, 11, 25), 80.0, 1.0))

    threads = [threading.Thread(target=claim, args=(stores[i % 3],)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == [False] * 11 + [True]
    assert stores[0].claim_alert("day", date(2026, 11, 26), 80.0, 1.0)  # another period
    for store in stores:
        store.close()


def test_pruning_deletes_old_entries_and_keeps_the_rollups(store: CostStore):
    entries = [entry(n) for n in range(100)]
    store.add_batch(entries)
    before = stored_rollups(store)
    assert store.prune_entries(1_760_000_060.0) == 60
    assert list(store.entries()) == entries[60:]
    assert stored_rollups(store) == before


def test_a_read_only_store_reads_and_never_writes(cost_db):
    with pytest.raises(CostStoreError):
        open_store(cost_db, read_only=True)  # nothing there yet: nothing is created
    writer = open_store(cost_db)
    writer.add_batch([entry(1)])
    writer.close()
    reader = open_store(cost_db, read_only=True)
    assert len(list(reader.entries())) == 1
    with pytest.raises(CostStoreError):
        reader.add_batch([entry(2)])
    with pytest.raises(CostStoreError):
        reader.update_setting("budgets", lambda current: {"day": 1.0})
    assert len(list(reader.entries())) == 1
    reader.close()


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE meta SET value = '9' WHERE key = 'schema_version'", "newer than this llmobs"),
        ("UPDATE meta SET value = 'x' WHERE key = 'schema_version'", "schema version 'x'"),
        ("DROP TABLE rollup", "lacks its table"),
        ("UPDATE meta SET value = 'not json' WHERE key = 'timezone'", "'timezone'"),
    ],
)
def test_a_database_it_cannot_use_is_one_clear_error(cost_db, statement, message):
    CostTracker(cost_db).close()
    tamper(cost_db, statement)
    with pytest.raises(CostStoreError, match=message):
        CostTracker(cost_db)
    assert connections_to(cost_db) == 0  # a tracker that failed to start let its store go


def connections_to(location: str) -> int:
    """Sessions other than this query's on the PostgreSQL database (0 for SQLite files)."""
    if not location.startswith("postgresql://"):
        return 0
    import psycopg

    with psycopg.connect(location, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def test_the_tracker_and_obsgen_costs_work_the_same_on_each_backend(cost_db):
    now = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    tracker = CostTracker(cost_db, daily_budget=1.0, timezone="Europe/Stockholm", clock=lambda: now)
    fired = []
    tracker.add_budget_alert(fired.append, 50.0)
    for n in range(8):
        tracker.record_cost(f"team{n % 2}.agent", "gpt-4o", "openai", 1000, 100, cost=0.1, at=now)
    tracker.flush()
    assert [status["threshold_percent"] for status in fired] == [50.0]
    summary = tracker.get_daily_summary()
    assert (summary.total_requests, summary.total_cost) == (8, 0.8)
    assert summary.cost_by_team == {"team0": 0.4, "team1": 0.4}
    assert tracker.check_budget_threshold(80.0)["is_over_threshold"] is True
    exported = list(csv.DictReader(io.StringIO(tracker.export_csv_text())))
    assert len(exported) == 8
    tracker.close()
    reopened = CostTracker(cost_db)
    assert str(reopened.timezone) == "Europe/Stockholm" and reopened.budget("day") == 1.0
    reopened.close()
    report = subprocess.run(
        [sys.executable, "-m", "obsgen", "costs", "--db", cost_db, "--date", "2026-11-25",
         "--by", "team", "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert '"total_cost_usd": 0.8' in report.stdout and '"team0"' in report.stdout


BUDGET_DAY = date(2026, 11, 25)


def day_hold(limit_nusd: int, dim: str = "", key: str = "") -> Hold:
    return Hold("day", BUDGET_DAY, dim, key, limit_nusd)


def held(store: CostStore, dim: str = "", key: str = "", *, now: float) -> int:
    """What unexpired reservations hold on a budget of BUDGET_DAY."""
    return store.spent_and_held(Hold("day", BUDGET_DAY, dim, key, 0), now)[1]


def spend(store: CostStore, cost_nusd: int, settled: tuple[int, ...] = ()) -> None:
    entry = StoredEntry(1.0, BUDGET_DAY, "team.a", "m", "p", "team", 1, 1, 0, 0, cost_nusd, True)
    store.add_batch([entry], settled)


def test_a_reservation_holds_its_amount_until_settled_released_or_expired(store: CostStore):
    budget = day_hold(1_000)
    assert store.reserve(1, [budget], 600, now=10.0, expires=100.0) is None
    assert held(store, now=10.0) == 600
    short = store.reserve(2, [budget], 500, now=10.0, expires=100.0)
    assert short == Shortfall(budget, spent_nusd=0, held_nusd=600)
    spend(store, 550, settled=(1,))  # its actual cost replaces the hold in one transaction
    assert held(store, now=10.0) == 0
    assert store.reserve(3, [budget], 451, now=10.0, expires=100.0) == Shortfall(budget, 550, 0)
    assert store.reserve(3, [budget], 450, now=10.0, expires=100.0) is None
    store.release(3)
    assert store.reserve(4, [budget], 450, now=10.0, expires=20.0) is None
    # a process that died holding it: the hold lapses at its expiry
    assert store.reserve(5, [budget], 450, now=20.0, expires=100.0) is None
    assert held(store, now=20.0) == 450


def test_a_reservation_must_fit_every_budget_or_holds_none(store: CostStore):
    spend(store, 700)  # team "team", agent "team.a"
    whole, team, agent = (
        day_hold(10_000),
        day_hold(1_000, "team", "team"),
        day_hold(800, "agent", "team.a"),
    )
    short = store.reserve(1, [whole, team, agent], 200, now=1.0, expires=99.0)
    assert short == Shortfall(agent, spent_nusd=700, held_nusd=0)
    assert held(store, now=1.0) == 0  # nothing held on any
    assert store.reserve(2, [whole, team, agent], 100, now=1.0, expires=99.0) is None
    assert held(store, "team", "team", now=1.0) == 100


def _race_for_the_budget(location: str, amount: int, limit: int, start, results) -> None:
    """One process: 4 threads, each with its own store, try 25 reservations each, all
    starting when the parent says go."""
    admitted = []
    stores = [open_store(location) for _ in range(4)]

    def attempts(thread: int) -> None:
        start.wait(60)
        for n in range(25):
            reservation = os.getpid() * 1000 + thread * 100 + n
            if stores[thread].reserve(reservation, [day_hold(limit)], amount, 1.0, 1e12) is None:
                admitted.append(reservation)

    threads = [threading.Thread(target=attempts, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    results.put("ready")
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    results.put(len(admitted))


def test_racing_processes_never_hold_more_than_the_budget(cost_db):
    open_store(cost_db).close()  # the schema, before the race
    amount, limit = 1_000, 150_500  # room for 150 of the 400 attempts
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_race_for_the_budget, args=(cost_db, amount, limit, start, results))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    assert [results.get(timeout=120) for _ in workers] == ["ready"] * 4
    start.set()
    admitted = sum(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    store = open_store(cost_db)
    holding = held(store, now=2.0)
    store.close()
    assert holding == admitted * amount <= limit
    assert admitted == 150  # and every attempt that fitted was admitted


def test_a_version_2_database_is_upgraded_when_opened_for_writing(cost_db):
    store = open_store(cost_db)
    store.add_batch([entry(1)])
    store.close()
    # version 2 is this version without reservations (3), entry ids (4) and tags (5)
    for statement in (
        "DROP TABLE holds",
        "DROP INDEX entries_uid",
        "ALTER TABLE entries DROP COLUMN uid",
        "ALTER TABLE entries DROP COLUMN tags",
        "DROP INDEX rollup_ranked",
        "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
    ):
        tamper(cost_db, statement)
    if cost_db.startswith("postgresql://"):
        with pytest.raises(CostStoreError, match="schema version 2; open it once with write"):
            open_store(cost_db, read_only=True)
    else:  # an SQLite file is read as it is
        reader = open_store(cost_db, read_only=True)
        assert held(reader, now=1.0) == 0
        assert len(list(reader.entries())) == 1
        reader.close()
    upgraded = open_store(cost_db)
    assert upgraded.reserve(1, [day_hold(10**9)], 5, now=1.0, expires=9.0) is None
    assert len(list(upgraded.entries())) == 1
    upgraded.close()
    with pytest.raises(CostStoreError, match="lacks its table"):  # now at this version
        tamper(cost_db, "DROP TABLE holds")
        open_store(cost_db)


CUSTOMERS = ["acme", "globex", 'o\'brien "co"', "ünïcode gmbh"]


def tagged(n: int) -> StoredEntry:
    tags = {"customer": CUSTOMERS[n % len(CUSTOMERS)]}
    if n % 2:
        tags["feature"] = ("search", "summary")[n % 4 // 2]
    return entry(n)._replace(
        tags=tags_text(tuple(sorted(tags.items()))), uid=n.to_bytes(16, "little")
    )


def test_tags_are_kept_summed_per_value_and_filterable(cost_db):
    store = open_store(cost_db)
    entries = [tagged(n) for n in range(40)] + [entry(n) for n in range(40, 50)]
    store.add_batch(entries[:17])
    store.add_batch(entries[17:])
    assert [e.tags for e in store.entries()] == [e.tags for e in entries]
    assert stored_rollups(store) == expected_rollups(entries)
    month = date(2026, 10, 1)
    ranked = store.ranked("month", month, "customer")
    october = [e for e in entries[:40] if e.day.month == 10]
    expected = {c: sum(e.cost_nusd for e in october if tags_of_text(e.tags)["customer"] == c)
                for c in CUSTOMERS}  # fmt: skip
    assert {row.key: row.cost_nusd for row in ranked} == expected
    assert [row.cost_nusd for row in ranked] == sorted((r.cost_nusd for r in ranked), reverse=True)
    quoted = list(store.entries(filters={"customer": CUSTOMERS[2]}))
    assert quoted == [
        e for e in entries if e.tags and CUSTOMERS[2] in tags_of_text(e.tags).values()
    ]
    both = list(store.entries(filters={"customer": "globex", "feature": "search"}))
    assert both and all(tags_of_text(e.tags) == {"customer": "globex", "feature": "search"}
                        for e in both)  # fmt: skip
    with pytest.raises(ValueError, match="cannot filter entries by 'priced'"):
        list(store.entries(filters={"priced": "1"}))
    store.close()


def test_a_version_4_database_gets_tags_and_keeps_its_entries(cost_db):
    store = open_store(cost_db)
    store.add_batch([entry(1)])
    store.close()
    tamper(cost_db, "ALTER TABLE entries DROP COLUMN tags")
    tamper(cost_db, "DROP INDEX rollup_ranked")
    tamper(cost_db, "UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    if not cost_db.startswith("postgresql://"):  # an SQLite file is read as it is
        reader = open_store(cost_db, read_only=True)
        assert [e.tags for e in reader.entries()] == [None]
        reader.close()
    upgraded = open_store(cost_db)
    upgraded.add_batch([tagged(2)])
    assert [e.tags for e in upgraded.entries()] == [None, tagged(2).tags]
    assert [row.key for row in upgraded.ranked("month", date(2026, 10, 1), "customer")] == [
        tags_of_text(tagged(2).tags)["customer"]
    ]
    upgraded.close()

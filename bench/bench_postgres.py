"""Benchmarks of the PostgreSQL cost store, on a real server started for the run (fsync on, as
in production): durable records and reservations against a raw psycopg insert+commit, sustained
records/s from 8 writer processes, and summaries at 1,000,000 entries."""

from __future__ import annotations

import multiprocessing
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from harness import best_of, per_call_seconds, report
from prometheus_client import CollectorRegistry

from llmobs import CostTracker, LLMCostCalculator, LLMMetrics
from llmobs.store import StoredEntry, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.pg_server import PostgresServer, binary

NOW = datetime(2026, 10, 15, 12, tzinfo=timezone.utc)
WRITERS = 8
WRITER_SECONDS = 10.0


def _tracker(url: str, **options: object) -> CostTracker:
    calculator = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry()))
    return CostTracker(url, calculator=calculator, clock=lambda: NOW, **options)


def raw_insert(url: str, calls: int) -> float:
    """The floor of a durable write: one row, one transaction, plain psycopg."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (ts float8, agent text, cost bigint)")

        def insert() -> None:
            with conn.transaction():
                conn.execute("INSERT INTO t VALUES (%s, %s, %s)", (time.time(), "agent", 1))

        return per_call_seconds(insert, calls)


def raw_same_writes(url: str, calls: int) -> float:
    """The floor of a durable record as the store writes it: the entry (with its id) and its
    fifteen rollup rows (its day, week and month; in total and per agent, model, provider and
    team) in one pipelined transaction, as the store's own statements run by plain psycopg."""
    import os

    import psycopg

    from llmobs.store.aggregate import rollup_rows
    from llmobs.store.base import SUM_FIELDS
    from llmobs.store.postgres import (
        _ADD_ROLLUP,
        _ADD_ROLLUP_TOTALS,
        _INSERT_ENTRIES,
        _columns,
        _pipeline,
    )

    width = 4 + len(SUM_FIELDS)
    with psycopg.connect(url, autocommit=True) as conn:

        def write() -> None:
            entry = StoredEntry(
                time.time(), NOW.date(), "team.a", "gpt-4o", "openai", "team",
                1000, 200, 0, 0, 1_000_000, True, os.urandom(16),
            )  # fmt: skip
            dims, totals = rollup_rows([entry])
            with _pipeline(conn), conn.transaction():
                conn.execute(_INSERT_ENTRIES, _columns([entry], len(StoredEntry._fields)))
                conn.execute(_ADD_ROLLUP, _columns(dims, width))
                cursor = conn.execute(_ADD_ROLLUP_TOTALS, _columns(totals, width))
            cursor.fetchall()

        return per_call_seconds(write, calls)


def durable_record(url: str, calls: int) -> float:
    tracker = _tracker(url, durable=True)
    seconds = per_call_seconds(
        lambda: tracker.record_cost("team.a", "gpt-4o", "openai", 1000, 200, cost=0.001), calls
    )
    tracker.close()
    return seconds


def reserve_and_settle(url: str, calls: int) -> float:
    tracker = _tracker(url, daily_budget=1e6, enforce=True)

    def call() -> None:
        reservation = tracker.reserve("team.a", max_cost=0.01)
        tracker.record_cost(
            "team.a", "gpt-4o", "openai", 1000, 200, cost=0.001, reservation=reservation
        )

    seconds = per_call_seconds(call, calls)
    tracker.close()
    return seconds


def _writer(url: str, seconds: float, results: multiprocessing.Queue) -> None:
    tracker = _tracker(url, queue_size=1_000_000)
    recorded, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(100):
            tracker.record_cost(f"team.agent{recorded % 50}", "gpt-4o", "openai", 10, 1, cost=1e-4)
            recorded += 1
    tracker.flush(timeout=300)
    tracker.close()
    results.put(recorded)


def sustained_rate(url: str) -> float:
    """Records per second that 8 writer processes get stored, flushes included."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    started = time.perf_counter()
    writers = [
        context.Process(target=_writer, args=(url, WRITER_SECONDS, results)) for _ in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    stored = sum(results.get(timeout=600) for _ in writers)
    elapsed = time.perf_counter() - started
    for writer in writers:
        writer.join()
    return stored / elapsed


def fill(url: str, entries: int) -> None:
    """``entries`` entries of 15,000 label sets over 90 days, written in large batches."""
    store = open_store(url)
    first = date(2026, 9, 1)
    batch: list[StoredEntry] = []
    for n in range(entries):
        agent = f"team{n % 25}.agent{(n * 7919) % 500}"
        batch.append(
            StoredEntry(
                1.7e9 + n, first + timedelta(days=n * 90 // entries), agent,
                f"model-{(n * 31) % 10}", ("openai", "anthropic", "google")[n % 3],
                agent.split(".")[0], 1000, 200, 0, 0, 1_200_000, True,
            )
        )  # fmt: skip
        if len(batch) == 20_000:
            store.add_batch(batch)
            batch = []
    store.add_batch(batch)
    store.close()


def raw_summary_read(url: str):
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    query = (
        "SELECT * FROM llmobs.rollup WHERE period = 'month' AND dim = ANY(%s) "
        "AND start = '2026-10-01'"
    )
    dims = ["", "agent", "model", "provider", "team"]
    days = (
        "SELECT * FROM llmobs.rollup WHERE period = 'day' AND dim = '' "
        "AND start BETWEEN '2026-10-01' AND '2026-10-31'"
    )
    return lambda: (conn.execute(query, (dims,)).fetchall(), conn.execute(days).fetchall())


def main() -> bool:
    print("== cost store on PostgreSQL ==")
    if binary("initdb") is None:
        print("  PostgreSQL is not installed (apt-get install postgresql): skipped")
        return True
    root = Path(tempfile.mkdtemp(prefix="llmobs-bench-postgres-"))
    server = PostgresServer(root, fsync=True)
    server.init()
    server.start()
    try:
        return _measure(server)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _measure(server: PostgresServer) -> bool:
    url = server.new_database()
    open_store(url).close()
    best = best_of(
        7,  # commits wait for the disk, whose pace varies: enough rounds for each one's best
        {
            "raw": lambda: raw_insert(url, 300),
            "same": lambda: raw_same_writes(url, 300),
            "durable": lambda: durable_record(url, 300),
            "reserve": lambda: reserve_and_settle(url, 300),
        },
    )
    ok = report(
        "record_cost durable=True vs its writes in raw psycopg",
        best["durable"],
        best["same"],
        3.0,  # pricing, label checks and aggregation in Python, as for SQLite
    )
    print(
        f"  (a one-row raw insert+commit takes {best['raw'] * 1e6:.2f} µs: "
        f"{best['durable'] / best['raw']:.1f}x less than a durable record)"
    )
    # An enforced call is two transactions: the reservation (the budget's lock, its checks and
    # its hold, committed without waiting for the disk) and the settlement (the durable record's
    # writes and the release): against those writes and one more insert+commit.
    ok &= report(
        "reserve + settle (enforced call) vs its writes and an insert",
        best["reserve"],
        best["same"] + best["raw"],
        3.0,
    )
    rate = sustained_rate(server.new_database())
    verdict = "ok" if rate >= 5_000 else "MISSED"
    print(
        f"  {WRITERS} writer processes, background writer (batches of up to 4,096): "
        f"{rate:,.0f} records/s stored (target >= 5,000)  {verdict}"
    )
    ok &= rate >= 5_000

    big = server.new_database()
    started = time.perf_counter()
    fill(big, 1_000_000)
    print(
        f"  wrote 1,000,000 entries of 15,000 label sets in {time.perf_counter() - started:.0f} s"
    )
    tracker = _tracker(big, read_only=True)
    summary_best = best_of(
        5,
        {
            "ours": lambda: per_call_seconds(lambda: tracker.get_monthly_summary(NOW.date()), 20),
            "floor": lambda: per_call_seconds(raw_summary_read(big), 20),
        },
    )
    ok &= report(
        "monthly summary, 500 agents, vs reading its rows", summary_best["ours"],
        summary_best["floor"], 10.0, unit="ms",
    )  # fmt: skip
    under = summary_best["ours"] < 0.005
    verdict = "ok" if under else "MISSED"
    print(f"{'':<58} {summary_best['ours'] * 1e3:9.2f} ms (target < 5 ms)  {verdict}")
    tracker.close()
    return ok and under

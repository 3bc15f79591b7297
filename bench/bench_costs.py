"""Benchmarks of cost tracking: the one-call entry point, durable records and summaries."""

from __future__ import annotations

import os
import resource
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta, timezone

from bench_metrics import CALLS, plain_client_floor
from harness import best_of, per_call_seconds, report
from prometheus_client import CollectorRegistry

from llmobs import CostTracker, LLMCostCalculator, LLMMetrics, LLMObserver, TokenUsage

USAGE = TokenUsage(prompt_tokens=1000, completion_tokens=200, cache_read_tokens=400)
AGENTS = [f"team{i % 3}.agent{i}" for i in range(8)]
MODELS = [("gpt-4o", "openai"), ("claude-3-5-sonnet", "anthropic"), ("gemini-1.5-flash", "google")]


def observer_call(tracker: CostTracker | None = None, calls: int = CALLS) -> float:
    metrics = LLMMetrics(registry=CollectorRegistry())
    observer = LLMObserver(
        metrics=metrics,
        tracker=tracker,
        calculator=LLMCostCalculator(overrides=[], metrics=metrics),
    )
    state = {"i": 0}

    def call() -> None:
        i = state["i"] = state["i"] + 1
        with observer.call(AGENTS[i & 7], "gpt-4o", "openai", cached=False) as llm_call:
            llm_call.usage = USAGE

    return per_call_seconds(call, calls)


def raw_sqlite_insert(path: str, calls: int) -> float:
    """The floor of a durable write: one row, one transaction, WAL, plain sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (ts REAL, agent TEXT, cost INTEGER)")

    def insert() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?, ?)", (time.time(), "agent", 1))
        conn.execute("COMMIT")

    seconds = per_call_seconds(insert, calls)
    conn.close()
    return seconds


def raw_sqlite_same_writes(path: str, calls: int) -> float:
    """The floor of a durable record as the tracker stores it: the entry, its day's group and
    its day's total, in one transaction, with plain sqlite3 (llmobs' own schema)."""
    from llmobs.store import SQLiteStore

    SQLiteStore(path).close()  # the schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")

    entry = ("team.a", "gpt-4o", "openai", "team", 1000, 200, 400, 0, 4_500_000)

    def write() -> None:
        day = "2026-11-25"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO entries (ts, day, agent_id, model, provider, team, prompt_tokens, "
            "completion_tokens, cache_read_tokens, cache_write_tokens, cost_nusd, priced) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), day, *entry, 1),
        )
        conn.execute(
            "INSERT INTO daily VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?, ?, ?, ?) "
            "ON CONFLICT (day, agent_id, model, provider) DO UPDATE SET "
            "requests = requests + 1, prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
            "completion_tokens = completion_tokens + excluded.completion_tokens, "
            "cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, "
            "cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, "
            "cost_nusd = cost_nusd + excluded.cost_nusd",
            (day, *entry),
        )
        conn.execute(
            "INSERT INTO daily_total VALUES (?, 1, ?) ON CONFLICT (day) DO UPDATE SET "
            "requests = requests + 1, cost_nusd = cost_nusd + excluded.cost_nusd "
            "RETURNING cost_nusd",
            (day, entry[-1]),
        ).fetchall()
        conn.execute("COMMIT")

    seconds = per_call_seconds(write, calls)
    conn.close()
    return seconds


def record_cost_sqlite(path: str, calls: int, *, durable: bool) -> float:
    """Seconds per ``record_cost`` into an SQLite file; in background mode, including the
    time to write them all (the flush), and asserting nothing was dropped."""
    metrics = LLMMetrics(CollectorRegistry())
    calc = LLMCostCalculator(overrides=[], metrics=metrics)
    tracker = CostTracker(path, calculator=calc, durable=durable)
    state = {"i": 0}

    def record() -> None:
        i = state["i"] = state["i"] + 1
        tracker.record_cost(AGENTS[i & 7], "gpt-4o", "openai", 1000, 200, cache_read_tokens=400)
        if not durable and i % 5_000 == 0:
            tracker.flush()

    seconds = per_call_seconds(record, calls)
    started = time.perf_counter()
    tracker.close()
    seconds += (time.perf_counter() - started) / calls
    assert not metrics.registry.get_sample_value(
        "llm_cost_records_dropped_total", {"reason": "queue_full"}
    )
    return seconds


def fill(tracker: CostTracker, entries: int, days: int) -> None:
    start = datetime(2026, 9, 1, tzinfo=timezone.utc)
    step = timedelta(days=days) / entries
    for i in range(entries):
        model, provider = MODELS[i % 3]
        tracker.record_cost(AGENTS[i & 7], model, provider, 1000, 200, at=start + step * i)
        if i % 5_000 == 0:
            tracker.flush()
    tracker.flush()


def summary_times(tracker: CostTracker, day: datetime) -> dict[str, float]:
    on = day.date()
    return {
        "daily": per_call_seconds(lambda: tracker.get_daily_summary(on), 50),
        "weekly": per_call_seconds(lambda: tracker.get_weekly_summary(on), 50),
        "monthly": per_call_seconds(lambda: tracker.get_monthly_summary(on), 50),
    }


def main() -> bool:
    print("== cost tracking ==")
    best = best_of(5, {"floor": plain_client_floor, "observer": observer_call})
    ok = report(
        "observer call (metrics + cost) vs plain client floor", best["observer"], best["floor"], 1.5
    )
    with tempfile.TemporaryDirectory() as folder:
        with_tracker = min(
            observer_call(CostTracker(os.path.join(folder, f"o{n}.db"), queue_size=100_000), 20_000)
            for n in range(3)
        )
    ok &= report(
        "observer call with a cost tracker (SQLite, background) vs without",
        with_tracker,
        best["observer"],
        3.0,
    )

    with tempfile.TemporaryDirectory() as folder:
        best = best_of(
            3,
            {
                "raw": lambda: raw_sqlite_insert(os.path.join(folder, "raw.db"), 5_000),
                "same": lambda: raw_sqlite_same_writes(os.path.join(folder, "same.db"), 5_000),
                "durable": lambda: record_cost_sqlite(
                    os.path.join(folder, "durable.db"), 5_000, durable=True
                ),
                "background": lambda: record_cost_sqlite(
                    os.path.join(folder, "background.db"), 20_000, durable=False
                ),
            },
        )
        ok &= report(
            "record_cost, durable=True, vs its three writes in raw sqlite3",
            best["durable"],
            best["same"],
            3.0,  # pricing, label checks and aggregation in Python: about 2x measured
        )
        print(
            f"  (a one-row raw insert+commit takes {best['raw'] * 1e6:.2f} µs: "
            f"{best['durable'] / best['raw']:.1f}x less than a durable record)"
        )
        ok &= report(
            "record_cost, background writer (all written), vs one raw insert+commit",
            best["background"],
            best["raw"],
            1.5,
        )
        rate = 1 / best["background"]
        verdict = "ok" if rate >= 10_000 else "MISSED"
        print(
            f"{'  record_cost throughput on one thread, all written':<58} {rate:9.0f} records/s "
            f"(target >= 10,000)  {verdict}"
        )
        ok &= rate >= 10_000

        calc = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry()))
        small = CostTracker(os.path.join(folder, "small.db"), calculator=calc)
        fill(small, 24 * 90, 90)  # the same aggregates: every agent and model each day
        big = CostTracker(os.path.join(folder, "big.db"), calculator=calc)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        fill(big, 1_000_000, 90)
        filled = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rss_growth = (rss_after - rss_before) / 1024
        day = datetime(2026, 10, 15, tzinfo=timezone.utc)
        baseline = summary_times(small, day)
        measured = summary_times(big, day)
        print(
            f"  recorded 1,000,000 entries over 90 days in {filled:.0f} s; "
            f"peak RSS {rss_after / 1024:.0f} MiB (grew {rss_growth:.1f} MiB); "
            f"file {os.path.getsize(big.path) >> 20} MiB"
        )
        for name in ("daily", "weekly", "monthly"):
            ok &= report(
                f"{name} summary, 1,000,000 entries vs 2,160 (same aggregates)",
                measured[name],
                baseline[name],
                2.0,
                unit="ms",
            )
            under = measured[name] < 0.005
            print(
                f"{'':<58} {measured[name] * 1e3:9.2f} ms (target < 5 ms)  "
                f"{'ok' if under else 'MISSED'}"
            )
            ok &= under
    return ok

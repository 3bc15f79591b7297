"""Benchmarks of attribution: recording tagged calls, and spend by customer at 100,000 distinct
customers and 1,000,000 entries in a month (breakdowns, the report's CSV, one customer's
entries), each against the floor of the same read in plain sqlite3."""

from __future__ import annotations

import csv
import io
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from bench_costs import _race, _summary_report, record_cost_sqlite
from harness import best_of, per_call_seconds, report
from prometheus_client import CollectorRegistry

from llmobs import CostTracker, LLMCostCalculator, LLMMetrics
from llmobs.store.sql import TAG_ROWS

CUSTOMERS = 100_000
ENTRIES = 1_000_000
FEATURES = ["search", "summary", "chat", "extract", "translate"]
NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)
#: A customer of the long tail, whose entries an export for its invoice reads.
ONE_CUSTOMER = "customer-054321"


def record_tagged(path: str, calls: int) -> float:
    """Seconds per ``record_cost`` with a customer and a feature tag (background writer, all
    written), as ``record_cost_sqlite`` times it untagged."""
    calc = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry()))
    tracker = CostTracker(path, calculator=calc)
    state = {"i": 0}

    def record() -> None:
        i = state["i"] = state["i"] + 1
        tags = {"customer": f"cust-{i % 1000}", "feature": FEATURES[i % 5]}
        tracker.record_cost("team.agent", "gpt-4o", "openai", 1000, 200, tags=tags)
        if i % 5_000 == 0:
            tracker.flush()

    seconds = per_call_seconds(record, calls)
    started = time.perf_counter()
    tracker.close()
    return seconds + (time.perf_counter() - started) / calls


def fill(tracker: CostTracker) -> None:
    """ENTRIES records over November from CUSTOMERS customers (a long tail: a few big ones)."""
    rng = random.Random(11)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    step = timedelta(days=27) / ENTRIES
    for i in range(ENTRIES):
        customer = i % CUSTOMERS if i < CUSTOMERS else int(rng.paretovariate(1.2)) % CUSTOMERS
        tracker.record_cost(
            f"team{i % 25}.agent{i % 500}",
            "gpt-4o",
            "openai",
            1000,
            200,
            cost=0.0001 * (1 + i % 7),
            at=start + step * i,
            tags={"customer": f"customer-{customer:06d}", "feature": FEATURES[i % 5]},
        )
        if i % 5_000 == 0:
            tracker.flush()
    tracker.flush()


def raw_ranked(path: str, limit: int | None) -> Callable[[], object]:
    """The floor of a breakdown: its rows read in order with plain sqlite3, through the index
    that ranks tag values."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    query = (
        "SELECT * FROM rollup WHERE period = 'month' AND dim = 'customer' AND start = ? "
        f"AND {TAG_ROWS} ORDER BY cost_nusd DESC, key LIMIT ?"
    )
    return lambda: conn.execute(query, ("2026-11-01", -1 if limit is None else limit)).fetchall()


def raw_customer_entries(path: str, customer: str) -> Callable[[], object]:
    """The floor of one customer's entries: the rows whose tags name it, plain sqlite3."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    query = "SELECT * FROM entries WHERE json_extract(tags, '$.customer') = ? ORDER BY ts, id"
    return lambda: conn.execute(query, (customer,)).fetchall()


def spend_by_customer(folder: str) -> bool:
    calc = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry()))
    tracker = CostTracker(os.path.join(folder, "customers.db"), calculator=calc, clock=lambda: NOW)
    started = time.perf_counter()
    fill(tracker)
    print(
        f"  recorded {ENTRIES:,} entries of {CUSTOMERS:,} customers in "
        f"{time.perf_counter() - started:.0f} s; file {os.path.getsize(tracker.path) >> 20} MiB"
    )
    ok = True
    top = _race(
        lambda: tracker.breakdown("month", "customer", limit=20), raw_ranked(tracker.path, 20), 20
    )
    ok &= _summary_report("top 20 customers of 100,000, vs reading their rows", top)

    def report_csv() -> object:
        buffer = io.StringIO()
        rows = tracker.breakdown("month", "customer")
        csv.writer(buffer).writerows((r["customer"], r["requests"], r["cost_usd"]) for r in rows)
        return buffer

    every = best_of(
        3,
        {
            "ours": lambda: per_call_seconds(report_csv, 1),
            "floor": lambda: per_call_seconds(raw_ranked(tracker.path, None), 1),
        },
    )
    ok &= report("all 100,000 customers as CSV, vs reading their rows", every["ours"],
                 every["floor"], 3.0, unit="ms")  # fmt: skip
    one = best_of(
        3,
        {
            "ours": lambda: per_call_seconds(
                lambda: list(tracker.entries(tags={"customer": ONE_CUSTOMER})), 1
            ),
            "floor": lambda: per_call_seconds(raw_customer_entries(tracker.path, ONE_CUSTOMER), 1),
        },
    )
    ok &= report("one customer's entries of 1,000,000 (a scan), vs the same query",
                 one["ours"], one["floor"], 1.5, unit="ms")  # fmt: skip
    tracker.close()
    return ok


def main() -> bool:
    print("== attribution ==")
    with tempfile.TemporaryDirectory() as folder:
        best = best_of(
            3,
            {
                "plain": lambda: record_cost_sqlite(
                    os.path.join(folder, "plain.db"), 20_000, durable=False
                ),
                "tagged": lambda: record_tagged(os.path.join(folder, "tagged.db"), 20_000),
            },
        )
        # Tags of 1,000 customers add about 0.6 rollup rows (and their ranking index) to
        # every record written, 60-75% more work for the writer (measured 1.57 to 1.76 on a
        # busy 2-core machine): the target allows for that work, not for more.
        ok = report("record_cost with two tags vs without (background, all written)",
                    best["tagged"], best["plain"], 2.0)  # fmt: skip
        ok &= spend_by_customer(folder)
    return ok


if __name__ == "__main__":
    import sys

    sys.exit(0 if main() else 1)

"""The cost database, SQLite or PostgreSQL, survives SIGKILL and is shared by several processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from llmobs import CostTracker

WRITER = Path(__file__).with_name("cost_writer.py")


def start_writer(
    db: str, count: int, cost: float, alert: float | None = None, *, durable: bool = False
):
    args = [sys.executable, str(WRITER), db, str(count), str(cost)]
    if alert is not None:
        args.append(str(alert))
    if durable:
        args.append("--durable")
    writer = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert writer.stdout.readline().strip() == "ready"
    return writer


def test_a_durable_entry_whose_record_returned_survives_sigkill(cost_db):
    db = cost_db
    writer = start_writer(db, 1_000_000, 0.001, durable=True)
    writer.stdin.write("go\n")
    writer.stdin.flush()
    confirmed = 0
    while confirmed < 300:
        line = writer.stdout.readline()
        assert line.startswith("recorded"), line
        confirmed = int(line.split()[1])
    writer.send_signal(signal.SIGKILL)  # right after the 300th record_cost returned
    writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL

    reopened = CostTracker(db)
    stored = sum(1 for _ in reopened.entries())
    summary = reopened.get_daily_summary()
    reopened.close()  # a PostgreSQL tracker's pool is closed, not left to the collector
    assert stored >= confirmed
    assert summary.total_requests == stored
    assert summary.total_cost == pytest.approx(stored * 0.001, abs=1e-9)


@pytest.mark.parametrize("durable", [False, True], ids=["background", "durable"])
def test_processes_sharing_the_database_see_one_spend_and_alert_once(cost_db, durable):
    db = cost_db
    CostTracker(db, daily_budget=10.0).close()
    writers = [start_writer(db, 250, 0.01, alert=50.0, durable=durable) for _ in range(3)]
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    outputs = [writer.communicate(timeout=120)[0] for writer in writers]
    assert all(writer.returncode == 0 for writer in writers), outputs

    tracker = CostTracker(db)
    summary = tracker.get_daily_summary()
    status = tracker.check_budget_threshold(50.0)
    tracker.close()
    assert summary.total_requests == 750
    assert summary.total_cost == pytest.approx(7.5, abs=1e-9)
    assert status["budget"] == 10.0 and status["percent_used"] == 75.0
    fired = sum(output.count("fired") for output in outputs)
    assert fired == 1, f"the 50% alert fired {fired} times across processes"

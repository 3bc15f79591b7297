"""A fleet of replicas sharing one PostgreSQL cost store: one spend, one budget, alerts once,
reservations that never overrun the budget, and nothing acknowledged lost when a replica is
killed or the database restarts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from llmobs import BudgetExceededError, BudgetUnavailableError, CostTracker
from llmobs.store import NANO
from tests.helpers import eventually
from tests.unit.samples import sample

WORKER = Path(__file__).with_name("fleet_worker.py")


def worker(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_four_processes_of_four_threads_share_one_enforced_budget(postgres):
    url = postgres.new_database()
    CostTracker(url, daily_budget=1.0).close()  # saved in the store for every replica
    replicas = [worker(url, "enforce", "40") for _ in range(4)]  # 640 attempts of 0.01 USD
    outputs = [replica.communicate(timeout=300) for replica in replicas]
    assert all(replica.returncode == 0 for replica in replicas), outputs
    lines = [line for out, _ in outputs for line in out.splitlines()]
    admitted = sum(int(line.split()[1]) for line in lines if line.startswith("admitted"))
    denied = sum(int(line.split()[3]) for line in lines if line.startswith("admitted"))
    assert admitted + denied == 640
    tracker = CostTracker(url)
    summary = tracker.get_daily_summary()
    assert summary.total_requests == admitted
    assert round(summary.total_cost * NANO) == admitted * round(0.008 * NANO)  # exact
    assert summary.total_cost <= 1.0  # every admitted worst case fitted the budget
    assert 100 <= admitted <= 125  # 1.0 / 0.01 reserved ... 1.0 / 0.008 spent
    assert sum(line == "fired" for line in lines) == 1  # the 50 % alert, once in the fleet
    status = tracker.check_budget_threshold()
    assert status["spent"] == summary.total_cost
    tracker.close()


def test_a_killed_replicas_reservation_lapses_at_its_expiry(postgres):
    url = postgres.new_database()
    CostTracker(url, daily_budget=1.0).close()
    holder = worker(url, "hold", "0.9", "3")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()  # dies holding 0.9 USD of the budget
    holder.wait(timeout=30)
    tracker = CostTracker(url, enforce=True)
    with pytest.raises(BudgetExceededError) as refused:
        tracker.reserve("fleet.other", max_cost=0.2)
    assert refused.value.reserved == pytest.approx(0.9)

    def reserved() -> bool:
        try:
            return tracker.reserve("fleet.other", max_cost=0.2) is not None
        except BudgetExceededError:
            return False

    eventually(reserved, "the dead replica's reservation lapsed", 30, 0.2)
    tracker.close()


def _counted(outputs: list[tuple[str, str]], what: str) -> int:
    """The sum of the replicas' ``what N`` lines."""
    return sum(
        int(line.split()[1])
        for out, _ in outputs
        for line in out.splitlines()
        if line.startswith(f"{what} ")
    )


@pytest.mark.parametrize("mode", ["background", "durable"])
def test_a_database_restart_loses_no_acknowledged_record(postgres, mode):
    url = postgres.new_database()
    CostTracker(url).close()
    args = ("record", "durable") if mode == "durable" else ("record",)
    replicas = [worker(url, *args) for _ in range(3)]
    for replica in replicas:
        assert replica.stdout is not None and replica.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    postgres.stop()  # an operator restarts the database under a recording fleet
    time.sleep(1.5)
    postgres.start()
    time.sleep(1.0)
    outputs = [replica.communicate(input="", timeout=300) for replica in replicas]
    assert all(replica.returncode == 0 for replica in replicas), outputs
    recorded = _counted(outputs, "recorded")
    assert all("flushed True" in out for out, _ in outputs), outputs
    assert _counted(outputs, "store_errors") > 0  # the restart did interrupt the writers
    assert _counted(outputs, "raised") == 0  # a durable call waited the restart out
    assert _counted(outputs, "dropped") == 0
    tracker = CostTracker(url)
    assert tracker.get_daily_summary().total_requests == recorded > 0  # each once
    tracker.close()


@pytest.mark.slow
def test_a_replica_starting_while_the_database_is_down_records_into_memory(postgres):
    url = postgres.new_database()  # never opened by llmobs: its schema is made later
    postgres.stop()
    try:
        tracker = CostTracker(url, daily_budget=3.0, timezone="Europe/Stockholm")
        assert tracker.budget("day") == 3.0 and str(tracker.timezone) == "Europe/Stockholm"
        for _ in range(25):
            assert tracker.record_cost("fleet.early", "gpt-4o", "openai", 10, 1, cost=0.01) == 0.01
        assert not tracker.flush(timeout=0.5)  # nothing can be written yet, nothing is lost
    finally:
        postgres.start()
    assert tracker.flush(timeout=60)
    other = CostTracker(url)  # the settings it started with were saved once it answered
    assert other.budget("day") == 3.0 and str(other.timezone) == "Europe/Stockholm"
    assert other.get_daily_summary().total_requests == 25
    other.close()
    tracker.close()


def test_a_tracker_closes_promptly_while_the_database_is_down(postgres, calculator, registry):
    url = postgres.new_database()
    tracker = CostTracker(url, calculator=calculator)
    postgres.stop()
    try:
        for _ in range(5):
            tracker.record_cost("fleet.late", "gpt-4o", "openai", 10, 1, cost=0.01)
        assert not tracker.flush(timeout=0.5)  # the writer has tried and failed
        closing = threading.Thread(target=tracker.close, kwargs={"timeout": None}, daemon=True)
        closing.start()
        closing.join(timeout=60)  # unbounded before: every retry waited on the pool
        assert not closing.is_alive(), "close() kept waiting for a database that is down"
    finally:
        postgres.start()
    assert sample(registry, "llm_cost_records_dropped_total", reason="shutdown") == 5


@pytest.mark.parametrize("when_store_fails", ["allow", "deny"])
def test_enforcement_fails_open_or_closed_as_set_while_the_database_is_down(
    postgres, when_store_fails
):
    url = postgres.new_database()
    tracker = CostTracker(url, daily_budget=1.0, enforce=True, when_store_fails=when_store_fails)
    postgres.stop()
    try:
        if when_store_fails == "deny":
            with pytest.raises(BudgetUnavailableError, match="cannot be checked"):
                tracker.reserve("fleet.agent", max_cost=0.1)
        else:
            reservation = tracker.reserve("fleet.agent", max_cost=0.1)
            assert reservation is not None and not reservation.held_in_store  # let through
    finally:
        postgres.start()
    tracker.close(timeout=30)

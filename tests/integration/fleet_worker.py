"""One replica of a fleet sharing a PostgreSQL cost store, for the fleet tests.

Usage: fleet_worker.py URL MODE ...
  enforce CALLS       4 threads, each with its own tracker and connections, reserve 0.01 USD per
                      call against the enforced budgets and settle it at 0.008 USD; prints
                      "fired" per budget alert it fires, then "admitted N denied M".
  hold USD SECONDS    reserves USD for SECONDS, prints "held", then waits to be killed.
  record [durable]    records 0.001 USD calls (in the background, or durably: each stored
                      before it returns) until stdin closes, then flushes; prints "recorded N"
                      (calls that returned), "raised N" (durable calls that raised),
                      "flushed True|False", "store_errors N" and "dropped N".
"""

from __future__ import annotations

import sys
import threading
import time

from prometheus_client import REGISTRY

from llmobs import BudgetExceededError, CostStoreError, CostTracker


def enforce(url: str, calls: int) -> None:
    counts = {"admitted": 0, "denied": 0}
    lock = threading.Lock()
    go = threading.Barrier(4)

    def replica_thread(number: int) -> None:
        tracker = CostTracker(url, enforce=True)
        tracker.add_budget_alert(lambda status: print("fired", flush=True), 50.0)
        go.wait()
        for _ in range(calls):
            try:
                reservation = tracker.reserve(f"fleet.agent{number}", max_cost=0.01)
            except BudgetExceededError:
                with lock:
                    counts["denied"] += 1
                continue
            tracker.record_cost(
                f"fleet.agent{number}", "gpt-4o", "openai", 100, 10, cost=0.008,
                reservation=reservation,
            )  # fmt: skip
            with lock:
                counts["admitted"] += 1
        tracker.close()

    threads = [threading.Thread(target=replica_thread, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"admitted {counts['admitted']} denied {counts['denied']}", flush=True)


def hold(url: str, amount: float, seconds: float) -> None:
    tracker = CostTracker(url, enforce=True, reservation_seconds=seconds)
    tracker.reserve("fleet.holder", max_cost=amount)
    print("held", flush=True)
    time.sleep(3600)


def record(url: str, durable: bool) -> None:
    tracker = CostTracker(url, queue_size=1_000_000, durable=durable)
    stop = threading.Event()
    recorded = raised = 0

    def wait_for_stdin_to_close() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
    print("ready", flush=True)
    while not stop.is_set():
        try:
            if tracker.record_cost("fleet.recorder", "gpt-4o", "openai", 10, 1, cost=0.001) > 0:
                recorded += 1
        except CostStoreError:
            raised += 1
        time.sleep(0.002)
    print(f"recorded {recorded}", flush=True)
    print(f"raised {raised}", flush=True)
    print(f"flushed {tracker.flush(timeout=120)}", flush=True)
    errors = REGISTRY.get_sample_value("llm_cost_store_errors_total")  # the default metrics
    print(f"store_errors {int(errors or 0)}", flush=True)
    dropped = sum(
        REGISTRY.get_sample_value("llm_cost_records_dropped_total", {"reason": reason}) or 0
        for reason in ("store_error", "queue_full", "shutdown", "closed")
    )
    print(f"dropped {int(dropped)}", flush=True)


if __name__ == "__main__":
    location, mode, *rest = sys.argv[1:]
    if mode == "enforce":
        enforce(location, int(rest[0]))
    elif mode == "hold":
        hold(location, float(rest[0]), float(rest[1]))
    else:
        record(location, durable=rest == ["durable"])

"""A process that records costs into a shared database, for the durability tests.

Usage: cost_writer.py DB COUNT COST [ALERT_PERCENT]. It prints ``recorded N`` after each
``record_cost`` returns and ``fired`` when its budget alert fires.
"""

from __future__ import annotations

import sys

from llmobs import CostTracker


def main(path: str, count: int, cost: float, alert_percent: float | None) -> None:
    tracker = CostTracker(path)
    if alert_percent is not None:
        tracker.add_budget_alert(lambda status: print("fired", flush=True), alert_percent)
    print("ready", flush=True)
    sys.stdin.readline()  # wait for the go
    for n in range(1, count + 1):
        tracker.record_cost("writer.agent", "gpt-4o-mini", "openai", 100, 10, cost=cost)
        print(f"recorded {n}", flush=True)


if __name__ == "__main__":
    main(
        sys.argv[1],
        int(sys.argv[2]),
        float(sys.argv[3]),
        float(sys.argv[4]) if len(sys.argv) > 4 else None,
    )

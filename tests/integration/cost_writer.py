"""A process that records costs into a shared database, for the durability tests.

Usage: cost_writer.py DB COUNT COST [ALERT_PERCENT] [--durable]. It prints ``recorded N`` after
each ``record_cost`` returns and ``fired`` when its budget alert fires.
"""

from __future__ import annotations

import sys

from llmobs import CostTracker


def main(path: str, count: int, cost: float, alert_percent: float | None, durable: bool) -> None:
    tracker = CostTracker(path, durable=durable)
    if alert_percent is not None:
        tracker.add_budget_alert(lambda status: print("fired", flush=True), alert_percent)
    print("ready", flush=True)
    sys.stdin.readline()  # wait for the go
    for n in range(1, count + 1):
        tracker.record_cost("writer.agent", "gpt-4o-mini", "openai", 100, 10, cost=cost)
        print(f"recorded {n}", flush=True)


if __name__ == "__main__":
    durable = "--durable" in sys.argv
    args = [arg for arg in sys.argv[1:] if arg != "--durable"]
    main(
        args[0],
        int(args[1]),
        float(args[2]),
        float(args[3]) if len(args) > 3 else None,
        durable,
    )

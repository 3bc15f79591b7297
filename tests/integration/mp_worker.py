"""A worker process for the multiprocess tests, driven by commands on stdin.

It records ``N`` requests and holds ``K`` requests in flight for its agent, says ``ready``, then
answers ``metrics`` with the aggregated exposition (one line, escaped) until told ``exit``.
"""

from __future__ import annotations

import sys

from llmobs import get_llm_metrics


def main(agent: str, requests: int, in_flight: int) -> None:
    metrics = get_llm_metrics()
    for _ in range(requests):
        metrics.record_request(
            agent_id=agent,
            model="gpt-4o",
            provider="openai",
            status="success",
            duration_seconds=0.5,
            prompt_tokens=10,
            completion_tokens=20,
            cached=False,
            cost=0.25,
        )
    for _ in range(in_flight):
        metrics.increment_active_requests(agent, "openai")
    metrics.set_cache_size("acme", 7)
    print("ready", flush=True)
    for command in sys.stdin:
        if command.strip() == "metrics":
            print(metrics.get_metrics().decode().replace("\n", "\\n"), flush=True)
        elif command.strip() == "exit":
            return


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))

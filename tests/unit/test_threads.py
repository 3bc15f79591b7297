"""Concurrent recording from many threads loses no increment."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry

from llmobs import LLMMetrics

from .samples import sample

THREADS = 8
PER_THREAD = 5_000


def test_eight_threads_lose_no_increment():
    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry)
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        start.wait()
        for i in range(PER_THREAD):
            agent = f"agent-{i % 4}"
            with metrics.track_request(agent, "gpt-4o", "openai"):
                metrics.record_request(
                    agent_id=agent,
                    model="gpt-4o",
                    provider="openai",
                    status="success",
                    duration_seconds=0.1,
                    prompt_tokens=3,
                    completion_tokens=2,
                    cached=i % 2 == 0,
                    cost=0.25,
                )
            if i % 10 == 0:
                metrics.record_error(agent, "gpt-4o", "openai", "timeout")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    total = THREADS * PER_THREAD
    agents = [f"agent-{i}" for i in range(4)]
    labels = {"model": "gpt-4o", "provider": "openai"}

    def summed(name: str, **extra: str) -> float:
        return sum(sample(registry, name, agent_id=a, **labels, **extra) for a in agents)

    assert summed("llm_requests_total", status="success") == total
    assert summed("llm_tokens_used_total", token_type="prompt") == 3 * total
    assert summed("llm_cost_total") == 0.25 * total  # 0.25 is exact in binary
    assert summed("llm_request_duration_seconds_count") == total
    assert summed("llm_errors_total", error_type="timeout") == total // 10
    hits = sum(sample(registry, "llm_cache_hits_total", agent_id=a, model="gpt-4o") for a in agents)
    assert hits == total // 2
    active = sum(
        sample(registry, "llm_active_requests", agent_id=a, provider="openai") for a in agents
    )
    assert active == 0

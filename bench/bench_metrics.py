"""Benchmarks of the runtime metrics: the hot path and the exposition."""

from __future__ import annotations

import resource

from harness import best_of, per_call_seconds, report
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from llmobs import LLMMetrics
from llmobs.exposition import exposition_registry
from llmobs.schema import (
    CACHE_MISSES,
    COST,
    REQUEST_DURATION,
    REQUESTS,
    TOKENS,
)

CALLS = 50_000
AGENTS = [f"team{i % 5}.agent{i}" for i in range(8)]


def plain_client_floor() -> float:
    """Plain prometheus-client doing record_request's updates with ``.labels(...)`` per call."""
    registry = CollectorRegistry()
    requests = Counter(REQUESTS.base_name, "h", REQUESTS.labels, registry=registry)
    tokens = Counter(TOKENS.base_name, "h", TOKENS.labels, registry=registry)
    misses = Counter(CACHE_MISSES.base_name, "h", CACHE_MISSES.labels, registry=registry)
    cost = Counter(COST.base_name, "h", COST.labels, registry=registry)
    duration = Histogram(
        REQUEST_DURATION.name,
        "h",
        REQUEST_DURATION.labels,
        registry=registry,
        buckets=REQUEST_DURATION.buckets,
    )
    Gauge("unused", "h", registry=registry)
    state = {"i": 0}

    def call() -> None:
        agent = AGENTS[state["i"] & 7]
        state["i"] += 1
        requests.labels(agent, "gpt-4o", "openai", "success").inc()
        tokens.labels(agent, "gpt-4o", "openai", "prompt").inc(100)
        tokens.labels(agent, "gpt-4o", "openai", "completion").inc(200)
        misses.labels(agent, "gpt-4o").inc()
        cost.labels(agent, "gpt-4o", "openai").inc(0.015)
        duration.labels(agent, "gpt-4o", "openai").observe(2.5)

    return per_call_seconds(call, CALLS)


def llmobs_record_request() -> float:
    metrics = LLMMetrics(registry=CollectorRegistry())
    state = {"i": 0}

    def call() -> None:
        agent = AGENTS[state["i"] & 7]
        state["i"] += 1
        metrics.record_request(
            agent_id=agent,
            model="gpt-4o",
            provider="openai",
            status="success",
            duration_seconds=2.5,
            prompt_tokens=100,
            completion_tokens=200,
            cached=False,
            cost=0.015,
        )

    return per_call_seconds(call, CALLS)


def registry_with_series(target: int) -> CollectorRegistry:
    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry, label_limits={"agent_id": 10_000})
    i = 0
    while sum(len(f.samples) for f in registry.collect()) < target:
        for _ in range(50):
            metrics.record_request(
                agent_id=f"agent-{i}",
                model="gpt-4o",
                provider="openai",
                duration_seconds=1.0,
                prompt_tokens=1,
                completion_tokens=1,
                cached=True,
                cost=0.1,
            )
            i += 1
    return registry


def flood_rss_growth(ids: int) -> tuple[float, int]:
    """Record ``ids`` distinct agent ids; return seconds per record and RSS growth in KiB."""
    metrics = LLMMetrics(registry=CollectorRegistry())
    for i in range(10_000):
        metrics.record_request(agent_id=f"warm-{i}", model="m", provider="p")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counter = iter(range(ids))
    seconds = per_call_seconds(
        lambda: metrics.record_request(agent_id=f"id-{next(counter)}", model="m", provider="p"), ids
    )
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before


def main() -> bool:
    print("== runtime metrics ==")
    best = best_of(7, {"floor": plain_client_floor, "llmobs": llmobs_record_request})
    ok = report(
        "record_request vs plain client with .labels() per call", best["llmobs"], best["floor"], 1.0
    )

    registry = registry_with_series(10_000)
    series = sum(len(f.samples) for f in registry.collect())
    ours = LLMMetrics(registry=registry)
    exposed = exposition_registry(registry)
    assert ours.get_metrics() == generate_latest(exposed)
    best = best_of(
        15,
        {
            "generate_latest": lambda: per_call_seconds(lambda: generate_latest(registry), 5),
            "get_metrics": lambda: per_call_seconds(ours.get_metrics, 5),
        },
    )
    ok &= report(
        f"get_metrics vs generate_latest, {series} series",
        best["get_metrics"],
        best["generate_latest"],
        1.05,
        unit="ms",
    )

    seconds, growth = flood_rss_growth(1_000_000)
    print(
        f"1,000,000 distinct agent ids: {seconds * 1e6:.2f} µs per record, "
        f"peak RSS grew {growth / 1024:.1f} MiB (bounded by the label caps)"
    )
    return ok

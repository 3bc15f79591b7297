"""Benchmarks of the runtime metrics: the hot path and the exposition."""

from __future__ import annotations

import gc

from harness import best_of, in_fresh_process, per_call_seconds, report, resident_kib
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from llmobs import LLMMetrics
from llmobs.exposition import exposition_registry
from llmobs.schema import (
    CACHE_MISSES,
    CHAT,
    COST,
    REQUEST_DURATION,
    REQUESTS,
    TOKENS,
)

CALLS = 50_000
AGENTS = [f"team{i % 5}.agent{i}" for i in range(8)]


def plain_collectors() -> tuple[Counter, Counter, Counter, Counter, Histogram]:
    """record_request's collectors in plain prometheus-client, on a registry of their own."""
    registry = CollectorRegistry()
    Gauge("unused", "h", registry=registry)
    return (
        Counter(REQUESTS.base_name, "h", REQUESTS.labels, registry=registry),
        Counter(TOKENS.base_name, "h", TOKENS.labels, registry=registry),
        Counter(CACHE_MISSES.base_name, "h", CACHE_MISSES.labels, registry=registry),
        Counter(COST.base_name, "h", COST.labels, registry=registry),
        Histogram(
            REQUEST_DURATION.name,
            "h",
            REQUEST_DURATION.labels,
            registry=registry,
            buckets=REQUEST_DURATION.buckets,
        ),
    )


def plain_client_floor() -> float:
    """Plain prometheus-client doing record_request's updates with ``.labels(...)`` per call."""
    requests, tokens, misses, cost, duration = plain_collectors()
    state = {"i": 0}

    def call() -> None:
        agent = AGENTS[state["i"] & 7]
        state["i"] += 1
        requests.labels(agent, "gpt-4o", "openai", CHAT, "success").inc()
        tokens.labels(agent, "gpt-4o", "openai", CHAT, "prompt").inc(100)
        tokens.labels(agent, "gpt-4o", "openai", CHAT, "completion").inc(200)
        misses.labels(agent, "gpt-4o").inc()
        cost.labels(agent, "gpt-4o", "openai", CHAT).inc(0.015)
        duration.labels(agent, "gpt-4o", "openai", CHAT).observe(2.5)

    return per_call_seconds(call, CALLS)


def prebound_floor(label_sets: list[tuple[str, str, str]] | None = None) -> float:
    """The fastest any library can record: children bound once, then only ``inc``/``observe``
    (the eight agents of ``AGENTS``, or every label set given, cycled like the fleet case)."""
    sets = label_sets or [(agent, "gpt-4o", "openai") for agent in AGENTS]
    requests, tokens, misses, cost, duration = plain_collectors()
    bound = [
        (
            requests.labels(agent, model, provider, CHAT, "success"),
            tokens.labels(agent, model, provider, CHAT, "prompt"),
            tokens.labels(agent, model, provider, CHAT, "completion"),
            misses.labels(agent, model),
            cost.labels(agent, model, provider, CHAT),
            duration.labels(agent, model, provider, CHAT),
        )
        for agent, model, provider in sets
    ]
    state = {"i": 0}
    stride = 1 if label_sets is None else STRIDE

    def call() -> None:
        req, prompt, completion, miss, usd, seconds = bound[state["i"] % len(bound)]
        state["i"] += stride
        req.inc()
        prompt.inc(100)
        completion.inc(200)
        miss.inc()
        usd.inc(0.015)
        seconds.observe(2.5)

    return per_call_seconds(call, CALLS)


FLEET = [
    (f"team{a % 20}.agent{a}", f"model-{m}", f"provider-{p}")
    for a in range(500)
    for m in range(10)
    for p in range(3)
    # 15,000 label sets: 500 agents x 10 models x 3 providers
]
STRIDE = 7919  # a prime: every label set in turn, in no cache-friendly order


def fleet_record_request(max_cached_label_sets: int | None) -> float:
    """record_request cycling through 15,000 label sets (after one warm pass)."""
    cache = (
        {} if max_cached_label_sets is None else {"max_cached_label_sets": max_cached_label_sets}
    )
    metrics = LLMMetrics(
        registry=CollectorRegistry(),
        label_limits={"agent_id": 500, "model": 10, "provider": 3},
        **cache,
    )
    state = {"i": 0}

    def call() -> None:
        agent, model, provider = FLEET[state["i"] % len(FLEET)]
        state["i"] += STRIDE
        metrics.record_request(agent, model, provider, "success", 2.5, 100, 200, False, 0.015)

    per_call_seconds(call, len(FLEET))
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
    """Record ``ids`` distinct agent ids; return seconds per record and how much the process's
    resident memory grew, in KiB. Run it in a fresh process (``in_fresh_process``), where
    nothing else allocates or frees meanwhile."""
    metrics = LLMMetrics(registry=CollectorRegistry())
    for i in range(1_000):
        metrics.record_request(agent_id=f"warm-{i}", model="m", provider="p")
    gc.collect()
    before = resident_kib()
    counter = iter(range(ids))
    seconds = per_call_seconds(
        lambda: metrics.record_request(agent_id=f"id-{next(counter)}", model="m", provider="p"), ids
    )
    gc.collect()
    return seconds, resident_kib() - before


def main() -> bool:
    print("== runtime metrics ==")
    best = best_of(7, {"floor": plain_client_floor, "llmobs": llmobs_record_request})
    ok = report(
        "record_request vs plain client with .labels() per call", best["llmobs"], best["floor"], 1.0
    )
    best = best_of(7, {"prebound": prebound_floor, "llmobs": llmobs_record_request})
    ok &= report(
        "record_request vs children bound once (the floor)", best["llmobs"], best["prebound"], 3.0
    )
    best = best_of(
        3,
        {
            "default": lambda: fleet_record_request(None),
            "small": lambda: fleet_record_request(1_000),
            "floor": lambda: prebound_floor(FLEET),
        },
    )
    ok &= report(
        "15,000 label sets: record_request vs children bound once",
        best["default"],
        best["floor"],
        3.0,
    )
    ok &= report(
        "15,000 label sets, raw cache of 1,000 (all miss) vs default",
        best["small"],
        best["default"],
        2.0,
    )

    registry = registry_with_series(10_000)
    series = sum(len(f.samples) for f in registry.collect())
    ours = LLMMetrics(registry=registry)
    exposed = exposition_registry(registry)
    assert ours.get_metrics() == generate_latest(exposed)
    best = best_of(
        31,  # a ratio near 1 against a tight target: enough rounds that noise does not decide
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

    # Memory is bounded by the label caps: a flood five times larger (both past the raw-label
    # cache) grows a fresh process by about as much.
    _, smaller = in_fresh_process(flood_rss_growth, 200_000)
    seconds, growth = in_fresh_process(flood_rss_growth, 1_000_000)
    print(
        f"1,000,000 distinct agent ids: {seconds * 1e6:.2f} µs per record, RSS grew "
        f"{growth / 1024:.1f} MiB in a fresh process; 200,000 ids: {smaller / 1024:.1f} MiB"
    )
    ok &= report(
        "RSS growth of 1,000,000 distinct ids vs 200,000 (label caps)",
        growth,
        max(smaller, 1),
        1.25,
        unit="MiB",
    )
    return ok

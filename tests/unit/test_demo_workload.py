"""The demo workload is realistic and reproducible from its seed."""

from __future__ import annotations

import random
from collections import Counter

from llmobs import LLMCostCalculator, LLMMetrics
from obsgen.tools.demo_workload import AGENTS, ERROR_TYPES, Workload


def draws(seed: int, count: int, **modes) -> list:
    workload = Workload(**modes)
    rng = random.Random(seed)
    return [workload.draw(rng) for _ in range(count)]


def test_same_seed_same_calls():
    assert draws(7, 500) == draws(7, 500)
    assert draws(7, 500) != draws(8, 500)


def test_mix_of_agents_providers_cache_and_errors():
    calls = draws(1, 20_000)
    providers = Counter(c.provider for c in calls)
    assert {"openai", "anthropic", "google", "vllm"} <= set(providers)
    assert {a.agent_id for a in AGENTS} <= {c.agent_id for c in calls}
    assert any(c.agent_id.startswith("scratch.session-") for c in calls)
    cached = [c for c in calls if c.cached is not None]
    assert 0.2 < sum(c.cached for c in cached) / len(cached) < 0.6
    errors = Counter(c.error_type for c in calls if c.error_type)
    assert set(errors) == set(ERROR_TYPES)
    assert 0.002 < sum(errors.values()) / len(calls) < 0.01
    assert any(c.cache_read_tokens for c in calls)
    assert any(c.buggy for c in calls)
    reasoned = [c for c in calls if c.reasoning_tokens]
    assert reasoned and all(c.model == "o3-mini" for c in reasoned)
    assert all(c.reasoning_tokens <= c.completion_tokens for c in reasoned)


def test_latencies_look_like_llm_calls():
    durations = sorted(
        c.duration_seconds for c in draws(2, 5000) if not c.cached and not c.error_type
    )
    median, p99 = durations[len(durations) // 2], durations[int(len(durations) * 0.99)]
    assert 1.0 < median < 10.0 and median < p99 < 60.0


def test_burst_and_spike_modes():
    burst = [c for c in draws(3, 2000, error_share=0.4) if not c.cached]  # a cache hit never fails
    assert 0.3 < sum(c.error_type is not None for c in burst) / len(burst) < 0.5
    calm, spiked = draws(4, 2000), draws(4, 2000, spend_factor=25.0)
    calculator = LLMCostCalculator(
        overrides=(),
        metrics=LLMMetrics(registry=__import__("prometheus_client").CollectorRegistry()),
    )

    def spend(calls) -> float:
        return sum(
            calculator.calculate_cost(
                c.model,
                c.prompt_tokens,
                c.completion_tokens,
                provider=c.provider,
                cache_read_tokens=c.cache_read_tokens,
            )
            for c in calls
            if not c.cached
        )

    assert spend(spiked) > 20 * spend(calm)


def test_every_priced_model_has_a_bundled_price():
    calculator = LLMCostCalculator(overrides=())
    for agent in AGENTS:
        for route in agent.routes:
            priced = calculator.pricing(route.model, route.provider) is not None
            assert priced == (route.provider != "vllm"), route

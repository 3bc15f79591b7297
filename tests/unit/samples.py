"""Helpers to read metric samples back from a registry."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

AGENT = {"agent_id": "meetmind.coordinator", "model": "gpt-4", "provider": "openai"}


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` that carry ``labels`` (whatever their other
    labels, as PromQL's ``sum`` of a selector reads them); 0.0 when there is none."""
    return sum(
        s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


TOKEN_TYPES = ("prompt", "completion", "cache_read", "cache_write", "reasoning")


def tokens_by_type(registry: CollectorRegistry, **labels: str) -> dict[str, float]:
    """``llm_tokens_used_total`` of one agent, model and provider, by token type."""
    return {
        kind: sample(registry, "llm_tokens_used_total", **labels, token_type=kind)
        for kind in TOKEN_TYPES
    }


def series_count(registry: CollectorRegistry, prefix: str = "llm_") -> int:
    """How many samples with ``prefix`` the registry exposes."""
    return sum(
        1
        for family in registry.collect()
        for s in family.samples
        if s.name.startswith(prefix) and not s.name.endswith("_created")
    )


def total(registry: CollectorRegistry, name: str) -> float:
    """The sum of every sample named ``name``, whatever its labels."""
    return sum(s.value for family in registry.collect() for s in family.samples if s.name == name)


def invalid(registry: CollectorRegistry, reason: str) -> float:
    return sample(registry, "llm_invalid_records_total", reason=reason)


def enforcing_observer(observed: tuple[CollectorRegistry, Any, Any], daily_budget: float) -> Any:
    """An observer on ``observed``'s metrics and calculator that enforces ``daily_budget``."""
    from llmobs import CostTracker, LLMObserver

    _, plain, calculator = observed
    tracker = CostTracker(":memory:", daily_budget=daily_budget, calculator=calculator)
    return LLMObserver(plain.metrics, tracker, calculator, enforce=True)


def observed_stack() -> tuple[CollectorRegistry, Any, Any]:
    """A fresh registry, and an observer with a calculator and an in-memory tracker on it."""
    from llmobs import CostTracker, LLMCostCalculator, LLMMetrics, LLMObserver

    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry)
    calculator = LLMCostCalculator(overrides=(), metrics=metrics)
    observer = LLMObserver(metrics, CostTracker(":memory:", calculator=calculator), calculator)
    return registry, observer, calculator

"""Shared fixtures: a fresh registry, LLMMetrics and a calculator on them per test."""

from __future__ import annotations

import os

import pytest
from prometheus_client import CollectorRegistry

from llmobs import LLMCostCalculator, LLMMetrics

# LiteLLM reads its bundled price map instead of downloading one when imported.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> LLMMetrics:
    return LLMMetrics(registry=registry)


@pytest.fixture
def strict_metrics() -> LLMMetrics:
    return LLMMetrics(registry=CollectorRegistry(), strict=True)


@pytest.fixture
def calculator(metrics: LLMMetrics) -> LLMCostCalculator:
    """Bundled prices only (no price file from the environment), counting into ``metrics``."""
    return LLMCostCalculator(overrides=[], metrics=metrics)

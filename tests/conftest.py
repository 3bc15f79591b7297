"""Shared fixtures: a fresh registry and LLMMetrics per test."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from llmobs import LLMMetrics


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> LLMMetrics:
    return LLMMetrics(registry=registry)


@pytest.fixture
def strict_metrics() -> LLMMetrics:
    return LLMMetrics(registry=CollectorRegistry(), strict=True)

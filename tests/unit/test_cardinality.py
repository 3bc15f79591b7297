"""Label caps keep series and memory bounded however many distinct values arrive."""

from __future__ import annotations

import gc
import logging
import sys

from prometheus_client import CollectorRegistry

from llmobs import LLMMetrics
from llmobs.labels import LabelGuard
from llmobs.shared_labels import SharedAdmissions

from .samples import sample, series_count

OVERFLOW = "__overflow__"


def test_values_past_the_cap_fold_into_overflow_and_are_counted():
    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry, label_limits={"agent_id": 3})
    for i in range(10):
        metrics.record_request(agent_id=f"agent-{i}", model="gpt-4", provider="openai")
    for i in range(3):
        assert (
            sample(
                registry,
                "llm_requests_total",
                agent_id=f"agent-{i}",
                model="gpt-4",
                provider="openai",
                status="success",
            )
            == 1
        )
    assert (
        sample(
            registry,
            "llm_requests_total",
            agent_id=OVERFLOW,
            model="gpt-4",
            provider="openai",
            status="success",
        )
        == 7
    )
    assert sample(registry, "llm_label_overflow_total", label="agent_id") == 7
    # A value admitted before the cap keeps its own series afterwards.
    metrics.record_request(agent_id="agent-1", model="gpt-4", provider="openai")
    assert (
        sample(
            registry,
            "llm_requests_total",
            agent_id="agent-1",
            model="gpt-4",
            provider="openai",
            status="success",
        )
        == 2
    )


def test_cap_is_per_label_across_metrics():
    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry, label_limits={"agent_id": 1})
    metrics.record_request(agent_id="a", model="m", provider="p")
    metrics.record_error(agent_id="b", model="m", provider="p", error_type="timeout")
    metrics.increment_active_requests("c", "p")
    assert (
        sample(
            registry,
            "llm_errors_total",
            agent_id=OVERFLOW,
            model="m",
            provider="p",
            error_type="timeout",
        )
        == 1
    )
    assert sample(registry, "llm_active_requests", agent_id=OVERFLOW, provider="p") == 1
    assert sample(registry, "llm_label_overflow_total", label="agent_id") == 2


def test_overflowed_active_requests_balance():
    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry, label_limits={"agent_id": 1})
    with (
        metrics.track_request("a", "m", "p"),
        metrics.track_request("x", "m", "p"),
        metrics.track_request("y", "m", "p"),
    ):
        assert sample(registry, "llm_active_requests", agent_id=OVERFLOW, provider="p") == 2
    assert sample(registry, "llm_active_requests", agent_id=OVERFLOW, provider="p") == 0
    assert sample(registry, "llm_invalid_records_total", reason="active_underflow") == 0


def test_long_values_are_truncated():
    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry, max_label_length=10)
    metrics.record_request(agent_id="a" * 50, model="m", provider="p")
    assert (
        sample(
            registry,
            "llm_requests_total",
            agent_id="a" * 10,
            model="m",
            provider="p",
            status="success",
        )
        == 1
    )


def test_a_flood_of_distinct_ids_keeps_series_and_memory_bounded():
    registry = CollectorRegistry()
    metrics = LLMMetrics(
        registry=registry, label_limits={"agent_id": 50}, max_cached_label_sets=1000
    )

    def flood(first: int, count: int) -> int:
        """Record ``count`` new agent ids; return the interpreter's allocated blocks after."""
        for i in range(first, first + count):
            metrics.record_request(
                agent_id=f"agent-{i}",
                model="gpt-4",
                provider="openai",
                duration_seconds=0.5,
                prompt_tokens=1,
                completion_tokens=1,
                cost=0.001,
            )
        gc.collect()
        return sys.getallocatedblocks()

    flood(-2_000, 2_000)  # warm up: fill the caps and the cache once
    series_after_warmup = series_count(registry)
    settled = flood(0, 50_000)
    after = flood(50_000, 50_000)
    assert series_count(registry) == series_after_warmup
    # A leak of even one object per id would add 50,000 blocks; the bounded cache adds none.
    assert after - settled < 2_000, f"{after - settled} more blocks after 50,000 more ids"
    assert sample(registry, "llm_label_overflow_total", label="agent_id") == 100_000 + 2_000 - 50


def test_workers_sharing_admissions_share_one_cap(tmp_path):
    first = LabelGuard({"agent_id": 3}, shared=SharedAdmissions(str(tmp_path)))
    second = LabelGuard({"agent_id": 3}, shared=SharedAdmissions(str(tmp_path)))
    assert [first.admit("agent_id", a)[0] for a in ("a", "b")] == ["a", "b"]
    assert [second.admit("agent_id", a)[0] for a in ("c", "d", "a")] == ["c", OVERFLOW, "a"]
    assert [first.admit("agent_id", a)[0] for a in ("c", "d", "e")] == ["c", OVERFLOW, OVERFLOW]


def test_unshareable_admissions_fall_back_to_a_cap_per_worker(tmp_path, caplog):
    guard = LabelGuard({"agent_id": 2}, shared=SharedAdmissions(str(tmp_path / "missing")))
    with caplog.at_level(logging.ERROR, logger="llmobs"):
        admitted = [guard.admit("agent_id", a)[0] for a in ("a", "b", "c")]
    assert admitted == ["a", "b", OVERFLOW]
    assert "each worker caps its own" in caplog.text

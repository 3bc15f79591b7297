"""The runtime never raises into, nor half-records for, the service it observes."""

from __future__ import annotations

import logging
from unittest.mock import MagicMock

import pytest
from prometheus_client import CollectorRegistry

from llmobs import (
    CostTracker,
    InvalidRecordError,
    LLMCostCalculator,
    LLMMetrics,
    LLMObserver,
    PriceFileError,
)
from llmobs import pricing as pricing_module

from .samples import AGENT, invalid, sample, total


@pytest.fixture
def tracker() -> CostTracker:
    return CostTracker(":memory:")


@pytest.fixture
def observer(metrics: LLMMetrics, tracker: CostTracker) -> LLMObserver:
    calculator = LLMCostCalculator(overrides=[], metrics=metrics)
    return LLMObserver(metrics=metrics, tracker=tracker, calculator=calculator)


def requests_recorded(registry: CollectorRegistry) -> float:
    return total(registry, "llm_requests_total")


def all_invalid(registry: CollectorRegistry) -> float:
    return total(registry, "llm_invalid_records_total")


def test_decorated_call_returning_a_mock_is_rejected_not_raised(observer, registry, tracker):
    @observer.observe(AGENT["agent_id"], "gpt-4o", "openai")
    def call_llm() -> MagicMock:
        return MagicMock()

    assert isinstance(call_llm(), MagicMock)
    assert invalid(registry, "invalid_tokens") == 1
    assert requests_recorded(registry) == 0
    assert list(tracker.entries()) == []


@pytest.mark.parametrize(
    "usage",
    [
        {"usage": {"input_tokens": "10", "output_tokens": 5}},
        {"usage": {"prompt_tokens": 10, "completion_tokens": -1}},
        {"usage": {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 2.5}}},
        {"usage_metadata": {"prompt_token_count": 10**400}},
    ],
)
def test_usage_of_a_bad_shape_rejects_the_record_once(observer, registry, tracker, usage):
    with observer.call(**AGENT) as call:
        call.set_usage(usage)
    assert call.rejected
    assert all_invalid(registry) == 1
    assert requests_recorded(registry) == 0
    in_flight = {"agent_id": AGENT["agent_id"], "provider": "openai"}
    assert sample(registry, "llm_active_requests", **in_flight) == 0
    assert list(tracker.entries()) == []


def test_bad_usage_raises_in_strict_mode(strict_metrics):
    observer = LLMObserver(metrics=strict_metrics, calculator=LLMCostCalculator(overrides=[]))
    call = observer.call(**AGENT)
    with pytest.raises(InvalidRecordError, match=r"usage\.input_tokens"), call:
        call.set_usage({"usage": {"input_tokens": "10"}})


def test_a_usage_property_that_raises_is_an_internal_error(observer, registry):
    class Exploding:
        @property
        def usage(self) -> object:
            raise RuntimeError("boom")

    with observer.call(**AGENT) as call:
        call.set_usage(Exploding())
    assert invalid(registry, "internal_error") == 1
    assert requests_recorded(registry) == 0


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"prompt_tokens": 10**400}, "invalid_tokens"),
        ({"completion_tokens": 10**11}, "invalid_tokens"),
        ({"cost": 1e308}, "invalid_cost"),
        ({"cost": 10**400}, "invalid_cost"),
        ({"duration_seconds": 1e308}, "invalid_duration"),
    ],
)
def test_values_beyond_the_bounds_are_rejected_before_anything_counts(
    metrics, registry, override, reason
):
    record = dict(AGENT, prompt_tokens=10, completion_tokens=5, cost=0.01, duration_seconds=1.0)
    for _ in range(2):
        assert metrics.record_request(**{**record, **override}) is False
    assert invalid(registry, reason) == 2
    assert invalid(registry, "internal_error") == 0
    assert requests_recorded(registry) == 0
    assert sample(registry, "llm_cost_total", **AGENT) == 0


def test_huge_cache_size_is_rejected(metrics, registry):
    assert metrics.set_cache_size("tenant", 1e300) is False
    assert invalid(registry, "invalid_cache_size") == 1


def test_a_bad_label_is_counted_once_and_records_nothing(observer, registry, tracker):
    with observer.call(agent_id=123, model="gpt-4o", provider="openai") as call:  # type: ignore[arg-type]
        call.set_usage(prompt_tokens=10, completion_tokens=5)
    assert all_invalid(registry) == 1
    assert invalid(registry, "invalid_label") == 1
    assert list(tracker.entries()) == []


def test_a_record_the_metrics_reject_never_reaches_the_tracker(observer, registry, tracker):
    with observer.call(**AGENT) as call:
        call.set_usage(prompt_tokens=10, completion_tokens=5)
        call.cached = "yes"  # type: ignore[assignment]
    assert invalid(registry, "invalid_cached") == 1
    assert all_invalid(registry) == 1
    assert list(tracker.entries()) == []


def test_cache_tokens_beyond_the_prompt_record_nothing(observer, registry, tracker):
    with observer.call(**AGENT) as call:
        call.set_usage(prompt_tokens=10, completion_tokens=5, cache_read_tokens=20)
    assert all_invalid(registry) == 1
    assert requests_recorded(registry) == 0
    assert list(tracker.entries()) == []


def test_the_call_knows_its_computed_cost(observer, tracker):
    with observer.call("team.agent", "gpt-4o", "openai") as call:
        call.set_usage(prompt_tokens=1000, completion_tokens=500)
    assert call.cost == pytest.approx(0.0075)
    assert tracker.get_daily_summary().total_cost == pytest.approx(0.0075)


def test_an_explicit_calculator_refuses_a_bad_price_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOBS_PRICES_FILE", str(tmp_path / "missing.yaml"))
    with pytest.raises(PriceFileError, match=r"missing\.yaml: cannot read price file"):
        LLMCostCalculator()


def test_the_default_calculator_logs_a_bad_price_file_once_and_still_prices(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("LLMOBS_PRICES_FILE", str(tmp_path / "missing.yaml"))
    monkeypatch.setattr(LLMCostCalculator, "_default", None)
    metrics = LLMMetrics(registry=CollectorRegistry())
    tracker = CostTracker(":memory:")
    with caplog.at_level(logging.ERROR, logger="llmobs"):
        costs = [tracker.record_cost("team.agent", "gpt-4o", "openai", 1000, 500) for _ in "ab"]
    assert costs == [pytest.approx(0.0075)] * 2
    errors = [r for r in caplog.records if "LLMOBS_PRICES_FILE" in r.getMessage()]
    assert len(errors) == 1
    assert "missing.yaml" in errors[0].getMessage()
    assert all_invalid(metrics.registry) == 0


def test_a_price_file_that_is_not_utf8_is_a_price_file_error(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_bytes(b"prices:\n  - model: caf\xe9\n    input: 1\n    output: 2\n")
    with pytest.raises(PriceFileError, match="not a UTF-8 text file"):
        LLMCostCalculator(overrides=path)


def test_unpriced_model_warnings_are_bounded(caplog, metrics):
    calc = LLMCostCalculator(overrides=[], metrics=metrics)
    names = pricing_module.MAX_WARNED_UNPRICED * 3
    with caplog.at_level(logging.WARNING, logger="llmobs"):
        for n in range(names):
            calc.warn_unpriced(f"made-up-model-{n}", "openai")
    assert len(calc._warned) == pricing_module.MAX_WARNED_UNPRICED
    assert len(caplog.records) == pricing_module.MAX_WARNED_UNPRICED + 1
    assert "further unpriced models are only counted" in caplog.records[-1].getMessage()


def test_a_price_file_whose_aliases_explode_is_refused_at_once(tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    path = tmp_path / "prices.yaml"
    path.write_text("\n".join(lines) + "\nprices: []\n")
    with pytest.raises(PriceFileError, match="more than 100000 values once aliases are expanded"):
        LLMCostCalculator(overrides=path)

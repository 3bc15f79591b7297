"""Bad input is rejected and counted, never raised, unless strict mode is on."""

from __future__ import annotations

import logging
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from llmobs import InvalidRecordError, LLMMetrics

from .samples import AGENT, invalid, series_count

GOOD = dict(
    AGENT,
    status="success",
    duration_seconds=1.0,
    prompt_tokens=10,
    completion_tokens=5,
    cached=None,
    cost=0.01,
)

BAD_REQUESTS = [
    ({"prompt_tokens": -1}, "negative_tokens", "prompt_tokens must not be negative, got -1"),
    (
        {"completion_tokens": "200"},
        "invalid_tokens",
        "completion_tokens must be a non-negative integer, got '200'",
    ),
    ({"prompt_tokens": 1.5}, "invalid_tokens", "prompt_tokens must be a whole number of tokens"),
    ({"prompt_tokens": math.nan}, "invalid_tokens", "prompt_tokens must be a whole number"),
    ({"prompt_tokens": True}, "invalid_tokens", "prompt_tokens must be a non-negative integer"),
    ({"cache_read_tokens": -3}, "negative_tokens", "cache_read_tokens must not be negative"),
    ({"cost": -0.01}, "negative_cost", "cost must not be negative, got -0.01"),
    ({"cost": math.nan}, "invalid_cost", "cost must be finite, got nan"),
    ({"cost": math.inf}, "invalid_cost", "cost must be finite, got inf"),
    ({"cost": "0.01"}, "invalid_cost", "cost must be a number, got '0.01'"),
    ({"duration_seconds": -2.0}, "negative_duration", "duration_seconds must not be negative"),
    ({"duration_seconds": math.nan}, "invalid_duration", "duration_seconds must be finite"),
    (
        {"duration_seconds": None, "cached": "yes"},
        "invalid_cached",
        "cached must be True, False or None, got 'yes'",
    ),
    ({"cached": 1}, "invalid_cached", "cached must be True, False or None, got 1"),
    ({"agent_id": ""}, "empty_label", "agent_id must not be empty"),
    ({"agent_id": "  \n\t "}, "empty_label", "agent_id must not be empty"),
    ({"model": None}, "invalid_label", "model must be a string, got NoneType None"),
    ({"provider": ["openai"]}, "invalid_label", "provider must be a string, got list"),
    ({"status": 200}, "invalid_label", "status must be a string, got int 200"),
]


@pytest.mark.parametrize(("override", "reason", "message"), BAD_REQUESTS)
def test_bad_request_is_rejected_and_counted(metrics, registry, override, reason, message):
    assert metrics.record_request(**{**GOOD, **override}) is False
    assert invalid(registry, reason) == 1
    assert (
        registry.get_sample_value(
            "llm_requests_total", dict(AGENT, operation="chat", status="success")
        )
        is None
    )
    assert series_count(registry, "llm_tokens") == 0


@pytest.mark.parametrize(("override", "reason", "message"), BAD_REQUESTS)
def test_strict_mode_raises_a_clear_value_error(override, reason, message):
    registry = CollectorRegistry()
    strict = LLMMetrics(registry=registry, strict=True)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as caught:
        strict.record_request(**{**GOOD, **override})
    assert isinstance(caught.value, InvalidRecordError)
    assert caught.value.reason.value == reason
    assert invalid(registry, reason) == 1


def test_whole_floats_and_numpy_like_numbers_are_accepted(metrics, registry):
    from fractions import Fraction

    assert metrics.record_request(**{**GOOD, "prompt_tokens": 100.0, "cost": Fraction(1, 4)})
    assert (
        registry.get_sample_value(
            "llm_tokens_used_total", dict(AGENT, operation="chat", token_type="prompt")
        )
        == 100
    )
    assert registry.get_sample_value("llm_cost_total", dict(AGENT, operation="chat")) == 0.25


def test_each_reason_is_logged_once(metrics, caplog):
    with caplog.at_level(logging.WARNING, logger="llmobs"):
        for _ in range(5):
            metrics.record_request(**{**GOOD, "prompt_tokens": -1})
        metrics.record_request(**{**GOOD, "cost": math.nan})
    messages = [r.getMessage() for r in caplog.records if r.name == "llmobs"]
    assert len(messages) == 2
    assert "negative_tokens" in messages[0]
    assert "invalid_cost" in messages[1]


def test_bad_error_record(metrics, registry):
    assert metrics.record_error(**AGENT, error_type="") is False
    assert metrics.record_error(**AGENT, error_type=None) is False
    assert metrics.record_error(**AGENT, error_type="x", duration_seconds=-1) is False
    assert invalid(registry, "empty_label") == 1
    assert invalid(registry, "invalid_label") == 1
    assert invalid(registry, "negative_duration") == 1
    assert series_count(registry, "llm_errors") == 0


def test_decrement_without_increment_is_rejected(metrics, registry):
    assert metrics.decrement_active_requests("agent", "openai") is False
    assert invalid(registry, "active_underflow") == 1
    assert (
        registry.get_sample_value(
            "llm_active_requests", {"agent_id": "agent", "provider": "openai"}
        )
        or 0
    ) == 0


def test_track_request_with_bad_labels_still_runs_the_body(metrics, registry):
    ran = False
    with metrics.track_request(None, "gpt-4", "openai"):
        ran = True
    assert ran
    assert invalid(registry, "invalid_label") == 1
    assert invalid(registry, "active_underflow") == 0


@pytest.mark.parametrize("size", [-1, math.nan, "10", None])
def test_bad_cache_size(metrics, registry, size):
    assert metrics.set_cache_size("acme", size) is False
    assert invalid(registry, "invalid_cache_size") == 1


def test_strict_mode_from_environment(monkeypatch):
    import llmobs.metrics as module

    monkeypatch.setattr(module, "_default", None)
    monkeypatch.setenv("LLMOBS_STRICT", "1")
    created = []
    monkeypatch.setattr(module, "LLMMetrics", lambda **kw: created.append(kw) or "instance")
    assert module.get_llm_metrics() == "instance"
    assert created == [{"strict": True}]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"label_limits": {"agent_id": 0}},
            "label limit for 'agent_id' must be a positive integer",
        ),
        ({"max_label_length": -5}, "max_label_length must be a positive integer"),
        ({"max_cached_label_sets": 0}, "max_cached_label_sets must be a positive integer"),
    ],
)
def test_bad_configuration_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LLMMetrics(registry=CollectorRegistry(), **kwargs)


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
labels = st.one_of(st.text(), anything)


@settings(max_examples=400, deadline=None)
@given(
    agent_id=labels,
    model=labels,
    provider=labels,
    status=labels,
    duration=anything,
    prompt=anything,
    completion=anything,
    cached=anything,
    cost=anything,
    cache_read=anything,
)
def test_no_input_escapes_as_an_exception(
    agent_id, model, provider, status, duration, prompt, completion, cached, cost, cache_read
):
    metrics = LLMMetrics(registry=CollectorRegistry())
    metrics.record_request(
        agent_id=agent_id,
        model=model,
        provider=provider,
        status=status,
        duration_seconds=duration,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached=cached,
        cost=cost,
        cache_read_tokens=cache_read,
    )
    metrics.record_error(agent_id, model, provider, status, duration_seconds=duration)
    with metrics.track_request(agent_id, model, provider):
        metrics.set_cache_size(agent_id, cost)
    metrics.decrement_active_requests(agent_id, provider)
    # Whatever was recorded, the exposition stays valid text that Prometheus can parse.
    families = list(text_string_to_metric_families(metrics.get_metrics().decode("utf-8")))
    assert any(f.name == "llm_invalid_records" for f in families)
    internal = metrics.registry.get_sample_value(
        "llm_invalid_records_total", {"reason": "internal_error"}
    )
    assert internal == 0


@settings(max_examples=200, deadline=None)
@given(value=st.text(min_size=1))
def test_any_text_label_is_exposed_cleanly(value):
    metrics = LLMMetrics(registry=CollectorRegistry(), max_label_length=32)
    accepted = metrics.record_request(agent_id=value, model="m", provider="p")
    body = metrics.get_metrics().decode("utf-8")
    agents = {
        s.labels["agent_id"]
        for f in text_string_to_metric_families(body)
        if f.name == "llm_requests"
        for s in f.samples
    }
    if accepted:
        (agent,) = agents
        assert 0 < len(agent) <= 32
        assert agent == agent.strip()
        assert all(ch.isprintable() for ch in agent)
    else:
        assert not agents

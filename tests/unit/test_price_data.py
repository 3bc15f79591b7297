"""Prices from a genai-prices data file, read again when it or the price file changes."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from llmobs import LLMCostCalculator, LLMMetrics
from llmobs.price_data import load_price_data, price_data_document
from llmobs.price_overrides import PriceFileError
from tests.helpers import eventually

FIXTURE = Path(__file__).parents[1] / "fixtures" / "genai_prices_data.json"
FETCHED = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)


def providers(gpt_4o_input: float = 2.0) -> list:
    raw = json.loads(FIXTURE.read_text())
    raw[0]["models"][0]["prices"]["input_mtok"] = gpt_4o_input
    return raw


def write(path: Path, text: str, bump: int) -> None:
    """Write ``text`` and move its modification time on by ``bump`` seconds, so a change is
    seen whatever the file system's time resolution."""
    path.write_text(text)
    stamp = path.stat().st_mtime_ns + bump * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def data_file(tmp_path: Path, gpt_4o_input: float = 2.0, at: datetime = FETCHED) -> Path:
    path = tmp_path / "prices.json"
    write(path, price_data_document(providers(gpt_4o_input), "http://test/data.json", at), 0)
    return path


def calculator(path: Path, registry: CollectorRegistry, **options) -> LLMCostCalculator:
    metrics = LLMMetrics(registry=registry)
    return LLMCostCalculator(overrides=[], price_data=path, metrics=metrics, **options)


def test_a_fetched_file_prices_instead_of_the_bundled_data(tmp_path):
    calc = calculator(data_file(tmp_path), CollectorRegistry(), reload_seconds=0)
    # 1M input tokens at 2.0 and 1M output at 8.0: the file's prices, not the bundled 2.5/10.
    assert calc.calculate_cost("gpt-4o", 1_000_000, 1_000_000, provider="openai") == 10.0
    assert calc.calculate_cost("gpt-9", 1_000_000, 0, provider="openai") == 4.0
    found = calc.pricing("gpt-4o-mini", "openai")
    assert (found.source, found.priced_as) == ("genai-prices", "openai/gpt-4o-mini")


def test_the_gauge_says_when_the_prices_in_use_were_fetched(tmp_path):
    registry = CollectorRegistry()
    calculator(data_file(tmp_path), registry, reload_seconds=0)
    value = registry.get_sample_value("llm_price_data_timestamp_seconds")
    assert value == FETCHED.timestamp()


def test_the_bundled_data_is_dated_when_it_was_installed():
    registry = CollectorRegistry()
    LLMCostCalculator(overrides=[], metrics=LLMMetrics(registry=registry))
    import genai_prices.data

    installed = Path(genai_prices.data.__file__).stat().st_mtime
    assert registry.get_sample_value("llm_price_data_timestamp_seconds") == pytest.approx(installed)


def test_a_bare_provider_list_is_read_and_dated_by_the_file(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps(providers()))
    data = load_price_data(path)
    assert data.models == 4
    assert data.fetched_at.timestamp() == pytest.approx(path.stat().st_mtime)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected genai-prices' list of providers"),
        ('{"providers": []}', "expected keys fetched_at, url and providers"),
        ('{"fetched_at": "2026-11-20T08:00:00", "providers": [{}]}', "needs a time zone"),
        ('{"fetched_at": "yesterday", "providers": [{}]}', "not an ISO 8601 time"),
        ('[{"id": "openai", "models": "none"}]', "not genai-prices' price data"),
    ],
)
def test_a_wrong_data_file_is_refused_naming_it(tmp_path, text, message):
    path = tmp_path / "prices.json"
    path.write_text(text)
    with pytest.raises(PriceFileError, match=message) as raised:
        LLMCostCalculator(overrides=[], price_data=path, metrics=LLMMetrics(CollectorRegistry()))
    assert str(raised.value).startswith(str(path))


def test_reload_reads_a_changed_file_and_keeps_the_prices_when_it_is_broken(tmp_path, caplog):
    path = data_file(tmp_path)
    registry = CollectorRegistry()
    calc = calculator(path, registry, reload_seconds=0)
    assert calc.reload() is False  # nothing changed
    later = datetime(2026, 12, 1, tzinfo=timezone.utc)
    write(path, price_data_document(providers(3.0), "http://test/data.json", later), 5)
    assert calc.reload() is True
    assert calc.calculate_cost("gpt-4o", 1_000_000, 0, provider="openai") == 3.0
    assert registry.get_sample_value("llm_price_data_timestamp_seconds") == later.timestamp()

    write(path, '{"fetched_at": "2026-12-02T00:00:00+00:00", "url": "x", "provid', 10)
    with caplog.at_level(logging.ERROR, logger="llmobs"):
        assert calc.reload() is False
        assert calc.reload() is False
    assert calc.calculate_cost("gpt-4o", 1_000_000, 0, provider="openai") == 3.0
    logged = [r for r in caplog.records if "keeps the prices it uses" in r.getMessage()]
    assert len(logged) == 1 and str(path) in logged[0].getMessage()

    write(path, price_data_document(providers(1.5), "http://test/data.json", later), 15)
    assert calc.reload() is True
    assert calc.calculate_cost("gpt-4o", 1_000_000, 0, provider="openai") == 1.5


def test_a_price_file_changed_while_the_service_runs_is_read_without_a_restart(tmp_path):
    overrides = tmp_path / "overrides.yaml"
    write(overrides, "prices:\n  - {model: my-llama, input: 1.0, output: 2.0}\n", 0)
    calc = LLMCostCalculator(
        overrides=overrides, metrics=LLMMetrics(CollectorRegistry()), reload_seconds=0.05
    )
    assert calc.calculate_cost("my-llama", 1_000_000, 0) == 1.0
    write(overrides, "prices:\n  - {model: my-llama, input: 4.0, output: 2.0}\n", 5)
    eventually(
        lambda: calc.calculate_cost("my-llama", 1_000_000, 0) == 4.0,
        "the calculator read the changed price file",
        timeout=10,
    )


def test_the_default_calculator_reads_the_file_named_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOBS_PRICE_DATA", str(data_file(tmp_path)))
    calc = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry()))
    assert calc.price_sources.data.source == str(tmp_path / "prices.json")
    assert calc.calculate_cost("gpt-9", 0, 1_000_000, provider="openai") == 30.0


def test_a_broken_environment_file_leaves_the_default_on_the_bundled_data(
    tmp_path, monkeypatch, caplog
):
    broken = tmp_path / "prices.json"
    broken.write_text("[1, 2]")
    monkeypatch.setenv("LLMOBS_PRICE_DATA", str(broken))
    monkeypatch.setattr(LLMCostCalculator, "_default", None)
    with caplog.at_level(logging.ERROR, logger="llmobs"):
        calc = LLMCostCalculator.default()
    assert calc.price_sources.data.source == "bundled"
    assert calc.calculate_cost("gpt-4o", 1_000_000, 0, provider="openai") == 2.5
    assert any("LLMOBS_PRICE_DATA" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("seconds", [-1, float("nan"), "60", True])
def test_a_bad_reload_interval_is_refused(seconds):
    with pytest.raises(ValueError, match="reload_seconds"):
        LLMCostCalculator(overrides=[], reload_seconds=seconds)

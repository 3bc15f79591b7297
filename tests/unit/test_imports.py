"""``import llmobs`` stays light: no generator dependency, no price data until it is needed."""

from __future__ import annotations

import subprocess
import sys

import llmobs


def test_import_llmobs_loads_no_generator_dependency():
    code = (
        "import sys, llmobs\n"
        "heavy = {'click', 'yaml', 'jinja2', 'grafanalib', 'genai_prices', 'obsgen'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_public_api_is_exported():
    for name in (
        "get_llm_metrics",
        "LLMMetrics",
        "get_cost_tracker",
        "CostTracker",
        "CostEntry",
        "DailyCostSummary",
        "LLMCostCalculator",
        "LLMObserver",
        "start_metrics_server",
        "make_asgi_app",
        "make_wsgi_app",
        "mark_process_dead",
    ):
        assert name in llmobs.__all__
        assert getattr(llmobs, name).__doc__

"""``import llmobs`` stays light: no generator dependency, no price data until it is needed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import llmobs

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]


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


BLOCK_GENERATOR = """
import importlib.abc, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"click", "jinja2", "grafanalib"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Blocked())
"""


def test_a_service_works_without_the_generator_installed(tmp_path):
    code = BLOCK_GENERATOR + (
        "from llmobs import CostTracker, LLMObserver, LLMMetrics, start_metrics_server\n"
        "from prometheus_client import CollectorRegistry\n"
        f"tracker = CostTracker({str(tmp_path / 'c.sqlite3')!r}, durable=True)\n"
        "observer = LLMObserver(metrics=LLMMetrics(CollectorRegistry()), tracker=tracker)\n"
        "with observer.call('a.b', 'gpt-4o', 'openai') as call:\n"
        "    call.set_usage(prompt_tokens=1000, completion_tokens=500)\n"
        "server, _ = start_metrics_server(0)\n"
        "server.shutdown()\n"
        "print(tracker.get_daily_summary().total_cost)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.0075"


def test_the_obsgen_command_without_the_generator_says_what_to_install():
    code = BLOCK_GENERATOR + "from obsgen.launcher import main\nmain()\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "obsgen: error: the generator needs click, which llmobs alone does not: "
        "pip install 'obsgen[generator]'"
    )


def test_the_runtime_requires_none_of_the_generators_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {re.split(r"[<>=\[ ]", dep)[0] for dep in project["dependencies"]}
    generator = {
        re.split(r"[<>=\[ ]", dep)[0] for dep in project["optional-dependencies"]["generator"]
    }
    assert runtime.isdisjoint(generator)
    assert {"click", "jinja2", "grafanalib"} <= generator


def test_every_package_folder_is_packaged_with_its_type_hints():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = {"llmobs": ROOT / "src" / "llmobs", "obsgen": ROOT / "obsgen"}
    found = {
        ".".join((top, *init.parent.relative_to(folder).parts))
        for top, folder in roots.items()
        for init in folder.rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == found
    for top, folder in roots.items():
        assert (folder / "py.typed").exists()
        assert "py.typed" in setuptools["package-data"][top]


def test_the_version_is_read_from_the_one_place_it_is_written():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert llmobs.__version__ == project["version"]

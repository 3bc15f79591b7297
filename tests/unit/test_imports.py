"""``import llmobs`` stays light: no generator dependency, no price data until it is needed."""

from __future__ import annotations

import re
from pathlib import Path

import llmobs

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_dev_install_asks_for_at_least_the_oldest_sdk_each_adapter_supports():
    from llmobs.instrument import ADAPTERS

    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    lower = {
        re.split(r"[<>=\[ ]", dep)[0]: dep.split(">=", 1)[1].split(",")[0].split()[0]
        for dep in dev["dev"]
        if ">=" in dep
    }
    for adapter in ADAPTERS:
        name, version = adapter.oldest[0].split("==")
        assert name == adapter.sdk
        assert lower[name] == version, f"pyproject asks for {name}>={lower[name]}"

"""Import isolation, in fresh interpreters: ``import llmobs`` loads nothing of the generator,
and a service works (and reads its config) with the generator's packages missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

#: Run first in a fresh interpreter: the generator's own dependencies cannot be imported.
BLOCK_GENERATOR = """
import importlib.abc, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"click", "jinja2", "grafanalib"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Blocked())
"""

CONFIG = """\
apiVersion: obsgen/v1
budgets:
  daily: 50.0
  monthly: 900.0
"""


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


def test_a_service_reads_its_config_without_the_generator_installed(tmp_path):
    config = tmp_path / "obsgen.yaml"
    config.write_text(CONFIG)
    code = BLOCK_GENERATOR.replace('"grafanalib"}', '"grafanalib", "obsgen"}') + textwrap.dedent(
        f"""
        from llmobs import CostTracker
        print(CostTracker.from_config({str(config)!r}, ":memory:").budget("month"))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "900.0"

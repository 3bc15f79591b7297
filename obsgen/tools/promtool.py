"""Running promtool (and amtool, vmalert and vmagent) on generated files, when they are
installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml


def available() -> str | None:
    """The promtool on PATH, or None."""
    return shutil.which("promtool")


def run(*args: str | Path, tool: str = "promtool") -> tuple[bool, str]:
    """Run ``tool args``; return whether it passed and what it printed."""
    binary = shutil.which(tool)
    if binary is None:
        return False, f"{tool} is not on PATH"
    result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=300)
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def run_all(
    commands: list[tuple[str | Path, ...]], tool: str = "promtool"
) -> list[tuple[bool, str]]:
    """Run ``tool`` once per argument list, side by side (one process per core): promtool's
    alert tests are single-threaded and take seconds each. Results keep the order given."""
    workers = max(1, min(len(commands), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda args: run(*args, tool=tool), commands))


def check_all(
    out_dir: Path, prometheus_config: str, rule_files: list[str], test_files: list[str]
) -> list[tuple[str, bool, str]]:
    """``check config``, ``check rules`` and ``test rules`` on the generated files."""
    steps = (
        [("check config", prometheus_config)]
        + [("check rules", f) for f in rule_files]
        + [("test rules", f) for f in test_files]
    )
    results = run_all([(*command.split(), out_dir / file) for command, file in steps])
    return [
        (f"promtool {command} {file}", ok, output)
        for (command, file), (ok, output) in zip(steps, results, strict=True)
    ]


def check_alertmanager(out_dir: Path, config: str) -> list[tuple[str, bool, str]]:
    """``amtool check-config`` on the generated Alertmanager config (nothing without amtool)."""
    if shutil.which("amtool") is None:
        return []
    ok, output = run("check-config", out_dir / config, tool="amtool")
    return [(f"amtool check-config {config}", ok, output)]


def check_central(out_dir: Path, scraper: str, scraper_config: str, rule_files: list[str]):
    """The central topology's files as its servers read them: vmalert's ``-dryRun`` parses the
    rules in MetricsQL and their templates, and the scraper's config is checked by promtool or
    by vmagent's ``-dryRun`` (each skipped where its program is not on PATH)."""
    results = []
    if shutil.which("vmalert") is not None:
        flags = [f"-rule={out_dir / path}" for path in rule_files]
        ok, output = run(*flags, "-dryRun", tool="vmalert")
        results.append((f"vmalert -dryRun {' '.join(rule_files)}", ok, output))
    if scraper == "vmagent" and shutil.which("vmagent") is not None:
        ok, output = run(
            f"-promscrape.config={out_dir / scraper_config}", "-dryRun", tool="vmagent"
        )
        results.append((f"vmagent -dryRun {scraper_config}", ok, output))
    elif scraper == "prometheus":
        ok, output = run("check", "config", out_dir / scraper_config)
        results.append((f"promtool check config {scraper_config}", ok, output))
    return results


def check_prometheus_rule(out_dir: Path, manifest: str) -> list[tuple[str, bool, str]]:
    """The rule groups a PrometheusRule embeds, checked by promtool as a rule file."""
    groups = yaml.safe_load((out_dir / manifest).read_text())["spec"]["groups"]
    with tempfile.TemporaryDirectory(prefix="obsgen-") as folder:
        rules = Path(folder) / "prometheus-rule-groups.yml"
        rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        ok, output = run("check", "rules", rules)
    return [(f"promtool check rules (the groups of {manifest})", ok, output)]

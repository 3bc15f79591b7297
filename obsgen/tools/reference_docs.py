"""The reference pages of ``docs/reference/``, generated from the code so that they never
drift from it: every metric (from ``llmobs.schema``), every key of ``obsgen.yaml`` (from the
config's readers, with their defaults), every command's help (from the command line) and the
SDKs ``llmobs.instrument`` records (from their adapters).
``make docs`` writes them; a test fails when a committed page differs.

Usage: ``python -m obsgen.tools.reference_docs [--check] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import click

from llmobs.schema import METRICS, MetricKind
from obsgen.config.load import parse
from obsgen.config.validation import REQUIRED, Reader, describe

MARK = "<!-- Generated from the code by `make docs`; do not edit by hand. -->"
#: Placeholder names of the maximal config, shown as what they stand for.
PLACEHOLDERS = {"TEAM": "<team>", "AGENT": "<agent>", "RECEIVER": "<receiver>"}
#: A config with every section the readers know, so that reading it visits every key.
EVERY_SECTION: dict[str, Any] = {
    "apiVersion": "obsgen/v1",
    "prometheus": {
        "scrape": {
            "tls": {"cert_file": "c", "key_file": "k"},
            "basic_auth": {"username": "u", "password_file": "p"},
        },
        "remote_write": [{"url": "https://store.example/push"}],
    },
    "topology": {"store": {}},
    "budgets": {
        "teams": {"TEAM": {"daily": 1.0}},
        "agents": {"AGENT": {"daily": 1.0}},
        "reservation": {},
    },
    "slo": {},
    "teams": {},
    "attribution": {},
    "dashboard": {"traces": {"datasource_uid": "tempo"}},
    "alerts": {"for": {}},
    "notifications": {
        "receivers": {
            "RECEIVER": {
                "slack": {"api_url_file": "f"},
                "webhook": {"url": "https://hooks.example/x"},
                "email": {"to": "a@b.c", "from": "a@b.c", "smarthost": "h:25"},
                "pagerduty": {"routing_key_file": "f"},
            }
        },
        "routes": {},
    },
    "kubernetes": {},
    "prices": {},
    "runs": {},
}


class _Tracing(Reader):
    """A reader that notes every section it reads and every key's default."""

    def __init__(self) -> None:
        super().__init__("obsgen.yaml", {})
        self.sections: dict[str, dict[str, str]] = {}
        self.defaults: dict[str, Any] = {}

    def mapping(self, data: object, path: Any, allowed: Collection[str]) -> dict[str, Any]:
        described = allowed if isinstance(allowed, dict) else dict.fromkeys(allowed, "")
        self.sections.setdefault(_dotted(path), described)
        return super().mapping(data, path, allowed)

    def default(self, path: Any, value: Any) -> Any:
        self.defaults.setdefault(_dotted(path), value)
        return value


def _dotted(path: tuple[Any, ...]) -> str:
    parts = [
        "[]" if isinstance(part, int) else PLACEHOLDERS.get(str(part), str(part)) for part in path
    ]
    return ".".join(parts).replace(".[]", "[]")


def _shown(value: Any) -> str:
    if value is REQUIRED:
        return "required"
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return describe(value).strip("'")


def config_page() -> str:
    """Every key of ``obsgen.yaml``, section by section, with its meaning and default."""
    tracing = _Tracing()
    parse(EVERY_SECTION, {}, "obsgen.yaml", tracing)
    lines = [
        MARK,
        "# obsgen.yaml reference",
        "",
        "Every key of the config, by section; `obsgen init` writes a commented starter. A key",
        "left out takes its default; `null` turns off what can be off (a budget, the anomaly",
        "alert) and is an error elsewhere. The runtime reads `budgets`, `teams` and "
        "`attribution` (`CostTracker.from_config`);",
        "the generator reads all of it.",
    ]
    tracing.defaults["apiVersion"] = REQUIRED  # read by the document, not by value()
    for section, keys in tracing.sections.items():
        documented = {key: meaning for key, meaning in keys.items() if meaning}
        if not documented:
            continue
        lines += ["", f"## `{section or '(top level)'}`", "", "| key | meaning | default |"]
        lines.append("|---|---|---|")
        for key, meaning in documented.items():
            where = f"{section}.{key}" if section else key
            default = _shown(tracing.defaults[where]) if where in tracing.defaults else ""
            lines.append(f"| `{key}` | {meaning} | {default} |")
    return "\n".join(lines) + "\n"


def metrics_page() -> str:
    """Every metric llmobs exposes, as the schema defines it."""
    lines = [
        MARK,
        "# Metrics reference",
        "",
        "Every metric llmobs exposes, defined once in `src/llmobs/schema.py`. Prompt tokens "
        "include cache-read",
        "and cache-write tokens and completion tokens include reasoning tokens: never add "
        "every `token_type`.",
        "",
        "| metric | type | unit | labels | meaning |",
        "|---|---|---|---|---|",
    ]
    for spec in METRICS:
        labels = ", ".join(spec.labels) or "(none)"
        lines.append(
            f"| `{spec.name}` | {spec.kind.value} | {spec.unit} | {labels} | {spec.help} |"
        )
    lines += ["", "## Histogram buckets", "", "| metric | bucket bounds (seconds) |", "|---|---|"]
    for spec in METRICS:
        if spec.kind is MetricKind.HISTOGRAM and spec.buckets:
            bounds = ", ".join(f"{bound:g}" for bound in spec.buckets)
            lines.append(f"| `{spec.name}` | {bounds} |")
    return "\n".join(lines) + "\n"


def _helps(
    command: click.Command, name: str, parent: click.Context | None = None
) -> list[tuple[str, str]]:
    """(``obsgen ...``, its help) of ``command`` and of every command under it."""
    settings = {"max_content_width": 100, "terminal_width": 100, **command.context_settings}
    context = click.Context(command, info_name=name, parent=parent, **settings)
    found = [(context.command_path, command.get_help(context))]
    if isinstance(command, click.Group):
        for sub in sorted(command.commands):
            found += _helps(command.commands[sub], sub, context)
    return found


def cli_page() -> str:
    """Every command's help, as ``obsgen ... --help`` prints it."""
    from obsgen.tools.cli import cli

    lines = [MARK, "# Command line reference", ""]
    for name, text in _helps(cli, "obsgen"):
        lines += [f"## `{name}`", "", "```", text.rstrip(), "```", ""]
    return "\n".join(lines)


def sdks_page() -> str:
    """The SDKs ``llmobs.instrument`` records, from their adapters."""
    from llmobs.instrument import ADAPTERS

    lines = [
        MARK,
        "# Instrumented SDKs",
        "",
        "What `llmobs.instrument(client)` records, by SDK. Each is tested against the oldest "
        "release named",
        "here and the newest (`make test`); a method an older release lacks is left out and "
        "counted in",
        '`llm_invalid_records_total{reason="sdk_method_missing"}`.',
        "",
        "| SDK | clients | calls recorded | `provider` label | oldest release |",
        "|---|---|---|---|---|",
    ]
    for adapter in ADAPTERS:
        calls = ", ".join(
            dict.fromkeys(
                f"`{method.dotted}`" for method in adapter.methods(None) if not method.is_async
            )
        )
        oldest = ", ".join(adapter.oldest)
        lines.append(
            f"| {adapter.sdk} | {adapter.clients} | {calls} | `{adapter.provider}` | {oldest} |"
        )
    return "\n".join(lines) + "\n"


PAGES: dict[str, Callable[[], str]] = {
    "docs/reference/config.md": config_page,
    "docs/reference/metrics.md": metrics_page,
    "docs/reference/cli.md": cli_page,
    "docs/reference/sdks.md": sdks_page,
}


def generate() -> dict[str, str]:
    """Every reference page, by its path under the repository root."""
    return {path: page() for path, page in PAGES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on drift")
    parser.add_argument("--out", default=".", help="the repository root")
    options = parser.parse_args(argv)
    root = Path(options.out)
    drift = []
    for path, text in generate().items():
        target = root / path
        if options.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                drift.append(path)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    for path in drift:
        print(f"{path} differs from what the code generates: run `make docs`", file=sys.stderr)
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main())

"""``obsgen.yaml`` as a document: read from its file with the line of every key, its version,
its sections, and the part of it a service's runtime reads (budgets and teams). The generator
reads the same document with the same reader and adds its own sections' checks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..attribution import attribution_keys
from ..teams import DEFAULT_SEPARATOR, check_separator
from .budgets import Budgets, read_budgets
from .location import CONFIG_ENV, DEFAULT_CONFIG, config_path
from .reading import ConfigError, ConfigIssue, Reader, describe
from .yaml_lines import YAMLSyntaxError, load_with_lines

__all__ = [
    "API_VERSION",
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "SECTIONS",
    "Document",
    "RuntimeConfig",
    "config_path",
    "load_runtime",
    "read_document",
    "read_runtime",
    "read_top",
]
API_VERSION = "obsgen/v1"
#: Every top-level key of the document, with what it holds: the runtime reads budgets and
#: teams, the generator all.
SECTIONS = {
    "apiVersion": f"the version of this file's format: {API_VERSION}",
    "prometheus": "how Prometheus scrapes the service, evaluates rules and sends alerts",
    "source": "where the LLM metrics come from: llmobs (the runtime's llm_* metrics, the "
    "default) or otel-genai (OpenTelemetry GenAI client metrics, gen_ai_client_*)",
    "topology": "one Prometheus, or HA scrapers writing into a central store (VictoriaMetrics)",
    "budgets": "spend budgets, read by the alerts and by the service's cost tracker",
    "slo": "the objectives the SLO alerts and panels judge",
    "teams": "how an agent id names its team",
    "dashboard": "the generated Grafana dashboard's identity, and where its exemplars link",
    "runbook_url": "where each alert's runbook_url points (its section is #alertname)",
    "alerts": "overrides of the generated alerts",
    "notifications": "where Alertmanager sends the alerts",
    "kubernetes": "the prometheus-operator objects `obsgen build kubernetes` renders",
    "attribution": "the tag keys calls may carry besides customer, user, feature, environment",
    "prices": "where `obsgen prices update` fetches model prices, and how old they may get",
    "runs": "the cost and steps past which an agent run is a runaway, and alerts",
}
#: The keys of ``attribution:``.
ATTRIBUTION_KEYS = {
    "keys": "tag keys of your own (lower-case names), kept and summed like the built-in ones",
    "labels": "tag keys of few values (feature, environment) also counted in Prometheus by "
    "value, capped like every label (llm_tag_requests_total, llm_tag_cost_total)",
}
#: The keys of ``teams:``.
TEAM_KEYS = {
    "separator": "the team of an agent is its id up to the first separator "
    "(meetmind.coordinator: meetmind); one punctuation character",
}


@dataclass(frozen=True)
class RuntimeConfig:
    """What a service's runtime reads of the config: the budgets and the team separator."""

    budgets: Budgets = field(default_factory=Budgets)
    team_separator: str = DEFAULT_SEPARATOR
    attribution_keys: tuple[str, ...] = ()
    labelled_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """A config file read: its data, the line of every key, and its name for messages."""

    data: Any
    lines: dict[Any, int]
    source: str

    def reader(self) -> Reader:
        return Reader(self.source, self.lines)


def _file_issue(source: str, message: str) -> ConfigError:
    return ConfigError([ConfigIssue(source, 1, "(file)", message)])


def read_document(path: str | os.PathLike[str]) -> Document:
    """The config file at ``path`` parsed, or ConfigError saying why it cannot be."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _file_issue(source, "no such file; `obsgen init` writes a starter config") from None
    except OSError as exc:
        raise _file_issue(source, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise _file_issue(source, f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    try:
        data, lines = load_with_lines(text)
    except YAMLSyntaxError as exc:
        raise ConfigError([ConfigIssue(source, exc.line, "(syntax)", str(exc))]) from None
    return Document(data, lines, source)


def read_top(r: Reader, data: Any) -> dict[str, Any]:
    """The document's top-level mapping, its version checked (issues through ``r``)."""
    top = r.mapping(data, (), SECTIONS) if data is not None else {}
    if data is None:
        r.fail(("apiVersion",), f"is required (the file is empty); use {API_VERSION}")
    elif "apiVersion" not in top:
        r.fail(("apiVersion",), f"is required; use {API_VERSION}")
    elif top["apiVersion"] != API_VERSION:
        r.fail(
            ("apiVersion",),
            f"unknown version {describe(top['apiVersion'])}; this obsgen reads {API_VERSION}",
        )
    return top


def read_runtime(r: Reader, top: dict[str, Any]) -> RuntimeConfig:
    """The runtime's sections of a document's top level (issues through ``r``)."""
    teams = r.mapping(top.get("teams"), ("teams",), TEAM_KEYS)
    separator = r.value(teams, ("teams",), "separator", check_separator, DEFAULT_SEPARATOR)
    budgets = read_budgets(r, top.get("budgets"), ("budgets",), separator or DEFAULT_SEPARATOR)
    attribution = r.mapping(top.get("attribution"), ("attribution",), ATTRIBUTION_KEYS)
    keys = r.value(attribution, ("attribution",), "keys", _declared_keys, ())
    known = attribution_keys(keys or ())
    labels = r.value(attribution, ("attribution",), "labels", _declared_keys, ())
    for key in labels or ():
        if key not in known:
            r.fail(
                ("attribution", "labels"),
                f"{key!r} is not an attribution key: declare it in attribution.keys (known: "
                f"{', '.join(sorted(known))})",
            )
    for key, _ in budgets.tags:
        if key not in known:
            r.fail(
                ("budgets", "tags", key),
                f"{key!r} is not an attribution key: declare it in attribution.keys (known: "
                f"{', '.join(sorted(known))})",
            )
    return RuntimeConfig(budgets, separator, keys, labels or ())


def _declared_keys(value: object) -> tuple[str, ...]:
    """A list of attribution tag keys; ValueError naming a bad one."""
    if not isinstance(value, list):
        raise ValueError(f"must be a list of tag keys, got {describe(value)}")
    attribution_keys(value)
    if len(set(value)) < len(value):
        raise ValueError("lists a key twice")
    return tuple(value)


def load_runtime(path: str | os.PathLike[str] | None = None) -> RuntimeConfig:
    """The runtime's part of the config at ``path`` (else ``$LLMOBS_CONFIG``, else
    ``obsgen.yaml``); ConfigError (a ValueError) naming file and line of every problem in it.
    The generator's sections are left to ``obsgen validate``."""
    document = read_document(config_path(path))
    r = document.reader()
    runtime = read_runtime(r, read_top(r, document.data))
    if r.issues:
        raise ConfigError(r.issues)
    return runtime

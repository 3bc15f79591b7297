"""The part of ``obsgen.yaml`` a service's runtime reads (budgets, their time zone and
enforcement, the team separator), and the reader of the document that the generator's config
builds on: the runtime never imports the generator.

Its names load on first use, so that ``import llmobs`` does not load PyYAML."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Budgets": "budgets",
    "Limit": "budgets",
    "Reservation": "budgets",
    "ScopedBudget": "budgets",
    "API_VERSION": "document",
    "CONFIG_ENV": "location",
    "DEFAULT_CONFIG": "location",
    "SECTIONS": "document",
    "Document": "document",
    "RuntimeConfig": "document",
    "config_path": "location",
    "load_runtime": "document",
    "read_document": "document",
    "read_runtime": "document",
    "read_top": "document",
    "ConfigError": "reading",
    "ConfigIssue": "reading",
    "Reader": "reading",
    "printable": "reading",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return __all__

"""Where a service finds ``obsgen.yaml``."""

from __future__ import annotations

import os

DEFAULT_CONFIG = "obsgen.yaml"
#: The config file a service's trackers read their budgets from, when set.
CONFIG_ENV = "LLMOBS_CONFIG"


def config_path(path: str | os.PathLike[str] | None = None) -> str:
    """``path``, else ``$LLMOBS_CONFIG``, else ``obsgen.yaml``."""
    return os.fspath(path) if path is not None else os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG


def configured() -> bool:
    """Whether ``$LLMOBS_CONFIG`` names a config for the process's trackers."""
    return bool(os.environ.get(CONFIG_ENV))

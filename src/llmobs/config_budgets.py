"""Budgets configured once: the tracker takes them from the same ``obsgen.yaml`` that the
generated alerts and dashboard are built from, read by the config's own parser (which needs
only PyYAML), so both use the same numbers and the same team derivation."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .enforcement import Budget, Scope

if TYPE_CHECKING:
    from obsgen.config import Config

#: The config file a service's trackers read their budgets from, when set.
CONFIG_ENV = "LLMOBS_CONFIG"
DEFAULT_CONFIG = "obsgen.yaml"


def config_path(path: str | os.PathLike[str] | None = None) -> str:
    """``path``, else ``$LLMOBS_CONFIG``, else ``obsgen.yaml``."""
    return os.fspath(path) if path is not None else os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG


def tracker_options(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The ``CostTracker`` options the config at ``path`` sets: the global daily, weekly and
    monthly budgets, the teams' and agents' budgets, which are enforced, the time zone of
    their periods and the team separator. A config that
    does not validate raises ``obsgen.config.ConfigError`` (a ValueError) naming file and line
    of every problem."""
    from obsgen.config import load  # the config's parser; imported only by those who ask

    return options_of(load(config_path(path)))


def options_of(config: Config) -> dict[str, Any]:
    """The ``CostTracker`` options of a loaded config (see ``tracker_options``)."""
    budgets = config.budgets
    scoped = [
        Budget(
            limit.usd,
            limit.period,
            team=limit.name if limit.scope is Scope.TEAM else None,
            agent_id=limit.name if limit.scope is Scope.AGENT else None,
            enforce=limit.enforce,
        )
        for limit in budgets.limits()
        if limit.scope is not Scope.GLOBAL
    ]
    return {
        "daily_budget": budgets.daily,
        "weekly_budget": budgets.weekly,
        "monthly_budget": budgets.monthly,
        "budgets": scoped,
        "team_separator": config.team_separator,
        "timezone": budgets.timezone,
        "enforce": budgets.enforce,
    }

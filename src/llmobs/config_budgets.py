"""Budgets configured once: the tracker takes them from the same ``obsgen.yaml`` that the
generated alerts and dashboard are built from, read by the runtime's own reader of that file
(``llmobs.configfile``, which the generator's config builds on), so both use the same numbers
and the same team derivation."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .enforcement import Budget, Scope

if TYPE_CHECKING:
    from .configfile import RuntimeConfig

__all__ = ["options_of", "tracker_options"]


def tracker_options(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The ``CostTracker`` options the config at ``path`` (else ``$LLMOBS_CONFIG``, else
    ``obsgen.yaml``) sets: the global daily, weekly and monthly budgets, the teams' and agents'
    budgets, which are enforced, what an enforced call reserves, the time zone of their periods,
    the team separator and the attribution keys. A config that does not validate raises
    ``llmobs.configfile.ConfigError`` (a ValueError) naming file and line of every problem."""
    from .configfile import load_runtime  # PyYAML is loaded only by those who read a config

    return options_of(load_runtime(path))


def options_of(config: RuntimeConfig) -> dict[str, Any]:
    """The ``CostTracker`` options of a loaded config (see ``tracker_options``); the generator's
    config holds the same ``budgets`` and ``team_separator``."""
    budgets = config.budgets
    scoped = [
        Budget(
            limit.usd,
            limit.period,
            team=limit.name if limit.scope is Scope.TEAM else None,
            agent_id=limit.name if limit.scope is Scope.AGENT else None,
            enforce=limit.enforce,
            tag=None if limit.tag is None else (limit.tag, limit.name),
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
        "reserve_output_tokens": budgets.reservation.output_tokens,
        "reserve_media_tokens": budgets.reservation.media_tokens,
        "attribution_keys": config.attribution_keys,
        "labelled_tags": config.labelled_tags,
    }

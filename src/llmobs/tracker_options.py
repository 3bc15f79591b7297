"""Everything a ``CostTracker`` can be told, in one checked object.

Example:
    >>> options = TrackerOptions(daily_budget=100.0, timezone="Europe/Stockholm", enforce=True)
    >>> options.daily_budget, options.reserve_output_tokens
    (100.0, 4096)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from .attribution import attribution_keys
from .budgets import check_budget
from .configfile.budgets import DEFAULT_MEDIA_TOKENS, DEFAULT_OUTPUT_TOKENS, MAX_RESERVED_TOKENS
from .enforcement import RESERVATION_SECONDS, WHEN_STORE_FAILS, Budget
from .pricing import LLMCostCalculator
from .teams import check_separator
from .writer import DEFAULT_CAPACITY

#: A budget not given: the one saved in the cost store stands.
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()
#: How long a durable ``record_cost`` keeps trying to store its entry before it raises.
DURABLE_TIMEOUT_SECONDS = 30.0


def _positive_int(name: str, value: object, highest: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if highest is not None and value > highest:
        raise ValueError(f"{name} must be at most {highest:,}, got {value!r}")


def _seconds(name: str, value: object, longest: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= longest:
        raise ValueError(f"{name} must be in (0, {longest:g}] seconds, got {value!r}")


@dataclass(frozen=True)
class TrackerOptions:
    """A cost tracker's options; each is checked when the object is made.

    Budgets: ``daily_budget``, ``weekly_budget``, ``monthly_budget`` in USD (``UNSET``: the
    ones saved in the store stand; None removes one), ``budgets`` of teams and agents,
    ``timezone`` (IANA name) where days begin. Teams: ``team_separator`` or ``team_of``.
    Enforcement: ``enforce`` (refuse calls past any budget, else only those marked so),
    ``when_store_fails`` ("allow" or "deny"), ``reservation_seconds`` (how long a reservation
    holds if its call never settles it), ``reserve_output_tokens`` (reserved for a call that
    sets no output limit), ``reserve_media_tokens`` (per image, audio or file in a prompt).
    Recording: ``durable`` (write before ``record_cost`` returns, trying for up to
    ``durable_timeout`` seconds), ``queue_size`` (records waiting for the background writer),
    ``retention_days`` (raw entries kept), ``calculator``, ``clock``. Attribution:
    ``attribution_keys``, tag keys calls may carry besides customer, user, feature and
    environment; ``labelled_tags``, the tag keys of few values also counted in Prometheus
    (``llm_tag_requests_total`` and ``llm_tag_cost_total``, capped like every label).
    ``read_only`` opens an existing store only to read it.
    """

    daily_budget: float | None = UNSET
    weekly_budget: float | None = UNSET
    monthly_budget: float | None = UNSET
    budgets: tuple[Budget, ...] = ()
    timezone: str | tzinfo | None = None
    team_separator: str = "."
    team_of: Callable[[str], str] | None = None
    enforce: bool = False
    when_store_fails: str = "allow"
    reservation_seconds: float = RESERVATION_SECONDS
    reserve_output_tokens: int = DEFAULT_OUTPUT_TOKENS
    reserve_media_tokens: int = DEFAULT_MEDIA_TOKENS
    durable: bool = False
    durable_timeout: float = DURABLE_TIMEOUT_SECONDS
    queue_size: int = DEFAULT_CAPACITY
    retention_days: int | None = None
    calculator: LLMCostCalculator | None = field(default=None, compare=False)
    clock: Callable[[], datetime] | None = field(default=None, compare=False)
    read_only: bool = False
    attribution_keys: tuple[str, ...] = ()
    labelled_tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for period in ("daily_budget", "weekly_budget", "monthly_budget"):
            value = getattr(self, period)
            if value is not UNSET:
                object.__setattr__(self, period, check_budget(value, period))
        budgets = tuple(self.budgets)
        if not all(isinstance(budget, Budget) for budget in budgets):
            raise ValueError("budgets must be llmobs.Budget objects")
        object.__setattr__(self, "budgets", budgets)
        try:
            check_separator(self.team_separator)
        except ValueError as exc:
            raise ValueError(f"team_separator {exc}") from None
        if self.when_store_fails not in WHEN_STORE_FAILS:
            raise ValueError(
                f"when_store_fails must be 'allow' or 'deny', got {self.when_store_fails!r}"
            )
        _seconds("reservation_seconds", self.reservation_seconds, 7 * 86400)
        _seconds("durable_timeout", self.durable_timeout, 3600)
        _positive_int("reserve_output_tokens", self.reserve_output_tokens, MAX_RESERVED_TOKENS)
        _positive_int("reserve_media_tokens", self.reserve_media_tokens, MAX_RESERVED_TOKENS)
        _positive_int("queue_size", self.queue_size)
        if self.retention_days is not None:
            _positive_int("retention_days", self.retention_days)
        for flag in ("enforce", "durable", "read_only"):
            object.__setattr__(self, flag, bool(getattr(self, flag)))
        attribution_keys(self.attribution_keys)  # ValueError naming a bad key
        object.__setattr__(self, "attribution_keys", tuple(self.attribution_keys))
        labelled = tuple(self.labelled_tags)
        for key in labelled:
            if key not in self.tag_keys:
                raise ValueError(
                    f"labelled_tags: {key!r} is not an attribution key (known: "
                    f"{', '.join(sorted(self.tag_keys))})"
                )
        object.__setattr__(self, "labelled_tags", labelled)

    @property
    def tag_keys(self) -> frozenset[str]:
        """Every tag key a record may carry: the built-in ones and ``attribution_keys``."""
        return attribution_keys(self.attribution_keys)

    def given_budgets(self) -> dict[str, float | None]:
        """The global budgets given (by option name); those left ``UNSET`` are not here."""
        return {
            name: value
            for name in ("daily_budget", "weekly_budget", "monthly_budget")
            if (value := getattr(self, name)) is not UNSET
        }

    def with_overrides(self, **overrides: Any) -> TrackerOptions:
        """These options with some replaced; TypeError naming an option that does not exist."""
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"CostTracker has no option {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **overrides) if overrides else self

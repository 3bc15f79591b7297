"""The ``budgets:`` section: spend limits per calendar period of everything, of teams, of
agents and of attribution tag values (a customer's, or each customer's), the percentages they
alert at, their time zone, which are enforced, and what an enforced call reserves before it is
sent. The runtime's trackers and the generated alerts read this one model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..enforcement import EACH_VALUE, GLOBAL_NAME, Scope
from ..periods import Period, parse_timezone
from ..store.base import is_tag_key
from . import reading as check
from .reading import Path, Reader

#: The config's keys of the budget periods, in the order they are listed.
PERIOD_KEYS = (("daily", Period.DAY), ("weekly", Period.WEEK), ("monthly", Period.MONTH))
#: What an enforced call reserves for its output when it sets no limit, and per media part.
DEFAULT_OUTPUT_TOKENS = 4_096
DEFAULT_MEDIA_TOKENS = 3_000
MAX_RESERVED_TOKENS = 10_000_000


@dataclass(frozen=True)
class Limit:
    """One budget as the runtime enforces and exports it (``llm_budget_limit_usd``)."""

    scope: Scope
    name: str
    period: Period
    usd: float
    enforce: bool = False
    #: The tag key of a tag value's budget (its name is the value, or EACH_VALUE).
    tag: str | None = None

    @property
    def scope_label(self) -> str:
        """Its ``scope`` label: global, team, agent, or the tag's key."""
        return self.tag if self.tag is not None else self.scope.value

    @property
    def exported(self) -> bool:
        """Whether a tracker exports its gauges under its own name (a budget of each value
        is exported under the values that spend most)."""
        return self.name != EACH_VALUE


@dataclass(frozen=True)
class ScopedBudget:
    """A team's or an agent's budgets in USD per calendar day, week and month."""

    name: str
    daily: float | None = None
    weekly: float | None = None
    monthly: float | None = None
    enforce: bool = False

    def amounts(self) -> list[tuple[Period, float]]:
        """The periods it limits, with their USD amounts."""
        return [
            (period, amount)
            for key, period in PERIOD_KEYS
            if (amount := getattr(self, key)) is not None
        ]


@dataclass(frozen=True)
class Reservation:
    """What an enforced call holds on its budgets before it is sent: the price of its prompt
    (counted from the request) and of its output limit, with these where the call says
    nothing."""

    #: Output tokens reserved for a call that sets no output limit (``max_tokens``, ...).
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    #: Prompt tokens reserved for each image, audio clip or file in a request.
    media_tokens: int = DEFAULT_MEDIA_TOKENS


@dataclass(frozen=True)
class Budgets:
    """Spend budgets in USD per calendar period in ``timezone``, and the percentages at which
    they alert. The runtime reads the same section (``CostTracker.from_config``)."""

    daily: float | None = 100.0
    weekly: float | None = None
    monthly: float | None = None
    warning_percent: float = 80.0
    critical_percent: float = 100.0
    #: LLMSpendAnomaly fires when the last hour's spend rate is this many times the same hour's
    #: a week before (None: no anomaly alert).
    anomaly_factor: float | None = 3.0
    teams: tuple[ScopedBudget, ...] = ()
    agents: tuple[ScopedBudget, ...] = ()
    #: Budgets of attribution tag values, per tag key: a value's own, or ``*`` for each value.
    tags: tuple[tuple[str, tuple[ScopedBudget, ...]], ...] = ()
    #: IANA time zone where days, weeks and months begin.
    timezone: str = "UTC"
    #: Refuse calls that would exceed any budget (otherwise only those marked ``enforce``).
    enforce: bool = False
    reservation: Reservation = field(default_factory=Reservation)

    def limits(self) -> tuple[Limit, ...]:
        """Every budget configured: global, then teams', agents' and tag values'."""
        overall = ScopedBudget(GLOBAL_NAME, self.daily, self.weekly, self.monthly, self.enforce)
        scoped: list[tuple[Scope, str | None, ScopedBudget]] = [(Scope.GLOBAL, None, overall)]
        scoped += [(Scope.TEAM, None, team) for team in self.teams]
        scoped += [(Scope.AGENT, None, agent) for agent in self.agents]
        scoped += [(Scope.TAG, key, value) for key, values in self.tags for value in values]
        return tuple(
            Limit(scope, budget.name, period, amount, self.enforce or budget.enforce, tag)
            for scope, tag, budget in scoped
            for period, amount in budget.amounts()
        )


def _scoped_budget(r: Reader, name: Any, data: Any, path: Path) -> ScopedBudget | None:
    """A team's or agent's budgets: a USD amount (daily), or a mapping of periods."""
    label = r.checked(path, name, check.label_value)
    if label is None:
        return None
    if not isinstance(data, dict):
        try:
            return ScopedBudget(label, daily=check.budget(data))
        except ValueError as exc:
            r.fail(path, f"{exc}; or a mapping of daily, weekly, monthly and enforce")
            return None
    section = r.mapping(data, path, SCOPED_KEYS)
    amounts = {key: r.value(section, path, key, check.budget, None) for key, _ in PERIOD_KEYS}
    if not any(key in section for key, _ in PERIOD_KEYS):
        r.fail(path, "names no budget: give daily, weekly or monthly in USD")
    return ScopedBudget(
        label, **amounts, enforce=r.value(section, path, "enforce", check.boolean, False)
    )


def _named_budgets(r: Reader, data: Any, path: Path) -> tuple[ScopedBudget, ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        r.fail(path, f"must be a mapping of names to budgets, got {check.describe(data)}")
        return ()
    budgets = [_scoped_budget(r, name, value, (*path, str(name))) for name, value in data.items()]
    return tuple(sorted((b for b in budgets if b is not None), key=lambda b: b.name))


def _tag_budgets(
    r: Reader, data: Any, path: Path
) -> tuple[tuple[str, tuple[ScopedBudget, ...]], ...]:
    """``budgets.tags``: per tag key, its values' budgets (``*``: each value's)."""
    if data is None:
        return ()
    if not isinstance(data, dict):
        r.fail(path, f"must map tag keys to their values' budgets, got {check.describe(data)}")
        return ()
    found = []
    for key, values in data.items():
        where = (*path, str(key))
        if not is_tag_key(key):
            r.fail(where, f"{check.describe(key)} is not an attribution tag key (customer, ...)")
            continue
        found.append((str(key), _named_budgets(r, values, where)))
    return tuple(sorted(found))


def _timezone(value: Any) -> str:
    name = check.text(value)
    try:
        parse_timezone(name)
    except ValueError:
        raise ValueError(
            f"unknown time zone {check.describe(value)}: use an IANA name such as UTC or "
            "Europe/Stockholm"
        ) from None
    return name


def _anomaly_factor(value: Any) -> float:
    factor = check.number(value)
    if not 1 < factor <= 1000:
        raise ValueError(
            "must be a factor above 1 and at most 1000 (spend this many times last week's), "
            f"got {check.describe(value)}"
        )
    return factor


_reserved_tokens = check.count_between(1, MAX_RESERVED_TOKENS, "tokens")


def _reservation(r: Reader, data: Any, path: Path) -> Reservation:
    section = r.mapping(data, path, RESERVATION_KEYS)
    default = Reservation()
    return Reservation(
        output_tokens=r.value(
            section, path, "output_tokens", _reserved_tokens, default.output_tokens
        ),
        media_tokens=r.value(section, path, "media_tokens", _reserved_tokens, default.media_tokens),
    )


#: The keys of ``budgets:``, each with what it means.
BUDGET_KEYS = {
    "daily": "USD per calendar day, from 0.01 to 1e9; null for none",
    "weekly": "USD per week, Monday to Sunday",
    "monthly": "USD per calendar month",
    "warning_percent": "a budget's share spent at which LLMBudgetWarning fires",
    "critical_percent": "a budget's share spent at which LLMBudgetExceeded fires",
    "anomaly_factor": "LLMSpendAnomaly fires when the last hour's spend rate is this many times "
    "the same hour's a week before (above 1, at most 1000); null turns it off",
    "teams": "budgets per team: a USD amount a day, or a mapping of periods and enforce",
    "agents": "budgets per agent id, the same way",
    "tags": "budgets per attribution tag value, by tag key: {customer: {acme: {monthly: 500}}}; "
    "the value * sets each value's budget (each customer without one of its own)",
    "timezone": "the IANA time zone where days, weeks and months begin",
    "enforce": "refuse calls that would exceed any budget (BudgetExceededError), not only "
    "the budgets marked enforce",
    "reservation": "what an enforced call holds on its budgets before it is sent",
}
#: The keys of one team's or agent's budgets.
SCOPED_KEYS = {
    "daily": "USD per calendar day",
    "weekly": "USD per week, Monday to Sunday",
    "monthly": "USD per calendar month",
    "enforce": "refuse this team's or agent's calls that would exceed its budgets",
}
#: The keys of ``budgets.reservation``.
RESERVATION_KEYS = {
    "output_tokens": "output tokens reserved for a call that sets no output limit "
    "(max_tokens, max_completion_tokens, ...)",
    "media_tokens": "prompt tokens reserved for each image, audio clip or file of a request",
}


def read_budgets(r: Reader, data: Any, path: Path, team_separator: str) -> Budgets:
    """The ``budgets`` section; every issue is reported through ``r``."""
    section = r.mapping(data, path, BUDGET_KEYS)
    default = Budgets()
    explicit_daily = "daily" in section
    budgets = Budgets(
        daily=r.value(
            section, path, "daily", check.budget, None if explicit_daily else default.daily
        ),
        weekly=r.value(section, path, "weekly", check.budget, None),
        monthly=r.value(section, path, "monthly", check.budget, None),
        warning_percent=r.value(
            section, path, "warning_percent", check.budget_percent, default.warning_percent
        ),
        critical_percent=r.value(
            section, path, "critical_percent", check.budget_percent, default.critical_percent
        ),
        anomaly_factor=r.value(
            section,
            path,
            "anomaly_factor",
            _anomaly_factor,
            None if "anomaly_factor" in section else default.anomaly_factor,
        ),
        teams=_named_budgets(r, section.get("teams"), (*path, "teams")),
        agents=_named_budgets(r, section.get("agents"), (*path, "agents")),
        tags=_tag_budgets(r, section.get("tags"), (*path, "tags")),
        timezone=r.value(section, path, "timezone", _timezone, default.timezone),
        enforce=r.value(section, path, "enforce", check.boolean, default.enforce),
        reservation=_reservation(r, section.get("reservation"), (*path, "reservation")),
    )
    if budgets.warning_percent >= budgets.critical_percent:
        r.fail(
            (*path, "warning_percent"),
            f"must be below critical_percent ({budgets.critical_percent:g})",
        )
    for team in (budget.name for budget in budgets.teams):
        if team_separator in team:
            r.fail(
                (*path, "teams", team),
                f"a team name cannot hold the team separator {team_separator!r}: the "
                "team of an agent is the part of its id before the first separator",
            )
    return budgets

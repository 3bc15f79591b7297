"""Budgets that can stop spend: a call's worst-case cost is reserved against every budget that
applies before the call is made, and replaced by its actual cost after it.

A budget is of everything, of one team or of one agent, per day, week or month (calendar periods
in the tracker's time zone). Reservations live in the cost store, so they hold across every
process and host sharing it, and lapse after a bounded time if their process dies. Runs (one
agent session) cap the spend of every call inside them, nested runs included, in this process.
"""

from __future__ import annotations

import contextvars
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum

from .budgets import check_budget
from .periods import Period, parse_period
from .store import NANO, TOTAL, CostStore, CostStoreError, Hold
from .store.base import is_tag_key

#: The ``name`` label of a global budget (its gauges' and alerts').
GLOBAL_NAME = "all"
#: How long a reservation holds if its call never settles it (its process died).
RESERVATION_SECONDS = 600.0


class BudgetExceededError(RuntimeError):
    """A call would take a budget past its limit, so it was not made.

    ``budget`` names it; ``limit``, ``spent``, ``reserved`` (by calls in flight) and
    ``requested`` are in USD.
    """

    def __init__(
        self,
        budget: str,
        limit: float,
        spent: float,
        reserved: float,
        requested: float,
        *,
        scope: str,
        period: str,
    ) -> None:
        super().__init__(
            f"{budget} of {limit:g} USD would be exceeded: {spent:.6f} USD spent, "
            f"{reserved:.6f} USD reserved by calls in flight, {requested:.6f} USD requested"
        )
        self.budget, self.limit, self.spent = budget, limit, spent
        self.reserved, self.requested = reserved, requested
        #: What refused it (global, team, agent, run; store when the budgets could not be
        #: checked) and over which period (day, week, month; run): the refusal's labels.
        self.scope, self.period = scope, period


WHEN_STORE_FAILS = ("allow", "deny")


class BudgetUnavailableError(BudgetExceededError):
    """The budgets could not be checked (the cost store failed) and the tracker is set to
    refuse calls then (``when_store_fails="deny"``)."""

    def __init__(self, cause: Exception) -> None:
        RuntimeError.__init__(
            self,
            f"the budgets cannot be checked ({cause}), and calls are refused until they can "
            "(when_store_fails='deny')",
        )
        self.budget, self.limit, self.spent, self.reserved, self.requested = "", 0.0, 0.0, 0.0, 0.0
        self.scope, self.period = "store", "unavailable"


class Scope(str, Enum):
    """What a budget limits: all spend, one team's, one agent's, or one attribution tag
    value's (a customer's, a feature's, ...)."""

    GLOBAL = "global"
    TEAM = "team"
    AGENT = "agent"
    TAG = "tag"


#: The tag value of a budget that limits each value of its tag key on its own.
EACH_VALUE = "*"
_NO_TAGS: Mapping[str, str] = {}


def _checked_tag(tag: object) -> tuple[str, str]:
    """A budget's (tag key, value); ValueError naming what is wrong."""
    if not isinstance(tag, tuple) or len(tag) != 2:
        raise ValueError(f"tag must be a (key, value) pair, got {tag!r}")
    key, value = tag
    if not is_tag_key(key):
        raise ValueError(f"tag key {key!r} is not an attribution key (customer, user, ...)")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"tag value must be a non-empty string, got {value!r}")
    return key, value.strip()


@dataclass(frozen=True)
class Budget:
    """A spending limit in USD per calendar period, of everything, of a team, of an agent, or
    of an attribution tag's value: ``tag=("customer", "acme")``, or ``("customer", "*")`` for
    each customer without a budget of its own.

    ``enforce`` makes the tracker refuse calls that would exceed it (``BudgetExceededError``);
    otherwise it is watched only (alerts, gauges) unless the tracker or observer enforces all.
    """

    limit_usd: float
    period: Period = Period.DAY
    team: str | None = None
    agent_id: str | None = None
    enforce: bool = False
    tag: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if check_budget(self.limit_usd, "limit_usd") is None:
            raise ValueError("limit_usd must be a positive number of USD, got None")
        object.__setattr__(self, "period", parse_period(self.period))
        if sum(owner is not None for owner in (self.team, self.agent_id, self.tag)) > 1:
            raise ValueError("a budget limits a team, an agent or a tag value, not several")
        for name in ("team", "agent_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string or None, got {value!r}")
        if self.tag is not None:
            object.__setattr__(self, "tag", _checked_tag(self.tag))

    @property
    def scope(self) -> Scope:
        if self.tag is not None:
            return Scope.TAG
        if self.agent_id is not None:
            return Scope.AGENT
        return Scope.TEAM if self.team is not None else Scope.GLOBAL

    @property
    def scope_label(self) -> str:
        """Its ``scope`` label: global, team, agent, or the tag's key (customer, ...)."""
        return self.tag[0] if self.tag is not None else self.scope.value

    @property
    def key(self) -> str:
        """The rollup key its spend is read from (TOTAL for the global budget)."""
        if self.tag is not None:
            return self.tag[1]
        return self.agent_id or self.team or TOTAL

    @property
    def name(self) -> str:
        """Its ``name`` label: the team, agent or tag value, GLOBAL_NAME for a global budget."""
        return GLOBAL_NAME if self.scope is Scope.GLOBAL else self.key

    @property
    def dim(self) -> str:
        return TOTAL if self.scope is Scope.GLOBAL else self.scope_label

    @property
    def each_value(self) -> bool:
        """Whether it limits each value of its tag on its own (``tag=(key, "*")``)."""
        return self.tag is not None and self.tag[1] == EACH_VALUE

    def applies_to(self, agent_id: str, team: str, tags: Mapping[str, str] = _NO_TAGS) -> bool:
        if self.tag is not None:
            value = tags.get(self.tag[0])
            return value is not None and (self.each_value or value == self.tag[1])
        return self.scope is Scope.GLOBAL or self.key == (
            agent_id if self.scope is Scope.AGENT else team
        )

    def of_value(self, value: str) -> Budget:
        """This budget of each value, as the budget of ``value``."""
        assert self.tag is not None
        return replace(self, tag=(self.tag[0], value))

    def describe(self) -> str:
        """``the daily budget of team 'meetmind'``."""
        adjective = {Period.DAY: "daily", Period.WEEK: "weekly", Period.MONTH: "monthly"}
        owner = "" if self.scope is Scope.GLOBAL else f" of {self.scope_label} {self.key!r}"
        return f"the {adjective[self.period]} budget{owner}"

    def hold(self, day: date) -> Hold:
        """What a reservation on ``day`` must fit in."""
        start = self.period.bounds(day)[0]
        return Hold(self.period.value, start, self.dim, self.key, round(self.limit_usd * NANO))


@dataclass
class Run:
    """One agent run or session: the calls inside it may spend at most ``max_usd`` together."""

    run_id: str
    max_usd: float
    spent_nusd: int = 0
    held_nusd: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def spent(self) -> float:
        return self.spent_nusd / NANO

    def hold(self, amount_nusd: int) -> None:
        """Hold ``amount_nusd`` for a call, or raise BudgetExceededError."""
        with self._lock:
            if self.spent_nusd + self.held_nusd + amount_nusd > round(self.max_usd * NANO):
                raise BudgetExceededError(
                    f"the cap of run {self.run_id!r}",
                    self.max_usd,
                    self.spent_nusd / NANO,
                    self.held_nusd / NANO,
                    amount_nusd / NANO,
                    scope="run",
                    period="run",
                )
            self.held_nusd += amount_nusd

    def settle(self, held_nusd: int, spent_nusd: int) -> None:
        with self._lock:
            self.held_nusd -= held_nusd
            self.spent_nusd += spent_nusd


_RUNS: contextvars.ContextVar[tuple[Run, ...]] = contextvars.ContextVar("llmobs_runs", default=())


@contextmanager
def run(run_id: str, max_usd: float) -> Iterator[Run]:
    """Cap the spend of every enforced call inside (nested runs add their own caps)."""
    if not isinstance(run_id, str) or not run_id:
        raise ValueError(f"run_id must be a non-empty string, got {run_id!r}")
    cap = check_budget(max_usd, "max_usd")
    assert cap is not None
    current = Run(run_id, cap)
    token = _RUNS.set((*_RUNS.get(), current))
    try:
        yield current
    finally:
        _RUNS.reset(token)


def current_runs() -> tuple[Run, ...]:
    """The runs the caller is inside, outermost first."""
    return _RUNS.get()


@dataclass
class Reservation:
    """A call's reserved worst-case cost: settled by recording the call's cost with it
    (``record_cost(..., reservation=...)``), or released if the call is not made."""

    amount_nusd: int
    runs: tuple[Run, ...]
    held_in_store: bool
    id: int = field(default_factory=lambda: secrets.randbits(62))
    open: bool = True

    @property
    def amount(self) -> float:
        """The reserved amount in USD."""
        return self.amount_nusd / NANO


def worst_case_nusd(amount_usd: float | None, priced: float | None) -> int:
    """The amount to reserve: what the caller gave, else the priced worst case, else 0."""
    value = amount_usd if amount_usd is not None else priced
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"max_cost must be a finite number of USD, got {value!r}")
    if value < 0:
        raise ValueError(f"max_cost must not be negative, got {value!r}")
    return round(value * NANO)


class Enforcer:
    """Reserves and releases against the store's budgets and the caller's runs."""

    def __init__(
        self,
        store: CostStore,
        *,
        when_store_fails: str,
        hold_seconds: float,
        store_failed: Callable[[Exception], None],
    ) -> None:
        if when_store_fails not in WHEN_STORE_FAILS:
            raise ValueError(
                f"when_store_fails must be 'allow' or 'deny', got {when_store_fails!r}"
            )
        if (
            isinstance(hold_seconds, bool)
            or not isinstance(hold_seconds, (int, float))
            or not (0 < hold_seconds <= 7 * 86400)
        ):
            raise ValueError(f"reservation_seconds must be in (0, 604800], got {hold_seconds!r}")
        self.store = store
        self.when_store_fails = when_store_fails
        self.hold_seconds = float(hold_seconds)
        self._store_failed = store_failed

    def reserve(self, budgets: Sequence[Budget], day: date, amount_nusd: int) -> Reservation | None:
        """Hold ``amount_nusd`` on every run the caller is in and on every budget of
        ``budgets``; None when there is nothing to hold on. Raises BudgetExceededError naming
        the first that has no room, after releasing what it held."""
        runs = current_runs()
        if not runs and not budgets:
            return None
        held: list[Run] = []
        try:
            for each in runs:
                each.hold(amount_nusd)
                held.append(each)
            reservation = Reservation(amount_nusd, runs, held_in_store=bool(budgets))
            if budgets:
                reservation.held_in_store = self._hold_in_store(reservation, budgets, day)
        except BaseException:
            for each in held:
                each.settle(amount_nusd, 0)
            raise
        return reservation

    def _hold_in_store(
        self, reservation: Reservation, budgets: Sequence[Budget], day: date
    ) -> bool:
        holds = {budget.hold(day): budget for budget in budgets}
        now = time.time()
        try:
            short = self.store.reserve(
                reservation.id, list(holds), reservation.amount_nusd, now, now + self.hold_seconds
            )
        except CostStoreError as exc:
            self._store_failed(exc)
            if self.when_store_fails == "deny":
                raise BudgetUnavailableError(exc) from exc
            return False  # allowed unchecked; nothing is held
        if short is not None:
            budget = holds[short.hold]
            raise BudgetExceededError(
                budget.describe(),
                budget.limit_usd,
                short.spent_nusd / NANO,
                short.held_nusd / NANO,
                reservation.amount,
                scope=budget.scope_label,
                period=budget.period.value,
            )
        return True

    def release(self, reservation: Reservation) -> None:
        """Give back what ``reservation`` held (its call was not made, or cost nothing known)."""
        self.settled(reservation, 0)
        if reservation.held_in_store:
            reservation.held_in_store = False
            try:
                self.store.release(reservation.id)
            except CostStoreError as exc:  # it lapses at its expiry anyway
                self._store_failed(exc)

    def settled(self, reservation: Reservation, spent_nusd: int) -> None:
        """Replace the runs' hold by what the call spent (the store's is replaced on write)."""
        if reservation.open:
            reservation.open = False
            for each in reservation.runs:
                each.settle(reservation.amount_nusd, spent_nusd)

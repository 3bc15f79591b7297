"""A tracker's budgets: the global daily, weekly and monthly ones, saved in the cost store for
every process sharing it, the teams' and agents', the time zone their periods begin in, and the
callbacks fired once when spend crosses a share of one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, tzinfo
from typing import Any

from .budgets import BudgetAlerts, BudgetCallback, budget_status, check_budget, check_percent
from .enforcement import Budget
from .periods import Period, parse_period, parse_timezone
from .store import CostStore, CostStoreError, CostStoreUnavailable, PeriodTotals
from .summaries import usd
from .tracker_options import UNSET, TrackerOptions

logger = logging.getLogger("llmobs")

BUDGET_NAMES = {
    Period.DAY: "daily_budget",
    Period.WEEK: "weekly_budget",
    Period.MONTH: "monthly_budget",
}
BUDGET_PERIODS = {name: period for period, name in BUDGET_NAMES.items()}


class BudgetBook:
    """The budgets of one tracker, and its time zone, agreed with the store it shares.

    A store that cannot be reached at start leaves the book with the budgets and time zone
    it was given, until ``settle_if_unsettled`` agrees on them once the store answers.
    """

    def __init__(
        self,
        store: CostStore,
        options: TrackerOptions,
        internal_error: Callable[[Exception], None],
    ) -> None:
        self.store = store
        self.read_only = options.read_only
        self.enforce = options.enforce
        self.scoped = options.budgets
        self._internal_error = internal_error
        self._lock = threading.Lock()
        self._alerts = BudgetAlerts()
        self._requested_zone = options.timezone
        self._given = options.given_budgets()
        self.timezone: tzinfo = parse_timezone(options.timezone)
        self._global: dict[Period, float | None] = {period: None for period in Period}
        #: Whether the settings wait for the store to answer.
        self.unsettled = False
        try:
            self._settle()
        except CostStoreUnavailable as exc:  # recording goes on in memory until it answers
            self._start_unsettled(exc)

    # -- agreeing with the store ---------------------------------------------------------------

    def _settle(self) -> None:
        """Agree with the store on the time zone, and save the budgets given (the rest are
        read from it)."""
        self.timezone = self._agree_on_timezone(self._requested_zone)
        self._global = self._parse(self.store.get_setting("budgets"))
        self.set_budgets(**self._given)

    def _start_unsettled(self, cause: Exception) -> None:
        for name, value in self._given.items():
            self._global[BUDGET_PERIODS[name]] = value
        self.unsettled = True
        logger.warning(
            "llmobs: %s; the tracker starts with time zone %s and the budgets it was given",
            cause,
            self.timezone,
        )

    def settle_if_unsettled(self) -> None:
        """Once the store answers after being unreachable at start: agree on the settings."""
        if not self.unsettled:
            return
        assumed = self.timezone
        self._settle()
        self.unsettled = False
        if str(self.timezone) != str(assumed):
            logger.warning(
                "llmobs: the cost database's time zone is %s; entries recorded before it "
                "answered were dated in %s",
                self.timezone,
                assumed,
            )

    def _agree_on_timezone(self, requested: str | tzinfo | None) -> tzinfo:
        """The store's time zone; the first process to open a new store sets it, atomically."""
        wanted = parse_timezone(requested)
        saved = self.store.get_setting("timezone")
        if saved is None and not self.read_only:
            saved = self.store.update_setting(
                "timezone", lambda current: str(wanted) if current is None else current
            )
        if saved is None:
            return wanted
        try:
            if not isinstance(saved, str):
                raise ValueError(saved)
            zone = parse_timezone(saved)
        except ValueError:
            raise CostStoreError(
                f"{self.store.location}: the saved time zone {saved!r} is corrupt"
            ) from None
        if requested is not None and str(wanted) != saved:
            raise ValueError(
                f"{self.store.location}: days in this cost database begin in time zone "
                f"{saved!r}, not {str(wanted)!r}; every process sharing it must use the same one"
            )
        return zone

    def _parse(self, saved: object) -> dict[Period, float | None]:
        """Budgets as saved in the store; CostStoreError if they are not budgets."""
        try:
            if saved is None:
                saved = {}
            if not isinstance(saved, dict) or set(saved) - {p.value for p in Period}:
                raise ValueError(saved)
            return {
                period: check_budget(saved.get(period.value), BUDGET_NAMES[period])
                for period in Period
            }
        except ValueError:
            raise CostStoreError(
                f"{self.store.location}: the saved budgets {str(saved)[:120]!r} are corrupt"
            ) from None

    # -- the budgets ---------------------------------------------------------------------------

    def set_budgets(self, **given: float | None) -> None:
        """Save global budgets (by option name; None removes one) for every process."""
        changes = {
            BUDGET_PERIODS[name]: check_budget(value, name)
            for name, value in given.items()
            if value is not UNSET
        }
        if not changes:
            return
        if self.read_only:
            raise ValueError(f"{self.store.location}: opened read-only, budgets cannot be changed")

        def merge(current: object) -> dict[str, float]:
            budgets = {**self._parse(current), **changes}
            return {p.value: amount for p, amount in budgets.items() if amount is not None}

        saved = self.store.update_setting("budgets", merge)
        with self._lock:
            self._global = self._parse(saved)

    def reload(self) -> None:
        """Read the global budgets again from the store (another process may change them)."""
        budgets = self._parse(self.store.get_setting("budgets"))
        with self._lock:
            self._global = budgets

    def of(self, period: Period) -> float | None:
        """The global budget of ``period`` in USD, None if there is none."""
        return self._global[period]

    def every(self) -> list[Budget]:
        """Every budget: the global ones, then the teams' and agents'."""
        global_budgets = [
            Budget(limit, period, enforce=self.enforce)
            for period, limit in self._global.items()
            if limit is not None
        ]
        return global_budgets + list(self.scoped)

    def applying_to(
        self, agent_id: str, team: str, tags: Mapping[str, str] | None = None
    ) -> list[Budget]:
        """Every budget that limits a call of ``agent_id`` of ``team`` carrying ``tags``: a
        budget of each value of a tag becomes the budget of the call's value, unless that value
        has a budget of its own for the period."""
        found = [b for b in self.every() if b.applies_to(agent_id, team, tags or {})]
        own = {(b.dim, b.period) for b in found if b.tag is not None and not b.each_value}
        return [
            budget.of_value(budget_value(budget, tags)) if budget.each_value else budget
            for budget in found
            if not (budget.each_value and (budget.dim, budget.period) in own)
        ]

    def any_enforced(self, enforce_all: bool) -> bool:
        """Whether any budget may refuse a call (all of them, with ``enforce_all``)."""
        if enforce_all or self.enforce:
            return any(v is not None for v in self._global.values()) or bool(self.scoped)
        return any(budget.enforce for budget in self.scoped)

    def status(
        self, period: Period, first: date, last: date, spent: float, threshold: float
    ) -> dict[str, Any]:
        return budget_status(period, first, last, self._global[period], spent, threshold)

    # -- alerts --------------------------------------------------------------------------------

    def add_alert(
        self, callback: BudgetCallback, threshold_percent: float, period: str | Period
    ) -> None:
        if not callable(callback):
            raise ValueError(f"callback must be callable, got {callback!r}")
        threshold = check_percent(threshold_percent)
        which = parse_period(period)
        if self._global[which] is None:
            raise ValueError(
                f"no {which.value} budget is set: pass {BUDGET_NAMES[which]} to the tracker first"
            )
        with self._lock:
            self._alerts.add(which, threshold, callback)

    @property
    def watched(self) -> bool:
        return bool(self._alerts.callbacks)

    def fire_due_alerts(self, totals: PeriodTotals) -> None:
        """Call the callbacks of the thresholds ``totals`` crossed, once across every process."""
        watched = self._alerts.periods()
        for (period_name, first), spent_nusd in totals.items():
            period = Period(period_name)
            budget = self._global[period]
            if period not in watched or budget is None:
                continue
            last = period.bounds(first)[1]
            spent = usd(spent_nusd)
            with self._lock:
                due = self._alerts.due(period, first, spent / budget * 100.0)
                self._alerts.fired.update((period, first, t) for t in due)
            for threshold in due:
                if self.store.claim_alert(period.value, first, threshold, time.time()):
                    status = budget_status(period, first, last, budget, spent, threshold)
                    for callback in self._alerts.callbacks[(period, threshold)]:
                        self._call(callback, status)

    def _call(self, callback: BudgetCallback, status: dict[str, Any]) -> None:
        try:
            callback(status)
        except Exception as exc:
            logger.exception("llmobs budget alert callback %r failed", callback)
            self._internal_error(exc)


def budget_value(budget: Budget, tags: Mapping[str, str] | None) -> str:
    """The value of ``budget``'s tag key among ``tags`` (a call's)."""
    assert budget.tag is not None and tags is not None
    return tags[budget.tag[0]]

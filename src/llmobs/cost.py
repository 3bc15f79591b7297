"""CostTracker: durable spend tracking with daily, weekly and monthly summaries and budgets."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from prometheus_client import CollectorRegistry

from . import values
from .budget_metrics import BudgetCollector
from .budgets import BudgetAlerts, BudgetCallback, budget_status, check_budget, check_percent
from .config_budgets import CONFIG_ENV, tracker_options
from .cost_reports import CostReports
from .enforcement import (
    RESERVATION_SECONDS,
    Budget,
    BudgetExceededError,
    Enforcer,
    Reservation,
    Run,
    current_runs,
    run,
    worst_case_nusd,
)
from .errors import InvalidRecordError, Reason
from .exposition import exposition_registry
from .labels import clean_label_value
from .periods import Period, local_day, parse_period, parse_timezone
from .pricing import LLMCostCalculator
from .store import (
    NANO,
    CostStoreError,
    CostStoreUnavailable,
    PeriodTotals,
    StoredEntry,
    default_path,
    open_store,
    utc_timestamp,
)
from .summaries import usd
from .teams import check_separator, team_before
from .writer import DEFAULT_CAPACITY, EXIT_FLUSH_SECONDS, CostWriter

logger = logging.getLogger("llmobs")

MAX_NAME_LENGTH = 256
PRUNE_EVERY_SECONDS = 3600.0
#: How long a reservation waits for this process's queued records to be written.
RESERVE_FLUSH_SECONDS = 1.0
STORE_ERROR_LOG_EVERY_SECONDS = 60.0
_UNSET: Any = object()
BUDGET_NAMES = {
    Period.DAY: "daily_budget",
    Period.WEEK: "weekly_budget",
    Period.MONTH: "monthly_budget",
}
BUDGET_PERIODS = {name: period for period, name in BUDGET_NAMES.items()}


def _name(value: object, field: str) -> str:
    return clean_label_value(value, field, MAX_NAME_LENGTH)


class CostTracker(CostReports):
    """Records what every LLM request cost and answers how much was spent, by whom, against
    which budget. Data lives in SQLite (shared by every process on the host that opens the same
    file) or PostgreSQL (shared by every replica of a fleet), so it survives restarts.

    ``record_cost`` never waits for the database: entries go to a bounded queue that a
    background thread writes in batches (entries past ``queue_size`` are dropped and counted in
    ``llm_cost_records_dropped_total``). With ``durable=True`` it writes before it returns
    instead, so a returned record survives the process being killed, at the price of waiting
    for the database (up to its 30 s busy timeout). Reports and budget checks include entries
    still queued.

    Example:
        >>> tracker = CostTracker(":memory:", daily_budget=100.0)
        >>> tracker.record_cost(agent_id="meetmind.coordinator", model="gpt-4o",
        ...     provider="openai", prompt_tokens=1000, completion_tokens=500)
        0.0075
        >>> tracker.get_daily_summary().cost_by_team
        {'meetmind': 0.0075}
        >>> tracker.check_budget_threshold(80.0)["is_over_threshold"]
        False

    Args:
        path: the SQLite file (default: ``$LLMOBS_COST_DB`` or
            ``~/.local/share/llmobs/costs.sqlite3``), ``":memory:"`` for no file, or a
            ``postgresql://`` URL (needs ``pip install 'obsgen[postgres]'``).
        daily_budget, weekly_budget, monthly_budget: budgets in USD; when not given, the ones
            saved in the file are used. Weeks run Monday to Sunday, months by the calendar.
        timezone: IANA name of the time zone where days begin (saved in the file; UTC).
        team_of: derives the team from an agent id; default: the part before the first
            ``team_separator`` (``meetmind.coordinator`` -> ``meetmind``).
        retention_days: raw entries older than this are pruned; the rollups are kept.
        calculator: prices requests recorded without a cost; the default calculator if None.
        clock: returns the current time (for tests).
        read_only: open an existing database only to read it (reports); nothing is written.
        durable: write each record before ``record_cost`` returns.
        queue_size: the most records waiting for the background writer.
        budgets: budgets of teams and agents (``Budget``), besides the global ones above.
        enforce: refuse calls that would exceed any budget (else only budgets marked
            ``enforce``); see ``reserve``.
        when_store_fails: "allow" (the default) lets calls through unchecked while the store
            cannot be reached (logged and counted); "deny" refuses them.
        reservation_seconds: how long a reservation holds if its call never settles it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        daily_budget: float | None = _UNSET,
        weekly_budget: float | None = _UNSET,
        monthly_budget: float | None = _UNSET,
        timezone: str | tzinfo | None = None,
        team_of: Callable[[str], str] | None = None,
        team_separator: str = ".",
        retention_days: int | None = None,
        calculator: LLMCostCalculator | None = None,
        clock: Callable[[], datetime] | None = None,
        read_only: bool = False,
        durable: bool = False,
        queue_size: int = DEFAULT_CAPACITY,
        budgets: Iterable[Budget] = (),
        enforce: bool = False,
        when_store_fails: str = "allow",
        reservation_seconds: float = RESERVATION_SECONDS,
    ) -> None:
        if retention_days is not None and (
            isinstance(retention_days, bool)
            or not isinstance(retention_days, int)
            or retention_days < 1
        ):
            raise ValueError(f"retention_days must be a positive integer, got {retention_days!r}")
        try:
            check_separator(team_separator)
        except ValueError as exc:
            raise ValueError(f"team_separator {exc}") from None
        self._scoped_budgets = tuple(budgets)
        if not all(isinstance(budget, Budget) for budget in self._scoped_budgets):
            raise ValueError("budgets must be llmobs.Budget objects")
        self.enforce = bool(enforce)
        self.read_only = read_only
        self.durable = bool(durable)
        self.store = open_store(default_path() if path is None else path, read_only=read_only)
        self.path = self.store.location
        self._team_of = team_of or team_before(team_separator)
        self._retention_days = retention_days
        self._calculator = calculator
        self._clock = clock or (lambda: datetime.now(tz=self.timezone))
        self._alerts = BudgetAlerts()
        self._lock = threading.Lock()
        given = {"daily_budget": daily_budget, "weekly_budget": weekly_budget}
        given["monthly_budget"] = monthly_budget
        #: What to agree on with the store once it answers, if it did not at start.
        self._unsettled: tuple[str | tzinfo | None, dict[str, Any]] | None = None
        try:
            try:
                self._settle_settings(timezone, given)
            except CostStoreUnavailable as exc:  # recording goes on in memory until it answers
                self._start_unsettled(exc, timezone, given)
        except BaseException:
            self.store.close()  # a tracker that cannot start holds no connection
            raise
        self._enforcer = Enforcer(
            self.store,
            when_store_fails=when_store_fails,
            hold_seconds=reservation_seconds,
            store_failed=self._write_failed,
        )
        self._writer = CostWriter(
            self.store,
            written=self._after_write,
            failed=self._write_failed,
            dropped=self._dropped,
            capacity=queue_size,
        )
        self._next_error_log = 0.0
        self._next_prune = 0.0
        self._exported: tuple[CollectorRegistry, BudgetCollector] | None = None
        self._prune_if_due()

    def _settle_settings(self, timezone: str | tzinfo | None, given: dict[str, Any]) -> None:
        """Agree with the store on the time zone, and save the budgets given (the rest are
        read from it)."""
        self.timezone = self._agree_on_timezone(timezone)
        self._budgets = self._parse_budgets(self.store.get_setting("budgets"))
        self.set_budgets(**given)

    def _start_unsettled(
        self, cause: Exception, timezone: str | tzinfo | None, given: dict[str, Any]
    ) -> None:
        """Start with the settings given, the store being unreachable; agree on them with it
        after its first write."""
        self.timezone = parse_timezone(timezone)
        self._budgets = {period: None for period in Period}
        for name, value in given.items():
            if value is not _UNSET:
                self._budgets[BUDGET_PERIODS[name]] = check_budget(value, name)
        self._unsettled = (timezone, given)
        logger.warning(
            "llmobs: %s; the tracker starts with time zone %s and the budgets it was given",
            cause,
            self.timezone,
        )

    def _settle_if_unsettled(self) -> None:
        """Once the store answers after being unreachable at start: agree on the settings."""
        if self._unsettled is None:
            return
        timezone, given = self._unsettled
        assumed = self.timezone
        self._settle_settings(timezone, given)
        self._unsettled = None
        if str(self.timezone) != str(assumed):
            logger.warning(
                "llmobs: the cost database's time zone is %s; entries recorded before it "
                "answered were dated in %s",
                self.timezone,
                assumed,
            )

    @classmethod
    def from_config(
        cls,
        config: str | os.PathLike[str] | None = None,
        path: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> CostTracker:
        """A tracker with the budgets of ``obsgen.yaml`` (``config``, else ``$LLMOBS_CONFIG``,
        else ``obsgen.yaml``): the global daily, weekly and monthly budgets, the teams' and
        agents' budgets, which are enforced, their time zone and the team separator: the
        numbers the generated alerts use.
        ``options`` are the other ``CostTracker`` arguments (and override the config's)."""
        return cls(path, **{**tracker_options(config), **options})

    # -- configuration -------------------------------------------------------------------------

    def _agree_on_timezone(self, requested: str | tzinfo | None) -> tzinfo:
        """The file's time zone; the first process to open a new file sets it, atomically."""
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
            raise CostStoreError(f"{self.path}: the saved time zone {saved!r} is corrupt") from None
        if requested is not None and str(wanted) != saved:
            raise ValueError(
                f"{self.path}: days in this cost database begin in time zone {saved!r}, "
                f"not {str(wanted)!r}; every process sharing it must use the same one"
            )
        return zone

    def _parse_budgets(self, saved: object) -> dict[Period, float | None]:
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
                f"{self.path}: the saved budgets {str(saved)[:120]!r} are corrupt"
            ) from None

    def set_budgets(
        self,
        *,
        daily_budget: float | None = _UNSET,
        weekly_budget: float | None = _UNSET,
        monthly_budget: float | None = _UNSET,
    ) -> None:
        """Set budgets in USD (None removes one); they are saved in the file for every process
        and for ``obsgen costs``. A budget not passed keeps its value."""
        given = {Period.DAY: daily_budget, Period.WEEK: weekly_budget, Period.MONTH: monthly_budget}
        changes = {
            period: check_budget(value, BUDGET_NAMES[period])
            for period, value in given.items()
            if value is not _UNSET
        }
        if not changes:
            return
        if self.read_only:
            raise ValueError(f"{self.path}: opened read-only, budgets cannot be changed")

        def merge(current: object) -> dict[str, float]:
            budgets = {**self._parse_budgets(current), **changes}
            return {p.value: amount for p, amount in budgets.items() if amount is not None}

        saved = self.store.update_setting("budgets", merge)
        with self._lock:
            self._budgets = self._parse_budgets(saved)

    def reload_budgets(self) -> None:
        """Read the budgets again from the store, as another process may have changed them."""
        budgets = self._parse_budgets(self.store.get_setting("budgets"))
        with self._lock:
            self._budgets = budgets

    def budget(self, period: str | Period = Period.DAY) -> float | None:
        """The budget of ``period`` in USD, None if there is none."""
        return self._budgets[parse_period(period)]

    @property
    def daily_budget(self) -> float | None:
        return self._budgets[Period.DAY]

    @property
    def calculator(self) -> LLMCostCalculator:
        return self._calculator or LLMCostCalculator.default()

    # -- recording -----------------------------------------------------------------------------

    def record_cost(
        self,
        agent_id: str,
        model: str,
        provider: str,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        *,
        cache_read_tokens: int | None = 0,
        cache_write_tokens: int | None = 0,
        cost: float | None = None,
        at: datetime | None = None,
        reservation: Reservation | None = None,
    ) -> float:
        """Record one request's cost and return it in USD.

        The cost is computed from current prices unless ``cost`` is given. The entry is
        queued for the background writer, or, with ``durable=True``, on disk once this
        returns. With the call's ``reservation`` (from ``reserve``) it is written at once and
        replaces what the reservation held. Bad input is rejected and counted (0.0 is
        returned, a reservation released), or raised as ``ValueError`` when the metrics are
        in strict mode.
        """
        metrics = self.calculator.metrics
        try:
            entry = self._entry(
                agent_id,
                model,
                provider,
                prompt_tokens,
                completion_tokens,
                cache_read_tokens,
                cache_write_tokens,
                cost,
                at,
            )
        except InvalidRecordError as error:
            self._release_quietly(reservation)
            metrics.count_rejection(error)
            return 0.0
        except Exception as exc:
            self._release_quietly(reservation)
            metrics.count_internal_error(exc)
            return 0.0
        if reservation is not None and reservation.open:
            return self._settle(entry, reservation)
        if not self.durable:
            self._writer.submit(entry)
            return usd(entry.cost_nusd)
        try:
            totals = self.store.add_batch([entry])
        except Exception as exc:
            self._write_failed(exc)
            self._dropped("store_error", 1)
            return usd(entry.cost_nusd)
        self._after_write([entry], totals)
        return usd(entry.cost_nusd)

    def _settle(self, entry: StoredEntry, reservation: Reservation) -> float:
        """Write ``entry`` now, releasing its reservation in the same transaction; if the
        store fails, queue it for the writer (the reservation then lapses at its expiry)."""
        self._enforcer.settled(reservation, entry.cost_nusd)
        settled = (reservation.id,) if reservation.held_in_store else ()
        try:
            totals = self.store.add_batch([entry], settled)
        except Exception as exc:
            self._write_failed(exc)
            self._writer.submit(entry)
            return usd(entry.cost_nusd)
        self._after_write([entry], totals)
        return usd(entry.cost_nusd)

    def _release_quietly(self, reservation: Reservation | None) -> None:
        if reservation is not None and reservation.open:
            self._enforcer.release(reservation)

    # -- enforcement ---------------------------------------------------------------------------

    def budgets(self) -> list[Budget]:
        """Every budget: the global ones (``daily_budget`` ...), then the teams' and agents'."""
        global_budgets = [
            Budget(limit, period, enforce=self.enforce)
            for period, limit in self._budgets.items()
            if limit is not None
        ]
        return global_budgets + list(self._scoped_budgets)

    def budgets_for(self, agent_id: str) -> list[Budget]:
        """Every budget that limits ``agent_id``: the global ones, its team's and its own."""
        agent = _name(agent_id, "agent_id")
        team = _name(self._team_of(agent), "team")
        return [budget for budget in self.budgets() if budget.applies_to(agent, team)]

    def export_metrics(self, registry: CollectorRegistry | None = None) -> None:
        """Export the budget gauges (``llm_budget_limit_usd``, ``_spent_usd``,
        ``_reserved_usd``) where ``/metrics`` is served from (``registry``, by default the
        default one, or in multiprocess mode every worker's aggregate). ValueError if another
        tracker exports them there already."""
        if self._exported is not None:
            return
        collector = BudgetCollector(
            self.store,
            self.budgets,
            lambda: local_day(self._clock(), self.timezone),
            lambda: self.timezone,
            self._write_failed,
        )
        target = exposition_registry(registry)
        try:
            target.register(collector)
        except ValueError:
            raise ValueError(
                "another cost tracker exports the budget gauges on this registry already; "
                "export one tracker's, or give each its own registry"
            ) from None
        self._exported = (target, collector)

    def reserve(
        self,
        agent_id: str,
        model: str = "unknown",
        provider: str = "unknown",
        *,
        max_cost: float | None = None,
        prompt_tokens: int = 0,
        max_tokens: int | None = None,
        enforce_all: bool = False,
    ) -> Reservation | None:
        """Reserve a call's worst-case cost before making it, or raise BudgetExceededError
        naming the budget it would exceed (the call must then not be made).

        The amount is ``max_cost`` (USD), else the model's price for ``prompt_tokens`` in and
        ``max_tokens`` out, else 0 (which still refuses calls once a budget is spent). It is
        held on every enforced budget of the agent (``enforce_all``: on every budget) and on
        every run the caller is in, across all processes sharing the store. Settle it with
        ``record_cost(..., reservation=...)``, or ``release`` it if the call is not made.
        Returns None when nothing applies (nothing to settle).
        """
        agent = _name(agent_id, "agent_id")
        priced = None
        if max_cost is None and max_tokens is not None:
            priced = self.calculator.cost_of(
                _name(model, "model"),
                values.token_count(prompt_tokens, "prompt_tokens"),
                values.token_count(max_tokens, "max_tokens"),
                provider=_name(provider, "provider"),
            )
        amount = worst_case_nusd(max_cost, priced)
        enforced = [b for b in self.budgets_for(agent) if enforce_all or b.enforce or self.enforce]
        if enforced:  # what this process recorded is spent: write its queue first (briefly)
            self._writer.catch_up(RESERVE_FLUSH_SECONDS)
        try:
            return self._enforcer.reserve(enforced, local_day(self._clock(), self.timezone), amount)
        except BudgetExceededError as refused:
            self.calculator.metrics.count_budget_refusal(agent, refused.scope, refused.period)
            raise

    def enforcing(self, enforce_all: bool = False) -> bool:
        """Whether a call may have something to reserve on: an enforced budget, or a run."""
        if current_runs():
            return True
        if enforce_all or self.enforce:
            return any(v is not None for v in self._budgets.values()) or bool(self._scoped_budgets)
        return any(budget.enforce for budget in self._scoped_budgets)

    def release(self, reservation: Reservation | None) -> None:
        """Give back a reservation whose call was not made (or failed with no known cost)."""
        self._release_quietly(reservation)

    def run(self, run_id: str, max_usd: float) -> AbstractContextManager[Run]:
        """``with tracker.run("run-42", max_usd=2.0):`` caps the spend of every call reserved
        inside it (by ``reserve`` or an enforcing observer), nested runs included."""
        return run(run_id, max_usd)

    def _entry(
        self,
        agent_id: object,
        model: object,
        provider: object,
        prompt_tokens: object,
        completion_tokens: object,
        cache_read_tokens: object,
        cache_write_tokens: object,
        cost: object,
        at: object,
    ) -> StoredEntry:
        agent, model_name, provider_name = (
            _name(agent_id, "agent_id"),
            _name(model, "model"),
            _name(provider, "provider"),
        )
        prompt = values.token_count(prompt_tokens, "prompt_tokens")
        completion = values.token_count(completion_tokens, "completion_tokens")
        cache_read = values.optional_token_count(cache_read_tokens, "cache_read_tokens")
        cache_write = values.optional_token_count(cache_write_tokens, "cache_write_tokens")
        moment = self._moment(at)
        if cost is None:
            usd_cost = self.calculator.cost_of(
                model_name,
                prompt,
                completion,
                provider=provider_name,
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
                at=moment,
            )
            if usd_cost is None:
                self.calculator.warn_unpriced(model_name, provider_name)
            else:
                usd_cost = values.cost_usd(usd_cost, "computed cost")
        else:
            usd_cost = values.cost_usd(cost)
        return StoredEntry(
            ts=moment.timestamp(),
            day=local_day(moment, self.timezone),
            agent_id=agent,
            model=model_name,
            provider=provider_name,
            team=_name(self._team_of(agent), "team"),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cost_nusd=0 if usd_cost is None else round(usd_cost * NANO),
            priced=usd_cost is not None,
            uid=random.getrandbits(128).to_bytes(16, "little"),  # reseeded in forked children
        )

    def _moment(self, at: object) -> datetime:
        if at is None:
            return self._clock()
        if not isinstance(at, datetime):
            raise InvalidRecordError(Reason.INVALID_LABEL, f"at must be a datetime, got {at!r}")
        return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)

    def _after_write(self, entries: object, totals: PeriodTotals) -> None:
        """After entries are stored: fire budget alerts that are due, prune when it is time."""
        if self._unsettled is not None:
            try:
                self._settle_if_unsettled()
            except Exception as exc:
                self._write_failed(exc)
        if self._alerts.callbacks:
            try:
                self._fire_due_alerts(totals)
            except Exception as exc:
                logger.exception("llmobs budget alert check failed")
                self.calculator.metrics.count_internal_error(exc)
        self._prune_if_due()

    def _write_failed(self, exc: Exception) -> None:
        """Count a failed write; log its cause at most once a minute."""
        self.calculator.metrics.count_cost_store_error()
        now = time.monotonic()
        if now >= self._next_error_log:
            self._next_error_log = now + STORE_ERROR_LOG_EVERY_SECONDS
            action = "the entry is lost" if self.durable else "queued entries are kept and retried"
            logger.error("llmobs could not store cost entries: %s; %s", exc, action)

    def _dropped(self, reason: str, count: int) -> None:
        self.calculator.metrics.count_dropped_cost_records(reason, count)
        if reason == "queue_full":
            now = time.monotonic()
            if now >= self._next_error_log:
                self._next_error_log = now + STORE_ERROR_LOG_EVERY_SECONDS
                logger.error(
                    "llmobs dropped cost entries: the write queue for %s is full (%d); counted "
                    "in llm_cost_records_dropped_total",
                    self.path,
                    self._writer.capacity,
                )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record so far is stored; False if ``timeout`` seconds passed."""
        return self._writer.flush(timeout)

    def _prune_if_due(self) -> None:
        if self._retention_days is None or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        cutoff = self._clock() - timedelta(days=self._retention_days)
        self.store.prune_entries(utc_timestamp(cutoff))

    # -- budgets -------------------------------------------------------------------------------

    def _spent_nusd(self, period: Period, day: date) -> int:
        """Spend in the period containing ``day``: stored plus still queued."""
        first, last = period.bounds(day)
        return self.store.total_nusd(period.value, first) + self._writer.pending_nusd(first, last)

    def check_budget_threshold(
        self, threshold_percent: float = 80.0, period: str | Period = Period.DAY
    ) -> dict[str, Any]:
        """How much of the current period's budget is spent.

        Returns ``is_over_threshold`` and ``percent_used`` as the seed describes, plus
        ``budget``, ``spent``, ``remaining``, ``is_over_budget`` and the period's bounds. With no
        budget for the period, ``budget`` and ``percent_used`` are None and nothing is over.
        """
        threshold = check_percent(threshold_percent)
        which = parse_period(period)
        today = local_day(self._clock(), self.timezone)
        first, last = which.bounds(today)
        spent = usd(self._spent_nusd(which, today))
        return budget_status(which, first, last, self._budgets[which], spent, threshold)

    def add_budget_alert(
        self,
        callback: BudgetCallback,
        threshold_percent: float = 80.0,
        period: str | Period = Period.DAY,
    ) -> None:
        """Call ``callback(status)`` once per period when spend crosses ``threshold_percent`` of
        the period's budget; ``status`` is what ``check_budget_threshold`` returns.

        Once means once across every process sharing the database: the first one to see the
        crossing fires it. A callback that raises is logged and never reaches the caller.
        """
        if not callable(callback):
            raise ValueError(f"callback must be callable, got {callback!r}")
        threshold = check_percent(threshold_percent)
        which = parse_period(period)
        if self._budgets[which] is None:
            raise ValueError(
                f"no {which.value} budget is set: pass {BUDGET_NAMES[which]} to the tracker first"
            )
        with self._lock:
            self._alerts.add(which, threshold, callback)

    def _fire_due_alerts(self, totals: PeriodTotals) -> None:
        watched = self._alerts.periods()
        for (period_name, first), spent_nusd in totals.items():
            period = Period(period_name)
            budget = self._budgets[period]
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
            self.calculator.metrics.count_internal_error(exc)

    def close(self, timeout: float | None = EXIT_FLUSH_SECONDS) -> bool:
        """Store what is queued (waiting at most ``timeout`` seconds; what is still queued then
        is dropped and counted), then close the database and stop exporting the budget
        gauges. Returns whether nothing was lost. A store that is failing gets one more attempt,
        not the whole ``timeout``."""
        if self._exported is not None:
            registry, collector = self._exported
            self._exported = None
            registry.unregister(collector)
        stored = self._writer.close(timeout)
        self.store.close()
        return stored


_trackers: dict[str, CostTracker] = {}
_trackers_lock = threading.Lock()


def get_cost_tracker(
    daily_budget: float | None = _UNSET,
    *,
    path: str | os.PathLike[str] | None = None,
    **options: Any,
) -> CostTracker:
    """The process-wide tracker of the cost database at ``path`` (see ``CostTracker``).

    Asking again for the same database returns the same tracker; budgets passed then update it.
    With ``$LLMOBS_CONFIG`` set, its budgets are the defaults (see ``CostTracker.from_config``).
    The first one exports the budget gauges (``export_metrics``) on the default registry.
    """
    target = default_path() if path is None else os.fspath(path)
    is_file = target != ":memory:" and "://" not in target
    key = os.path.abspath(target) if is_file else target
    with _trackers_lock:
        tracker = _trackers.get(key)
        if tracker is None:
            configured = tracker_options() if os.environ.get(CONFIG_ENV) else {}
            if daily_budget is not _UNSET:
                configured["daily_budget"] = daily_budget
            tracker = CostTracker(target, **{**configured, **options})
            _trackers[key] = tracker
            with contextlib.suppress(ValueError):  # the first one's gauges are served
                tracker.export_metrics()
            return tracker
    budgets = {
        name: options[name] for name in ("weekly_budget", "monthly_budget") if name in options
    }
    tracker.set_budgets(daily_budget=daily_budget, **budgets)
    return tracker

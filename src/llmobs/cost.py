"""CostTracker: durable spend tracking with daily, weekly and monthly summaries and budgets.

The tracker is a thin front over four parts: recording (``recording``: entries priced, queued or
written), budgets (``budget_book``: global, team and agent budgets, time zone, alerts),
enforcement (``reserving``: worst-case reservations before calls) and reading
(``cost_reports``: summaries, breakdowns, history). Its options are one ``TrackerOptions``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import date, datetime, tzinfo
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from .attribution_metrics import AttributionCollector
from .budget_book import BUDGET_NAMES, BudgetBook
from .budget_metrics import BudgetCollector
from .budgets import BudgetCallback, check_percent
from .config_budgets import tracker_options
from .configfile.location import configured
from .cost_reports import CostReports
from .enforcement import Budget, Enforcer, Reservation, Run, run
from .exposition import exposition_registry
from .periods import Period, local_day, parse_period
from .pricing import LLMCostCalculator
from .recording import Recorder, StoreTrouble, clean_name
from .reserving import RESERVE_FLUSH_SECONDS, Reserver
from .store import default_path, open_store
from .summaries import usd
from .teams import team_before
from .tracker_options import UNSET, TrackerOptions
from .writer import EXIT_FLUSH_SECONDS

__all__ = ["RESERVE_FLUSH_SECONDS", "UNSET", "CostTracker", "TrackerOptions", "get_cost_tracker"]


class CostTracker(CostReports):
    """Records what every LLM request cost and answers how much was spent, by whom, against
    which budget. Data lives in SQLite (shared by every process on the host that opens the same
    file) or PostgreSQL (shared by every replica of a fleet), so it survives restarts.

    ``record_cost`` never waits for the database: entries go to a bounded queue that a
    background thread writes in batches (entries past ``queue_size`` are dropped and counted in
    ``llm_cost_records_dropped_total``). With ``durable=True`` it returns only once its entry is
    committed, so a returned record survives the process being killed and the database
    restarting; while the database fails it keeps trying for ``durable_timeout`` seconds, then
    raises ``CostStoreError`` (the entry counted as dropped). Reports and budget checks include
    entries still queued.

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
        options: a ``TrackerOptions`` (budgets, time zone, teams, enforcement, durability,
            queue, retention, calculator, clock, read-only); see it for each.
        **overrides: any of those options by name, over ``options`` (or the defaults):
            ``CostTracker(path, daily_budget=100.0, timezone="Europe/Stockholm")``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        options: TrackerOptions | None = None,
        **overrides: Any,
    ) -> None:
        self.options = (options or TrackerOptions()).with_overrides(**overrides)
        opts = self.options
        self.store = open_store(default_path() if path is None else path, read_only=opts.read_only)
        self.path = self.store.location
        self._team_of = opts.team_of or team_before(opts.team_separator)
        self._clock: Callable[[], datetime] = opts.clock or (lambda: datetime.now(tz=self.timezone))
        trouble = StoreTrouble(lambda: self.calculator, self.path)
        try:
            self.book = BudgetBook(self.store, opts, self._internal_error)
        except BaseException:
            self.store.close()  # a tracker that cannot start holds no connection
            raise
        self._enforcer = Enforcer(
            self.store,
            when_store_fails=opts.when_store_fails,
            hold_seconds=opts.reservation_seconds,
            store_failed=trouble.write_failed,
        )
        self._recorder = Recorder(
            self.store,
            opts,
            self.book,
            self._enforcer,
            trouble,
            lambda: self.calculator,
            self._clock,
            self._team_of,
        )
        self._writer = self._recorder.writer
        self._reserver = Reserver(
            self._enforcer,
            self.book,
            self._writer,
            opts,
            lambda: self.calculator,
            self._today_local,
            self._team_of,
        )
        self._exported: list[tuple[CollectorRegistry, Collector]] = []

    @classmethod
    def from_config(
        cls,
        config: str | os.PathLike[str] | None = None,
        path: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> CostTracker:
        """A tracker with the budgets of ``obsgen.yaml`` (``config``, else ``$LLMOBS_CONFIG``,
        else ``obsgen.yaml``): the global daily, weekly and monthly budgets, the teams' and
        agents' budgets, which are enforced, what an enforced call reserves, their time zone
        and the team separator: the numbers the generated alerts use.
        ``options`` are the other ``CostTracker`` options (and override the config's)."""
        return cls(path, **{**tracker_options(config), **options})

    # -- what it is ----------------------------------------------------------------------------

    @property
    def tag_keys(self) -> frozenset[str]:
        """The attribution tag keys calls may carry: customer, user, feature, environment
        and the ``attribution_keys`` option's."""
        return self.options.tag_keys

    @functools.cached_property
    def labelled_tags(self) -> frozenset[str]:
        """The tag keys also counted in Prometheus, by value (``labelled_tags``)."""
        return frozenset(self.options.labelled_tags)

    @property
    def timezone(self) -> tzinfo:
        """The time zone where this tracker's days, weeks and months begin."""
        return self.book.timezone

    @property
    def enforce(self) -> bool:
        return self.options.enforce

    @property
    def durable(self) -> bool:
        return self.options.durable

    @property
    def read_only(self) -> bool:
        return self.options.read_only

    @property
    def calculator(self) -> LLMCostCalculator:
        return self.options.calculator or LLMCostCalculator.default()

    def _internal_error(self, exc: Exception) -> None:
        self.calculator.metrics.count_internal_error(exc)

    def _today_local(self) -> date:
        return local_day(self._clock(), self.timezone)

    # -- budgets -------------------------------------------------------------------------------

    def set_budgets(
        self,
        *,
        daily_budget: float | None = UNSET,
        weekly_budget: float | None = UNSET,
        monthly_budget: float | None = UNSET,
    ) -> None:
        """Set budgets in USD (None removes one); they are saved in the store for every process
        and for ``obsgen costs``. A budget not passed keeps its value."""
        self.book.set_budgets(
            daily_budget=daily_budget, weekly_budget=weekly_budget, monthly_budget=monthly_budget
        )

    def reload_budgets(self) -> None:
        """Read the budgets again from the store, as another process may have changed them."""
        self.book.reload()

    def budget(self, period: str | Period = Period.DAY) -> float | None:
        """The budget of ``period`` in USD, None if there is none."""
        return self.book.of(parse_period(period))

    @property
    def daily_budget(self) -> float | None:
        return self.book.of(Period.DAY)

    def budgets(self) -> list[Budget]:
        """Every budget: the global ones (``daily_budget`` ...), then the teams' and agents'."""
        return self.book.every()

    def budgets_for(self, agent_id: str) -> list[Budget]:
        """Every budget that limits ``agent_id``: the global ones, its team's and its own."""
        agent = clean_name(agent_id, "agent_id")
        return self.book.applying_to(agent, clean_name(self._team_of(agent), "team"))

    def check_budget_threshold(
        self, threshold_percent: float = 80.0, period: str | Period = Period.DAY
    ) -> dict[str, Any]:
        """How much of the current period's budget is spent.

        Returns ``is_over_threshold`` and ``percent_used`` as the original API describes, plus
        ``budget``, ``spent``, ``remaining``, ``is_over_budget`` and the period's bounds. With no
        budget for the period, ``budget`` and ``percent_used`` are None and nothing is over.
        """
        threshold = check_percent(threshold_percent)
        which = parse_period(period)
        first, last = which.bounds(self._today_local())
        spent = self.store.total_nusd(which.value, first) + self._writer.pending_nusd(first, last)
        return self.book.status(which, first, last, usd(spent), threshold)

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
        self.book.add_alert(callback, threshold_percent, period)

    def export_metrics(self, registry: CollectorRegistry | None = None) -> None:
        """Export the budget gauges (``llm_budget_limit_usd``, ``_spent_usd``,
        ``_reserved_usd``) and the biggest spenders per attribution tag
        (``llm_attributed_spend_usd``) where ``/metrics`` is served from (``registry``, by
        default the default one, or in multiprocess mode every worker's aggregate). ValueError
        if another tracker exports them there already."""
        if self._exported:
            return
        failed = self._recorder.trouble.write_failed
        collectors: list[Collector] = [
            BudgetCollector(
                self.store, self.book.every, self._today_local, lambda: self.timezone, failed
            ),
            AttributionCollector(self.store, self.tag_keys, self._today_local, failed),
        ]
        target = exposition_registry(registry)
        try:
            for collector in collectors:
                target.register(collector)
                self._exported.append((target, collector))
        except ValueError:
            self._unexport()
            raise ValueError(
                "another cost tracker exports the budget gauges on this registry already; "
                "export one tracker's, or give each its own registry"
            ) from None

    def _unexport(self) -> None:
        while self._exported:
            registry, collector = self._exported.pop()
            registry.unregister(collector)

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
        tags: Mapping[str, object] | None = None,
    ) -> float:
        """Record one request's cost and return it in USD.

        ``tags`` attribute it (``customer``, ``user``, ``feature``, ``environment``, and the
        tracker's ``attribution_keys``), over those of the current ``llmobs.attribute`` block.

        The cost is computed from current prices unless ``cost`` is given. The entry is
        queued for the background writer, or, with ``durable=True``, committed once this
        returns (CostStoreError if it cannot be within ``durable_timeout``). With the call's
        ``reservation`` (from ``reserve``) it is written at once and replaces what the
        reservation held. Bad input is rejected and counted (0.0 is returned, a reservation
        released), or raised as ``ValueError`` when the metrics are in strict mode.
        """
        fields: dict[str, object] = {
            "agent_id": agent_id,
            "model": model,
            "provider": provider,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "cache_read_tokens": cache_read_tokens,
            "cache_write_tokens": cache_write_tokens,
            "cost": cost,
            "at": at,
            "tags": tags,
        }
        return self._recorder.record(fields, reservation)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record so far is stored; False if ``timeout`` seconds passed."""
        return self._writer.flush(timeout)

    # -- enforcement ---------------------------------------------------------------------------

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
        service_tier: str | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> Reservation | None:
        """Reserve a call's worst-case cost before making it, or raise BudgetExceededError
        naming the budget it would exceed (the call must then not be made).

        The amount is ``max_cost`` (USD), else the model's price on ``service_tier`` for
        ``prompt_tokens`` in and ``max_tokens`` out (``reserve_output_tokens`` when the call
        sets no output limit). ``tags`` (over the current ``llmobs.attribute`` block's) bring
        in the budgets of the call's tag values. It is
        held on every enforced budget of the agent (``enforce_all``: on every budget) and on
        every run the caller is in, across all processes sharing the store. Settle it with
        ``record_cost(..., reservation=...)``, or ``release`` it if the call is not made.
        Returns None when nothing applies (nothing to settle).
        """
        return self._reserver.reserve(
            agent_id,
            model,
            provider,
            max_cost=max_cost,
            prompt_tokens=prompt_tokens,
            max_tokens=max_tokens,
            enforce_all=enforce_all,
            service_tier=service_tier,
            tags=tags,
        )

    def enforcing(self, enforce_all: bool = False) -> bool:
        """Whether a call may have something to reserve on: an enforced budget, or a run."""
        return self._reserver.enforcing(enforce_all)

    @property
    def reserve_media_tokens(self) -> int:
        """Prompt tokens an enforced call reserves per image, audio clip or file it sends."""
        return self.options.reserve_media_tokens

    def release(self, reservation: Reservation | None) -> None:
        """Give back a reservation whose call was not made (or failed with no known cost)."""
        self._recorder.release_quietly(reservation)

    def run(self, run_id: str, max_usd: float) -> AbstractContextManager[Run]:
        """``with tracker.run("run-42", max_usd=2.0):`` caps the spend of every call reserved
        inside it (by ``reserve`` or an enforcing observer), nested runs included."""
        return run(run_id, max_usd)

    # -- closing -------------------------------------------------------------------------------

    def close(self, timeout: float | None = EXIT_FLUSH_SECONDS) -> bool:
        """Store what is queued (waiting at most ``timeout`` seconds; what is still queued then
        is dropped and counted), then close the database and stop exporting the budget
        gauges. Returns whether nothing was lost. A store that is failing gets one more attempt,
        not the whole ``timeout``."""
        self._unexport()
        stored = self._writer.close(timeout)
        self.store.close()
        return stored


_trackers: dict[str, CostTracker] = {}
_trackers_lock = threading.Lock()


def get_cost_tracker(
    daily_budget: float | None = UNSET,
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
            from_config = tracker_options() if configured() else {}
            if daily_budget is not UNSET:
                from_config["daily_budget"] = daily_budget
            tracker = CostTracker(target, **{**from_config, **options})
            _trackers[key] = tracker
            with contextlib.suppress(ValueError):  # the first one's gauges are served
                tracker.export_metrics()
            return tracker
    budgets = {name: options[name] for name in BUDGET_NAMES.values() if name in options}
    budgets["daily_budget"] = daily_budget
    tracker.set_budgets(**budgets)
    return tracker

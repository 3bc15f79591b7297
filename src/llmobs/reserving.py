"""The enforcing side of a cost tracker: what a call's worst case costs, reserved on every
budget that enforces and every run the caller is in before the call is made."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from . import values
from .attribution import clean_tags, uncounted
from .budget_book import BudgetBook
from .enforcement import BudgetExceededError, Enforcer, Reservation, current_runs, worst_case_nusd
from .pricing import LLMCostCalculator
from .recording import clean_name
from .tracker_options import TrackerOptions
from .writer import CostWriter

#: How long a reservation waits for this process's queued records to be written.
RESERVE_FLUSH_SECONDS = 1.0


class Reserver:
    """Sizes and places one tracker's reservations."""

    def __init__(
        self,
        enforcer: Enforcer,
        book: BudgetBook,
        writer: CostWriter,
        options: TrackerOptions,
        calculator: Callable[[], LLMCostCalculator],
        today: Callable[[], date],
        team_of: Callable[[str], str],
    ) -> None:
        self.enforcer, self.book, self.writer = enforcer, book, writer
        self.output_tokens = options.reserve_output_tokens
        self.media_tokens = options.reserve_media_tokens
        self.tag_keys = options.tag_keys
        self._calculator, self._today, self._team_of = calculator, today, team_of

    def worst_case(
        self,
        model: str,
        provider: str,
        max_cost: float | None,
        prompt_tokens: int,
        max_tokens: int | None,
        service_tier: str | None = None,
    ) -> int:
        """What to reserve in nano-USD: ``max_cost``, else the model's price on ``service_tier``
        for ``prompt_tokens`` in and ``max_tokens`` (or the default output reservation) out."""
        if max_cost is not None:
            return worst_case_nusd(max_cost, None)
        output = self.output_tokens if max_tokens is None else max_tokens
        priced = self._calculator().cost_of(
            clean_name(model, "model"),
            values.token_count(prompt_tokens, "prompt_tokens"),
            values.token_count(output, "max_tokens"),
            provider=clean_name(provider, "provider"),
            service_tier=service_tier,
        )
        return worst_case_nusd(None, priced)

    def reserve(
        self,
        agent_id: str,
        model: str,
        provider: str,
        *,
        max_cost: float | None,
        prompt_tokens: int,
        max_tokens: int | None,
        enforce_all: bool,
        service_tier: str | None = None,
        tags: object = None,
    ) -> Reservation | None:
        """See ``CostTracker.reserve``."""
        agent = clean_name(agent_id, "agent_id")
        amount = self.worst_case(model, provider, max_cost, prompt_tokens, max_tokens, service_tier)
        team = clean_name(self._team_of(agent), "team")
        # Bad tags are counted when the call is recorded; here they only go unbudgeted.
        call_tags = dict(clean_tags(tags, self.tag_keys, uncounted))
        enforced = [
            budget
            for budget in self.book.applying_to(agent, team, call_tags)
            if enforce_all or budget.enforce or self.book.enforce
        ]
        if enforced:  # what this process recorded is spent: write its queue first (briefly)
            self.writer.catch_up(RESERVE_FLUSH_SECONDS)
        try:
            return self.enforcer.reserve(enforced, self._today(), amount)
        except BudgetExceededError as refused:
            self._calculator().metrics.count_budget_refusal(agent, refused.scope, refused.period)
            raise

    def enforcing(self, enforce_all: bool) -> bool:
        """Whether a call may have something to reserve on: an enforced budget, or a run."""
        return bool(current_runs()) or self.book.any_enforced(enforce_all)

"""The budget gauges a cost tracker exports: each budget's limit, what its calendar period has
spent, what calls in flight hold on it and when the period ends, read from the cost store
when Prometheus scrapes.

Every replica sharing the store reports the same values, so dashboards and alerts aggregate
them with ``max``. Reads are cached for a few seconds, so a burst of scrapers costs the store
one read per budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, tzinfo

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .enforcement import Budget
from .periods import period_end
from .schema import BUDGET_LIMIT, BUDGET_PERIOD_END, BUDGET_RESERVED, BUDGET_SPENT
from .scrape_cache import ScrapeCache
from .store import NANO, CostStore

logger = logging.getLogger("llmobs")

#: The values of a budget of each tag value (each customer's) exported: those spending most.
EACH_VALUE_EXPORTED = 20

#: One budget's labels; its limit, spent and reserved in USD; when its period ends.
BudgetRow = tuple[tuple[str, str, str], float, float, float, float]


class BudgetCollector(Collector):
    """Collects ``llm_budget_*`` for the budgets ``budgets()`` returns (a tracker's)."""

    def __init__(
        self,
        store: CostStore,
        budgets: Callable[[], Sequence[Budget]],
        today: Callable[[], date],
        zone: Callable[[], tzinfo],
        failed: Callable[[Exception], None],
    ) -> None:
        self._store, self._budgets, self._today, self._failed = store, budgets, today, failed
        self._zone = zone
        self._cache = ScrapeCache(self._read, failed)

    def _exported(self, today: date) -> list[Budget]:
        """The budgets with gauges: every budget of the tracker, but for a budget of each value
        of a tag, the EACH_VALUE_EXPORTED values that spent most this period (without a budget
        of their own): bounded however many values there are."""
        budgets = list(self._budgets())
        own = {(b.dim, b.key, b.period) for b in budgets if b.tag is not None}
        exported = []
        for budget in budgets:
            if not budget.each_value:
                exported.append(budget)
                continue
            start = budget.period.bounds(today)[0]
            top = self._store.ranked(
                budget.period.value, start, budget.dim, EACH_VALUE_EXPORTED + len(own)
            )
            values = [row.key for row in top if (budget.dim, row.key, budget.period) not in own]
            exported += [budget.of_value(value) for value in values[:EACH_VALUE_EXPORTED]]
        return exported

    def _read(self) -> list[BudgetRow]:
        rows = []
        now, today, zone = time.time(), self._today(), self._zone()
        for budget in self._exported(today):
            spent, held = self._store.spent_and_held(budget.hold(today), now)
            labels = (budget.scope_label, budget.name, budget.period.value)
            ends = period_end(budget.period, today, zone)
            rows.append((labels, budget.limit_usd, spent / NANO, held / NANO, ends))
        return rows

    def rows(self) -> list[BudgetRow]:
        """The budgets' values, read again when the last read is older than CACHE_SECONDS."""
        return self._cache.rows()

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
            for spec in (BUDGET_LIMIT, BUDGET_SPENT, BUDGET_RESERVED, BUDGET_PERIOD_END)
        ]

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The gauges' names, so a registry refuses a second exporter (and reads nothing)."""
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = self._families()
        for labels, *values in self.rows():
            for family, value in zip(families, values, strict=True):
                family.add_metric(labels, value)
        yield from families

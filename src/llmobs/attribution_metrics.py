"""The bounded view of attribution a cost tracker exports: per tag key (customer, user, ...),
the values that spent most in the current day and month, read from the cost store's rollups
when Prometheus scrapes (``llm_attributed_spend_usd``). The store keeps every value; Prometheus
gets the biggest few, never a series per customer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .periods import Period
from .schema import ATTRIBUTED_SPEND
from .scrape_cache import ScrapeCache
from .store import NANO, CostStore

#: The values exported per tag key and period.
TOP_VALUES = 10
PERIODS = (Period.DAY, Period.MONTH)

Row = tuple[tuple[str, str, str], float]


class AttributionCollector(Collector):
    """Collects ``llm_attributed_spend_usd`` for a tracker's tag keys."""

    def __init__(
        self,
        store: CostStore,
        tag_keys: frozenset[str],
        today: Callable[[], date],
        failed: Callable[[Exception], None],
    ) -> None:
        self._store, self._keys, self._today = store, sorted(tag_keys), today
        self._cache = ScrapeCache(self._read, failed)

    def _read(self) -> list[Row]:
        today, rows = self._today(), []
        for period in PERIODS:
            start = period.bounds(today)[0]
            for key in self._keys:
                for row in self._store.ranked(period.value, start, key, TOP_VALUES):
                    rows.append(((key, row.key, period.value), row.cost_nusd / NANO))
        return rows

    def rows(self) -> list[Row]:
        """The exported values, read again when the last read is older than CACHE_SECONDS."""
        return self._cache.rows()

    @staticmethod
    def _family() -> GaugeMetricFamily:
        spec = ATTRIBUTED_SPEND
        return GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        for labels, value in self.rows():
            family.add_metric(labels, value)
        yield family

"""Cost summaries built from the store's rollups: a day, a week, a month, or any range of days."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from .store import DIMENSIONS, NANO, TOTAL, RollupRow

Date = date  # the type, where a field named ``date`` hides it

BREAKDOWNS = (*DIMENSIONS, "day")


def usd(nano_dollars: int) -> float:
    """Nano-dollars as USD."""
    return round(nano_dollars / NANO, 9)


@dataclass
class Totals:
    """The sums of a period (or any range of days), with spend and requests broken down by
    each dimension and by day."""

    cost_nusd: int = 0
    requests: int = 0
    unpriced: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    by: dict[str, dict[str, int]] = field(
        default_factory=lambda: {name: defaultdict(int) for name in BREAKDOWNS}
    )
    requests_by: dict[str, dict[str, int]] = field(
        default_factory=lambda: {name: defaultdict(int) for name in BREAKDOWNS}
    )

    @classmethod
    def of(cls, rows: Iterable[RollupRow], days: Iterable[RollupRow]) -> Totals:
        """Totals from rollup rows (summed, so that the rows of several days make a range) and
        the day totals of the same days."""
        totals = cls()
        for row in rows:
            if row.dim == TOTAL:
                totals.cost_nusd += row.cost_nusd
                totals.requests += row.requests
                totals.unpriced += row.unpriced
                totals.prompt_tokens += row.prompt_tokens
                totals.completion_tokens += row.completion_tokens
                totals.cache_read_tokens += row.cache_read_tokens
                totals.cache_write_tokens += row.cache_write_tokens
            else:
                totals.by[row.dim][row.key] += row.cost_nusd
                totals.requests_by[row.dim][row.key] += row.requests
        for day in days:
            totals.by["day"][day.start.isoformat()] += day.cost_nusd
            totals.requests_by["day"][day.start.isoformat()] += day.requests
        return totals

    def cost_by(self, name: str) -> dict[str, float]:
        """Spend in USD by ``name`` (agent, model, provider, team or day), highest first."""
        ranked = sorted(self.by[name].items(), key=lambda item: (-item[1], item[0]))
        return {key: usd(value) for key, value in ranked}

    def as_dict(self) -> dict[str, Any]:
        """The totals and every breakdown, as plain values."""
        return {
            "total_cost": usd(self.cost_nusd),
            "total_requests": self.requests,
            "unpriced_requests": self.unpriced,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            **{f"cost_by_{name}": self.cost_by(name) for name in BREAKDOWNS},
            "requests_by_agent": dict(sorted(self.requests_by["agent"].items())),
        }


class PeriodCostSummary(dict[str, Any]):
    """A week's or month's spend: a dict (``weekly["total_cost"]``, JSON as it is) whose keys
    also read as attributes (``weekly.total_cost``), like ``DailyCostSummary``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class DailyCostSummary(Mapping[str, Any]):
    """One day's spend (in the tracker's time zone), with breakdowns and token totals.

    ``unpriced_requests`` counts requests of models with no known price, recorded at 0 USD:
    when it is above 0, ``total_cost`` is a lower bound.
    """

    date: Date
    total_cost: float
    total_requests: int
    unpriced_requests: int
    cost_by_agent: dict[str, float]
    cost_by_model: dict[str, float]
    cost_by_provider: dict[str, float]
    cost_by_team: dict[str, float]
    requests_by_agent: dict[str, int]
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def of(cls, day: Date, totals: Totals) -> DailyCostSummary:
        values = totals.as_dict()
        return cls(
            date=day,
            **{name: values[name] for name in cls.__dataclass_fields__ if name != "date"},
        )

    def __getitem__(self, key: str) -> Any:
        """``summary["total_cost"]`` as well as ``summary.total_cost``, like the weekly and
        monthly summaries."""
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "date": self.date.isoformat(), "total_tokens": self.total_tokens}

"""Budgets per period, their status, and callbacks fired once when a threshold is crossed."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .periods import Period

BudgetCallback = Callable[[dict[str, Any]], object]


def check_budget(value: object, name: str) -> float | None:
    """A budget in USD: None (no budget) or a finite positive number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of USD or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of USD, got {value!r}")
    return float(value)


def check_percent(value: object, name: str = "threshold_percent") -> float:
    """A threshold in percent of the budget: a finite number above 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive percentage, got {value!r}")
    return float(value)


def budget_status(
    period: Period,
    start: date,
    end: date,
    budget: float | None,
    spent: float,
    threshold_percent: float,
) -> dict[str, Any]:
    """What ``check_budget_threshold`` answers: the threshold check, with the budget, spend and what
    remains.

    ``percent_used`` is rounded to two decimals; the comparisons use the exact value.
    """
    percent = None if budget is None else spent / budget * 100.0
    return {
        "period": period.value,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "budget": budget,
        "spent": round(spent, 6),
        "remaining": None if budget is None else round(budget - spent, 6),
        "percent_used": None if percent is None else round(percent, 2),
        "threshold_percent": threshold_percent,
        "is_over_threshold": percent is not None and percent >= threshold_percent,
        "is_over_budget": budget is not None and spent > budget,
    }


@dataclass
class BudgetAlerts:
    """Callbacks per (period, threshold), and which alerts this process knows have fired."""

    callbacks: dict[tuple[Period, float], list[BudgetCallback]] = field(default_factory=dict)
    fired: set[tuple[Period, date, float]] = field(default_factory=set)

    def add(self, period: Period, threshold: float, callback: BudgetCallback) -> None:
        self.callbacks.setdefault((period, threshold), []).append(callback)

    def periods(self) -> set[Period]:
        return {period for period, _ in self.callbacks}

    def due(self, period: Period, start: date, percent_used: float) -> list[float]:
        """Thresholds of ``period`` crossed and not yet known to have fired, lowest first."""
        return sorted(
            threshold
            for (p, threshold) in self.callbacks
            if p is period and percent_used >= threshold and (p, start, threshold) not in self.fired
        )

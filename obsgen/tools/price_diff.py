"""What changes between two sets of model prices: models added, removed and repriced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

#: The standard prices compared, by genai-prices' field, with the name shown.
FIELDS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache read",
    "cache_write_mtok": "cache write",
    "requests_kcount": "per 1k requests",
}

Prices = dict[str, float]


def _amount(value: Any) -> float | None:
    """A price as a number: a flat price, or the base of a tiered one."""
    if value is None:
        return None
    if isinstance(value, (Decimal, int, float)):
        return float(value)
    base = getattr(value, "base", None)
    return None if base is None else float(base)


def standard_prices(snapshot: Any, at: datetime) -> dict[str, Prices]:
    """Each model's standard prices at ``at``, by ``provider/model``."""
    found: dict[str, Prices] = {}
    for provider in snapshot.providers:
        for model in provider.models:
            price = model.get_prices(at)
            amounts = {field: _amount(getattr(price, field, None)) for field in FIELDS}
            found[f"{provider.id}/{model.id}"] = {k: v for k, v in amounts.items() if v is not None}
    return found


@dataclass(frozen=True)
class PriceDiff:
    """The models only in the new prices, only in the old, and those whose prices differ."""

    added: dict[str, Prices]
    removed: dict[str, Prices]
    changed: dict[str, tuple[Prices, Prices]]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        """One line per model that changed, then a summary."""
        shown = [f"+ {name}: {_listed(self.added[name])}" for name in sorted(self.added)]
        shown += [f"- {name}" for name in sorted(self.removed)]
        shown += [f"~ {name}: {_changes(*self.changed[name])}" for name in sorted(self.changed)]
        shown.append(
            f"models added: {len(self.added):,}, removed: {len(self.removed):,}, repriced: "
            f"{len(self.changed):,}, unchanged: {self.unchanged:,} (USD per million tokens)"
        )
        return shown


def diff(old: dict[str, Prices], new: dict[str, Prices]) -> PriceDiff:
    """How ``new`` differs from ``old``."""
    changed = {
        name: (old[name], new[name]) for name in old.keys() & new.keys() if old[name] != new[name]
    }
    return PriceDiff(
        added={name: new[name] for name in new.keys() - old.keys()},
        removed={name: old[name] for name in old.keys() - new.keys()},
        changed=changed,
        unchanged=len(old.keys() & new.keys()) - len(changed),
    )


def _listed(prices: Prices) -> str:
    return ", ".join(f"{FIELDS[k]} {v:g}" for k, v in prices.items()) or "no standard price"


def _changes(before: Prices, after: Prices) -> str:
    parts = []
    for field, name in FIELDS.items():
        if before.get(field) != after.get(field):
            parts.append(f"{name} {_shown(before.get(field))} -> {_shown(after.get(field))}")
    return ", ".join(parts)


def _shown(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"

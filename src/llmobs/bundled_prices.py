"""Model prices from genai-prices' bundled data, used offline and converted to TokenRates once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .rates import Rate, TieredRate, TokenRates

#: Provider names services commonly use, mapped to genai-prices' provider ids.
PROVIDER_ALIASES = {
    "gemini": "google",
    "google-gla": "google",
    "vertex": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "claude": "anthropic",
    "bedrock": "aws",
    "aws-bedrock": "aws",
    "azure_openai": "azure",
    "azure-openai": "azure",
    "xai": "x-ai",
}


def _rate(value: Any) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    tiers = tuple(sorted((int(t.start), float(t.price)) for t in value.tiers))
    return TieredRate(base=float(value.base), tiers=tiers)


def rates_from_model_price(price: Any) -> TokenRates:
    """Convert a genai-prices ModelPrice to TokenRates (text tokens and per-request fees)."""
    per_thousand_requests = getattr(price, "requests_kcount", None)
    return TokenRates(
        input=_rate(getattr(price, "input_mtok", None)) or 0.0,
        output=_rate(getattr(price, "output_mtok", None)) or 0.0,
        cache_read=_rate(getattr(price, "cache_read_mtok", None)),
        cache_write=_rate(getattr(price, "cache_write_mtok", None)),
        per_request=float(per_thousand_requests) / 1000 if per_thousand_requests else 0.0,
    )


@dataclass(frozen=True)
class BundledModel:
    """A model found in the bundled data, with its prices over time.

    ``schedule`` lists (constraint, rates) in the data's order; the last active one applies,
    as genai-prices resolves conditional prices.
    """

    provider_id: str
    model_id: str
    schedule: tuple[tuple[Any, TokenRates], ...]

    def rates_at(self, at: datetime) -> TokenRates:
        """The rates in force at ``at``."""
        if len(self.schedule) == 1:
            return self.schedule[0][1]
        for constraint, rates in reversed(self.schedule):
            if constraint is None or constraint.active(at):
                return rates
        return self.schedule[0][1]

    @property
    def changes_over_time(self) -> bool:
        return len(self.schedule) > 1


def _known_provider(provider: str | None) -> str | None:
    if provider is None:
        return None
    from genai_prices import data_snapshot

    name = PROVIDER_ALIASES.get(provider, provider)
    snapshot = data_snapshot.get_snapshot()
    return name if any(p.id == name for p in snapshot.providers) else None


def find_bundled_model(model: str, provider: str | None) -> BundledModel | None:
    """Look ``model`` up in the bundled data; None if it has no price there.

    A provider genai-prices knows restricts the search to it; an unknown provider (a proxy, a
    gateway) searches every provider by model name.
    """
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    try:
        found_provider, info = snapshot.find_provider_model(
            model, None, _known_provider(provider), None
        )
    except LookupError:
        return None
    if isinstance(info.prices, list):
        schedule = tuple((c.constraint, rates_from_model_price(c.prices)) for c in info.prices)
    else:
        schedule = ((None, rates_from_model_price(info.prices)),)
    return BundledModel(provider_id=found_provider.id, model_id=info.id, schedule=schedule)

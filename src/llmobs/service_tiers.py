"""Service tiers: what a call's tokens cost when the provider served it batch, flex or priority.

The same tokens are billed by how the call was served. OpenAI reports the tier in the
response's ``service_tier`` (``default``, ``flex``, ``priority``; a request asking for priority
that OpenAI serves as standard says ``default``), Anthropic in ``usage.service_tier``
(``standard``, ``priority``, ``batch``); a batch job's results or a Gemini batch call name it
through the caller (``set_usage(service_tier="batch")``).

A tier's price is, in this order: a price file entry with ``service_tier``; the tier's prices in
genai-prices' data (its price variants: OpenAI priority and flex, batch for OpenAI, Anthropic,
Google and others); else the providers' published rule, here: batch (OpenAI, Anthropic, Gemini,
Bedrock) and flex (OpenAI) cost half of every token price, cache prices included, and fees per
request and per search are not discounted. Anthropic's ``priority`` is bought by commitment and
billed at the list price; ``default``, ``standard``, ``auto`` and ``scale`` are the standard
rates. A tier with no price from any of these is priced at the standard rates and logged once.
"""

from __future__ import annotations

from .errors import InvalidRecordError, Reason
from .rates import TokenRates

#: Tiers billed as a fraction of the standard token prices: (provider id, tier) -> factor.
DISCOUNTS: dict[tuple[str, str], float] = {
    ("openai", "batch"): 0.5,
    ("openai", "flex"): 0.5,
    ("azure", "batch"): 0.5,
    ("anthropic", "batch"): 0.5,
    ("google", "batch"): 0.5,
    ("aws", "batch"): 0.5,
}

#: The names providers give the tier that costs the list price.
STANDARD_TIERS = frozenset({"default", "standard", "auto", "scale", "on_demand", "standard_only"})

#: Every tier a price file may name.
KNOWN_TIERS = frozenset({"batch", "flex", "priority"}) | STANDARD_TIERS


def tier_name(value: object) -> str | None:
    """The tier a response or caller named, lower-cased; None for none or a standard tier.

    InvalidRecordError if it is not text."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRecordError(
            Reason.INVALID_LABEL, f"service_tier must be a string, got {value!r}"
        )
    name = value.strip().lower()
    return None if not name or name in STANDARD_TIERS else name


def tier_rates(standard: TokenRates, provider_id: str | None, tier: str) -> TokenRates | None:
    """The rates of ``tier`` by the providers' published rule, derived from the ``standard``
    ones; None if there is no rule for this provider and tier."""
    factor = DISCOUNTS.get((provider_id or "", tier))
    if factor is not None:
        return standard.scaled(factor)
    if tier == "priority" and provider_id == "anthropic":  # bought by commitment, list price
        return standard
    return None

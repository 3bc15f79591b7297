"""Service tiers: what a call's tokens cost when the provider served it batch, flex or priority.

The same tokens are billed by how the call was served. OpenAI reports the tier in the
response's ``service_tier`` (``default``, ``flex``, ``priority``), Anthropic in
``usage.service_tier`` (``standard``, ``priority``, ``batch``); a batch job's results or a
Gemini batch call name it through the caller (``set_usage(service_tier="batch")``).

- batch (OpenAI, Anthropic, Gemini, Bedrock) and flex (OpenAI): half of every token price,
  cache prices included (cache multipliers stack with the discount); fees per request and
  per web search are not discounted.
- priority (OpenAI): a price list of its own per model (openai.com/api-priority-processing);
  requests of more than 128k prompt tokens are not served as priority and cost the standard
  rates.
- Anthropic's ``priority`` is bought by commitment and billed at the list price; ``default``,
  ``standard``, ``auto`` and ``scale`` are the standard rates.

A tier with no price here (a model without a priority price, a tier a provider does not
offer) is priced at the standard rates and logged once.

A price file entry with ``service_tier`` prices a model on that tier and wins over all of this.
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

#: OpenAI's priority processing prices, USD per million tokens: (input, cached input, output),
#: by genai-prices' model id (openai.com/api-priority-processing).
OPENAI_PRIORITY: dict[str, tuple[float, float | None, float]] = {
    "gpt-5.4": (5.00, 0.500, 30.00),
    "gpt-5.4-mini": (1.50, 0.150, 9.00),
    "gpt-5.2": (3.50, 0.350, 28.00),
    "gpt-5.1": (2.50, 0.250, 20.00),
    "gpt-5": (2.50, 0.250, 20.00),
    "gpt-5-mini": (0.45, 0.045, 3.60),
    "gpt-4.1": (3.50, 0.875, 14.00),
    "gpt-4.1-mini": (0.70, 0.175, 2.80),
    "gpt-4.1-nano": (0.20, 0.050, 0.80),
    "gpt-4o": (4.25, 2.125, 17.00),
    "gpt-4o-2024-05-13": (8.75, None, 26.25),
    "gpt-4o-mini": (0.25, 0.125, 1.00),
    "o3": (3.50, 0.875, 14.00),
    "o4-mini": (2.00, 0.500, 8.00),
}

#: Prompts longer than this are not served as priority (billed at the standard rates).
PRIORITY_MAX_PROMPT_TOKENS = 128_000

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


def tier_rates(
    standard: TokenRates, provider_id: str | None, model_id: str, tier: str, prompt_tokens: int
) -> TokenRates | None:
    """The rates of ``tier`` derived from the ``standard`` ones; None if this module knows
    no price of the tier for this provider and model (the standard rates then apply)."""
    factor = DISCOUNTS.get((provider_id or "", tier))
    if factor is not None:
        return standard.scaled(factor)
    if tier == "priority" and provider_id == "anthropic":  # bought by commitment, list price
        return standard
    if tier == "priority" and provider_id == "openai":
        if prompt_tokens > PRIORITY_MAX_PROMPT_TOKENS:
            return standard
        listed = OPENAI_PRIORITY.get(model_id)
        if listed is None:
            return None
        price_in, price_cached, price_out = listed
        return TokenRates(
            input=price_in,
            output=price_out,
            cache_read=price_cached,
            per_request=standard.per_request,
            per_web_search=standard.per_web_search,
        )
    return None

"""Model prices from genai-prices' data (bundled, or a file fetched by ``obsgen prices update``),
converted to TokenRates once."""

from __future__ import annotations

from dataclasses import dataclass, replace
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


#: Published prices genai-prices' data lacks, filled in where its entry has none:
#: (provider id, model id) -> field -> rate. Gemini 1.5 Pro context-cache reads are USD 0.3125 per
#: million tokens up to 128k prompt tokens and USD 0.625 above (ai.google.dev/pricing). OpenAI's
#: audio chat models bill audio apart from text: USD 40 per million audio input tokens and 80 per
#: million audio output tokens for gpt-4o-audio-preview, 10 and 20 for its mini
#: (openai.com/api/pricing, audio tokens).
SUPPLEMENTS: dict[tuple[str, str], dict[str, Rate]] = {
    ("google", "gemini-1.5-pro"): {
        "cache_read": TieredRate(base=0.3125, tiers=((128_000, 0.625),)),
    },
    ("openai", "gpt-4o-audio-preview"): {"audio_input": 40.0, "audio_output": 80.0},
    ("openai", "gpt-4o-mini-audio-preview"): {"audio_input": 10.0, "audio_output": 20.0},
}


def _rate(value: Any) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    tiers = tuple(sorted((int(t.start), float(t.price)) for t in value.tiers))
    return TieredRate(base=float(value.base), tiers=tiers)


def _per_one(per_thousand: Decimal | None) -> float:
    return float(per_thousand) / 1000 if per_thousand else 0.0


def _per_unit(price: Any, names: tuple[str, ...], units: float) -> float:
    """The first of the ``names`` prices ``price`` has, per one of ``units`` (0 if none)."""
    for name in names:
        value = getattr(price, name, None)
        if value:
            return float(value) / units
    return 0.0


def rates_from_model_price(price: Any, supplement: dict[str, Rate] | None = None) -> TokenRates:
    """Convert a genai-prices ModelPrice to TokenRates (text, audio and image tokens, audio by
    the hour, characters by the million, fees per request and per web search), filling fields
    it lacks from ``supplement``."""
    rates = TokenRates(
        input=_rate(getattr(price, "input_mtok", None)) or 0.0,
        output=_rate(getattr(price, "output_mtok", None)) or 0.0,
        cache_read=_rate(getattr(price, "cache_read_mtok", None)),
        cache_write=_rate(getattr(price, "cache_write_mtok", None)),
        cache_write_1h=_rate(getattr(price, "cache_write_1h_mtok", None)),
        per_request=_per_one(getattr(price, "requests_kcount", None)),
        per_web_search=_per_one(getattr(price, "web_searches_kcount", None)),
        audio_input=_rate(getattr(price, "input_audio_mtok", None)),
        image_input=_rate(getattr(price, "input_image_mtok", None)),
        audio_output=_rate(getattr(price, "output_audio_mtok", None)),
        per_audio_second=_per_unit(price, ("input_audio_hours", "audio_hours"), 3600),
        per_input_character=_per_unit(price, ("input_mchars",), 1_000_000),
    )
    missing = {k: v for k, v in (supplement or {}).items() if getattr(rates, k) is None}
    return replace(rates, **missing) if missing else rates  # type: ignore[arg-type]


@dataclass(frozen=True)
class BundledModel:
    """A model found in the bundled data, with its prices over time.

    ``schedule`` lists (constraint, rates) in the data's order; the last active one applies,
    as genai-prices resolves conditional prices.
    """

    provider_id: str
    model_id: str
    schedule: tuple[tuple[Any, TokenRates], ...]
    #: genai-prices' own entry, whose price variants price the service tiers it lists.
    info: Any = None
    supplement: dict[str, Rate] | None = None

    def rates_at(self, at: datetime) -> TokenRates:
        """The rates in force at ``at``."""
        if len(self.schedule) == 1:
            return self.schedule[0][1]
        for constraint, rates in reversed(self.schedule):
            if constraint is None or constraint.active(at):
                found: TokenRates = rates
                return found
        return self.schedule[0][1]

    @property
    def changes_over_time(self) -> bool:
        return len(self.schedule) > 1

    def tier_rates_at(self, at: datetime, tier: str) -> TokenRates | None:
        """The rates of ``tier`` at ``at`` where the data lists them (its price variants for
        ``service_tier``, or ``processing`` for batch); None where it does not."""
        context = {"processing": "batch"} if tier == "batch" else {"service_tier": tier}
        variants = getattr(self.info, "price_variants", None) or ()
        if not any(_applies(variant, context, at) for variant in variants):
            return None
        return rates_from_model_price(self.info.get_prices(at, context), self.supplement)


def _applies(variant: Any, context: dict[str, str], at: datetime) -> bool:
    """Whether a genai-prices price variant prices a call of ``context`` made at ``at``."""
    active = variant.constraint is None or variant.constraint.active(at)
    return active and all(context.get(key) == value for key, value in variant.when.items())


def _known_provider(provider: str | None, snapshot: Any) -> str | None:
    if provider is None:
        return None
    name = PROVIDER_ALIASES.get(provider, provider)
    return name if any(p.id == name for p in snapshot.providers) else None


def find_bundled_model(
    model: str, provider: str | None, snapshot: Any = None
) -> BundledModel | None:
    """Look ``model`` up in genai-prices' data (``snapshot``, a ``DataSnapshot``; the bundled
    data if None); None if it has no price there.

    The provider's own price list is searched first (aliases such as ``gemini`` or ``bedrock``
    map to genai-prices' ids); a model it does not list, or an unknown provider (a proxy, a
    gateway), is looked up across every provider by model name.
    """
    if snapshot is None:
        from genai_prices import data_snapshot

        snapshot = data_snapshot.get_snapshot()
    known = _known_provider(provider, snapshot)
    # The provider's own list first; a model it does not list (a gateway's naming) model-wide.
    for provider_id in dict.fromkeys((known, None)):
        try:
            found_provider, info = snapshot.find_provider_model(model, None, provider_id, None)
            break
        except LookupError:
            continue
    else:
        return None
    supplement = SUPPLEMENTS.get((found_provider.id, info.id))
    if isinstance(info.prices, list):
        schedule = tuple(
            (c.constraint, rates_from_model_price(c.prices, supplement)) for c in info.prices
        )
    else:
        schedule = ((None, rates_from_model_price(info.prices, supplement)),)
    return BundledModel(
        provider_id=found_provider.id,
        model_id=info.id,
        schedule=schedule,
        info=info,
        supplement=supplement,
    )

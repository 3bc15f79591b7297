"""LLMCostCalculator: the USD cost of an LLM request from current model prices."""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import values
from .bundled_prices import PROVIDER_ALIASES, BundledModel, find_bundled_model
from .errors import InvalidRecordError, Reason
from .price_data import PRICE_DATA_ENV, PriceData, bundled_price_data
from .price_overrides import PriceFileError, PriceOverride, find_override
from .price_sources import PRICES_FILE_ENV, RELOAD_SECONDS, PriceSources, read_sources, watch
from .rates import NO_MEDIA, Media, TokenRates
from .service_tiers import tier_name, tier_rates
from .usage import TokenUsage

if TYPE_CHECKING:
    from .metrics import LLMMetrics

logger = logging.getLogger("llmobs")

UNKNOWN_PROVIDER = "unknown"
MAX_WARNED_UNPRICED = 1_000
MAX_CACHED_PRICINGS = 10_000


@dataclass(frozen=True)
class ModelPricing:
    """Where a model's price comes from and what it is.

    ``source`` is ``"override"`` (the user's price file) or ``"genai-prices"`` (its data:
    bundled, or a file fetched by ``obsgen prices update``).
    """

    model: str
    provider: str | None
    source: str
    priced_as: str
    _rates: TokenRates | None = None
    _bundled: BundledModel | None = None

    def rates_at(self, at: datetime) -> TokenRates:
        """The rates in force at ``at``."""
        if self._rates is not None:
            return self._rates
        assert self._bundled is not None
        return self._bundled.rates_at(at)

    @property
    def changes_over_time(self) -> bool:
        return self._bundled is not None and self._bundled.changes_over_time

    def tier_rates_at(self, at: datetime, tier: str) -> TokenRates | None:
        """The data's rates of ``tier`` at ``at``; None where it lists none (a price file's
        model, or a tier the data does not price)."""
        return None if self._bundled is None else self._bundled.tier_rates_at(at, tier)

    @property
    def provider_id(self) -> str | None:
        """genai-prices' id of the provider whose price this is (by alias for a price file's)."""
        if self._bundled is not None:
            return self._bundled.provider_id
        return None if self.provider is None else PROVIDER_ALIASES.get(self.provider, self.provider)


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecordError(
            Reason.INVALID_LABEL if not isinstance(value, str) else Reason.EMPTY_LABEL,
            f"{field} must be a non-empty string, got {value!r}",
        )
    return value.strip().lower()


def _checked_media(media: object) -> Media:
    """``media`` with every count checked; InvalidRecordError naming a bad one."""
    if not isinstance(media, Media):
        raise InvalidRecordError(Reason.INVALID_TOKENS, f"media must be a Media, got {media!r}")
    if not media:
        return NO_MEDIA
    for name in ("audio_input_tokens", "image_input_tokens", "audio_output_tokens"):
        values.token_count(getattr(media, name), name)
    values.token_count(media.input_characters, "input_characters")
    values.duration_seconds(media.audio_seconds, "audio_seconds")
    return media


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


class _DefaultOrInstance:
    """Makes a method callable on the class, where it uses the process-wide default instance."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self._function = function
        self.__doc__ = function.__doc__

    def __get__(self, instance: Any, owner: Any) -> Callable[..., Any]:
        return types.MethodType(
            self._function, instance if instance is not None else owner.default()
        )


class LLMCostCalculator:
    """Computes the USD cost of an LLM request from current prices for GPT, Claude, Gemini and
    every other model genai-prices knows, with the user's overrides winning.

    Prices come from genai-prices' bundled data, offline. A model's price is resolved once and
    cached, so a priced call costs about a microsecond. A model with no price costs 0, is
    counted in ``llm_unpriced_requests_total{model,provider}`` and logged once.

    Token convention: ``prompt_tokens`` counts every input token, cached ones included;
    ``cache_read_tokens`` and ``cache_write_tokens`` are parts of it priced at their own rates.
    For Anthropic, whose ``input_tokens`` leaves cache tokens out, pass their sum.

    Example:
        >>> LLMCostCalculator.calculate_cost("gpt-4o", 1000, 500)   # the process-wide default
        0.0075
        >>> calc = LLMCostCalculator(overrides=[])
        >>> calc.calculate_cost("claude-3-5-sonnet-20241022", 10_000, 1_000,
        ...     provider="anthropic", cache_read_tokens=8_000)
        0.0234

    A price file that is missing or wrong raises ``PriceFileError`` here, at construction.
    The process-wide default calculator (``LLMCostCalculator.default()``, used when no
    calculator is given) instead logs that error once and prices from the bundled data.

    Files are read again when they change (looked at every ``reload_seconds``, or at once with
    ``reload()``), without a restart; a changed file that is wrong is logged and the prices
    already in use are kept. ``llm_price_data_timestamp_seconds`` says when the price data in
    use was fetched.

    Args:
        overrides: a YAML price file (path), parsed overrides, or None for the file named by
            ``LLMOBS_PRICES_FILE`` if set.
        metrics: where unpriced and rejected requests are counted; ``get_llm_metrics()`` if None.
        price_data: genai-prices' data as ``obsgen prices update`` fetches it (path, or read
            with ``llmobs.price_data.load_price_data``), or None for the file named by
            ``LLMOBS_PRICE_DATA`` if set, else the bundled data.
        reload_seconds: how often to look whether the files changed; 0 never looks.
    """

    _default: LLMCostCalculator | None = None
    _default_lock = threading.Lock()

    def __init__(
        self,
        overrides: str | Path | Sequence[PriceOverride] | None = None,
        *,
        metrics: LLMMetrics | None = None,
        price_data: str | Path | PriceData | None = None,
        reload_seconds: float = RELOAD_SECONDS,
    ) -> None:
        if (
            isinstance(reload_seconds, bool)
            or not isinstance(reload_seconds, (int, float))
            or not 0 <= reload_seconds < float("inf")
        ):
            raise ValueError(f"reload_seconds must be 0 or more, got {reload_seconds!r}")
        self._sources = read_sources(overrides, price_data)
        self._metrics = metrics
        self._pricing: dict[tuple[Any, Any], ModelPricing | None] = {}
        self._warned: set[tuple[str, str]] = set()
        self._warned_full = False
        self._warned_tiers: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._failed_stamps: tuple[object, object] | None = None
        self._publish_age()
        if self._sources.watched and reload_seconds > 0:
            self._stop_watching = watch(self, LLMCostCalculator.reload, reload_seconds)

    def reload(self) -> bool:
        """Read the price file and price data again if either changed; whether the prices
        changed. A file that is now wrong is logged (once per change) and the prices in use
        are kept."""
        sources = self._sources
        stamps = sources.current_stamps()
        if stamps == sources.stamps or stamps == self._failed_stamps:
            return False
        try:
            fresh = sources.reread()
        except PriceFileError as exc:
            self._failed_stamps = stamps
            logger.error("llmobs keeps the prices it uses: %s", exc)
            return False
        with self._lock:
            self._sources = fresh
            self._pricing.clear()
        self._failed_stamps = None
        self._publish_age()
        logger.info(
            "llmobs reloaded its prices: %d models from %s, %d overrides",
            fresh.data.models,
            fresh.data.source,
            len(fresh.overrides),
        )
        return True

    def _publish_age(self) -> None:
        """Expose when the price data in use was fetched."""
        self.metrics.set_price_data_time(self._sources.data.fetched_at.timestamp())

    @property
    def price_sources(self) -> PriceSources:
        """What the calculator prices from now."""
        return self._sources

    @classmethod
    def default(cls) -> LLMCostCalculator:
        """The process-wide calculator used when ``calculate_cost`` is called on the class.

        If ``LLMOBS_PRICES_FILE`` names a file that cannot be used, the error is logged once
        and the default prices from the bundled data only, so recording never fails on it.
        """
        if cls._default is None:
            with cls._default_lock:
                if cls._default is None:
                    try:
                        cls._default = cls()
                    except PriceFileError as exc:
                        logger.error(
                            "llmobs ignores %s and %s: %s; prices come from the bundled data only",
                            PRICES_FILE_ENV,
                            PRICE_DATA_ENV,
                            exc,
                        )
                        cls._default = cls(overrides=(), price_data=bundled_price_data())
        return cls._default

    @property
    def metrics(self) -> LLMMetrics:
        if self._metrics is None:
            from .metrics import get_llm_metrics

            self._metrics = get_llm_metrics()
        return self._metrics

    def pricing(self, model: str, provider: str | None = None) -> ModelPricing | None:
        """How ``model`` is priced, or None if it has no known price. Cached per name."""
        key = (model, provider)
        try:
            return self._pricing[key]
        except (KeyError, TypeError):  # not seen yet, or not text (rejected just below)
            pass
        name = _text(model, "model")
        provider_name = None if provider is None else _text(provider, "provider")
        sources = self._sources
        override = find_override(sources.overrides, name, provider_name)
        if override is not None:
            found: ModelPricing | None = ModelPricing(
                name, provider_name, "override", override.model, _rates=override.rates
            )
        else:
            bundled = find_bundled_model(name, provider_name, sources.data.snapshot)
            found = (
                None
                if bundled is None
                else ModelPricing(
                    name,
                    provider_name,
                    "genai-prices",
                    f"{bundled.provider_id}/{bundled.model_id}",
                    _bundled=bundled,
                )
            )
        with self._lock:
            if sources is not self._sources:  # reloaded meanwhile: cache the new prices only
                return found
            if len(self._pricing) >= MAX_CACHED_PRICINGS:
                self._pricing.clear()
            self._pricing[key] = found
        return found

    def cost_of(
        self,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        provider: str | None = None,
        cache_read_tokens: int | None = 0,
        cache_write_tokens: int | None = 0,
        cache_write_1h_tokens: int | None = 0,
        web_searches: int | None = 0,
        service_tier: str | None = None,
        at: datetime | None = None,
        media: Media = NO_MEDIA,
    ) -> float | None:
        """The request's cost in USD, or None if the model has no known price. ``media``
        names its audio and image tokens (parts of the prompt and completion), seconds of
        audio and characters of input, each billed at the model's own rate.

        Raises InvalidRecordError for bad input; counts nothing.
        """
        return self._priced(
            model,
            provider,
            at,
            values.token_count(prompt_tokens, "prompt_tokens"),
            values.token_count(completion_tokens, "completion_tokens"),
            values.optional_token_count(cache_read_tokens, "cache_read_tokens"),
            values.optional_token_count(cache_write_tokens, "cache_write_tokens"),
            values.optional_token_count(cache_write_1h_tokens, "cache_write_1h_tokens"),
            values.optional_token_count(web_searches, "web_searches"),
            None if service_tier is None else tier_name(service_tier),
            _checked_media(media),
        )

    def usage_cost(
        self,
        model: str,
        usage: TokenUsage,
        *,
        provider: str | None = None,
        at: datetime | None = None,
    ) -> float | None:
        """What ``usage`` costs on ``model`` (its tokens, searches and tier), or None if the
        model has no known price. Raises InvalidRecordError for bad input; counts nothing."""
        return self._priced(
            model,
            provider,
            at,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cache_read_tokens,
            usage.cache_write_tokens,
            usage.cache_write_1h_tokens,
            usage.web_search_requests,
            usage.service_tier,
            usage.media,
        )

    def _priced(
        self,
        model: str,
        provider: str | None,
        at: datetime | None,
        prompt: int,
        completion: int,
        cache_read: int,
        cache_write: int,
        cache_write_1h: int,
        searches: int,
        tier: str | None,
        media: Media = NO_MEDIA,
    ) -> float | None:
        """The cost of checked counts (see ``cost_of``); InvalidRecordError if their parts do
        not add up."""
        if cache_read + cache_write > prompt:
            raise InvalidRecordError(
                Reason.INVALID_TOKENS,
                f"cache_read_tokens + cache_write_tokens ({cache_read + cache_write}) exceed "
                f"prompt_tokens ({prompt}); prompt_tokens must include cached tokens (for "
                "Anthropic, add cache_read_input_tokens and cache_creation_input_tokens)",
            )
        if cache_write_1h > cache_write:
            values.part_of(cache_write_1h, "cache_write_1h_tokens", cache_write, "cache_write")
        if at is not None and not isinstance(at, datetime):
            raise InvalidRecordError(Reason.INVALID_LABEL, f"at must be a datetime, got {at!r}")
        pricing = self.pricing(model, provider)
        if pricing is None:
            return None
        rates = pricing.rates_at(_moment(at) if pricing.changes_over_time else _NO_TIME)
        if tier is not None:
            rates = self._tier_rates(pricing, rates, tier, at)
        return rates.cost(
            prompt, completion, cache_read, cache_write, cache_write_1h, searches, media
        )

    def _tier_rates(
        self, pricing: ModelPricing, standard: TokenRates, tier: str, at: datetime | None
    ) -> TokenRates:
        """The rates of ``tier``: the price file's entry for it, else the data's prices of the
        tier, else the provider's rule, else (none of these) the standard rates."""
        override = find_override(self._sources.overrides, pricing.model, pricing.provider, tier)
        if override is not None:
            return override.rates
        rates = pricing.tier_rates_at(_moment(at), tier)
        if rates is None:
            rates = tier_rates(standard, pricing.provider_id, tier)
        if rates is None:
            self._warn_unknown_tier(tier, pricing.priced_as)
            return standard
        return rates

    def _warn_unknown_tier(self, tier: str, priced_as: str) -> None:
        """Log once per tier and model (for up to ``MAX_WARNED_UNPRICED`` of them) that the
        tier has no price of its own."""
        key = (tier[:100], priced_as)
        with self._lock:
            first = key not in self._warned_tiers and len(self._warned_tiers) < MAX_WARNED_UNPRICED
            if first:
                self._warned_tiers.add(key)
        if first:
            logger.warning(
                "llmobs has no price of service tier %r for %s: it is priced at the standard "
                "rates; add an entry with service_tier to a price file (%s) to price it",
                key[0],
                priced_as,
                PRICES_FILE_ENV,
            )

    def note_unpriced(self, model: str, provider: str | None) -> None:
        """Count a request of a model with no price in the metrics, and warn once per model."""
        self.metrics.record_unpriced(model, provider if provider is not None else UNKNOWN_PROVIDER)
        self.warn_unpriced(model, provider)

    def warn_unpriced(self, model: str, provider: str | None) -> None:
        """Log once per model and provider that the model has no price.

        After ``MAX_WARNED_UNPRICED`` distinct models one last line says that further ones are
        only counted, so a flood of made-up model names cannot grow memory or the log.
        """
        key = (str(model)[:200], str(provider if provider is not None else UNKNOWN_PROVIDER)[:200])
        if key in self._warned:
            return
        with self._lock:
            full = len(self._warned) >= MAX_WARNED_UNPRICED
            first = not full and key not in self._warned
            if first:
                self._warned.add(key)
            last = full and not self._warned_full
            self._warned_full = self._warned_full or full
        if last:
            logger.warning(
                "llmobs has no price for %d models; further unpriced models are only counted in "
                "llm_unpriced_requests_total",
                MAX_WARNED_UNPRICED,
            )
        if first:
            logger.warning(
                "llmobs has no price for model %r (provider %r): its cost is recorded as 0 "
                "and counted as unpriced; add it to a price file (%s) to price it",
                key[0],
                key[1],
                PRICES_FILE_ENV,
            )

    @_DefaultOrInstance
    def calculate_cost(
        self,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        provider: str | None = None,
        cache_read_tokens: int | None = 0,
        cache_write_tokens: int | None = 0,
        cache_write_1h_tokens: int | None = 0,
        web_searches: int | None = 0,
        service_tier: str | None = None,
        at: datetime | None = None,
    ) -> float:
        """USD cost of one request; 0.0 for a model with no price or for rejected input.

        ``cache_write_1h_tokens`` are the part of the cache writes kept an hour (Anthropic),
        ``web_searches`` the searches billed per search, ``service_tier`` the tier that served
        the call (``batch``, ``flex``, ``priority``; see ``llmobs.service_tiers``).
        Never raises for bad input unless the metrics are in strict mode.
        """
        try:
            cost = self.cost_of(
                model,
                prompt_tokens,
                completion_tokens,
                provider=provider,
                cache_read_tokens=cache_read_tokens,
                cache_write_tokens=cache_write_tokens,
                cache_write_1h_tokens=cache_write_1h_tokens,
                web_searches=web_searches,
                service_tier=service_tier,
                at=at,
            )
        except InvalidRecordError as error:
            self.metrics.count_rejection(error)
            return 0.0
        except Exception as exc:
            self.metrics.count_internal_error(exc)
            return 0.0
        if cost is None:
            self.note_unpriced(model, provider)
            return 0.0
        return cost

    def clear_cache(self) -> None:
        """Forget resolved prices, e.g. after genai-prices' data was updated."""
        with self._lock:
            self._pricing.clear()


_NO_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)  # unused by rates that never change

"""Token rates in USD per million tokens, and the cost of one request at those rates.

Token convention: ``prompt_tokens`` is every input token of the request, cached ones included
(as OpenAI and Google report it). ``cache_read_tokens`` and ``cache_write_tokens`` are the parts
of the prompt read from or written to the provider's prompt cache, each priced at its own rate
(at the input rate where the model has none). Anthropic reports ``input_tokens`` without the
cache tokens: pass ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``.
``cache_write_1h_tokens`` are the part of the cache writes kept an hour (Anthropic's 1-hour TTL),
priced at their own rate, twice the input rate where the model has none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

PER_MILLION = 1_000_000.0


@dataclass(frozen=True)
class TieredRate:
    """A rate that changes with the request's total prompt tokens.

    Past a tier's ``start`` (strictly more prompt tokens), its price applies to every token of
    the request, as providers bill long-context requests.
    """

    base: float
    tiers: tuple[tuple[int, float], ...]  # (start, USD per million), ascending by start

    def at(self, prompt_tokens: int) -> float:
        """USD per million tokens for a request with ``prompt_tokens`` input tokens."""
        price = self.base
        for start, tier_price in self.tiers:
            if prompt_tokens > start:
                price = tier_price
        return price

    def scaled(self, factor: float) -> TieredRate:
        """This rate with every price multiplied by ``factor``."""
        return TieredRate(self.base * factor, tuple((s, p * factor) for s, p in self.tiers))


Rate = float | TieredRate

#: Anthropic's 1-hour cache writes cost twice the input rate (its pricing page).
ONE_HOUR_WRITE_FACTOR = 2.0


def _rate_at(rate: Rate, prompt_tokens: int) -> float:
    return rate if isinstance(rate, float) else rate.at(prompt_tokens)


def scaled_rate(rate: Rate, factor: float) -> Rate:
    """``rate`` with every price multiplied by ``factor``."""
    return rate * factor if isinstance(rate, float) else rate.scaled(factor)


@dataclass(frozen=True)
class TokenRates:
    """What a model costs: USD per million tokens of each kind, and per request.

    Example:
        >>> rates = TokenRates(input=2.5, output=10.0, cache_read=1.25)
        >>> round(rates.cost(prompt_tokens=1000, completion_tokens=500, cache_read_tokens=400), 6)
        0.007
    """

    input: Rate
    output: Rate
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    cache_write_1h: Rate | None = None
    per_request: float = 0.0
    per_web_search: float = 0.0

    def cost(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        web_searches: int = 0,
    ) -> float:
        """USD for one request. Cache tokens are part of ``prompt_tokens``, and the 1-hour
        writes part of ``cache_write_tokens``; each web search adds ``per_web_search``."""
        input_rate = _rate_at(self.input, prompt_tokens)
        uncached = prompt_tokens - cache_read_tokens - cache_write_tokens
        total = uncached * input_rate + completion_tokens * _rate_at(self.output, prompt_tokens)
        if cache_read_tokens:
            rate = self.cache_read
            total += cache_read_tokens * (
                input_rate if rate is None else _rate_at(rate, prompt_tokens)
            )
        if cache_write_tokens:
            short_writes = cache_write_tokens - cache_write_1h_tokens
            rate = self.cache_write
            total += short_writes * (input_rate if rate is None else _rate_at(rate, prompt_tokens))
            if cache_write_1h_tokens:
                rate = self.cache_write_1h
                long_rate = (
                    input_rate * ONE_HOUR_WRITE_FACTOR
                    if rate is None
                    else _rate_at(rate, prompt_tokens)
                )
                total += cache_write_1h_tokens * long_rate
        cost = total / PER_MILLION + self.per_request
        return cost + web_searches * self.per_web_search if web_searches else cost

    def scaled(self, factor: float) -> TokenRates:
        """These rates with every token price multiplied by ``factor`` (a batch discount);
        fees per request and per search stay as they are."""
        token_prices = {
            name: scaled_rate(rate, factor)
            for name in _TOKEN_PRICES
            if (rate := getattr(self, name)) is not None
        }
        return replace(self, **token_prices)  # type: ignore[arg-type]


_TOKEN_PRICES = ("input", "output", "cache_read", "cache_write", "cache_write_1h")

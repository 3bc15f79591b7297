"""Token rates in USD per million tokens, and the cost of one request at those rates.

Token convention: ``prompt_tokens`` is every input token of the request, cached ones included
(as OpenAI and Google report it). ``cache_read_tokens`` and ``cache_write_tokens`` are the parts
of the prompt read from or written to the provider's prompt cache, each priced at its own rate
(at the input rate where the model has none). Anthropic reports ``input_tokens`` without the
cache tokens: pass ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass

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


Rate = float | TieredRate


def _rate_at(rate: Rate, prompt_tokens: int) -> float:
    return rate if isinstance(rate, float) else rate.at(prompt_tokens)


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
    per_request: float = 0.0

    def cost(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float:
        """USD for one request. Cache tokens are part of ``prompt_tokens``."""
        input_rate = _rate_at(self.input, prompt_tokens)
        uncached = prompt_tokens - cache_read_tokens - cache_write_tokens
        total = uncached * input_rate + completion_tokens * _rate_at(self.output, prompt_tokens)
        if cache_read_tokens:
            read = (
                input_rate if self.cache_read is None else _rate_at(self.cache_read, prompt_tokens)
            )
            total += cache_read_tokens * read
        if cache_write_tokens:
            write = (
                input_rate
                if self.cache_write is None
                else _rate_at(self.cache_write, prompt_tokens)
            )
            total += cache_write_tokens * write
        return total / PER_MILLION + self.per_request

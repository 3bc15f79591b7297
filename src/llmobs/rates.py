"""Token rates in USD per million tokens, and the cost of one request at those rates.

Token convention: ``prompt_tokens`` is every input token of the request, cached ones included
(as OpenAI and Google report it). ``cache_read_tokens`` and ``cache_write_tokens`` are the parts
of the prompt read from or written to the provider's prompt cache, each priced at its own rate
(at the input rate where the model has none). Anthropic reports ``input_tokens`` without the
cache tokens: pass ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``.
``cache_write_1h_tokens`` are the part of the cache writes kept an hour (Anthropic's 1-hour TTL),
priced at their own rate, twice the input rate where the model has none.

Audio and image tokens (``Media``) are parts of the uncached prompt and of the completion, each
priced at its own rate where the model has one (OpenAI's audio and image models, Gemini's audio
input), else as text. A model may also bill seconds of audio (speech to text) or characters of
input (text to speech).
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
class Media:
    """The parts of a call billed apart from text: audio and image tokens of the prompt and
    of the completion, seconds of audio, characters of input."""

    audio_input_tokens: int = 0
    image_input_tokens: int = 0
    audio_output_tokens: int = 0
    audio_seconds: float = 0.0
    input_characters: int = 0

    def __bool__(self) -> bool:
        return any(
            (
                self.audio_input_tokens,
                self.image_input_tokens,
                self.audio_output_tokens,
                self.audio_seconds,
                self.input_characters,
            )
        )


NO_MEDIA = Media()


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
    #: Audio and image tokens, USD per million; None: priced as text.
    audio_input: Rate | None = None
    image_input: Rate | None = None
    audio_output: Rate | None = None
    #: USD per second of audio, and per character of input.
    per_audio_second: float = 0.0
    per_input_character: float = 0.0

    def cost(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        web_searches: int = 0,
        media: Media = NO_MEDIA,
    ) -> float:
        """USD for one request. Cache tokens are part of ``prompt_tokens``, and the 1-hour
        writes part of ``cache_write_tokens``; each web search adds ``per_web_search``;
        ``media`` names the audio and image parts and what is billed by the second or
        character."""
        input_rate = _rate_at(self.input, prompt_tokens)
        output_rate = _rate_at(self.output, prompt_tokens)
        uncached = prompt_tokens - cache_read_tokens - cache_write_tokens
        total = uncached * input_rate + completion_tokens * output_rate
        if media:
            total += self._media_premium(media, prompt_tokens, uncached, completion_tokens)
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
        if media:
            cost += media.audio_seconds * self.per_audio_second
            cost += media.input_characters * self.per_input_character
        return cost + web_searches * self.per_web_search if web_searches else cost

    def _media_premium(
        self, media: Media, prompt_tokens: int, uncached: int, completion_tokens: int
    ) -> float:
        """What the audio and image tokens cost beyond the text rate they were counted at,
        in USD per million: each part at most what is left of its whole (a provider that
        counts cached audio in both its cache and its audio tokens is not billed twice)."""
        input_rate = _rate_at(self.input, prompt_tokens)
        output_rate = _rate_at(self.output, prompt_tokens)
        audio_in = min(media.audio_input_tokens, max(uncached, 0))
        image_in = min(media.image_input_tokens, max(uncached, 0) - audio_in)
        audio_out = min(media.audio_output_tokens, completion_tokens)
        premium = 0.0
        for tokens, rate, text_rate in (
            (audio_in, self.audio_input, input_rate),
            (image_in, self.image_input, input_rate),
            (audio_out, self.audio_output, output_rate),
        ):
            if tokens and rate is not None:
                premium += tokens * (_rate_at(rate, prompt_tokens) - text_rate)
        return premium

    def scaled(self, factor: float) -> TokenRates:
        """These rates with every token price multiplied by ``factor`` (a batch discount);
        fees per request, per search, per second and per character stay as they are."""
        token_prices = {
            name: scaled_rate(rate, factor)
            for name in _TOKEN_PRICES
            if (rate := getattr(self, name)) is not None
        }
        return replace(self, **token_prices)  # type: ignore[arg-type]


_TOKEN_PRICES = (
    "input",
    "output",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "audio_input",
    "image_input",
    "audio_output",
)

"""The HTTP attempts of one observed call: the SDK's own retries, 429 and 5xx answers, and the
provider's rate-limit headroom read from the answers' headers."""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..metrics import LLMMetrics
from ..observer import LLMCall, LLMObserver


class Attempts:
    """The HTTP attempts the SDK makes for one observed call (its own retries included)."""

    __slots__ = ("call", "count", "observer")

    def __init__(self, call: LLMCall, observer: LLMObserver) -> None:
        self.call, self.observer, self.count = call, observer, 0

    def saw(self, status: int, headers: Mapping[str, str]) -> None:
        """One answer: counted, a 429 or 5xx by its code, rate-limit headroom read."""
        call, metrics = self.call, self.observer.metrics
        self.count += 1
        if status == 429 or status >= 500:
            metrics.count_failed_attempt(call.agent_id, call.model, call.provider, status)
        read_headroom(metrics, call.provider, call.model, headers)

    def done(self) -> None:
        """The call is over: attempts past the first were the SDK's retries."""
        if self.count > 1:
            call = self.call
            self.observer.metrics.count_retries(
                call.agent_id, call.model, call.provider, self.count - 1
            )


_ATTEMPTS: contextvars.ContextVar[Attempts | None] = contextvars.ContextVar(
    "llmobs_attempts", default=None
)
#: Response headers of rate-limit headroom: (limit, (total header, remaining header)).
_RATE_LIMIT_HEADERS = tuple(
    (limit, (f"x-ratelimit-limit-{limit}", f"x-ratelimit-remaining-{limit}"))
    for limit in ("requests", "tokens")
) + tuple(
    (
        limit,
        (
            f"anthropic-ratelimit-{limit.replace('_', '-')}-limit",
            f"anthropic-ratelimit-{limit.replace('_', '-')}-remaining",
        ),
    )
    for limit in ("requests", "tokens", "input_tokens", "output_tokens")
)
#: Each such header's limit, and whether it is the total (0) or what remains (1).
_HEADER_ROLES = {
    name: (limit, index) for limit, names in _RATE_LIMIT_HEADERS for index, name in enumerate(names)
}
_RAW_HEADER_ROLES = {name.encode(): role for name, role in _HEADER_ROLES.items()}


def read_headroom(
    metrics: LLMMetrics, provider: str, model: str, headers: Mapping[str, str]
) -> None:
    """Set the rate-limit headroom gauges from a provider's response headers, where present."""
    for limit, (total, left) in headroom_headers(headers).items():
        if total is not None and left is not None:
            try:
                whole, remaining = int(float(total)), int(float(left))
            except ValueError:
                continue
            metrics.set_rate_limit(provider, model, limit, remaining, whole)


def headroom_headers(headers: Mapping[str, str]) -> dict[str, list[Any]]:
    """The rate-limit headers among ``headers``, whatever their case, as ``{limit: [total,
    remaining]}`` (None where one is missing). httpx's headers are read from their raw bytes,
    so that the others (an answer has a score of them) are not decoded."""
    raw = getattr(headers, "raw", None)
    if isinstance(raw, list):
        return _by_limit(raw, _RAW_HEADER_ROLES)
    return _by_limit(headers.items(), _HEADER_ROLES)


def _by_limit(
    pairs: Iterable[tuple[Any, Any]], roles: Mapping[Any, tuple[str, int]]
) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for name, value in pairs:
        role = roles.get(name.lower())
        if role is not None:
            limit, index = role
            found.setdefault(limit, [None, None])[index] = value
    return found


def saw_answer(status: int, headers: Mapping[str, str]) -> None:
    """One HTTP answer to the observed call in this context, if any; never raises."""
    attempts = _ATTEMPTS.get()
    if attempts is not None:
        try:
            attempts.saw(status, headers)
        except Exception as exc:  # never into the SDK
            attempts.observer.metrics.count_internal_error(exc)


def saw_response(response: Any) -> None:
    """httpx response hook."""
    saw_answer(response.status_code, response.headers)


async def saw_response_async(response: Any) -> None:
    """httpx response hook of an async client."""
    saw_answer(response.status_code, response.headers)


#: The hooks ``instrument`` adds to an SDK's httpx client, and ``uninstrument`` removes.
RESPONSE_HOOKS = (saw_response, saw_response_async)


@contextmanager
def attempted(call: LLMCall, observer: LLMObserver) -> Iterator[None]:
    """Count the SDK's attempts for ``call`` while it runs; record the call as failed if the
    SDK raises, and let the error through."""
    attempts = Attempts(call, observer)
    token = _ATTEMPTS.set(attempts)
    try:
        yield
    except BaseException as error:
        call.__exit__(type(error), error, error.__traceback__)
        raise
    finally:
        _ATTEMPTS.reset(token)
        attempts.done()

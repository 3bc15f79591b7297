"""A LiteLLM callback: every call LiteLLM makes (``completion`` and ``acompletion``, streamed
or not, its Router and proxy too, for any of its providers) recorded by llmobs, and priced by
llmobs's prices, not LiteLLM's.

Example:
    >>> import litellm                                      # doctest: +SKIP
    >>> from llmobs.litellm_callback import LLMObsCallback  # doctest: +SKIP
    >>> litellm.callbacks = [LLMObsCallback(agent_id="svea.writer")]  # doctest: +SKIP

A call's agent is its ``metadata={"agent_id": ...}``, else the innermost
``llmobs.agent(...)``, else ``agent_id``; its provider LiteLLM's (``openai``, ``anthropic``,
``bedrock``, ``vertex_ai``, ``ollama``, ...). LiteLLM tells of a call once it is over, so the
in-flight gauge does not see it and budgets are not enforced before it (they are tracked, and
alert); for enforcement use ``llmobs.instrument`` or ``LLMObserver.call``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from .attribution import attribution_keys
from .observer import LLMObserver
from .schema import Operation
from .sdks.attempts import read_headroom
from .sdks.methods import AGENT, UNKNOWN_AGENT
from .usage import detail_of, extract_usage, field_of, tier_of, web_searches_of

#: The prefix LiteLLM gives the provider's response headers it passes on.
_HEADER_PREFIX = "llm_provider-"


class LLMObsCallback(CustomLogger):
    """Records each LiteLLM call's latency, tokens, cost (llmobs's), errors, time to first
    token of a stream and the provider's rate-limit headroom."""

    def __init__(
        self,
        *,
        agent_id: str | None = None,
        observer: LLMObserver | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.agent_id = agent_id
        self.observer = observer or LLMObserver()

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, response_obj, start_time, end_time, None)

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, None, start_time, end_time, _error_of(kwargs))

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, response_obj, start_time, end_time, None)

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, None, start_time, end_time, _error_of(kwargs))

    def _record(
        self,
        kwargs: dict[str, Any],
        response: Any,
        start: datetime,
        end: datetime,
        error: BaseException | None,
    ) -> None:
        """Record one call; never raises into LiteLLM."""
        try:
            agent_id = self._agent_of(kwargs)
            model = str(kwargs.get("model") or "unknown")
            provider = str(kwargs.get("custom_llm_provider") or "unknown")
            first_output = None
            first = kwargs.get("completion_start_time")
            if kwargs.get("stream") is True and isinstance(first, datetime) and error is None:
                first_output = max((first - start).total_seconds(), 0.0)
            self.observer.record_finished(
                agent_id,
                model,
                provider,
                _usage_of(response),
                duration_seconds=max((end - start).total_seconds(), 0.0),
                first_output_seconds=first_output,
                error=error,
                tags=self._tags_of(kwargs),
                operation=_operation_of(kwargs),
                request={"messages": kwargs.get("messages")},
                answer=response,
            )
            read_headroom(self.observer.metrics, provider, model, _provider_headers(response))
        except Exception as exc:
            self.observer.metrics.count_internal_error(exc)

    def _agent_of(self, kwargs: dict[str, Any]) -> str:
        for metadata in _metadata_of(kwargs):
            if isinstance(metadata.get("agent_id"), str):
                return str(metadata["agent_id"])
        return AGENT.get() or self.agent_id or UNKNOWN_AGENT

    def _tags_of(self, kwargs: dict[str, Any]) -> dict[str, object]:
        """The call's attribution: its ``user`` and the metadata keys that are tag keys of
        the observer's tracker (the built-in ones without a tracker)."""
        tracker = self.observer.tracker
        keys = tracker.tag_keys if tracker is not None else attribution_keys()
        tags: dict[str, object] = {}
        user = kwargs.get("user") or (kwargs.get("optional_params") or {}).get("user")
        if user is not None:
            tags["user"] = user
        for metadata in reversed(_metadata_of(kwargs)):  # the call's own metadata wins
            tags.update((key, value) for key, value in metadata.items() if key in keys)
        return tags


#: LiteLLM's call types (their async ``a`` forms too) that are not chat, by operation.
_OPERATIONS = {
    "embedding": Operation.EMBEDDINGS,
    "image_generation": Operation.IMAGE,
    "image_edit": Operation.IMAGE,
    "transcription": Operation.AUDIO,
    "speech": Operation.AUDIO,
}


def _operation_of(kwargs: dict[str, Any]) -> str:
    """The operation of a LiteLLM call, from its ``call_type``; chat where it names another."""
    call_type = str(kwargs.get("call_type") or "")
    found = _OPERATIONS.get(call_type) or _OPERATIONS.get(call_type.removeprefix("a"))
    return (found or Operation.CHAT).value


def _usage_of(response: Any) -> Any:
    """The usage of a LiteLLM response, with what LiteLLM keeps of the provider's beyond plain
    tokens: one-hour cache writes, web searches and the service tier (as Anthropic reports
    them); the response itself when it carries no usage."""
    usage = extract_usage(response)
    raw = field_of(response, "usage") if usage is not None else None
    if raw is None or usage is None:
        return response
    details = field_of(raw, "prompt_tokens_details")
    one_hour = (
        0
        if details is None
        else detail_of(details, "cache_creation_token_details", "ephemeral_1h_input_tokens")
    )
    return replace(
        usage,
        cache_write_1h_tokens=one_hour,
        web_search_requests=web_searches_of(raw) or usage.web_search_requests,
        service_tier=tier_of(raw) or usage.service_tier,
    )


def _metadata_of(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """The metadata LiteLLM passes its loggers: the call's, then its own copy."""
    found = ((kwargs.get("litellm_params") or {}).get("metadata"), kwargs.get("metadata"))
    return [metadata for metadata in found if isinstance(metadata, dict)]


def _error_of(kwargs: dict[str, Any]) -> BaseException:
    error = kwargs.get("exception")
    return error if isinstance(error, BaseException) else RuntimeError(str(error))


def _provider_headers(response: Any) -> dict[str, str]:
    """The provider's response headers LiteLLM kept with the response."""
    hidden = getattr(response, "_hidden_params", None)
    found = hidden.get("additional_headers") if isinstance(hidden, dict) else None
    if not isinstance(found, dict):
        return {}
    return {
        name.removeprefix(_HEADER_PREFIX): str(value)
        for name, value in found.items()
        if isinstance(name, str)
    }

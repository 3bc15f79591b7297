"""What instrumenting one SDK's clients takes, told by its adapter: which methods to observe,
the model and output cap of a call from its arguments, where a stream sits in an answer, and
where the client's HTTP answers can be seen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..schema import CHAT
from ..usage import field_of
from .attempts import RESPONSE_HOOKS, saw_response, saw_response_async


@dataclass(frozen=True)
class Method:
    """One observed method: the attributes from the client to the object that holds it, its
    name, and how it answers."""

    path: tuple[str, ...]
    name: str
    is_async: bool
    #: ``call`` answers a response, or a stream; ``manager`` answers a stream helper's
    #: context manager, which makes the request when entered (Anthropic's messages.stream).
    kind: Literal["call", "manager"] = "call"
    #: Streams send usage only when asked (OpenAI chat completions).
    asks_for_usage: bool = False
    #: What its calls ask for: the ``operation`` label (``llmobs.schema.Operation``).
    operation: str = CHAT
    #: The usage of a call whose answer does not carry it as a response does, from the call's
    #: arguments and its answer (text to speech is billed by the characters it is given;
    #: Bedrock's invoke_model tells its tokens in headers). None: no usage to be had.
    usage: Callable[[dict[str, Any], Any], Any] | None = None

    def holder(self, client: Any) -> Any:
        for name in self.path:
            client = getattr(client, name)
        return client

    @property
    def dotted(self) -> str:
        """``chat.completions.create``: where the method is, from the client."""
        return ".".join((*self.path, self.name))


def given(value: Any) -> bool:
    """Whether an argument was given: not None and not an SDK's "omitted" sentinel."""
    return value is not None and type(value).__name__ not in ("Omit", "NotGiven")


def is_async_client(client: Any) -> bool:
    return type(client).__name__.startswith("Async")


class SDKAdapter:
    """How one SDK's clients are instrumented; subclasses fill in what differs."""

    #: The name ``llmobs.instrument_sdk`` knows it by (its distribution's name).
    sdk = ""
    #: The oldest release of the SDK it supports (CI tests it, and the newest): requirement
    #: lines for an environment of that release. A method a supported release lacks is counted
    #: (``llm_invalid_records_total{reason="sdk_method_missing"}``) and left out.
    oldest: tuple[str, ...] = ()
    #: The provider label of its calls, unless ``instrument(provider=...)`` names another.
    provider = "unknown"
    #: The modules its client classes come from.
    modules: tuple[str, ...] = ()
    #: The request keys that cap a call's output, what an enforced budget reserves for.
    max_tokens_keys: tuple[str, ...] = ("max_tokens", "max_completion_tokens", "max_output_tokens")
    #: What its clients are called, for the error a client of another kind gets.
    clients = ""
    #: Its client classes, as (module, class): every new one is instrumented by
    #: ``llmobs.instrument_sdk``.
    client_classes: tuple[tuple[str, str], ...] = ()

    def handles(self, client: Any) -> bool:
        module = type(client).__module__
        return any(module == name or module.startswith(name + ".") for name in self.modules)

    def methods(self, client: Any) -> tuple[Method, ...]:
        raise NotImplementedError

    def model_of(self, kwargs: dict[str, Any]) -> str:
        model = kwargs.get("model")
        return str(model) if given(model) and model else "unknown"

    def operation_of(self, method: Method, kwargs: dict[str, Any]) -> str:
        """What a call of ``method`` with these arguments asks for (its ``operation``)."""
        return method.operation

    def max_tokens_of(self, kwargs: dict[str, Any]) -> int | None:
        return next((kwargs[k] for k in self.max_tokens_keys if given(kwargs.get(k))), None)

    def ask_for_usage(self, method: Method, kwargs: dict[str, Any]) -> bool:
        """Ask a stream that sends usage only when asked for it, unless the caller set
        ``stream_options``; return whether its usage chunk is then llmobs's to remove."""
        streaming = method.asks_for_usage and kwargs.get("stream") is True
        if streaming and not given(kwargs.get("stream_options")):
            kwargs["stream_options"] = {"include_usage": True}
            return True
        return False

    def stream_in(self, method: Method, answer: Any) -> Any | None:
        """The stream ``answer`` is or holds; None for a whole response."""
        raise NotImplementedError

    def with_stream(self, answer: Any, observed: Any) -> Any:
        """What the caller gets: ``answer`` with its stream replaced by ``observed``."""
        return observed

    def http_clients(self, client: Any) -> tuple[Any, ...]:
        """The httpx clients whose answers are the call's attempts."""
        return ()

    def hook(self, client: Any) -> None:
        """See every HTTP answer of ``client``'s calls (each attempt, retries included)."""
        for http in self.http_clients(client):
            hooks = _response_hooks(http)
            hook = saw_response_async if is_async_client(http) else saw_response
            if hooks is not None and hook not in hooks:
                hooks.append(hook)

    def unhook(self, client: Any) -> None:
        for http in self.http_clients(client):
            hooks = _response_hooks(http)
            for hook in RESPONSE_HOOKS:
                while hooks is not None and hook in hooks:
                    hooks.remove(hook)


def _response_hooks(http: Any) -> list[Any] | None:
    hooks = getattr(http, "event_hooks", None)
    return hooks.get("response") if isinstance(hooks, dict) else None


def nested(source: Any, *names: str) -> Any:
    """``source.a.b`` of dicts or objects (None where absent)."""
    for name in names:
        if source is None:
            return None
        source = field_of(source, name)
    return source

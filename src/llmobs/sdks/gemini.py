"""The google-genai SDK: ``models.generate_content``, ``generate_content_stream`` and
``embed_content`` (an ``embeddings`` operation) of a ``genai.Client``, and the same under
``client.aio``. Chats (``client.chats``) call them too. Embeddings report their tokens in
``usage_metadata`` where the installed google-genai keeps it (older releases drop it: their
calls count as usage missing)."""

from __future__ import annotations

from typing import Any

from ..schema import Operation
from .adapter import Method, SDKAdapter, given, nested


class GeminiAdapter(SDKAdapter):
    sdk = "google-genai"
    oldest = ("google-genai==1.8.0",)  # the first to keep thoughts_token_count
    provider = "google"
    modules = ("google.genai",)
    clients = "google.genai.Client"
    client_classes = (("google.genai", "Client"),)

    def handles(self, client: Any) -> bool:
        return super().handles(client) and hasattr(client, "aio")

    def methods(self, client: Any) -> tuple[Method, ...]:
        return tuple(
            method
            for path, use_async in ((("models",), False), (("aio", "models"), True))
            for method in (
                Method(path, "generate_content", use_async),
                Method(path, "generate_content_stream", use_async),
                Method(path, "embed_content", use_async, operation=Operation.EMBEDDINGS.value),
            )
        )

    def model_of(self, kwargs: dict[str, Any]) -> str:
        return super().model_of(kwargs).removeprefix("models/")

    def max_tokens_of(self, kwargs: dict[str, Any]) -> int | None:
        most = nested(kwargs.get("config"), "max_output_tokens")
        return most if given(most) else None

    def stream_in(self, method: Method, answer: Any) -> Any | None:
        return answer if method.name == "generate_content_stream" else None

    def http_clients(self, client: Any) -> tuple[Any, ...]:
        api = getattr(client, "_api_client", None)
        found = (getattr(api, "_httpx_client", None), getattr(api, "_async_httpx_client", None))
        return tuple(http for http in found if http is not None)

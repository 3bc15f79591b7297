"""AWS Bedrock through boto3: ``converse`` and ``converse_stream`` of a ``bedrock-runtime``
client. Each HTTP attempt (botocore's own retries included) is seen through botocore's
``response-received`` event."""

from __future__ import annotations

from typing import Any

from .adapter import Method, SDKAdapter, given, nested
from .attempts import saw_answer

_EVENT = "response-received.bedrock-runtime"
_HOOK_ID = "llmobs-attempts"


def _saw_botocore_answer(response_dict: dict[str, Any] | None = None, **_: Any) -> None:
    if response_dict is not None:
        saw_answer(response_dict["status_code"], response_dict["headers"])


class BedrockAdapter(SDKAdapter):
    sdk = "boto3"
    oldest = ("boto3==1.37.24", "botocore==1.37.24")  # the first to keep the cache tokens
    provider = "bedrock"
    modules = ("botocore",)
    clients = "boto3.client('bedrock-runtime')"

    def handles(self, client: Any) -> bool:
        service = nested(getattr(client, "meta", None), "service_model", "service_name")
        return super().handles(client) and service == "bedrock-runtime"

    def methods(self, client: Any) -> tuple[Method, ...]:
        return (Method((), "converse", False), Method((), "converse_stream", False))

    def model_of(self, kwargs: dict[str, Any]) -> str:
        """The model id, or the last part of an inference profile's or model's ARN."""
        model = kwargs.get("modelId")
        return str(model).rsplit("/", 1)[-1] if given(model) and model else "unknown"

    def max_tokens_of(self, kwargs: dict[str, Any]) -> int | None:
        most = nested(kwargs.get("inferenceConfig"), "maxTokens")
        return most if given(most) else None

    def stream_in(self, method: Method, answer: Any) -> Any | None:
        if method.name == "converse_stream" and isinstance(answer, dict):
            return answer.get("stream")
        return None

    def with_stream(self, answer: Any, observed: Any) -> Any:
        return {**answer, "stream": observed}

    def hook(self, client: Any) -> None:
        client.meta.events.register(_EVENT, _saw_botocore_answer, unique_id=_HOOK_ID)

    def unhook(self, client: Any) -> None:
        client.meta.events.unregister(_EVENT, unique_id=_HOOK_ID)

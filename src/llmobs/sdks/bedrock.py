"""AWS Bedrock through boto3: ``converse``, ``converse_stream`` and ``invoke_model`` of a
``bedrock-runtime`` client. Each HTTP attempt (botocore's own retries included) is seen through
botocore's ``response-received`` event.

``invoke_model`` answers in each model's own format, but Bedrock tells every answer's tokens in
its headers (``x-amzn-bedrock-input-token-count`` and the rest): its usage is read there, so
its body stays the caller's to read. A model whose id names embeddings (Titan's and Cohere's
``embed`` models) is an ``embeddings`` operation, an image model an ``image`` one."""

from __future__ import annotations

from typing import Any

from ..schema import Operation
from ..usage import TokenUsage
from .adapter import Method, SDKAdapter, given, nested
from .attempts import saw_answer

_EVENT = "response-received.bedrock-runtime"
_HOOK_ID = "llmobs-attempts"


def _saw_botocore_answer(response_dict: dict[str, Any] | None = None, **_: Any) -> None:
    if response_dict is not None:
        saw_answer(response_dict["status_code"], response_dict["headers"])


#: The token counts Bedrock puts in an answer's headers: input (without the cache's), output,
#: and the prompt cache's reads and writes.
_TOKEN_HEADERS = {
    "input": "x-amzn-bedrock-input-token-count",
    "output": "x-amzn-bedrock-output-token-count",
    "read": "x-amzn-bedrock-cache-read-input-token-count",
    "write": "x-amzn-bedrock-cache-write-input-token-count",
}
#: Words in a model id that name what its calls ask for, where not chat.
_OPERATION_WORDS = (
    ("embed", Operation.EMBEDDINGS),
    ("image", Operation.IMAGE),
    ("canvas", Operation.IMAGE),
)
_IMAGE_PROVIDERS = ("stability.",)


def _header_count(headers: dict[str, Any], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return 0
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def _invoked_usage(_kwargs: dict[str, Any], answer: Any) -> TokenUsage | None:
    """The usage of an ``invoke_model`` answer, from its headers; None without the counts."""
    headers = nested(answer, "ResponseMetadata", "HTTPHeaders")
    if not isinstance(headers, dict) or _TOKEN_HEADERS["input"] not in headers:
        return None
    counts = {kind: _header_count(headers, name) for kind, name in _TOKEN_HEADERS.items()}
    if any(count is None for count in counts.values()):
        return None
    read, write = counts["read"] or 0, counts["write"] or 0
    return TokenUsage(
        prompt_tokens=(counts["input"] or 0) + read + write,
        completion_tokens=counts["output"] or 0,
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


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
        return (
            Method((), "converse", False),
            Method((), "converse_stream", False),
            Method((), "invoke_model", False, usage=_invoked_usage),
        )

    def operation_of(self, method: Method, kwargs: dict[str, Any]) -> str:
        """An ``invoke_model`` call's operation, by what its model id names."""
        if method.name != "invoke_model":
            return method.operation
        model = self.model_of(kwargs).lower()
        if model.startswith(_IMAGE_PROVIDERS):
            return Operation.IMAGE.value
        for word, operation in _OPERATION_WORDS:
            if word in model:
                return operation.value
        return Operation.CHAT.value

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

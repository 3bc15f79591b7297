"""An upper bound on the prompt tokens of a request, counted from the request itself before it
is sent: what an enforced budget reserves for the prompt.

Every tokenizer the providers use (byte-level BPE, SentencePiece with byte fallback) spends at
least one byte of UTF-8 text per token, so the bytes of a request's text, keys included, bound
its tokens from above. Images, audio, video and files are not text: each counts as
``media_tokens`` (set it from your models' largest inputs), and ``OVERHEAD_TOKENS`` covers the
system prompt a provider adds for tools. The bound is loose (English text is about four bytes a
token), and a reservation is replaced by the call's actual cost as soon as it is known.

Example:
    >>> prompt_token_bound({"messages": [{"role": "user", "content": "Hi"}]}, media_tokens=3000)
    538
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Tokens a provider may add to a prompt on its own (a tool-use system prompt).
OVERHEAD_TOKENS = 512
#: Keys (and ``type`` values) of the parts of a request that hold media, in the shapes of the
#: OpenAI, Anthropic, Gemini and Bedrock APIs.
MEDIA_KINDS = frozenset(
    {
        "image",
        "image_url",
        "input_image",
        "input_audio",
        "audio",
        "video",
        "document",
        "file",
        "input_file",
        "file_data",
        "inline_data",
        "file_uri",
    }
)
#: Request keys that are not sent to the model as its prompt.
NOT_PROMPT = frozenset({"extra_headers", "extra_query", "timeout"})
_BINARY = re.compile(r"data:[^,]{0,200};base64,|[A-Za-z0-9+/=\r\n]{4096}")
_MAX_DEPTH = 64


def prompt_token_bound(request: Mapping[str, Any], media_tokens: int) -> int:
    """At most how many prompt tokens ``request`` (an SDK call's keyword arguments) takes."""
    return OVERHEAD_TOKENS + sum(
        _size(key, media_tokens, 0) + _size(value, media_tokens, 0)
        for key, value in request.items()
        if key not in NOT_PROMPT
    )


def _size(value: Any, media: int, depth: int) -> int:
    """The bytes of ``value``'s text, ``media`` for each media part in it (0: inside one,
    where encoded media are not text)."""
    if isinstance(value, str):
        if not media and _BINARY.match(value):
            return 0
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return media
    if value is None or isinstance(value, (bool, int, float)):
        return len(str(value))
    if depth > _MAX_DEPTH:
        return len(str(value).encode("utf-8", "surrogatepass"))
    if isinstance(value, Mapping):
        if media and value.get("type") in MEDIA_KINDS:
            return _media(value, media, depth)
        return sum(
            _size(key, media, depth)
            + (
                _media(item, media, depth)
                if media and key in MEDIA_KINDS
                else _size(item, media, depth + 1)
            )
            for key, item in value.items()
        )
    if isinstance(value, (list, tuple)):
        return len(value) + sum(_size(item, media, depth + 1) for item in value)
    dump = getattr(value, "model_dump", None)  # an SDK's typed object (google-genai)
    if callable(dump):
        return _size(dump(exclude_none=True), media, depth + 1)
    return len(str(value).encode("utf-8", "surrogatepass"))


def _media(part: Any, media: int, depth: int) -> int:
    """A media part: ``media`` tokens, or its text where it holds more (a text document)."""
    return max(media, _size(part, 0, depth + 1))

"""The prompt an enforced call reserves for is a bound counted from its request: never below
the bytes of its text (no tokenizer spends less than a byte a token), media at their allowance
whatever their encoded size."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmobs.prompt_size import OVERHEAD_TOKENS, prompt_token_bound

MEDIA = 3000
IMAGE = base64.b64encode(bytes(range(256)) * 400).decode()  # 100 KB of base64


@given(st.text(max_size=2000), st.text(max_size=200))
def test_the_bound_is_at_least_the_bytes_of_every_text(user, system):
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    request = {"messages": messages}
    bound = prompt_token_bound(request, MEDIA)
    assert bound >= OVERHEAD_TOKENS + len(user.encode()) + len(system.encode())


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{IMAGE}"}},  # OpenAI
        {"type": "input_image", "image_url": f"data:image/png;base64,{IMAGE}"},  # Responses
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": IMAGE}},
        {"inline_data": {"mime_type": "image/png", "data": base64.b64decode(IMAGE)}},  # Gemini
        {"image": {"format": "png", "source": {"bytes": base64.b64decode(IMAGE)}}},  # Bedrock
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},  # by URL
    ],
    ids=["openai", "responses", "anthropic", "gemini", "bedrock", "url"],
)
def test_an_image_counts_as_its_allowance_whatever_its_encoding(part):
    request = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}, part]}]}
    bound = prompt_token_bound(request, MEDIA)
    assert MEDIA < bound < MEDIA + OVERHEAD_TOKENS + 200


def test_a_text_document_longer_than_the_allowance_counts_its_text():
    text = "the quick brown fox jumps over the lazy dog. " * 400  # 18,000 bytes
    document = {"type": "document", "source": {"type": "text", "data": text}}
    request = {"messages": [{"role": "user", "content": [document]}]}
    assert prompt_token_bound(request, MEDIA) >= len(text)


def test_typed_sdk_objects_are_read_through_their_fields():
    types = pytest.importorskip("google.genai.types")
    content = types.Content(role="user", parts=[types.Part(text="x" * 5000)])
    assert prompt_token_bound({"contents": [content]}, MEDIA) >= 5000


def test_headers_and_timeouts_are_not_prompt():
    plain = prompt_token_bound({"messages": []}, MEDIA)
    extra = {"messages": [], "extra_headers": {"x-secret": "y" * 5000}, "timeout": 30}
    assert prompt_token_bound(extra, MEDIA) == plain

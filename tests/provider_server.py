"""A local HTTP server on 127.0.0.1 that answers like the OpenAI API (chat completions and
Responses), the Anthropic Messages API, the Gemini API (``generateContent`` and
``streamGenerateContent``) and AWS Bedrock Runtime (``converse`` and ``converse-stream``):
JSON, or server-sent events when asked to stream (OpenAI chat usage in a last chunk when asked
for it; Responses usage in ``response.completed``; Anthropic usage split between
``message_start`` and ``message_delta``; Gemini usage so far in every chunk), and Bedrock's
binary event stream. The model name picks a scenario: ``…-break`` ends a stream halfway (an
event cut short; for Bedrock an exception event); ``…-429once`` is refused with 429 once, then
answered. Chat completions asked at ``measured_url`` report a prompt of a token per four
characters of the messages' text and as many output tokens as ``max_tokens`` allows (else
MEASURED_OUTPUT_TOKENS). Every answer carries rate-limit headers: RATE_LIMITS. As the real APIs
do, OpenAI answers name the request's ``service_tier`` (``default`` if it named none), a
Responses request with a ``web_search`` tool gets a ``web_search_call`` output item, and an
Anthropic request with a web search tool reports WEB_SEARCHES searches, one whose prompt marks a
cache breakpoint with a one-hour ``ttl`` reports its cache writes as one-hour writes."""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 100},
    "completion_tokens_details": {"reasoning_tokens": 10},
}
WORDS = ["Hello", " from", " the", " local", " server", "."]
RESPONSES_USAGE = {
    "input_tokens": 200,
    "input_tokens_details": {"cached_tokens": 50, "cache_write_tokens": 0},
    "output_tokens": 40,
    "output_tokens_details": {"reasoning_tokens": 16},
    "total_tokens": 240,
}
ANTHROPIC_START_USAGE = {
    "input_tokens": 20,
    "cache_read_input_tokens": 300,
    "cache_creation_input_tokens": 80,
    "output_tokens": 1,
}
ANTHROPIC_OUTPUT_TOKENS = 60
WEB_SEARCHES = 2


def openai_tier(body: dict[str, Any]) -> str:
    """The tier an OpenAI answer names: the one asked for, else ``default``."""
    return str(body.get("service_tier") or "default")


def asks_web_search(body: dict[str, Any]) -> bool:
    """Whether a request offers the provider's web search tool."""
    return any(str(tool.get("type", "")).startswith("web_search") for tool in body.get("tools", ()))


def asks_one_hour_cache(body: dict[str, Any]) -> bool:
    """Whether an Anthropic request marks a cache breakpoint kept an hour."""
    return '"ttl": "1h"' in json.dumps(body)


def anthropic_start_usage(body: dict[str, Any]) -> dict[str, Any]:
    """The usage of an Anthropic answer's start: ANTHROPIC_START_USAGE, its cache writes split
    by how long they are kept, and its tier."""
    writes = ANTHROPIC_START_USAGE["cache_creation_input_tokens"]
    long_writes = writes if asks_one_hour_cache(body) else 0
    usage = {
        **ANTHROPIC_START_USAGE,
        "cache_creation": {
            "ephemeral_5m_input_tokens": writes - long_writes,
            "ephemeral_1h_input_tokens": long_writes,
        },
        "service_tier": "standard",
    }
    if asks_web_search(body):
        usage["server_tool_use"] = {"web_search_requests": WEB_SEARCHES}
    return usage


GEMINI_USAGE = {
    "promptTokenCount": 500,
    "cachedContentTokenCount": 400,
    "candidatesTokenCount": 40,
    "thoughtsTokenCount": 24,
    "totalTokenCount": 564,
}
#: Bedrock's input tokens leave out the cache's, as Anthropic's do.
BEDROCK_USAGE = {
    "inputTokens": 30,
    "outputTokens": 50,
    "cacheReadInputTokens": 1200,
    "cacheWriteInputTokens": 300,
    "totalTokens": 1580,
}
#: Rate-limit headroom every answer reports: (limit, remaining) per header family.
RATE_LIMITS = {
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9000",
    "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-tokens": "100000",
    "anthropic-ratelimit-input-tokens-limit": "400000",
    "anthropic-ratelimit-input-tokens-remaining": "40000",
}


MEASURED_OUTPUT_TOKENS = 500
MEASURED_PREFIX = "/measured/"


def measured_usage(body: dict[str, Any]) -> dict[str, Any]:
    """The usage of a chat request as if each four characters of its text were a token, and
    its output ran to its limit."""
    text = "".join(str(message.get("content", "")) for message in body.get("messages", ()))
    prompt = -(-len(text) // 4)
    completion = body.get("max_completion_tokens") or body.get("max_tokens")
    completion = completion or MEASURED_OUTPUT_TOKENS
    total = prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def _chunk(
    model: str, delta: dict[str, Any], finish: str | None = None, tier: str = "default"
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion.chunk",
        "created": 1764288000,
        "model": model,
        "service_tier": tier,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _responses_events(model: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = {
        "id": "resp_local",
        "object": "response",
        "created_at": 1764288000,
        "model": model,
        "status": "completed",
        "service_tier": openai_tier(body),
        "output": [
            {
                "type": "message",
                "id": "msg_local",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "".join(WORDS), "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": RESPONSES_USAGE,
    }
    item = response["output"][0]
    if asks_web_search(body):
        search = {"type": "web_search_call", "id": "ws_local", "status": "completed"}
        search["action"] = {"type": "search", "query": "local"}
        response["output"] = [search, item]
    part = item["content"][0]
    where = {"item_id": "msg_local", "output_index": 0, "content_index": 0}
    deltas = [
        {"type": "response.output_text.delta", **where, "delta": word, "logprobs": []}
        for word in WORDS
    ]
    created = {**response, "status": "in_progress", "usage": None, "output": []}
    events = [
        {"type": "response.created", "response": created},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **where, "part": {**part, "text": ""}},
        *deltas,
        {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []},
        {"type": "response.content_part.done", **where, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": response},
    ]
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]


def _anthropic_events(model: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    start_usage = anthropic_start_usage(body)
    message = {
        "id": "msg_local",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}
        for w in WORDS
    ]
    final_usage = {**start_usage, "output_tokens": ANTHROPIC_OUTPUT_TOKENS}
    delta_usage: dict[str, Any] = {"output_tokens": ANTHROPIC_OUTPUT_TOKENS}
    if "server_tool_use" in start_usage:  # the searches run after the start: counted in the delta
        delta_usage["server_tool_use"] = start_usage["server_tool_use"]
        message["usage"] = {k: v for k, v in start_usage.items() if k != "server_tool_use"}
    final = {
        **message,
        "content": [{"type": "text", "text": "".join(WORDS)}],
        "stop_reason": "end_turn",
        "usage": final_usage,
    }
    return [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *deltas,
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": delta_usage,
        },
        {"type": "message_stop"},
        {"message": final},  # what a call that does not stream gets (not streamed)
    ]


def _gemini_chunks(model: str) -> list[dict[str, Any]]:
    """One chunk a word, each with the usage so far; the last with all of it."""
    so_far = {"promptTokenCount": 500, "totalTokenCount": 500}
    chunks = [
        {
            "candidates": [{"content": {"parts": [{"text": word}], "role": "model"}, "index": 0}],
            "usageMetadata": so_far,
            "modelVersion": model,
        }
        for word in WORDS
    ]
    chunks[-1] = {
        **chunks[-1],
        "candidates": [{**chunks[-1]["candidates"][0], "finishReason": "STOP"}],
        "usageMetadata": GEMINI_USAGE,
    }
    return chunks


def _gemini_whole(model: str) -> dict[str, Any]:
    content = {"parts": [{"text": "".join(WORDS)}], "role": "model"}
    return {
        "candidates": [{"content": content, "finishReason": "STOP", "index": 0}],
        "usageMetadata": GEMINI_USAGE,
        "modelVersion": model,
    }


def _gemini_embedding_tokens(body: dict[str, Any]) -> int:
    """The input tokens of a Gemini embeddings request here: a word a token."""
    texts = [part.get("text", "") for r in body["requests"] for part in r["content"]["parts"]]
    return sum(len(text.split()) for text in texts)


def _gemini_embeddings(body: dict[str, Any]) -> dict[str, Any]:
    tokens = _gemini_embedding_tokens(body)
    return {
        "embeddings": [{"values": [0.5, -0.25]} for _ in body["requests"]],
        "usageMetadata": {"promptTokenCount": tokens, "totalTokenCount": tokens},
    }


def _bedrock_whole() -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": "".join(WORDS)}]}},
        "stopReason": "end_turn",
        "usage": BEDROCK_USAGE,
        "metrics": {"latencyMs": 42},
    }


def _bedrock_events() -> list[tuple[str, dict[str, Any]]]:
    deltas = [
        ("contentBlockDelta", {"delta": {"text": word}, "contentBlockIndex": 0}) for word in WORDS
    ]
    return [
        ("messageStart", {"role": "assistant"}),
        *deltas,
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        ("metadata", {"usage": BEDROCK_USAGE, "metrics": {"latencyMs": 42}}),
    ]


def event_stream_message(headers: dict[str, str], payload: dict[str, Any]) -> bytes:
    """One message of AWS's binary event stream: prelude, string headers, JSON payload, CRCs."""
    encoded = b"".join(
        bytes([len(name)])
        + name.encode()
        + b"\x07"
        + struct.pack(">H", len(value))
        + value.encode()
        for name, value in headers.items()
    )
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 12 + len(encoded) + len(body) + 4, len(encoded))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + encoded + body
    return message + struct.pack(">I", binascii.crc32(message))


#: An image answer of gpt-image-1: its usage splits the prompt into text and image tokens.
IMAGE_USAGE = {
    "input_tokens": 1_100,
    "output_tokens": 4_160,
    "total_tokens": 5_260,
    "input_tokens_details": {"text_tokens": 100, "image_tokens": 1_000},
}
IMAGE_ANSWER = {"created": 1764288000, "data": [{"b64_json": "aW1hZ2U="}], "usage": IMAGE_USAGE}
#: Transcriptions: by tokens (gpt-4o-transcribe), or by the second (whisper-1).
TRANSCRIPTION_TOKENS = {
    "type": "tokens",
    "input_tokens": 1_250,
    "output_tokens": 80,
    "total_tokens": 1_330,
    "input_token_details": {"text_tokens": 50, "audio_tokens": 1_200},
}
TRANSCRIBED_SECONDS = 150
SPOKEN = b"ID3-local-audio"


def _transcription(model: str) -> dict[str, Any]:
    if model.startswith("whisper"):
        return {"text": "Hi.", "usage": {"type": "duration", "seconds": TRANSCRIBED_SECONDS}}
    return {"text": "Hi.", "usage": TRANSCRIPTION_TOKENS}


#: Bedrock's token headers of an invoke_model answer, and a chat answer's counts.
INVOKE_HEADERS = {
    "input": "X-Amzn-Bedrock-Input-Token-Count",
    "output": "X-Amzn-Bedrock-Output-Token-Count",
    "read": "X-Amzn-Bedrock-Cache-Read-Input-Token-Count",
    "write": "X-Amzn-Bedrock-Cache-Write-Input-Token-Count",
}
INVOKED_TOKENS = {"input": 30, "output": 12, "read": 1000, "write": 200}


def embedding_tokens(body: dict[str, Any]) -> int:
    """The input tokens an embeddings request is billed for here: a word a token."""
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    return sum(len(str(text).split()) for text in texts)


def _embeddings(model: str, body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI embeddings answer: a short vector per input, and its usage."""
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    tokens = embedding_tokens(body)
    vector: Any = [0.5, -0.25, 0.125]
    if body.get("encoding_format") == "base64":  # the SDK asks for it unless told otherwise
        vector = base64.b64encode(struct.pack("<3f", *vector)).decode()
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": vector} for i in range(len(texts))
        ],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers in small writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _model(self, body: dict[str, Any]) -> str:
        """The model a request names: in its path (Gemini, Bedrock) or its body."""
        path = self.path.split("?", 1)[0]
        if "/model/" in path:  # Bedrock: /model/{modelId}/converse(-stream)
            return unquote(path.split("/model/", 1)[1].rsplit("/", 1)[0])
        if ":" in path.rsplit("/", 1)[-1]:  # Gemini: /v1beta/models/{model}:generateContent
            return path.rsplit("/", 1)[-1].split(":", 1)[0]
        return body["model"]

    def _body(self) -> dict[str, Any]:
        """The request's JSON body, or the text fields of a multipart form (audio, image edits)."""
        data = self.rfile.read(int(self.headers["Content-Length"]))
        if not self.headers.get("Content-Type", "").startswith("multipart/form-data"):
            return json.loads(data or b"{}")  # type: ignore[no-any-return]
        fields = re.findall(rb'name="([^"]+)"\r\n\r\n([^\r]*)\r\n', data)
        return {name.decode(): value.decode() for name, value in fields}

    def do_POST(self) -> None:
        body = self._body()
        self.server.requests.append(body)  # type: ignore[attr-defined]
        model = self._model(body)
        if model.endswith("-429once") and model not in self.server.refused:  # type: ignore[attr-defined]
            self.server.refused.add(model)  # type: ignore[attr-defined]
            self._refuse()
            return
        path = self.path.split("?", 1)[0]
        if path.endswith("/embeddings"):
            self._send_json(_embeddings(model, body))
        elif path.endswith(("/images/generations", "/images/edits")):
            self._send_json(IMAGE_ANSWER)
        elif path.endswith(("/audio/transcriptions", "/audio/translations")):
            self._send_json(_transcription(model))
        elif path.endswith("/audio/speech"):
            self._send_bytes(SPOKEN, "audio/mpeg")
        elif path.endswith("/invoke"):
            self._bedrock_invoke(model, body)
        elif path.endswith("/converse"):
            self._send_json(_bedrock_whole())
        elif path.endswith("/converse-stream"):
            self._bedrock_stream(model)
        elif path.endswith(":generateContent"):
            self._send_json(_gemini_whole(model))
        elif path.endswith(":batchEmbedContents"):
            self._send_json(_gemini_embeddings(body))
        elif path.endswith(":streamGenerateContent"):
            self._gemini_stream(model)
        elif self.path.endswith("/responses"):
            self._events(model, _responses_events(model, body), body.get("stream"))
        elif self.path.endswith("/messages"):
            self._events(model, _anthropic_events(model, body), body.get("stream"))
        elif body.get("stream"):
            self._stream(model, body)
        else:
            measured = self.path.startswith(MEASURED_PREFIX)
            self._json(model, measured_usage(body) if measured else USAGE, openai_tier(body))

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        for name, value in RATE_LIMITS.items():
            self.send_header(name, value)

    def _refuse(self) -> None:
        data = b'{"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}'
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("retry-after-ms", "10")
        self.send_header("x-amzn-ErrorType", "ThrottlingException")
        self.end_headers()
        self.wfile.write(data)

    def _events(self, model: str, events: list[dict[str, Any]], stream: bool) -> None:
        """Typed events as server-sent events, or the final object as JSON."""
        if not stream:
            final = events[-1]
            self._send_json(final.get("response") or final["message"])
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for event in events[:-1] if "message" in events[-1] else events:
            self.wfile.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def _gemini_stream(self, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        chunks = _gemini_chunks(model)
        for chunk in chunks[:2] if model.endswith("-break") else chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
            self.wfile.flush()
        if model.endswith("-break"):
            self.wfile.write(b'data: {"trunc\r\n\r\n')
        self.wfile.flush()
        self.close_connection = True

    def _bedrock_stream(self, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Connection", "close")
        self.end_headers()
        events = _bedrock_events()
        for kind, payload in events[:3] if model.endswith("-break") else events:
            headers = {
                ":event-type": kind,
                ":content-type": "application/json",
                ":message-type": "event",
            }
            self.wfile.write(event_stream_message(headers, payload))
            self.wfile.flush()
        if model.endswith("-break"):
            failure = {
                ":exception-type": "modelStreamErrorException",
                ":content-type": "application/json",
                ":message-type": "exception",
            }
            self.wfile.write(event_stream_message(failure, {"message": "The model broke off."}))
        self.wfile.flush()
        self.close_connection = True

    def _bedrock_invoke(self, model: str, body: dict[str, Any]) -> None:
        """invoke_model: the model's own answer, its tokens in Bedrock's headers."""
        if "embed" in model:
            tokens = len(str(body.get("inputText", "")).split())
            answer: dict[str, Any] = {"embedding": [0.5, -0.25], "inputTextTokenCount": tokens}
            counts = {"input": tokens, "output": 0}
        else:
            answer = {"type": "message", "content": [{"type": "text", "text": "".join(WORDS)}]}
            counts = INVOKED_TOKENS
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for kind, count in counts.items():
            self.send_header(INVOKE_HEADERS[kind], str(count))
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, answer: dict[str, Any]) -> None:
        self._send_bytes(json.dumps(answer).encode(), "application/json")

    def _send_bytes(self, data: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, model: str, usage: dict[str, Any], tier: str) -> None:
        answer = {
            "id": "chatcmpl-local",
            "object": "chat.completion",
            "created": 1764288000,
            "model": model,
            "service_tier": tier,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "".join(WORDS)},
                }
            ],
            "usage": usage,
        }
        self._send_json(answer)

    def _stream(self, model: str, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        words = WORDS * (self.server.stream_repeats)  # type: ignore[attr-defined]
        tier = openai_tier(body)
        chunks = [_chunk(model, {"role": "assistant", "content": ""}, tier=tier)]
        chunks += [_chunk(model, {"content": word}, tier=tier) for word in words]
        chunks.append(_chunk(model, {}, "stop", tier))
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**_chunk(model, {}, tier=tier), "choices": [], "usage": USAGE})
        if model.endswith("-break"):
            chunks = chunks[:3]
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        if model.endswith("-break"):
            self.wfile.write(b'data: {"trunc\n\n')  # an event cut short: not JSON
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class ProviderServer(ThreadingHTTPServer):
    """Started with ``with ProviderServer() as server``; ``url`` is its OpenAI base URL."""

    daemon_threads = True
    request_queue_size = 256  # 50 clients connect at once

    def __init__(self, stream_repeats: int = 1) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.refused: set[str] = set()
        #: A streamed answer is WORDS this many times, a chunk each.
        self.stream_repeats = stream_repeats

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that stops reading a stream closes the connection: not an error here."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def measured_url(self) -> str:
        """The OpenAI base URL whose chat answers bill what the request holds."""
        return f"http://127.0.0.1:{self.server_address[1]}{MEASURED_PREFIX}v1"

    def __enter__(self) -> ProviderServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()

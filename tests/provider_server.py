"""A local HTTP server on 127.0.0.1 that answers like the OpenAI API (chat completions and
Responses) and the Anthropic Messages API: JSON, or server-sent events when asked to stream
(OpenAI chat usage in a last chunk when asked for it; Responses usage in ``response.completed``;
Anthropic usage split between ``message_start`` and ``message_delta``). The model name picks a
scenario: ``…-break`` ends a stream halfway with an event cut short; ``…-429once`` is refused
with 429 once, then answered. Every answer carries rate-limit headers: RATE_LIMITS."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
#: Rate-limit headroom every answer reports: (limit, remaining) per header family.
RATE_LIMITS = {
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9000",
    "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-tokens": "100000",
    "anthropic-ratelimit-input-tokens-limit": "400000",
    "anthropic-ratelimit-input-tokens-remaining": "40000",
}


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion.chunk",
        "created": 1764288000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _responses_events(model: str) -> list[dict[str, Any]]:
    response = {
        "id": "resp_local",
        "object": "response",
        "created_at": 1764288000,
        "model": model,
        "status": "completed",
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
    deltas = [
        {
            "type": "response.output_text.delta",
            "item_id": "msg_local",
            "output_index": 0,
            "content_index": 0,
            "delta": word,
            "logprobs": [],
            "sequence_number": index + 1,
        }
        for index, word in enumerate(WORDS)
    ]
    created = {**response, "status": "in_progress", "usage": None, "output": []}
    return [
        {"type": "response.created", "response": created, "sequence_number": 0},
        *deltas,
        {"type": "response.completed", "response": response, "sequence_number": len(WORDS) + 1},
    ]


def _anthropic_events(model: str) -> list[dict[str, Any]]:
    message = {
        "id": "msg_local",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": ANTHROPIC_START_USAGE,
    }
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}
        for w in WORDS
    ]
    final_usage = {**ANTHROPIC_START_USAGE, "output_tokens": ANTHROPIC_OUTPUT_TOKENS}
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
            "usage": {"output_tokens": ANTHROPIC_OUTPUT_TOKENS},
        },
        {"type": "message_stop"},
        {"message": final},  # what a call that does not stream gets (not streamed)
    ]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers in small writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)  # type: ignore[attr-defined]
        model = body["model"]
        if model.endswith("-429once") and model not in self.server.refused:  # type: ignore[attr-defined]
            self.server.refused.add(model)  # type: ignore[attr-defined]
            self._refuse()
            return
        if self.path.endswith("/responses"):
            self._events(model, _responses_events(model), body.get("stream"))
        elif self.path.endswith("/messages"):
            self._events(model, _anthropic_events(model), body.get("stream"))
        elif body.get("stream"):
            self._stream(model, body)
        else:
            self._json(model)

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

    def _send_json(self, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, model: str) -> None:
        answer = {
            "id": "chatcmpl-local",
            "object": "chat.completion",
            "created": 1764288000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "".join(WORDS)},
                }
            ],
            "usage": USAGE,
        }
        self._send_json(answer)

    def _stream(self, model: str, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        words = WORDS * (self.server.stream_repeats)  # type: ignore[attr-defined]
        chunks = [_chunk(model, {"role": "assistant", "content": ""})]
        chunks += [_chunk(model, {"content": word}) for word in words]
        chunks.append(_chunk(model, {}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**_chunk(model, {}), "choices": [], "usage": USAGE})
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

    def __enter__(self) -> ProviderServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()

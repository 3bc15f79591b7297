"""A local HTTP server on 127.0.0.1 that answers like the OpenAI API: chat completions as JSON,
or as server-sent events when asked to stream (usage in a last chunk when asked for it). The
model name picks a scenario: ``…-break`` ends a stream halfway with an event cut short."""

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


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion.chunk",
        "created": 1764288000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)  # type: ignore[attr-defined]
        model = body["model"]
        if body.get("stream"):
            self._stream(model, body)
        else:
            self._json(model)

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
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        chunks = [_chunk(model, {"role": "assistant", "content": ""})]
        chunks += [_chunk(model, {"content": word}) for word in WORDS]
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

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []

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

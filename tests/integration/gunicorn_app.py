"""A WSGI service for the gunicorn test: ``/call`` records one LLM request, ``/metrics`` serves."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from llmobs import get_llm_metrics, make_wsgi_app

metrics = get_llm_metrics()
metrics_app = make_wsgi_app()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/metrics":
        return metrics_app(environ, start_response)
    with metrics.track_request("svc.agent", "gpt-4o-mini", "openai"):
        time.sleep(0.02)  # a busy sync worker leaves the next request to another one
        metrics.record_request(
            agent_id="svc.agent",
            model="gpt-4o-mini",
            provider="openai",
            status="success",
            duration_seconds=0.2,
            prompt_tokens=5,
            completion_tokens=7,
            cost=0.125,
        )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]

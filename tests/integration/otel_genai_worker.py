"""A service instrumented by OpenTelemetry alone, no llmobs: the contrib OpenAI instrumentation
(``opentelemetry-instrumentation-openai-v2``) records GenAI client metrics, which the OTel SDK's
Prometheus exporter serves on ``PORT``. It calls the local provider server in rounds (plain
calls to ``gpt-4o-mini``, streamed calls to ``gpt-4o``, and calls that fail to connect), each
round an agent run with a tool call (every third one failing) recorded as an agent framework
instrumented with OpenTelemetry records them (``gen_ai.invoke_agent.duration``,
``gen_ai.invoke_agent.inference_calls``, ``gen_ai.execute_tool.duration``), until the file
``PAUSE`` exists; it keeps in ``COUNTS`` (JSON, replaced whole) what it did and the tokens the
answers reported.

    python otel_genai_worker.py PROVIDER_URL PORT PAUSE COUNTS
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import openai
from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import start_http_server

MESSAGES = [{"role": "user", "content": "hello"}]
#: Nothing listens here: a call to it fails to connect.
CLOSED_URL = "http://127.0.0.1:9/v1"


def main(provider_url: str, port: int, pause: Path, counts_file: Path) -> None:
    resource = Resource.create({"service.name": "support-bot"})
    metrics.set_meter_provider(
        MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()])
    )
    OpenAIInstrumentor().instrument()
    client = openai.OpenAI(base_url=provider_url, api_key="sk-local", max_retries=0)
    broken = openai.OpenAI(base_url=CLOSED_URL, api_key="sk-local", max_retries=0)
    meter = metrics.get_meter("agent-framework")
    run_duration = meter.create_histogram("gen_ai.invoke_agent.duration", unit="s")
    tool_duration = meter.create_histogram("gen_ai.execute_tool.duration", unit="s")
    inference_calls = meter.create_histogram("gen_ai.invoke_agent.inference_calls", unit="{call}")
    counts = {"success": 0, "streamed": 0, "error": 0, "prompt": 0, "completion": 0}
    counts.update({"runs": 0, "tools": 0, "tool_errors": 0})
    start_http_server(port, addr="127.0.0.1")
    while True:
        if pause.exists():
            time.sleep(0.1)
            continue
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        counts["success"] += 1
        counts["prompt"] += answer.usage.prompt_tokens
        counts["completion"] += answer.usage.completion_tokens
        stream = client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        for chunk in stream:
            if chunk.usage is not None:
                counts["prompt"] += chunk.usage.prompt_tokens
                counts["completion"] += chunk.usage.completion_tokens
        counts["success"] += 1
        counts["streamed"] += 1
        try:
            broken.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        except openai.APIConnectionError:
            counts["error"] += 1
        tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.agent.name": "triage"}
        tool["gen_ai.tool.name"] = "web_search"
        if counts["runs"] % 3 == 2:
            tool["error.type"] = "TimeoutError"
            counts["tool_errors"] += 1
        tool_duration.record(0.05, tool)
        counts["tools"] += 1
        run = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "triage"}
        run_duration.record(0.5, run)
        inference_calls.record(3, run)  # the round's three model calls
        counts["runs"] += 1
        written = counts_file.with_suffix(".tmp")
        written.write_text(json.dumps(counts))
        os.replace(written, counts_file)
        time.sleep(0.2)


if __name__ == "__main__":
    url, port, pause, counts = sys.argv[1:]
    main(url, int(port), Path(pause), Path(counts))

"""Record a request, an error and an active request with the metrics, then print them.

Run with ``make example``; it serves the same metrics on a free port of 127.0.0.1 while it
prints, so ``curl`` can read them too.
"""

from __future__ import annotations

from llmobs import get_llm_metrics, start_metrics_server

metrics = get_llm_metrics()

# Record a complete request
metrics.record_request(
    agent_id="meetmind.coordinator",
    model="gpt-4",
    provider="openai",
    status="success",
    duration_seconds=2.5,
    prompt_tokens=100,
    completion_tokens=200,
    cached=False,
    cost=0.015,
)

# Record an error
metrics.record_error(
    agent_id="agent.svea.pm",
    model="gpt-4",
    provider="openai",
    error_type="rate_limit",
)

# Track active requests
with metrics.track_request("agent.id", "gpt-4", "openai"):
    pass  # Make LLM call

server, _ = start_metrics_server(0)
print(f"# serving on http://127.0.0.1:{server.server_port}/metrics")
for line in metrics.get_metrics().decode().splitlines():
    if line.startswith("llm_") and "_created" not in line and "_bucket" not in line:
        print(line)
server.shutdown()

"""The cost of ``llmobs.instrument`` on a real OpenAI client: the instrumented client against
the same client uninstrumented, both calling a local server that answers like the API, per call
and per streamed answer of 200 chunks."""

from __future__ import annotations

import sys
from pathlib import Path

from harness import best_of, per_call_seconds, report
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import llmobs
from tests.provider_server import WORDS, ProviderServer

STREAM_CHUNKS = 200
MESSAGES = [{"role": "user", "content": "Hi"}]


def main() -> bool:
    try:
        import openai
    except ImportError:
        print("== SDK instrumentation: skipped (pip install openai) ==")
        return True
    print("== SDK instrumentation (openai, local server) ==")
    with ProviderServer(stream_repeats=STREAM_CHUNKS // len(WORDS) + 1) as server:
        plain = openai.OpenAI(api_key="sk-local", base_url=server.url, max_retries=0)
        observed = openai.OpenAI(api_key="sk-local", base_url=server.url, max_retries=0)
        observer = llmobs.LLMObserver(llmobs.LLMMetrics(registry=CollectorRegistry()))
        llmobs.instrument(observed, agent_id="bench.agent", observer=observer)

        def call(client: openai.OpenAI) -> float:
            create = client.chat.completions.create
            return per_call_seconds(lambda: create(model="gpt-4o", messages=MESSAGES), 200)

        def stream(client: openai.OpenAI) -> float:
            def read() -> None:
                for _ in client.chat.completions.create(
                    model="gpt-4o", messages=MESSAGES, stream=True,
                    stream_options={"include_usage": True},
                ):  # fmt: skip
                    pass

            return per_call_seconds(read, 40)

        # Ratios near their targets on a loaded machine: enough interleaved rounds that each
        # side's best is its real cost, not a quiet moment's.
        calls = best_of(25, {"plain": lambda: call(plain), "observed": lambda: call(observed)})
        streams = best_of(
            25, {"plain": lambda: stream(plain), "observed": lambda: stream(observed)}
        )
    return all(
        [
            # A local round trip takes about 1.4 ms, a real API call a hundred times that: the
            # tens of microseconds llmobs adds per call are a few percent here, far less there.
            report(
                "one call, instrumented vs the same client",
                calls["observed"],
                calls["plain"],
                1.10,
                "ms",
            ),
            report(
                f"one {STREAM_CHUNKS}-chunk stream, instrumented vs the same client",
                streams["observed"],
                streams["plain"],
                1.05,
                "ms",
            ),
        ]
    )


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

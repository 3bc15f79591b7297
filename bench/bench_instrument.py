"""The cost of ``llmobs.instrument`` on a real OpenAI client: the instrumented client against
the same client uninstrumented, both calling a local server that answers like the API, per call
and per streamed answer of 200 chunks."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import paired_median, per_call_seconds, report
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import llmobs
from tests.provider_server import WORDS, ProviderServer

STREAM_CHUNKS = 200
MESSAGES = [{"role": "user", "content": "Hi"}]


def _serve(stream_repeats: int, urls: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    with ProviderServer(stream_repeats=stream_repeats) as server:
        urls.put(server.url)
        stop.wait()


@contextmanager
def provider_elsewhere(stream_repeats: int) -> Iterator[str]:
    """The local provider served from a process of its own: in this one, its threads would
    share the client's interpreter lock, and what the client measures would swing with them."""
    context = multiprocessing.get_context("spawn")
    urls, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(stream_repeats, urls, stop), daemon=True)
    server.start()
    try:
        yield urls.get(timeout=60)
    finally:
        stop.set()
        server.join(10)


def main() -> bool:
    try:
        import openai
    except ImportError:
        print("== SDK instrumentation: skipped (pip install openai) ==")
        return True
    print("== SDK instrumentation (openai, local server) ==")
    with provider_elsewhere(STREAM_CHUNKS // len(WORDS) + 1) as url:
        plain = openai.OpenAI(api_key="sk-local", base_url=url, max_retries=0)
        observed = openai.OpenAI(api_key="sk-local", base_url=url, max_retries=0)
        observer = llmobs.LLMObserver(llmobs.LLMMetrics(registry=CollectorRegistry()))
        llmobs.instrument(observed, agent_id="bench.agent", observer=observer)

        def call(client: openai.OpenAI) -> float:
            create = client.chat.completions.create
            return per_call_seconds(lambda: create(model="gpt-4o", messages=MESSAGES), 100)

        def stream(client: openai.OpenAI) -> float:
            def read() -> None:
                for _ in client.chat.completions.create(
                    model="gpt-4o", messages=MESSAGES, stream=True,
                    stream_options={"include_usage": True},
                ):  # fmt: skip
                    pass

            return per_call_seconds(read, 40)

        # A local round trip swings with the machine's load by more than the few percent
        # measured: the median of many paired rounds, not each side's best.
        calls = paired_median(41, lambda: call(plain), lambda: call(observed))
        streams = paired_median(25, lambda: stream(plain), lambda: stream(observed))
    return all(
        [
            # A local round trip takes about 1.4 ms, a real API call a hundred times that: the
            # tens of microseconds llmobs adds per call are a few percent here, far less there.
            report("one call, instrumented vs the same client", *calls, 1.10, "ms"),
            report(
                f"one {STREAM_CHUNKS}-chunk stream, instrumented vs the same client",
                *streams,
                1.05,
                "ms",
            ),
        ]
    )


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

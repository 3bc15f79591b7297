"""What recording to OpenTelemetry costs: llmobs's GenAI instruments against the OpenTelemetry
SDK recording the same points itself, and an observed call with OpenTelemetry on against the
same call off plus the SDK's own recording (the SDK's cost is the SDK's; llmobs adds none)."""

from __future__ import annotations

from harness import best_of, per_call_seconds, report
from prometheus_client import CollectorRegistry

CALLS = 20_000
ROUNDS = 5


def main() -> bool:
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    except ImportError:
        print("OpenTelemetry: skipped (pip install opentelemetry-sdk)")
        return True
    from llmobs import LLMMetrics, LLMObserver
    from llmobs.otel import GenAIMetrics

    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    instruments = GenAIMetrics(provider)
    meter = provider.get_meter("bench")
    tokens = meter.create_histogram("sdk.tokens")
    duration = meter.create_histogram("sdk.duration")
    cost = meter.create_counter("sdk.cost")
    base = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
    }
    inputs, outputs = (
        {**base, "gen_ai.token.type": "input"},
        {**base, "gen_ai.token.type": "output"},
    )

    def sdk_alone() -> None:
        tokens.record(1000, inputs)
        tokens.record(200, outputs)
        duration.record(1.5, base)
        cost.add(0.0045, base)

    def through_llmobs() -> None:
        instruments.record(
            instruments.attributes("gpt-4o", "openai", "chat"),
            input_tokens=1000,
            output_tokens=200,
            duration=1.5,
            cost=0.0045,
        )

    def observed(otel: GenAIMetrics | None) -> LLMObserver:
        return LLMObserver(LLMMetrics(registry=CollectorRegistry()), otel=otel)

    plain, with_otel = observed(None), observed(instruments)

    def call(observer: LLMObserver) -> None:
        with observer.call("svea.writer", "gpt-4o", "openai") as llm_call:
            llm_call.duration_seconds = 1.5
            llm_call.set_usage(prompt_tokens=1000, completion_tokens=200)

    best = best_of(
        ROUNDS,
        {
            "sdk": lambda: per_call_seconds(sdk_alone, CALLS),
            "llmobs": lambda: per_call_seconds(through_llmobs, CALLS),
            "off": lambda: per_call_seconds(lambda: call(plain), CALLS),
            "on": lambda: per_call_seconds(lambda: call(with_otel), CALLS),
        },
    )
    return all(
        [
            report(
                "GenAI metrics of a call vs the OTel SDK alone", best["llmobs"], best["sdk"], 1.5
            ),
            # On, a call costs what it costs off plus the SDK's own recording, no more.
            report(
                "observed call, OTel on vs off + the SDK alone",
                best["on"],
                best["off"] + best["sdk"],
                1.2,
            ),
        ]
    )


if __name__ == "__main__":
    main()

"""The calls llmobs records, recorded also as OpenTelemetry GenAI client metrics, through the
user's MeterProvider (``pip install 'obsgen[otel]'``).

Names, units, attributes and bucket boundaries follow the OpenTelemetry semantic conventions
for generative AI metrics of release ``SEMCONV_VERSION`` (docs/gen-ai/gen-ai-metrics.md):

- ``gen_ai.client.token.usage`` (``{token}``): input and output tokens of each call;
- ``gen_ai.client.operation.duration`` (``s``): each call's duration, ``error.type`` on
  failures;
- ``gen_ai.client.operation.time_to_first_chunk`` (``s``): streamed calls only;
- ``gen_ai.client.operation.time_per_output_chunk`` (``s``): streamed calls, once for each
  output chunk after the first, the time since the chunk before.

Cost has no convention yet: it is the counter ``llmobs.gen_ai.client.cost`` (``USD``), with
the same attributes. Attributes: ``gen_ai.operation.name`` (``chat``, ``embeddings``, or
``generate_content`` for Google's chat calls as the conventions name them; ``image`` and
``audio`` as custom values), ``gen_ai.provider.name`` (the conventions' well-known names:
``aws.bedrock``, ``gcp.gemini``, ...), ``gen_ai.request.model``.

Example:
    >>> from opentelemetry.sdk.metrics import MeterProvider
    >>> import llmobs
    >>> instruments = llmobs.enable_otel(MeterProvider())  # every observer records to it
    >>> llmobs.disable_otel()
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import content
from .schema import Operation

SEMCONV_VERSION = "1.41.0"
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
#: The conventions' attribute names llmobs records.
OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
TOKEN_TYPE = "gen_ai.token.type"
ERROR_TYPE = "error.type"
AGENT_NAME = "gen_ai.agent.name"
TOOL_NAME = "gen_ai.tool.name"
#: The conventions' operation names of an agent run and of a tool call.
INVOKE_AGENT, EXECUTE_TOOL = "invoke_agent", "execute_tool"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
#: A call's cost on its span: no convention names cost yet.
COST_ATTRIBUTE = "llmobs.gen_ai.cost_usd"
#: ``gen_ai.token.type`` of prompt and of completion tokens.
INPUT, OUTPUT = "input", "output"


@dataclass(frozen=True)
class Instrument:
    """One OpenTelemetry instrument: its name, unit and description."""

    name: str
    unit: str
    description: str


TOKEN_USAGE = Instrument(
    "gen_ai.client.token.usage", "{token}", "Number of input and output tokens used."
)
OPERATION_DURATION = Instrument(
    "gen_ai.client.operation.duration", "s", "GenAI operation duration."
)
TIME_TO_FIRST_CHUNK = Instrument(
    "gen_ai.client.operation.time_to_first_chunk",
    "s",
    "Time to receive the first chunk of a streamed response.",
)
TIME_PER_OUTPUT_CHUNK = Instrument(
    "gen_ai.client.operation.time_per_output_chunk",
    "s",
    "Time per output chunk, recorded for each chunk received after the first one.",
)
INVOKE_AGENT_DURATION = Instrument("gen_ai.invoke_agent.duration", "s", "GenAI agent run duration.")
INFERENCE_CALLS = Instrument(
    "gen_ai.invoke_agent.inference_calls", "{call}", "Model calls in one agent invocation."
)
TOOL_CALL_COUNT = Instrument(
    "gen_ai.invoke_agent.tool_calls", "{call}", "Tool calls in one agent invocation."
)
EXECUTE_TOOL_DURATION = Instrument("gen_ai.execute_tool.duration", "s", "Tool execution duration.")
COST = Instrument(
    "llmobs.gen_ai.client.cost",
    "USD",
    "Cost of GenAI operations in US dollars, as llmobs prices them (no semantic convention "
    "names cost yet).",
)
#: Seconds between output chunks: the conventions' bounds for time per output token.
CHUNK_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
)  # fmt: skip
#: Model or tool calls in one agent run.
COUNT_BUCKETS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500)
#: llmobs's provider names (and their aliases) by the conventions' well-known values.
PROVIDER_NAMES: Mapping[str, str] = {
    "google": "gcp.gemini",
    "gemini": "gcp.gemini",
    "google-gla": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "aws": "aws.bedrock",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "x-ai": "x_ai",
}
_GOOGLE = frozenset({"gcp.gemini", "gcp.vertex_ai"})


def provider_name(provider: str) -> str:
    """The conventions' ``gen_ai.provider.name`` of an llmobs provider label."""
    return PROVIDER_NAMES.get(provider, provider)


def operation_name(operation: str, provider: str) -> str:
    """The conventions' ``gen_ai.operation.name``: Google's chat calls are ``generate_content``."""
    if operation == Operation.CHAT.value and provider in _GOOGLE:
        return "generate_content"
    return operation


def _histogram(meter: Any, instrument: Instrument, buckets: tuple[float, ...]) -> Any:
    """A histogram with the conventions' bucket boundaries."""
    return meter.create_histogram(
        instrument.name,
        unit=instrument.unit,
        description=instrument.description,
        explicit_bucket_boundaries_advisory=buckets,
    )


class GenAIMetrics:
    """The OpenTelemetry instruments llmobs records every observed call to.

    Args:
        meter_provider: where the instruments live; the global MeterProvider if None.
    """

    def __init__(self, meter_provider: Any = None) -> None:
        from opentelemetry import metrics

        from . import __version__

        provider = meter_provider or metrics.get_meter_provider()
        meter = provider.get_meter("llmobs", __version__, schema_url=SCHEMA_URL)
        self.tokens = _histogram(meter, TOKEN_USAGE, TOKEN_BUCKETS)
        self.duration = _histogram(meter, OPERATION_DURATION, DURATION_BUCKETS)
        self.first_chunk = _histogram(meter, TIME_TO_FIRST_CHUNK, DURATION_BUCKETS)
        self.per_chunk = _histogram(meter, TIME_PER_OUTPUT_CHUNK, CHUNK_BUCKETS)
        self.cost = meter.create_counter(COST.name, unit=COST.unit, description=COST.description)
        self.run_duration = _histogram(meter, INVOKE_AGENT_DURATION, DURATION_BUCKETS)
        self.run_calls = _histogram(meter, INFERENCE_CALLS, COUNT_BUCKETS)
        self.run_tools = _histogram(meter, TOOL_CALL_COUNT, COUNT_BUCKETS)
        self.tool_duration = _histogram(meter, EXECUTE_TOOL_DURATION, DURATION_BUCKETS)

    @staticmethod
    def attributes(model: str, provider: str, operation: str) -> dict[str, str]:
        """The attributes every instrument records a call with."""
        name = provider_name(provider)
        return {
            OPERATION_NAME: operation_name(operation, name),
            PROVIDER_NAME: name,
            REQUEST_MODEL: model,
        }

    def record(
        self,
        attributes: dict[str, str],
        *,
        input_tokens: int | None,
        output_tokens: int | None,
        duration: float | None,
        cost: float | None,
        error_type: str | None = None,
        first_chunk: float | None = None,
        chunk_gaps: list[float] | None = None,
    ) -> None:
        """Record one call: its tokens (None: not reported), duration, cost and, for a
        streamed call, the time to its first chunk and between each output chunk after it;
        ``error_type`` for a failed one."""
        if input_tokens is not None:
            self.tokens.record(input_tokens, {**attributes, TOKEN_TYPE: INPUT})
        if output_tokens is not None:
            self.tokens.record(output_tokens, {**attributes, TOKEN_TYPE: OUTPUT})
        if duration is not None:
            timed = attributes if error_type is None else {**attributes, ERROR_TYPE: error_type}
            self.duration.record(duration, timed)
        if first_chunk is not None:
            self.first_chunk.record(first_chunk, attributes)
        for gap in chunk_gaps or ():
            self.per_chunk.record(gap, attributes)
        if cost:
            self.cost.add(cost, attributes)


def record_run(
    instruments: GenAIMetrics, attributes: dict[str, str], duration: float, calls: int, tools: int
) -> None:
    """Record one agent run: its duration, its model calls and its tool calls."""
    instruments.run_duration.record(duration, attributes)
    instruments.run_calls.record(calls, attributes)
    instruments.run_tools.record(tools, attributes)


def record_tool(instruments: GenAIMetrics, attributes: dict[str, str], duration: float) -> None:
    """Record one tool call's duration."""
    instruments.tool_duration.record(duration, attributes)


class GenAISpans:
    """GenAI client spans, one per observed call, as the conventions name them: ``{operation}
    {model}``, kind CLIENT, the metrics' attributes plus ``gen_ai.agent.name`` (the agent id),
    ``gen_ai.usage.input_tokens`` and ``gen_ai.usage.output_tokens``, ``error.type`` and an
    error status on failures, and the cost as ``llmobs.gen_ai.cost_usd``.

    Attributes only, unless ``capture_content``: then also the prompt and the answer, as
    ``gen_ai.input.messages``, ``gen_ai.system_instructions`` and ``gen_ai.output.messages``
    (see ``llmobs.content``). They hold what users wrote: turn it on only where traces may.

    A call's span is a child of the span current where the call starts. It is not made current
    during the call (a streamed call ends elsewhere than it starts), only while the call is
    recorded, so the metrics' exemplars name it.

    Args:
        tracer_provider: where the spans go; the global TracerProvider if None.
        capture_content: record prompts and answers too; if None, as the OpenTelemetry GenAI
            instrumentations' ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` says
            (``true``, ``span_only`` or ``span_and_event``: on), else off.
    """

    def __init__(self, tracer_provider: Any = None, *, capture_content: bool | None = None) -> None:
        from opentelemetry import context, trace

        from . import __version__

        provider = tracer_provider or trace.get_tracer_provider()
        self._trace, self._context = trace, context
        self.tracer = provider.get_tracer("llmobs", __version__, schema_url=SCHEMA_URL)
        if capture_content is None:
            said = os.environ.get(content.CAPTURE_VARIABLE, "").strip().lower()
            capture_content = said in content.CAPTURE_ON
        self.capture_content = bool(capture_content)

    def start(
        self, agent_id: str, model: str, provider: str, operation: str, seconds_ago: float = 0.0
    ) -> Any:
        """The span of a call that started ``seconds_ago`` (0: now)."""
        attributes = {**GenAIMetrics.attributes(model, provider, operation), AGENT_NAME: agent_id}
        started = time.time_ns() - int(seconds_ago * 1e9) if seconds_ago else None
        return self.tracer.start_span(
            f"{attributes[OPERATION_NAME]} {model}",
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            start_time=started,
        )

    @staticmethod
    def prompt(span: Any, request: Mapping[str, Any]) -> None:
        """Give ``span`` the prompt of ``request`` (the call's keyword arguments): its messages
        and system instructions. For spans that capture content only."""
        messages = content.input_messages(request)
        if messages:
            span.set_attribute(content.INPUT_MESSAGES, content.as_attribute(messages))
        instructions = content.system_instructions(request)
        if instructions:
            span.set_attribute(content.SYSTEM_INSTRUCTIONS, content.as_attribute(instructions))

    def start_internal(self, name: str, attributes: dict[str, str]) -> Any:
        """An agent run's or a tool call's span (kind INTERNAL: it runs in this process)."""
        return self.tracer.start_span(
            name, kind=self._trace.SpanKind.INTERNAL, attributes=attributes
        )

    def make_current(self, span: Any) -> Any:
        """Make ``span`` the current span; the token that ``restore`` takes."""
        return self._context.attach(self._trace.set_span_in_context(span))

    def restore(self, token: Any) -> None:
        """Make current again the span current before ``make_current`` gave ``token``."""
        self._context.detach(token)

    def end(
        self,
        span: Any,
        *,
        input_tokens: int | None,
        output_tokens: int | None,
        cost: float | None,
        error_type: str | None,
        answer: list[content.Message] | None = None,
    ) -> None:
        """End ``span`` with what the call used and cost, how it failed, and (content capture
        on) the ``answer``'s messages."""
        if answer:
            span.set_attribute(content.OUTPUT_MESSAGES, content.as_attribute(answer))
        if input_tokens is not None:
            span.set_attribute(USAGE_INPUT_TOKENS, input_tokens)
        if output_tokens is not None:
            span.set_attribute(USAGE_OUTPUT_TOKENS, output_tokens)
        if cost is not None:
            span.set_attribute(COST_ATTRIBUTE, cost)
        if error_type is not None:
            span.set_attribute(ERROR_TYPE, error_type)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error_type))
        span.end()


def agent_attributes(agent: str, error_type: str | None = None) -> dict[str, str]:
    """The attributes of an agent run (``invoke_agent``)."""
    attributes = {OPERATION_NAME: INVOKE_AGENT, AGENT_NAME: agent}
    return attributes if error_type is None else {**attributes, ERROR_TYPE: error_type}


def tool_attributes(agent: str, tool: str, error_type: str | None = None) -> dict[str, str]:
    """The attributes of a tool call (``execute_tool``)."""
    attributes = {OPERATION_NAME: EXECUTE_TOOL, AGENT_NAME: agent, TOOL_NAME: tool}
    return attributes if error_type is None else {**attributes, ERROR_TYPE: error_type}


_ENABLED: GenAIMetrics | None = None
_SPANS: GenAISpans | None = None


def enable_otel(
    meter_provider: Any = None,
    *,
    spans: bool = False,
    tracer_provider: Any = None,
    capture_content: bool | None = None,
) -> GenAIMetrics:
    """Record every call observed from now on also as OpenTelemetry GenAI metrics, through
    ``meter_provider`` (the global one if None), and with ``spans`` as a GenAI client span each,
    through ``tracer_provider`` (the global one if None), holding prompts and answers only if
    ``capture_content`` (see ``GenAISpans``). Returns the instruments."""
    global _ENABLED, _SPANS
    _ENABLED = GenAIMetrics(meter_provider)
    _SPANS = GenAISpans(tracer_provider, capture_content=capture_content) if spans else None
    return _ENABLED


def disable_otel() -> None:
    """Stop recording OpenTelemetry metrics and spans (observers given their own keep theirs)."""
    global _ENABLED, _SPANS
    _ENABLED = None
    _SPANS = None


def enabled() -> GenAIMetrics | None:
    """The instruments ``enable_otel`` made, if it was called."""
    return _ENABLED


def spans_enabled() -> GenAISpans | None:
    """The spans ``enable_otel(spans=True)`` turned on, if it did."""
    return _SPANS

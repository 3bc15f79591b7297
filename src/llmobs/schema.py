"""Every metric llmobs exposes, as data.

This module is the single source of truth for metric names, types, labels, help texts, units and
histogram buckets. The runtime builds its collectors from it and the generator builds every PromQL
expression from it; no other module spells a metric name.

Example:
    >>> from llmobs.schema import METRICS, REQUESTS
    >>> REQUESTS.name, REQUESTS.labels
    ('llm_requests_total', ('agent_id', 'model', 'provider', 'operation', 'status'))
    >>> [m.name for m in METRICS if "provider" not in m.labels][:2]
    ['llm_cache_hits_total', 'llm_cache_misses_total']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class MetricKind(str, Enum):
    """Prometheus metric type."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its exposed name, type, label names, help text and unit.

    ``unit`` names what a sample measures (``requests``, ``tokens``, ``usd``, ``seconds``,
    ``entries``, ``records``); the dashboard generator maps it to a Grafana unit.
    ``multiprocess_mode`` is how a gauge's per-worker values combine in multiprocess mode.
    """

    name: str
    kind: MetricKind
    labels: tuple[str, ...]
    help: str
    unit: str
    buckets: tuple[float, ...] | None = None
    multiprocess_mode: str | None = None

    @property
    def base_name(self) -> str:
        """The name without the ``_total`` suffix that the Prometheus client adds to counters."""
        if self.kind is MetricKind.COUNTER and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        return self.name


# Latency buckets for LLM calls: a cached answer in tens of milliseconds up to long generations
# of several minutes. 10 s is a bucket boundary so the p99 < 10 s SLO is measured exactly.
DURATION_BUCKETS: tuple[float, ...] = (
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    15.0,
    20.0,
    30.0,
    60.0,
    120.0,
    300.0,
)
# Time to the first token of a streamed answer: a warm small model in tens of milliseconds, a
# queued or reasoning model in tens of seconds.
FIRST_TOKEN_BUCKETS: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
)  # fmt: skip
# Time per output token after the first: from a thousand tokens a second to a slow one a second.
TOKEN_PACE_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip


class Operation(str, Enum):
    """Values of the ``operation`` label: what a call asked the model for (the OpenTelemetry
    GenAI conventions' ``gen_ai.operation.name``, in llmobs's words)."""

    CHAT = "chat"
    EMBEDDINGS = "embeddings"
    IMAGE = "image"
    AUDIO = "audio"


#: The operation of a call that names none.
CHAT = Operation.CHAT.value

REQUESTS = MetricSpec(
    name="llm_requests_total",
    kind=MetricKind.COUNTER,
    labels=("agent_id", "model", "provider", "operation", "status"),
    help="LLM requests completed, by agent, model, provider, operation (chat, embeddings, "
    "image, audio) and status.",
    unit="requests",
)
TOKENS = MetricSpec(
    name="llm_tokens_used_total",
    kind=MetricKind.COUNTER,
    labels=("agent_id", "model", "provider", "operation", "token_type"),
    help="Tokens used by LLM requests, by agent, model, provider, operation and token type "
    "(prompt, completion, cache_read, cache_write, reasoning). prompt includes cache_read and "
    "cache_write; completion includes reasoning: never add every type.",
    unit="tokens",
)
CACHE_HITS = MetricSpec(
    name="llm_cache_hits_total",
    kind=MetricKind.COUNTER,
    labels=("agent_id", "model"),
    help="LLM requests answered from the response cache, by agent and model.",
    unit="requests",
)
CACHE_MISSES = MetricSpec(
    name="llm_cache_misses_total",
    kind=MetricKind.COUNTER,
    labels=("agent_id", "model"),
    help="LLM requests that looked in the response cache and missed, by agent and model.",
    unit="requests",
)
ERRORS = MetricSpec(
    name="llm_errors_total",
    kind=MetricKind.COUNTER,
    labels=("agent_id", "model", "provider", "error_type"),
    help="LLM request errors, by agent, model, provider and error type.",
    unit="errors",
)
COST = MetricSpec(
    name="llm_cost_total",
    kind=MetricKind.COUNTER,
    labels=("agent_id", "model", "provider", "operation"),
    help="Cost of LLM requests in US dollars, by agent, model, provider and operation.",
    unit="usd",
)
REQUEST_DURATION = MetricSpec(
    name="llm_request_duration_seconds",
    kind=MetricKind.HISTOGRAM,
    labels=("agent_id", "model", "provider", "operation"),
    help="LLM request latency in seconds, by agent, model, provider and operation.",
    unit="seconds",
    buckets=DURATION_BUCKETS,
)


def _call_histogram(name: str, help: str, buckets: tuple[float, ...]) -> MetricSpec:
    """A histogram of seconds per call, by agent, model and provider."""
    labels = ("agent_id", "model", "provider")
    return MetricSpec(name, MetricKind.HISTOGRAM, labels, help, "seconds", buckets=buckets)


FAILED_REQUEST_DURATION = _call_histogram(
    "llm_failed_request_duration_seconds",
    "Seconds LLM requests took until they failed, by agent, model and provider: kept apart "
    "from llm_request_duration_seconds, which times the requests that were answered.",
    DURATION_BUCKETS,
)
TIME_TO_FIRST_TOKEN = _call_histogram(
    "llm_time_to_first_token_seconds",
    "Seconds from a streamed LLM call's start to its first output chunk, by agent, model and "
    "provider.",
    FIRST_TOKEN_BUCKETS,
)
TIME_PER_OUTPUT_TOKEN = _call_histogram(
    "llm_time_per_output_token_seconds",
    "Seconds per output token after the first of a streamed LLM call that ran to its end, by "
    "agent, model and provider.",
    TOKEN_PACE_BUCKETS,
)
#: How long an agent run takes: from a second to an hour.
RUN_DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
#: What one agent run costs in USD: from a tenth of a cent to a hundred dollars.
RUN_COST_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 100.0)
#: Steps, LLM calls or tool calls in one run.
RUN_COUNT_BUCKETS = (1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)
#: Tokens one run used.
RUN_TOKEN_BUCKETS = (1e3, 5e3, 1e4, 5e4, 1e5, 5e5, 1e6, 5e6, 1e7)
#: How long a tool call takes: from a millisecond to five minutes.
TOOL_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 300.0)


class RunOutcome(str, Enum):
    """How an agent run ended (the ``outcome`` label)."""

    COMPLETED = "completed"
    FAILED = "failed"
    #: A budget or the run's own cap refused one of its calls.
    REFUSED = "refused"


def _run_histogram(name: str, help: str, unit: str, buckets: tuple[float, ...]) -> MetricSpec:
    """A histogram with one observation per agent run, by agent."""
    return MetricSpec(name, MetricKind.HISTOGRAM, ("agent_id",), help, unit, buckets=buckets)


AGENT_RUNS = MetricSpec(
    name="llm_agent_runs_total",
    kind=MetricKind.COUNTER,
    labels=("agent_id", "outcome"),
    help="Agent runs ended, by agent and outcome (completed, failed, refused).",
    unit="runs",
)
AGENT_RUN_DURATION = _run_histogram(
    "llm_agent_run_duration_seconds", "Seconds each agent run took, by agent.", "seconds",
    RUN_DURATION_BUCKETS,
)  # fmt: skip
AGENT_RUN_COST = _run_histogram(
    "llm_agent_run_cost_usd", "USD the LLM calls of each agent run cost, by agent.", "USD",
    RUN_COST_BUCKETS,
)  # fmt: skip
AGENT_RUN_STEPS = _run_histogram(
    "llm_agent_run_steps", "Steps each agent run took (its loop's turns), by agent.", "steps",
    RUN_COUNT_BUCKETS,
)  # fmt: skip
AGENT_RUN_CALLS = _run_histogram(
    "llm_agent_run_llm_calls", "LLM calls each agent run made, by agent.", "calls",
    RUN_COUNT_BUCKETS,
)  # fmt: skip
AGENT_RUN_TOKENS = _run_histogram(
    "llm_agent_run_tokens", "Prompt and completion tokens each agent run used, by agent.",
    "tokens", RUN_TOKEN_BUCKETS,
)  # fmt: skip
TOOL_CALLS = MetricSpec(
    name="llm_tool_calls_total",
    kind=MetricKind.COUNTER,
    labels=("agent_id", "tool", "status"),
    help="Tool calls of agent runs, by agent, tool and status (success, error).",
    unit="calls",
)
TOOL_DURATION = MetricSpec(
    name="llm_tool_duration_seconds",
    kind=MetricKind.HISTOGRAM,
    labels=("agent_id", "tool"),
    help="Seconds each tool call took, failed or not, by agent and tool.",
    unit="seconds",
    buckets=TOOL_DURATION_BUCKETS,
)
ACTIVE_REQUESTS = MetricSpec(
    name="llm_active_requests",
    kind=MetricKind.GAUGE,
    labels=("agent_id", "provider"),
    help="LLM requests in flight, by agent and provider.",
    unit="requests",
    multiprocess_mode="livesum",
)
CACHE_SIZE = MetricSpec(
    name="llm_cache_size",
    kind=MetricKind.GAUGE,
    labels=("tenant",),
    help="Entries in the LLM response cache, by tenant.",
    unit="entries",
    multiprocess_mode="livemostrecent",
)
LABEL_OVERFLOW = MetricSpec(
    name="llm_label_overflow_total",
    kind=MetricKind.COUNTER,
    labels=("label",),
    help="Records whose label value was folded into the overflow value because the label "
    "reached its cap on distinct values, by label name.",
    unit="records",
)
BUILD_INFO = MetricSpec(
    name="llm_build_info",
    kind=MetricKind.GAUGE,
    labels=("version",),
    help="The version of the LLM service that is running (always 1); a new version marks a "
    "deployment.",
    unit="info",
    multiprocess_mode="livemax",
)
UNPRICED_REQUESTS = MetricSpec(
    name="llm_unpriced_requests_total",
    kind=MetricKind.COUNTER,
    labels=("model", "provider"),
    help="LLM requests whose model has no known price; their cost was recorded as 0.",
    unit="requests",
)
PRICE_DATA_TIME = MetricSpec(
    name="llm_price_data_timestamp_seconds",
    kind=MetricKind.GAUGE,
    labels=(),
    help="When the model prices in use were fetched, in Unix seconds: a price data file's "
    "fetch time (obsgen prices update), or for genai-prices' bundled data when it was "
    "installed. Old prices under-count new models and miss price changes.",
    unit="seconds",
    multiprocess_mode="livemin",
)
INVALID_RECORDS = MetricSpec(
    name="llm_invalid_records_total",
    kind=MetricKind.COUNTER,
    labels=("reason",),
    help="Records rejected for bad input, by reason.",
    unit="records",
)
#: Why the cost tracker gave up on an entry: the values of ``llm_cost_records_dropped_total``.
COST_DROP_REASONS = ("queue_full", "store_error", "shutdown", "closed")
COST_RECORDS_DROPPED = MetricSpec(
    name="llm_cost_records_dropped_total",
    kind=MetricKind.COUNTER,
    labels=("reason",),
    help="Cost entries the cost tracker gave up on, by reason: queue_full (the write queue was "
    "full), store_error (a durable write failed), shutdown (still queued at exit), closed.",
    unit="records",
)
COST_STORE_ERRORS = MetricSpec(
    name="llm_cost_store_errors_total",
    kind=MetricKind.COUNTER,
    labels=(),
    help="Failed attempts to write to the cost store; queued entries are kept and retried.",
    unit="errors",
)


def _call_counter(name: str, extra: tuple[str, ...], help: str, unit: str) -> MetricSpec:
    """A counter by agent, model, provider and ``extra`` labels."""
    labels = ("agent_id", "model", "provider", *extra)
    return MetricSpec(name, MetricKind.COUNTER, labels, help, unit)


RETRIES = _call_counter(
    "llm_retries_total",
    (),
    "Attempts an SDK made again, on its own, after a failed one (429, 5xx, lost connection), "
    "by agent, model and provider: calls cost more attempts than they show.",
    "requests",
)
FAILED_ATTEMPTS = _call_counter(
    "llm_failed_attempts_total",
    ("code",),
    "HTTP responses of 429 (rate limited) or 5xx to an SDK's attempts, by agent, model, "
    "provider and status code, counted even when a later attempt succeeded.",
    "responses",
)
#: The limits providers report headroom on, in their response headers.
RATE_LIMIT_KINDS = ("requests", "tokens", "input_tokens", "output_tokens")
RATE_LIMIT_REMAINING = MetricSpec(
    name="llm_rate_limit_remaining_ratio",
    kind=MetricKind.GAUGE,
    labels=("provider", "model", "limit"),
    help="The share of a provider's rate limit left at its last response, from its headers "
    "(OpenAI x-ratelimit-*, Anthropic anthropic-ratelimit-*), by provider, model and limit "
    "(requests, tokens, input_tokens, output_tokens).",
    unit="ratio",
    multiprocess_mode="livemostrecent",
)
#: Why a call ended with no usage: the response reported none, the caller stopped reading a
#: stream before its usage came, or the stream broke.
USAGE_MISSING_REASONS = ("not_reported", "stream_closed", "stream_error")
USAGE_MISSING = _call_counter(
    "llm_usage_missing_total",
    ("reason",),
    "LLM calls that ended without token usage, so their tokens and cost are recorded as 0, by "
    "agent, model, provider and reason (not_reported, stream_closed, stream_error).",
    "requests",
)
BUDGET_REFUSALS = MetricSpec(
    name="llm_budget_refusals_total",
    kind=MetricKind.COUNTER,
    labels=("agent_id", "scope", "period"),
    help="LLM calls refused before they were made because an enforced budget or a run's cap "
    "had no room for them, by agent, scope (global, team, agent, run) and period (day, week, "
    "month, run).",
    unit="requests",
)

#: The budget gauges a cost tracker exports (``CostTracker.export_metrics``): read from the
#: cost store at scrape time, for the calendar period in the tracker's time zone, so every
#: replica sharing the store reports the same values (aggregate them with max, never sum).
BUDGET_LABELS = ("scope", "name", "period")
BUDGET_LIMIT = MetricSpec(
    name="llm_budget_limit_usd",
    kind=MetricKind.GAUGE,
    labels=BUDGET_LABELS,
    help="A budget's limit in US dollars, by scope (global, team, agent), name (the team or "
    "agent; all for global) and calendar period (day, week, month).",
    unit="usd",
)
BUDGET_SPENT = MetricSpec(
    name="llm_budget_spent_usd",
    kind=MetricKind.GAUGE,
    labels=BUDGET_LABELS,
    help="What the budget's current calendar period has spent in US dollars, as the cost "
    "store holds it (the same on every replica).",
    unit="usd",
)
BUDGET_RESERVED = MetricSpec(
    name="llm_budget_reserved_usd",
    kind=MetricKind.GAUGE,
    labels=BUDGET_LABELS,
    help="What calls in flight have reserved on the budget in US dollars (enforced budgets).",
    unit="usd",
)
BUDGET_PERIOD_END = MetricSpec(
    name="llm_budget_period_end_timestamp_seconds",
    kind=MetricKind.GAUGE,
    labels=BUDGET_LABELS,
    help="When the budget's current calendar period ends (midnight in the tracker's time "
    "zone), in Unix seconds: what a forecast of its spend runs up to.",
    unit="seconds",
)

#: Spend by attribution tag, bounded: a cost tracker exports the values of each tag key that
#: spent most in the current day and month (``CostTracker.export_metrics``), read from the cost
#: store, where every value is kept. Like the budget gauges, the same on every replica.
ATTRIBUTED_SPEND = MetricSpec(
    name="llm_attributed_spend_usd",
    kind=MetricKind.GAUGE,
    labels=("tag", "value", "period"),
    help="What the tag values (customers, users, features, ...) that spent most in the current "
    "calendar day or month have spent, in US dollars: the ten biggest per tag key and period.",
    unit="usd",
)

#: Calls and spend by the value of the attribution tags a tracker labels (``labelled_tags``:
#: keys of few values, such as feature or environment), capped like every label.
TAG_LABELS = ("tag", "value")
TAG_REQUESTS = MetricSpec(
    name="llm_tag_requests_total",
    kind=MetricKind.COUNTER,
    labels=TAG_LABELS,
    help="LLM requests by the value of each labelled attribution tag (tag: its key, such as "
    "feature; value: its value), for the tag keys a cost tracker labels.",
    unit="requests",
)
TAG_COST = MetricSpec(
    name="llm_tag_cost_total",
    kind=MetricKind.COUNTER,
    labels=TAG_LABELS,
    help="Cost of LLM requests in US dollars by the value of each labelled attribution tag.",
    unit="usd",
)

#: The core metrics of every LLM call, in the order the documentation lists them.
CORE_METRICS: tuple[MetricSpec, ...] = (
    REQUESTS,
    TOKENS,
    CACHE_HITS,
    CACHE_MISSES,
    ERRORS,
    COST,
    REQUEST_DURATION,
    ACTIVE_REQUESTS,
    CACHE_SIZE,
)
#: Metrics about the service and the numbers themselves: the running version, spend not
#: priced, input folded or rejected, cost entries not stored, calls a budget refused, calls
#: that ended without usage.
SELF_METRICS: tuple[MetricSpec, ...] = (
    BUILD_INFO,
    UNPRICED_REQUESTS,
    PRICE_DATA_TIME,
    LABEL_OVERFLOW,
    INVALID_RECORDS,
    COST_RECORDS_DROPPED,
    COST_STORE_ERRORS,
    BUDGET_REFUSALS,
    USAGE_MISSING,
)
#: How the SDKs' own attempts went: retries, 429 and 5xx responses, rate-limit headroom.
ATTEMPT_METRICS: tuple[MetricSpec, ...] = (RETRIES, FAILED_ATTEMPTS, RATE_LIMIT_REMAINING)
#: How calls took their time beyond the core latency: failed calls' apart, and how streamed
#: calls flow (time to the first token, and per output token after it).
STREAM_METRICS: tuple[MetricSpec, ...] = (
    FAILED_REQUEST_DURATION,
    TIME_TO_FIRST_TOKEN,
    TIME_PER_OUTPUT_TOKEN,
)
#: Agent runs (duration, cost, steps, LLM calls and tokens of each, outcome) and their tools.
AGENT_METRICS: tuple[MetricSpec, ...] = (
    AGENT_RUNS,
    AGENT_RUN_DURATION,
    AGENT_RUN_COST,
    AGENT_RUN_STEPS,
    AGENT_RUN_CALLS,
    AGENT_RUN_TOKENS,
    TOOL_CALLS,
    TOOL_DURATION,
)
#: Calls and spend by labelled attribution tag.
TAG_METRICS: tuple[MetricSpec, ...] = (TAG_REQUESTS, TAG_COST)
#: The metrics ``LLMMetrics`` records.
RECORDED_METRICS: tuple[MetricSpec, ...] = (
    CORE_METRICS + STREAM_METRICS + ATTEMPT_METRICS + AGENT_METRICS + TAG_METRICS + SELF_METRICS
)
BUDGET_METRICS: tuple[MetricSpec, ...] = (
    BUDGET_LIMIT,
    BUDGET_SPENT,
    BUDGET_RESERVED,
    BUDGET_PERIOD_END,
)
#: Every metric llmobs exposes.
METRICS: tuple[MetricSpec, ...] = RECORDED_METRICS + BUDGET_METRICS + (ATTRIBUTED_SPEND,)


class TokenType(str, Enum):
    """Values of the ``token_type`` label."""

    PROMPT = "prompt"
    COMPLETION = "completion"
    CACHE_READ = "cache_read"
    CACHE_WRITE = "cache_write"
    #: Tokens a model spent thinking (OpenAI reasoning, Anthropic thinking, Gemini thoughts):
    #: part of completion, priced as output.
    REASONING = "reasoning"


#: Value a label takes once it has reached its cap on distinct values.
OVERFLOW_VALUE = "__overflow__"

#: Default cap on distinct values per label name. Labels not listed use ``DEFAULT_LABEL_LIMIT``.
DEFAULT_LABEL_LIMITS: dict[str, int] = {
    "agent_id": 500,
    "model": 200,
    "provider": 50,
    "operation": 20,
    "status": 20,
    "error_type": 100,
    "tenant": 1000,
    "tool": 100,
    "outcome": 10,
}
DEFAULT_LABEL_LIMIT = 100

#: Longest label value kept; longer values are truncated.
DEFAULT_MAX_LABEL_LENGTH = 128


def metric(name: str) -> MetricSpec:
    """Return the spec of the metric exposed as ``name``; raise KeyError if there is none."""
    for spec in METRICS:
        if spec.name == name:
            return spec
    raise KeyError(f"no metric named {name!r} in the llmobs schema")

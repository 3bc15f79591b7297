"""Agent runs and their tool calls: what each run took and cost, and how its tools fared.

A run is a ``with llmobs.agent_run("support.bot"):`` block. The LLM calls observed inside it
(by any observer, instrumented SDKs included) count to it: their number, tokens and cost. Its
steps are counted with ``run.step()``, its tools timed with ``with run.tool("search"):``. When
the block ends, the run is recorded: ``llm_agent_runs_total{outcome}``, and its duration, cost,
steps, LLM calls and tokens as one observation each; each tool call as
``llm_tool_calls_total{tool,status}`` and ``llm_tool_duration_seconds``. Where OpenTelemetry is
on (``llmobs.enable_otel``) they are recorded in its vocabulary too (``gen_ai.invoke_agent.*``,
``gen_ai.execute_tool.duration``, and ``invoke_agent`` / ``execute_tool`` spans).

With ``max_usd`` the run's calls may spend at most that together: it is a run cap
(``CostTracker.run``), enforced on every call an enforcing observer reserves inside it.

Example:
    >>> from prometheus_client import CollectorRegistry
    >>> from llmobs import LLMMetrics
    >>> metrics = LLMMetrics(registry=CollectorRegistry())
    >>> with agent_run("support.bot", metrics=metrics) as run:
    ...     run.step()
    ...     with run.tool("search"):
    ...         pass
    >>> (run.steps, run.tool_calls, run.outcome)
    (1, 1, 'completed')
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from . import otel
from .enforcement import BudgetExceededError, run
from .metrics import LLMMetrics, error_name, get_llm_metrics
from .schema import RunOutcome

_CURRENT: contextvars.ContextVar[AgentRun | None] = contextvars.ContextVar(
    "llmobs_agent_run", default=None
)


class AgentRun:
    """One agent run in progress: its counts so far, and how it ended once it has."""

    def __init__(self, agent_id: str, metrics: LLMMetrics) -> None:
        self.agent_id = agent_id
        self.steps = 0
        self.llm_calls = 0
        self.tool_calls = 0
        self.tokens = 0
        self.cost = 0.0
        self.outcome: str | None = None
        self._metrics = metrics
        self._lock = threading.Lock()

    def step(self, count: int = 1) -> None:
        """Count ``count`` steps (turns of the agent's loop)."""
        with self._lock:
            self.steps += count

    def count_call(self, tokens: int, cost: float | None) -> None:
        """Count one LLM call of the run, with its tokens and cost."""
        with self._lock:
            self.llm_calls += 1
            self.tokens += tokens
            self.cost += cost or 0.0

    @contextmanager
    def tool(self, name: str) -> Iterator[None]:
        """Time one call of tool ``name``; an exception marks it failed and is re-raised."""
        with self._lock:
            self.tool_calls += 1
        error: BaseException | None = None
        started = time.perf_counter()
        with _otel_span(otel.EXECUTE_TOOL, name, otel.tool_attributes(self.agent_id, name)) as end:
            try:
                yield
            except BaseException as raised:
                error = raised
                raise
            finally:
                seconds = time.perf_counter() - started
                error_type = None if error is None else str(error_name(error))
                # Recorded while the tool's span is current: the exemplar names it.
                self._metrics.record_tool_call(
                    self.agent_id, name, seconds, failed=error is not None
                )
                instruments = otel.enabled()
                if instruments is not None:
                    attributes = otel.tool_attributes(self.agent_id, name, error_type)
                    otel.record_tool(instruments, attributes, seconds)
                end(error_type)


@contextmanager
def _otel_span(operation: str, name: str, attributes: dict[str, str]) -> Iterator[Any]:
    """The OpenTelemetry span of a run or tool call, current inside, where spans are on;
    yields the function that ends it with an error type (or None)."""
    spans = otel.spans_enabled()
    if spans is None:
        yield lambda error_type, **usage: None
        return
    span = spans.start_internal(f"{operation} {name}", attributes)
    token = spans.make_current(span)

    def end(error_type: str | None, **usage: Any) -> None:
        spans.restore(token)
        spans.end(
            span,
            input_tokens=usage.get("tokens"),
            output_tokens=None,
            cost=usage.get("cost"),
            error_type=error_type,
        )

    yield end


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return RunOutcome.COMPLETED.value
    if isinstance(error, BudgetExceededError):
        return RunOutcome.REFUSED.value
    return RunOutcome.FAILED.value


@contextmanager
def agent_run(
    agent_id: str,
    *,
    max_usd: float | None = None,
    run_id: str | None = None,
    metrics: LLMMetrics | None = None,
) -> Iterator[AgentRun]:
    """Record the run of agent ``agent_id`` the block makes (see the module's docstring);
    ``max_usd`` caps its calls' spend together, under ``run_id`` (the agent id if None)."""
    current = AgentRun(agent_id, metrics or get_llm_metrics())
    error: BaseException | None = None
    started = time.perf_counter()
    with ExitStack() as stack:
        if max_usd is not None:
            stack.enter_context(run(run_id or agent_id, max_usd))
        end = stack.enter_context(
            _otel_span(otel.INVOKE_AGENT, agent_id, otel.agent_attributes(agent_id))
        )
        token = _CURRENT.set(current)
        try:
            yield current
        except BaseException as raised:
            error = raised
            raise
        finally:
            _CURRENT.reset(token)
            seconds = time.perf_counter() - started
            current.outcome = _outcome(error)
            error_type = None if error is None else str(error_name(error))
            _record(current, seconds, error_type)  # while the run's span is current
            end(error_type, tokens=current.tokens, cost=current.cost)


def _record(current: AgentRun, seconds: float, error_type: str | None) -> None:
    """The ended run in the metrics, and in OpenTelemetry's where it is on."""
    assert current.outcome is not None
    current._metrics.record_agent_run(
        current.agent_id,
        current.outcome,
        seconds,
        cost=current.cost,
        steps=current.steps,
        llm_calls=current.llm_calls,
        tokens=current.tokens,
    )
    instruments = otel.enabled()
    if instruments is not None:
        attributes = otel.agent_attributes(current.agent_id, error_type)
        otel.record_run(instruments, attributes, seconds, current.llm_calls, current.tool_calls)


def current_agent_run() -> AgentRun | None:
    """The agent run the caller is inside, if any."""
    return _CURRENT.get()

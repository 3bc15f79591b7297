"""``obsgen demo``: a demo LLM service that runs the workload through the real llmobs runtime.

It serves ``/metrics``; ``POST /control/{pause,resume,burst,spike}`` (or SIGUSR1 for an error
burst, SIGUSR2 for a spending spike) change what it does; ``GET /status`` reports its totals.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry

from llmobs import (
    AgentRun,
    BudgetExceededError,
    CostTracker,
    LLMCostCalculator,
    LLMMetrics,
    LLMObserver,
    agent_run,
    make_wsgi_app,
)
from llmobs.observer import LLMCall

from . import demo_streams
from .demo_workload import (
    BASE_ERROR_SHARE,
    ERROR_TYPES,
    TENANTS,
    Call,
    ToolUse,
    Workload,
    customer,
    feature,
    tool_use,
)

BURST_SECONDS = 60.0
SPIKE_SECONDS = 60.0
BURST_ERROR_SHARE = 0.4
SPIKE_SPEND_FACTOR = 25.0
DEMO_LABEL_LIMITS = {"agent_id": 24}
#: One session agent in this many works under a run cap its call's worst case does not fit,
#: so the demo shows calls a budget refuses (llm_budget_refusals_total).
CAPPED_SESSION_EVERY = 5
SESSION_CAP_USD = 0.001
SESSION_MAX_TOKENS = 4096
#: The requests a provider allows the demo per window, of which the headroom gauge shows what
#: is left.
RATE_LIMIT_REQUESTS = 5000
#: Share of a streamed call's time spent waiting for its first chunk.
STREAM_FIRST_CHUNK_SHARE = 0.3


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Totals:
    """What the demo has done, for the status line and ``/status``."""

    requests: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, failed: bool) -> None:
        with self.lock:
            self.requests += 1
            self.errors += failed


class Demo:
    """The demo service: worker threads drawing calls at a target rate, recorded by llmobs."""

    def __init__(
        self,
        *,
        rate: float,
        seed: int,
        version: str,
        db: str,
        workers: int,
        time_scale: float,
        budgets: dict[str, Any],
    ) -> None:
        self.registry = CollectorRegistry()
        self.metrics = LLMMetrics(registry=self.registry, label_limits=DEMO_LABEL_LIMITS)
        self.metrics.set_build_info(version)
        calculator = LLMCostCalculator(overrides=(), metrics=self.metrics)
        self.tracker = CostTracker(db, calculator=calculator, **budgets)
        self.tracker.export_metrics(self.registry)  # llm_budget_*: limit, spent, reserved
        self.observer = LLMObserver(self.metrics, self.tracker, calculator)
        self.workload = Workload()
        self.rate, self.seed, self.version = rate, seed, version
        self.workers, self.time_scale = workers, time_scale
        self.totals = Totals()
        self.paused = threading.Event()
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._next_slot = time.monotonic()
        self._burst_until = self._spike_until = 0.0

    # -- commands ----------------------------------------------------------------------------

    def burst(self, seconds: float = BURST_SECONDS) -> None:
        """Fail a large share of calls for ``seconds``."""
        self._burst_until = time.monotonic() + seconds

    def spike(self, seconds: float = SPIKE_SECONDS) -> None:
        """Send long prompts to an expensive model for ``seconds``."""
        self._spike_until = time.monotonic() + seconds

    def in_burst(self) -> bool:
        return time.monotonic() < self._burst_until

    def in_spike(self) -> bool:
        return time.monotonic() < self._spike_until

    def _update_modes(self) -> None:
        self.workload.error_share = BURST_ERROR_SHARE if self.in_burst() else BASE_ERROR_SHARE
        self.workload.spend_factor = SPIKE_SPEND_FACTOR if self.in_spike() else 1.0

    # -- the work ----------------------------------------------------------------------------

    def _wait_for_slot(self) -> None:
        with self._lock:
            slot = max(self._next_slot, time.monotonic())
            self._next_slot = slot + 1.0 / self.rate
        delay = slot - time.monotonic()
        if delay > 0:
            self.stopped.wait(delay)

    def _attempts(self, call: Call) -> None:
        """What an SDK would report of its attempts: a 429 refused or retried, and the
        provider's rate-limit headroom, which falls as the demo spends it."""
        labels = (call.agent_id, call.model, call.provider)
        if call.error_type == "rate_limit" or call.retried:
            self.metrics.count_failed_attempt(*labels, 429)
        if call.retried:
            self.metrics.count_retries(*labels, 1)
        used = self.totals.requests % RATE_LIMIT_REQUESTS
        self.metrics.set_rate_limit(
            call.provider, call.model, "requests", RATE_LIMIT_REQUESTS - used, RATE_LIMIT_REQUESTS
        )

    def _record(self, call: Call, tool: ToolUse | None = None) -> None:
        """One agent run: a step that may call ``tool``, then makes ``call``."""
        self._attempts(call)
        if call.buggy:  # a client bug: llmobs rejects and counts it, the service carries on
            self.metrics.record_request(
                call.agent_id, call.model, call.provider, prompt_tokens=-1 - call.prompt_tokens
            )
        capped = _capped_session(call.agent_id)
        prompt, most = (call.prompt_tokens, SESSION_MAX_TOKENS) if capped else (0, None)
        cap = SESSION_CAP_USD if capped else None
        with agent_run(call.agent_id, max_usd=cap, metrics=self.metrics) as run:
            run.step()
            if tool is not None:
                self._use(run, tool)
            self._call(call, prompt, most)

    def _use(self, run: AgentRun, tool: ToolUse) -> None:
        """Call ``tool``; a failed one is left out of the answer, as agents do."""
        with contextlib.suppress(ToolFailed), run.tool(tool.name):
            time.sleep(min(tool.seconds * self.time_scale, 1.0))
            if tool.fails:
                raise ToolFailed(tool.name)

    def _call(self, call: Call, prompt: int, most: int | None) -> None:
        with (
            self.observer.call(
                call.agent_id,
                call.model,
                call.provider,
                cached=call.cached,
                prompt_tokens=prompt,
                max_tokens=most,
                tags={"customer": call.customer, "feature": call.feature},
            ) as llm_call,
        ):
            llm_call.duration_seconds = call.duration_seconds
            if call.streamed:
                self._stream(llm_call, call)
                return
            time.sleep(min(call.duration_seconds * self.time_scale, 2.0))
            if call.error_type is not None:
                raise ERRORS[call.error_type](call.error_type)
            llm_call.set_usage(
                prompt_tokens=call.prompt_tokens,
                completion_tokens=call.completion_tokens,
                cache_read_tokens=call.cache_read_tokens,
                reasoning_tokens=call.reasoning_tokens,
            )
            if call.cached:
                llm_call.cost = 0.0

    def _stream(self, llm_call: LLMCall, call: Call) -> None:
        """Read the call's answer as a stream: a wait for the first chunk, then the rest paced
        over the call's duration; a cancelled one is dropped halfway."""
        chunks = demo_streams.events(call)
        wait = min(call.duration_seconds * self.time_scale, 2.0)
        time.sleep(wait * STREAM_FIRST_CHUNK_SHARE)
        pace = wait * (1 - STREAM_FIRST_CHUNK_SHARE) / len(chunks)
        for index, _ in enumerate(llm_call.stream(chunks)):
            if call.cancelled and index >= len(chunks) // 2:
                break
            time.sleep(pace)

    def _worker(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        # Tags from generators of their own: the calls drawn stay what they were.
        customers = random.Random(self.seed * 1000 + index + 500)
        features = random.Random(self.seed * 1000 + index + 700)
        tools = random.Random(self.seed * 1000 + index + 900)
        while not self.stopped.is_set():
            if self.paused.is_set():
                self.stopped.wait(0.05)
                continue
            self._wait_for_slot()
            self._update_modes()
            call = dataclasses.replace(
                self.workload.draw(rng), customer=customer(customers), feature=feature(features)
            )
            with contextlib.suppress(ProviderError, BudgetExceededError):
                self._record(call, tool_use(tools))
            self.totals.add(failed=call.error_type is not None)

    def _caches(self) -> None:
        rng = random.Random(self.seed)
        sizes = {tenant: rng.randint(100, 5000) for tenant in TENANTS}
        while not self.stopped.wait(1.0):
            for tenant in TENANTS:
                sizes[tenant] = max(0, sizes[tenant] + rng.randint(-50, 80))
                self.metrics.set_cache_size(tenant, sizes[tenant])

    def start(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._worker, args=(i,), daemon=True)
            for i in range(self.workers)
        ]
        threads.append(threading.Thread(target=self._caches, daemon=True))
        for thread in threads:
            thread.start()
        return threads

    def status(self) -> dict[str, Any]:
        summary = self.tracker.get_daily_summary()
        in_flight = sum(
            sample.value
            for family in self.registry.collect()
            if family.name == "llm_active_requests"
            for sample in family.samples
        )
        return {
            "version": self.version,
            "paused": self.paused.is_set(),
            "requests": self.totals.requests,
            "errors": self.totals.errors,
            "tracked_spend_usd": summary.total_cost,
            "in_flight": in_flight,
            "error_burst": self.in_burst(),
            "spend_spike": self.in_spike(),
        }

    # -- HTTP ----------------------------------------------------------------------------------

    def app(self) -> Callable[..., Iterable[bytes]]:
        metrics_app = make_wsgi_app(self.registry)
        commands = {
            "pause": self.paused.set,
            "resume": self.paused.clear,
            "burst": self.burst,
            "spike": self.spike,
        }

        def application(environ: dict[str, Any], start_response: Callable[..., Any]):
            path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
            if path == "/metrics":
                return metrics_app(environ, start_response)
            if path == "/status":
                return _json(start_response, "200 OK", self.status())
            command = (
                commands.get(path.removeprefix("/control/"))
                if path.startswith("/control/")
                else None
            )
            if command is not None and method == "POST":
                command()
                return _json(start_response, "200 OK", self.status())
            return _json(
                start_response,
                "404 Not Found",
                {"error": "try /metrics, /status or POST /control/{pause,resume,burst,spike}"},
            )

        return application


def _capped_session(agent_id: str) -> bool:
    prefix, _, number = agent_id.rpartition("-")
    return (
        prefix == "scratch.session" and number.isdigit() and int(number) % CAPPED_SESSION_EVERY == 0
    )


class ProviderError(RuntimeError):
    """A simulated provider failure."""


class ToolFailed(RuntimeError):
    """A simulated tool failure."""


#: One exception class per error type, named after it: llmobs records the class name.
ERRORS = {name: type(name, (ProviderError,), {}) for name in ERROR_TYPES}


def _json(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body, sort_keys=True).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def run(
    *,
    host: str,
    port: int,
    rate: float,
    seed: int,
    version: str,
    db: str,
    workers: int,
    time_scale: float,
    budgets: dict[str, Any],
    duration: float | None,
    burst: bool,
    spike: bool,
    status_line: bool | None = None,
) -> None:
    """Run the demo until SIGINT or SIGTERM (or ``duration`` seconds).

    A cost database that cannot be opened raises CostStoreError (its folder is created by the
    tracker); OSError is left for the address the demo cannot serve on.
    """
    demo = Demo(
        rate=rate,
        seed=seed,
        version=version,
        db=db,
        workers=workers,
        time_scale=time_scale,
        budgets=budgets,
    )
    server = make_server(host, port, demo.app(), server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    signal.signal(signal.SIGUSR1, lambda *_: demo.burst())
    signal.signal(signal.SIGUSR2, lambda *_: demo.spike())
    signal.signal(signal.SIGTERM, lambda *_: demo.stopped.set())
    if burst:
        demo.burst()
    if spike:
        demo.spike()
    demo.start()
    print(
        f"obsgen demo {version}: http://{host}:{server.server_port}/metrics, {rate:g} "
        f"requests/s, costs in {db}",
        flush=True,
    )
    live = sys.stdout.isatty() if status_line is None else status_line
    if live:  # log lines go above the status line instead of through it
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("\r\x1b[K%(levelname)s %(name)s: %(message)s"))
        logging.getLogger("llmobs").addHandler(handler)
        logging.getLogger("llmobs").propagate = False
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while not demo.stopped.wait(1.0):
            if live:
                s = demo.status()
                share = s["errors"] / s["requests"] * 100 if s["requests"] else 0.0
                sys.stdout.write(
                    f"\r{s['requests']:>8} requests  ${s['tracked_spend_usd']:>10.4f} today  "
                    f"{s['errors']:>6} errors ({share:4.1f}%)  {s['in_flight']:>3.0f} in flight"
                    f"{'  ERROR BURST' if s['error_burst'] else ''}"
                    f"{'  SPEND SPIKE' if s['spend_spike'] else ''}   "
                )
                sys.stdout.flush()
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        demo.stopped.set()
        server.shutdown()
        demo.tracker.close()
        if live:
            print()

"""A synthetic but realistic LLM workload: who calls which model, with what tokens, how fast,
how often from cache, and how it fails. Pure: every draw comes from the given random source."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

ERROR_TYPES = ("rate_limit", "timeout", "server_error")
#: Share of uncached calls that fail outside an error burst: under the 1% error-rate objective.
BASE_ERROR_SHARE = 0.005


@dataclass(frozen=True)
class Route:
    """A model an agent calls, at a provider, with its share of the agent's calls."""

    model: str
    provider: str
    weight: float
    seconds_per_token: float
    #: Share of its output tokens a reasoning model spends on reasoning, on average.
    reasoning_share: float = 0.0


@dataclass(frozen=True)
class Agent:
    """An agent of the demo service; ``cache_hit_share`` is None for agents without a cache."""

    agent_id: str
    routes: tuple[Route, ...]
    weight: float
    cache_hit_share: float | None
    prompt_cache_share: float = 0.0

    @property
    def team(self) -> str:
        return self.agent_id.split(".", 1)[0]


GPT_4O = Route("gpt-4o", "openai", 3, 0.012)
GPT_4O_MINI = Route("gpt-4o-mini", "openai", 1, 0.008)
GPT_4 = Route("gpt-4", "openai", 1, 0.03)
SONNET = Route("claude-3-5-sonnet-20241022", "anthropic", 2, 0.015)
HAIKU = Route("claude-3-haiku-20240307", "anthropic", 1, 0.006)
GEMINI_PRO = Route("gemini-1.5-pro-002", "google", 1, 0.014)
GEMINI_FLASH = Route("gemini-1.5-flash", "google", 1, 0.005)
SELF_HOSTED = Route("acme-llama-3-70b", "vllm", 1, 0.02)  # no public price: unpriced
O3_MINI = Route("o3-mini", "openai", 1, 0.01, reasoning_share=0.7)

AGENTS = (
    Agent("meetmind.coordinator", (GPT_4O, SONNET), 5, 0.35, prompt_cache_share=0.6),
    Agent("meetmind.notes", (GPT_4O_MINI,), 4, 0.5),
    Agent("agent.svea.pm", (GPT_4, GEMINI_PRO), 2, None),
    Agent("svea.writer", (HAIKU, SONNET), 3, 0.2, prompt_cache_share=0.4),
    Agent("support.triage", (GEMINI_FLASH, GPT_4O_MINI), 4, 0.6),
    Agent("research.analyst", (SELF_HOSTED, GEMINI_PRO, O3_MINI), 1, None),
)
#: Agents with a fresh id per session: more than the label cap, so they show the overflow.
SESSION_AGENT_SHARE = 0.03
#: Session agents are named this and their number.
SESSION_PREFIX = "scratch.session-"
#: Share of records a buggy client sends with a negative token count: llmobs rejects them.
BUGGY_RECORD_SHARE = 0.005
#: Share of answered calls that stream their answer, and of those the caller stops reading
#: halfway (before the usage comes, so llm_usage_missing_total counts them).
STREAMED_SHARE = 0.6
CANCELLED_STREAM_SHARE = 0.05
#: Share of answered calls whose first attempt the provider refused with 429 (the SDK retried).
RETRIED_SHARE = 0.03
TENANTS = tuple(sorted({agent.team for agent in AGENTS}))


@dataclass(frozen=True)
class Call:
    """One drawn LLM call and its outcome."""

    agent_id: str
    model: str
    provider: str
    duration_seconds: float
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cached: bool | None
    error_type: str | None
    buggy: bool
    streamed: bool = False
    cancelled: bool = False
    retried: bool = False
    #: Of the completion tokens, those spent on reasoning.
    reasoning_tokens: int = 0
    #: The customer the call is made for, and the feature of the product that made it (its
    #: attribution tags).
    customer: str | None = None
    feature: str | None = None


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def _pick(rng: random.Random, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


#: The demo's customers: a long tail, a few of them spending most.
CUSTOMERS = 200


def customer(rng: random.Random) -> str:
    """A customer a call is made for: a long tail, a few of them spending most."""
    return f"customer-{int(rng.paretovariate(1.1)) % CUSTOMERS:03d}"


#: The features of the demo's product, by their share of the calls.
FEATURES = {"search": 5, "summarize": 3, "draft": 2, "review": 1}


def feature(rng: random.Random) -> str:
    """The feature a call is made for."""
    return str(_pick(rng, list(FEATURES), list(FEATURES.values())))


#: The tools the demo's agents call, by their share of the runs that call one.
TOOLS = {"web_search": 4, "database": 3, "calculator": 1}
#: Of the runs, the share that calls a tool; of the tool calls, the share that fail.
TOOL_SHARE, TOOL_FAILURE_SHARE = 0.6, 0.08


@dataclass(frozen=True)
class ToolUse:
    """A tool an agent run calls before its LLM call: which, how long it takes, whether it
    fails (the agent carries on without its answer)."""

    name: str
    seconds: float
    fails: bool


def tool_use(rng: random.Random) -> ToolUse | None:
    """The tool a run calls, if it calls one."""
    if rng.random() >= TOOL_SHARE:
        return None
    name = str(_pick(rng, list(TOOLS), list(TOOLS.values())))
    return ToolUse(name, _lognormal(rng, 0.2, 0.8), rng.random() < TOOL_FAILURE_SHARE)


@dataclass
class Workload:
    """Draws calls; ``error_share`` and ``spend_factor`` change during a burst or a spike."""

    error_share: float = BASE_ERROR_SHARE
    spend_factor: float = 1.0
    session_counter: int = 0

    def draw(self, rng: random.Random) -> Call:
        """One call: agent and model, tokens, cache outcome, latency and any error."""
        if rng.random() < SESSION_AGENT_SHARE:
            self.session_counter += 1
            agent = Agent(f"{SESSION_PREFIX}{self.session_counter}", (GPT_4O_MINI,), 1, None)
        else:
            agent = _pick(rng, AGENTS, [a.weight for a in AGENTS])
        route = _pick(rng, agent.routes, [r.weight for r in agent.routes])
        if self.spend_factor > 1:
            route = GPT_4
        cached = None if agent.cache_hit_share is None else rng.random() < agent.cache_hit_share
        if cached:
            return Call(
                agent.agent_id,
                route.model,
                route.provider,
                _lognormal(rng, 0.04, 0.4),
                0,
                0,
                0,
                True,
                None,
                False,
            )
        prompt = max(1, int(_lognormal(rng, 1200 * self.spend_factor, 0.7)))
        completion = max(1, int(_lognormal(rng, 250, 0.6)))
        reasoning = int(completion * route.reasoning_share * 2 * rng.random())
        completion += reasoning  # reasoning comes on top of the answer, inside completion
        cache_read = (
            int(prompt * agent.prompt_cache_share * rng.random())
            if route.provider in ("openai", "anthropic")
            else 0
        )
        duration = 0.25 + completion * route.seconds_per_token * math.exp(rng.gauss(0, 0.35))
        error = None
        if rng.random() < self.error_share:
            error = _pick(rng, ERROR_TYPES, [5, 2, 1])
            duration = {"rate_limit": 0.2, "timeout": 60.0, "server_error": 1.5}[error]
        buggy = rng.random() < BUGGY_RECORD_SHARE
        streamed = error is None and rng.random() < STREAMED_SHARE
        cancelled = streamed and rng.random() < CANCELLED_STREAM_SHARE
        retried = error is None and rng.random() < RETRIED_SHARE
        return Call(
            agent.agent_id,
            route.model,
            route.provider,
            duration,
            prompt,
            completion,
            cache_read,
            cached,
            error,
            buggy,
            streamed,
            cancelled,
            retried,
            reasoning,
        )

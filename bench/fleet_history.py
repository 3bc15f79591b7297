"""A fleet's LLM metrics history as Prometheus remote-write requests, oldest first.

Every agent calls every model at every provider (``agents x models x providers`` label sets),
with a request rate that falls off by agent rank and follows a day curve. Counters are the
llmobs schema's: requests (success, and errors for one label set in ten), prompt and completion
tokens, cost, the latency histogram's buckets, sum and count, and cache hits and misses by agent
and model. A request holds one slice of agents over one half hour (``CHUNK_SECONDS``): a
Prometheus receiver takes no sample older than an hour before the newest it holds, so every
slice of a half hour is sent before the next half hour's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import remote_write

from llmobs.schema import (
    ACTIVE_REQUESTS,
    CACHE_HITS,
    CACHE_MISSES,
    COST,
    ERRORS,
    REQUEST_DURATION,
    REQUESTS,
    TOKENS,
)

BLOCK_SECONDS = 2 * 3600
CHUNK_SECONDS = 1800
#: Label sets per request, at most (fewer agents' where one agent has more).
LABEL_SETS_PER_REQUEST = 1500
JOB = (("job", "llm-service"), ("instance", "llm-1:8000"))


@dataclass(frozen=True)
class Fleet:
    """The shape and span of the history."""

    agents: int
    models: int
    providers: int
    end: int
    hours: int = 24
    scrape_seconds: int = 15

    @property
    def start(self) -> int:
        return self.end - self.hours * 3600

    @property
    def label_sets(self) -> int:
        return self.agents * self.models * self.providers

    def steps(self) -> list[int]:
        return list(range(self.start + self.scrape_seconds, self.end + 1, self.scrape_seconds))

    def chunks(self) -> list[tuple[int, int]]:
        """Half hours covering the history, oldest first: the requests' time windows."""
        first = self.start - self.start % CHUNK_SECONDS
        return [(t, t + CHUNK_SECONDS) for t in range(first, self.end + 1, CHUNK_SECONDS)]

    def agent_slices(self) -> list[range]:
        """The agents of each request of a half hour."""
        size = max(1, LABEL_SETS_PER_REQUEST // (self.models * self.providers))
        return [range(a, min(a + size, self.agents)) for a in range(0, self.agents, size)]


def _day_curve(fleet: Fleet) -> list[float]:
    """Requests up to each step for a rate of 1/s on average: a day curve, cumulated."""
    total, cumulated = 0.0, []
    for t in fleet.steps():
        hour = (t % 86400) / 3600
        total += fleet.scrape_seconds * (1 + 0.6 * math.sin((hour - 9) / 24 * 2 * math.pi))
        cumulated.append(total)
    return cumulated


Labels = tuple[tuple[str, str], ...]


def _labels(**labels: str) -> Labels:
    return (*labels.items(), *JOB)


def _named(name: str, labels: Labels) -> Labels:
    return (("__name__", name), *labels)


def _series(fleet: Fleet, agents: range) -> Iterator[tuple[Labels, float, bool]]:
    """The series of ``agents`` as (labels, value, gauge): a counter's value is its units per
    average request, a gauge's its constant value."""
    sets = [
        (f"team{a % 20}.agent{a}", f"model-{m}", f"provider-{p}", a, m)
        for a in agents
        for m in range(fleet.models)
        for p in range(fleet.providers)
    ]
    first = agents.start * fleet.models * fleet.providers  # the fleet's index of sets[0]
    rate = {a: 0.05 / (1 + a / 10) for a in range(fleet.agents)}  # requests/s, by agent rank
    share = 0.02  # errors

    def base(agent: str, model: str, provider: str) -> dict[str, str]:
        return {"agent_id": agent, "model": model, "provider": provider}

    for agent, model, provider, a, _ in sets:
        labels = _labels(**base(agent, model, provider), status="success")
        yield _named(REQUESTS.name, labels), rate[a] * (1 - share), False
    for index, (agent, model, provider, a, _) in enumerate(sets, first):
        if index % 10 == 0:
            labels = _labels(**base(agent, model, provider), status="error")
            yield _named(REQUESTS.name, labels), rate[a] * share, False
    for index, (agent, model, provider, a, _) in enumerate(sets, first):
        if index % 10 == 0:
            labels = _labels(**base(agent, model, provider), error_type="rate_limit")
            yield _named(ERRORS.name, labels), rate[a] * share, False
    for agent, model, provider, a, m in sets:
        for token_type, per_call in (("prompt", 900 + 50 * m), ("completion", 250 + 20 * m)):
            labels = _labels(**base(agent, model, provider), token_type=token_type)
            yield _named(TOKENS.name, labels), rate[a] * per_call, False
    for agent, model, provider, a, m in sets:
        labels = _labels(**base(agent, model, provider))
        yield _named(COST.name, labels), rate[a] * 0.002 * (1 + m), False
    name = REQUEST_DURATION.name
    for agent, model, provider, a, m in sets:
        median = 0.4 * (1 + m / 2)
        for bound in (*REQUEST_DURATION.buckets, math.inf):
            le = "+Inf" if bound == math.inf else f"{bound:g}"
            below = 1.0 if bound == math.inf else 1 / (1 + (median / bound) ** 3)
            labels = _labels(**base(agent, model, provider), le=le)
            yield _named(f"{name}_bucket", labels), rate[a] * below, False
        labels = _labels(**base(agent, model, provider))
        yield _named(f"{name}_sum", labels), rate[a] * median, False
        yield _named(f"{name}_count", labels), rate[a], False
    for spec, hit in ((CACHE_HITS, 0.35), (CACHE_MISSES, 0.65)):
        for a in agents:
            for m in range(fleet.models):
                labels = _labels(agent_id=f"team{a % 20}.agent{a}", model=f"model-{m}")
                yield _named(spec.name, labels), rate[a] * hit, False
    for a in agents:
        for p in range(fleet.providers):
            labels = _labels(agent_id=f"team{a % 20}.agent{a}", provider=f"provider-{p}")
            yield _named(ACTIVE_REQUESTS.name, labels), float(a % 4), True


def write_request(fleet: Fleet, chunk: tuple[int, int], agents: range) -> tuple[bytes, int]:
    """The remote-write request of ``agents`` in ``chunk``, and its samples."""
    curve, steps = _day_curve(fleet), fleet.steps()
    chosen = [i for i, t in enumerate(steps) if chunk[0] <= t < chunk[1]]
    template = remote_write.samples_template([steps[i] * 1000 for i in chosen])
    parts = []
    for labels, value, gauge in _series(fleet, agents):
        values = [value] * len(chosen) if gauge else [value * curve[i] for i in chosen]
        parts.append(remote_write.series(remote_write.labels(labels), template, values))
    return b"".join(parts), len(parts) * len(chosen)

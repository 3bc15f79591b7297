"""A fleet's LLM metrics history as OpenMetrics text, for ``promtool tsdb
create-blocks-from openmetrics``.

Every agent calls every model at every provider (``agents x models x providers`` label sets),
with a request rate that falls off by agent rank and follows a day curve. Counters are the
llmobs schema's: requests (success, and errors for one label set in ten), prompt and completion
tokens, cost, the latency histogram's buckets, sum and count, and cache hits and misses by agent
and model. One file per two-hour block and slice of agents keeps promtool to about one pass over
each sample and a file to a few GB (a block's series at 15k label sets take about 20 GB of text):
the slices become blocks of the same time range and disjoint series, which Prometheus merges.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
#: Label sets per file, at most (fewer agents' where one agent has more).
LABEL_SETS_PER_FILE = 1500
JOB = 'job="llm-service",instance="llm-1:8000"'


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

    def blocks(self) -> list[tuple[int, int]]:
        """Two-hour windows aligned as Prometheus aligns its blocks, covering the history."""
        first = self.start - self.start % BLOCK_SECONDS
        return [(t, t + BLOCK_SECONDS) for t in range(first, self.end + 1, BLOCK_SECONDS)]

    def agent_slices(self) -> list[range]:
        """The agents of each file of a block."""
        size = max(1, LABEL_SETS_PER_FILE // (self.models * self.providers))
        return [range(a, min(a + size, self.agents)) for a in range(0, self.agents, size)]


def _day_curve(fleet: Fleet) -> list[float]:
    """Requests up to each step for a rate of 1/s on average: a day curve, cumulated."""
    total, cumulated = 0.0, []
    for t in fleet.steps():
        hour = (t % 86400) / 3600
        total += fleet.scrape_seconds * (1 + 0.6 * math.sin((hour - 9) / 24 * 2 * math.pi))
        cumulated.append(total)
    return cumulated


def _labels(**labels: str) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items()) + "," + JOB


def _series(fleet: Fleet, agents: range) -> Iterator[tuple[str, str, float]]:
    """The series of ``agents`` as (family, 'name{labels}', units per average request),
    family-grouped. A gauge's third item is its constant value, negated."""
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

    family = REQUESTS.base_name
    for agent, model, provider, a, _ in sets:
        labels = _labels(**base(agent, model, provider), status="success")
        yield family, f"{REQUESTS.name}{{{labels}}}", rate[a] * (1 - share)
    for index, (agent, model, provider, a, _) in enumerate(sets, first):
        if index % 10 == 0:
            labels = _labels(**base(agent, model, provider), status="error")
            yield family, f"{REQUESTS.name}{{{labels}}}", rate[a] * share
    for index, (agent, model, provider, a, _) in enumerate(sets, first):
        if index % 10 == 0:
            labels = _labels(**base(agent, model, provider), error_type="rate_limit")
            yield ERRORS.base_name, f"{ERRORS.name}{{{labels}}}", rate[a] * share
    for agent, model, provider, a, m in sets:
        for token_type, per_call in (("prompt", 900 + 50 * m), ("completion", 250 + 20 * m)):
            labels = _labels(**base(agent, model, provider), token_type=token_type)
            yield TOKENS.base_name, f"{TOKENS.name}{{{labels}}}", rate[a] * per_call
    for agent, model, provider, a, m in sets:
        labels = _labels(**base(agent, model, provider))
        yield COST.base_name, f"{COST.name}{{{labels}}}", rate[a] * 0.002 * (1 + m)
    name = REQUEST_DURATION.name
    for agent, model, provider, a, m in sets:
        median = 0.4 * (1 + m / 2)
        for bound in (*REQUEST_DURATION.buckets, math.inf):
            le = "+Inf" if bound == math.inf else f"{bound:g}"
            below = 1.0 if bound == math.inf else 1 / (1 + (median / bound) ** 3)
            labels = _labels(**base(agent, model, provider), le=le)
            yield name, f"{name}_bucket{{{labels}}}", rate[a] * below
        yield name, f"{name}_sum{{{_labels(**base(agent, model, provider))}}}", rate[a] * median
        yield name, f"{name}_count{{{_labels(**base(agent, model, provider))}}}", rate[a]
    for spec, hit in ((CACHE_HITS, 0.35), (CACHE_MISSES, 0.65)):
        for a in agents:
            for m in range(fleet.models):
                labels = _labels(agent_id=f"team{a % 20}.agent{a}", model=f"model-{m}")
                yield spec.base_name, f"{spec.name}{{{labels}}}", rate[a] * hit
    for a in agents:
        for p in range(fleet.providers):
            labels = _labels(agent_id=f"team{a % 20}.agent{a}", provider=f"provider-{p}")
            yield ACTIVE_REQUESTS.name, f"{ACTIVE_REQUESTS.name}{{{labels}}}", -float(a % 4)


def families() -> dict[str, str]:
    """OpenMetrics type of each family the history writes."""
    return {
        spec.base_name: spec.kind.value
        for spec in (
            REQUESTS,
            ERRORS,
            TOKENS,
            COST,
            REQUEST_DURATION,
            CACHE_HITS,
            CACHE_MISSES,
            ACTIVE_REQUESTS,
        )
    }


def write_block(fleet: Fleet, window: tuple[int, int], agents: range, path: Path) -> int:
    """Write the samples of ``agents`` in ``window`` to ``path``; return how many."""
    curve = _day_curve(fleet)
    steps = fleet.steps()
    chosen = [i for i, t in enumerate(steps) if window[0] <= t < window[1]]
    kinds = families()
    written, current = 0, None
    with path.open("w", encoding="utf-8") as out:
        for family, series, per_second in _series(fleet, agents):
            if family != current:
                out.write(f"# TYPE {family} {kinds[family]}\n")
                current = family
            if kinds[family] == "gauge":
                lines = (f"{series} {-per_second:g} {steps[i]}\n" for i in chosen)
            else:
                lines = (f"{series} {per_second * curve[i]:.8g} {steps[i]}\n" for i in chosen)
            out.write("".join(lines))
            written += len(chosen)
        out.write("# EOF\n")
    return written

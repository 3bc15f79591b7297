"""Sums of a batch of entries per daily group and per day, as every backend stores them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from .base import StoredEntry


class DailyKey(NamedTuple):
    """The key of one daily aggregate row."""

    day: date
    agent_id: str
    model: str
    provider: str
    team: str


def by_group(entries: Sequence[StoredEntry]) -> dict[DailyKey, list[int]]:
    """Per (day, agent, model, provider, team): requests, unpriced, four token counts, cost."""
    sums: dict[DailyKey, list[int]] = {}
    for e in entries:
        key = DailyKey(e.day, e.agent_id, e.model, e.provider, e.team)
        row = sums.get(key)
        if row is None:
            row = sums[key] = [0] * 7
        row[0] += 1
        row[1] += not e.priced
        row[2] += e.prompt_tokens
        row[3] += e.completion_tokens
        row[4] += e.cache_read_tokens
        row[5] += e.cache_write_tokens
        row[6] += e.cost_nusd
    return sums


def by_day(entries: Sequence[StoredEntry]) -> dict[date, tuple[int, int]]:
    """Per day: requests and cost in nano-dollars."""
    sums: dict[date, tuple[int, int]] = {}
    for e in entries:
        requests, cost = sums.get(e.day, (0, 0))
        sums[e.day] = (requests + 1, cost + e.cost_nusd)
    return sums

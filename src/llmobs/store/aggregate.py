"""The rollups a batch of entries adds to, as every backend stores them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from ..periods import Period
from .base import TOTAL, StoredEntry


class RollupKey(NamedTuple):
    """The key of one rollup row."""

    period: str
    dim: str
    start: date
    key: str


Sums = list[int]  # requests, unpriced, four token counts, cost: as base.SUM_FIELDS


def _add(into: dict[RollupKey, Sums], key: RollupKey, sums: Sums) -> None:
    row = into.get(key)
    if row is None:
        into[key] = sums.copy()
    else:
        for i, value in enumerate(sums):
            row[i] += value


def _accumulate(row: Sums, e: StoredEntry) -> None:
    row[0] += 1
    row[1] += not e.priced
    row[2] += e.prompt_tokens
    row[3] += e.completion_tokens
    row[4] += e.cache_read_tokens
    row[5] += e.cache_write_tokens
    row[6] += e.cost_nusd


def _per_day(entries: Sequence[StoredEntry]) -> dict[RollupKey, Sums]:
    """The day rollups of ``entries``: per day, in total, per dimension value and per tag.
    Tags are summed apart from the other dimensions, so that many customers do not multiply
    the groups of agents and models."""
    groups: dict[tuple[date, str, str, str, str], Sums] = {}
    tagged: dict[tuple[date, str], Sums] = {}
    for e in entries:
        group = (e.day, e.agent_id, e.model, e.provider, e.team)
        row = groups.get(group)
        if row is None:
            row = groups[group] = [0] * 7
        _accumulate(row, e)
        if e.tags:
            tags_row = tagged.get((e.day, e.tags))
            if tags_row is None:
                tags_row = tagged[(e.day, e.tags)] = [0] * 7
            _accumulate(tags_row, e)
    days: dict[RollupKey, Sums] = {}
    for (day, agent_id, model, provider, team), sums in groups.items():
        _add(days, RollupKey("day", TOTAL, day, TOTAL), sums)
        _add(days, RollupKey("day", "agent", day, agent_id), sums)
        _add(days, RollupKey("day", "model", day, model), sums)
        _add(days, RollupKey("day", "provider", day, provider), sums)
        _add(days, RollupKey("day", "team", day, team), sums)
    parsed: dict[str, dict[str, str]] = {}
    for (day, tags), sums in tagged.items():
        pairs = parsed.get(tags)
        if pairs is None:
            pairs = parsed[tags] = json.loads(tags)
        for key, value in pairs.items():
            _add(days, RollupKey("day", key, day, value), sums)
    return days


def rollups(entries: Sequence[StoredEntry]) -> dict[RollupKey, Sums]:
    """What ``entries`` add to each rollup row: each day, week and month, in total and per
    agent, model, provider, team and tag value."""
    days = _per_day(entries)
    out = dict(days)
    starts: dict[date, tuple[date, date]] = {}
    for key, sums in days.items():
        week_and_month = starts.get(key.start)
        if week_and_month is None:
            week_and_month = starts[key.start] = (
                Period.WEEK.bounds(key.start)[0],
                Period.MONTH.bounds(key.start)[0],
            )
        _add(out, RollupKey("week", key.dim, week_and_month[0], key.key), sums)
        _add(out, RollupKey("month", key.dim, week_and_month[1], key.key), sums)
    return out


RollupRows = list[tuple[Any, ...]]


def rollup_rows(entries: Sequence[StoredEntry]) -> tuple[RollupRows, RollupRows]:
    """The rollups of ``entries`` as rows ``(period, dim, start, key, *sums)``: those of the
    breakdowns and those of the totals, each sorted by key, so that every writer updates rows
    in one order (concurrent writers then never wait on each other in a cycle)."""
    dims: RollupRows = []
    totals: RollupRows = []
    for key, sums in sorted(rollups(entries).items()):
        (totals if key.dim == TOTAL else dims).append((*key, *sums))
    return dims, totals

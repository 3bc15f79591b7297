"""What a cost store's rollups must hold, summed naively from raw entries (for the tests)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from llmobs.attribution import tags_of_text
from llmobs.periods import Period
from llmobs.store import DIMENSIONS, ROLLUP_PERIODS, TOTAL, CostStore, StoredEntry

FIELDS = ("requests", "unpriced", "prompt_tokens", "completion_tokens", "cache_read_tokens",
          "cache_write_tokens", "cost_nusd")  # fmt: skip


def expected_rollups(entries: list[StoredEntry]) -> dict[tuple[str, str, date, str], tuple]:
    """Every rollup row, summed naively from the raw entries."""
    sums: dict[tuple[str, str, date, str], list[int]] = defaultdict(lambda: [0] * 7)
    for e in entries:
        values = (1, int(not e.priced), e.prompt_tokens, e.completion_tokens,
                  e.cache_read_tokens, e.cache_write_tokens, e.cost_nusd)  # fmt: skip
        keys = {TOTAL: TOTAL, "agent": e.agent_id, "model": e.model, "provider": e.provider,
                "team": e.team, **tags_of_text(e.tags)}  # fmt: skip
        for period in ROLLUP_PERIODS:
            start = Period(period).bounds(e.day)[0]
            for dim, key in keys.items():
                row = sums[(period, dim, start, key)]
                for i, value in enumerate(values):
                    row[i] += value
    return {key: tuple(row) for key, row in sums.items()}


#: The tag keys the tests' entries carry.
TEST_TAG_KEYS = ("customer", "feature")


def stored_rollups(store: CostStore) -> dict[tuple[str, str, date, str], tuple]:
    rows = {}
    for period in ROLLUP_PERIODS:
        dims = (TOTAL, *DIMENSIONS, *TEST_TAG_KEYS)
        for row in store.rollups(period, date.min, date.max, dims):
            rows[(row.period, row.dim, row.start, row.key)] = tuple(getattr(row, f) for f in FIELDS)
    return rows

"""What the SQL cost stores share: the statements every backend runs alike, written once over a
backend's placeholder, schema prefix, date type and connections. Each backend keeps only what
differs: how it opens, writes a batch and reserves."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

from .base import (
    DIMENSIONS,
    ENTRY_PAGE,
    GROUPABLE,
    SUM_FIELDS,
    TOTAL,
    CostStore,
    CostStoreError,
    Hold,
    RollupRow,
    SettingChange,
    StoredEntry,
    check_rollup_query,
    entry_conditions,
    is_tag_key,
    paged_entries,
)

ROLLUP_COLUMNS = "period, dim, start, key, " + ", ".join(SUM_FIELDS)
ENTRY_COLUMNS = (
    "ts, day, agent_id, model, provider, team, prompt_tokens, completion_tokens, "
    "cache_read_tokens, cache_write_tokens, cost_nusd, priced, uid, tags"
)
BUDGET_ROW = "period = {p} AND dim = {p} AND start = {p} AND key = {p}"
_HELD = (
    f"SELECT COALESCE(SUM(amount_nusd), 0) FROM {{s}}holds WHERE {BUDGET_ROW} AND expires > {{p}}"
)
#: Spent and held in one statement, so both are read from one snapshot: a settlement that
#: commits meanwhile is seen either as held or as spent, never as neither.
SPENT_AND_HELD = (
    f"SELECT COALESCE((SELECT cost_nusd FROM {{s}}rollup WHERE {BUDGET_ROW}), 0), ({_HELD})"
)
DELETE_EXPIRED_HOLDS = "DELETE FROM {s}holds WHERE " + BUDGET_ROW + " AND expires <= {p}"
#: The rollup rows of attribution tags: ranked by spend through an index of their own (which
#: the rows of the built-in dimensions, rewritten with every entry, do not pay for).
TAG_ROWS = "dim NOT IN ('', " + ", ".join(f"'{dim}'" for dim in DIMENSIONS) + ")"


def ranked_index(schema: str, byte_order: str) -> str:
    """The index that ranks a period's tag values by spend (schema version 5)."""
    return (
        f"CREATE INDEX rollup_ranked ON {schema}rollup "
        f"(period, dim, start, cost_nusd DESC, key{byte_order}) WHERE {TAG_ROWS}"
    )


class SQLStore(CostStore):
    """A cost store in an SQL database; subclasses say how to reach it."""

    #: The backend's parameter placeholder, and the prefix of its tables.
    placeholder = "?"
    schema = ""
    #: How a text column sorts by its bytes (what every backend must agree on).
    byte_order = ""
    #: The LIMIT that means none.
    unlimited: object = None

    def sql(self, statement: str) -> str:
        """``statement`` with this backend's placeholder ``{p}`` and table prefix ``{s}``."""
        return statement.format(p=self.placeholder, s=self.schema)

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """A connection to read from; database errors raised as CostStoreError."""

    @abstractmethod
    def _writing(self) -> AbstractContextManager[Any]:
        """A connection for one write, atomic on its own."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A connection in one transaction (several statements, all or none)."""

    def _date(self, day: date) -> object:
        """A day as the backend stores it."""
        return day

    def _day(self, stored: Any) -> date:
        """A stored day as a date."""
        return stored if isinstance(stored, date) else date.fromisoformat(str(stored))

    def _lock_setting(self, conn: Any, key: str) -> None:
        """Serialise updates of one setting, where the transaction alone does not."""

    def _entry_columns(self) -> str:
        return ENTRY_COLUMNS

    @abstractmethod
    def _tag_value(self, key: str) -> str:
        """The SQL expression of an entry's value of the tag ``key`` (a checked tag key)."""

    # -- settings -----------------------------------------------------------------------------

    def get_setting(self, key: str) -> object:
        with self._reading() as conn:
            row = conn.execute(self.sql("SELECT value FROM {s}meta WHERE key = {p}"), (key,))
            found = row.fetchone()
        return None if found is None else self._decode_setting(key, found[0])

    def update_setting(self, key: str, change: SettingChange) -> object:
        with self._transaction() as conn:
            self._lock_setting(conn, key)
            row = conn.execute(self.sql("SELECT value FROM {s}meta WHERE key = {p}"), (key,))
            found = row.fetchone()
            value = change(None if found is None else self._decode_setting(key, found[0]))
            conn.execute(
                self.sql(
                    "INSERT INTO {s}meta VALUES ({p}, {p}) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                (key, json.dumps(value, sort_keys=True)),
            )
        return value

    # -- writing ------------------------------------------------------------------------------

    def spent_and_held(self, hold: Hold, now: float) -> tuple[int, int]:
        row = (hold.period, hold.dim, self._date(hold.start), hold.key)
        with self._reading() as conn:
            found = conn.execute(self.sql(SPENT_AND_HELD), (*row, *row, now)).fetchone()
        return (int(found[0]), int(found[1])) if found else (0, 0)

    def claim_alert(self, period: str, period_start: date, threshold: float, now: float) -> bool:
        with self._writing() as conn:
            cursor = conn.execute(
                self.sql(
                    "INSERT INTO {s}budget_alerts VALUES ({p}, {p}, {p}, {p}) "
                    "ON CONFLICT DO NOTHING"
                ),
                (period, self._date(period_start), threshold, now),
            )
            return bool(cursor.rowcount == 1)

    def prune_entries(self, before_ts: float) -> int:
        with self._writing() as conn:
            cursor = conn.execute(self.sql("DELETE FROM {s}entries WHERE ts < {p}"), (before_ts,))
            return int(cursor.rowcount)

    # -- reading ------------------------------------------------------------------------------

    def _corrupt(self, exc: Exception) -> CostStoreError:
        return CostStoreError(f"{self.location}: a rollup row is corrupt ({exc})")

    def _rollup_rows(self, condition: str, params: Sequence[object]) -> list[RollupRow]:
        query = self.sql(f"SELECT {ROLLUP_COLUMNS} FROM {{s}}rollup WHERE {condition}")
        with self._reading() as conn:
            fetched = conn.execute(query, params).fetchall()
        try:  # the sums are integers (the tables check them); a start could be corrupt
            return [
                RollupRow(period, dim, self._day(start), key, *sums)
                for period, dim, start, key, *sums in fetched
            ]
        except (TypeError, ValueError) as exc:
            raise self._corrupt(exc) from exc

    def rollups(
        self, period: str, first: date, last: date, dims: Sequence[str] = (TOTAL,)
    ) -> list[RollupRow]:
        check_rollup_query(period, dims)
        marks = ", ".join(["{p}"] * len(dims))
        order = f"dim{self.byte_order}, start, key{self.byte_order}"
        return self._rollup_rows(
            f"period = {{p}} AND dim IN ({marks}) AND start BETWEEN {{p}} AND {{p}} "
            f"ORDER BY {order}",
            (period, *dims, self._date(first), self._date(last)),
        )

    def ranked(
        self, period: str, start: date, dim: str, limit: int | None = None, offset: int = 0
    ) -> list[RollupRow]:
        check_rollup_query(period, (dim,))
        tag_rows = "" if dim == TOTAL or dim in DIMENSIONS else f" AND {TAG_ROWS}"
        return self._rollup_rows(
            f"period = {{p}} AND dim = {{p}} AND start = {{p}}{tag_rows} "
            f"ORDER BY cost_nusd DESC, key{self.byte_order} LIMIT {{p}} OFFSET {{p}}",
            (period, dim, self._date(start), self.unlimited if limit is None else limit, offset),
        )

    def total_nusd(self, period: str, start: date) -> int:
        check_rollup_query(period, (TOTAL,))
        with self._reading() as conn:
            row = conn.execute(
                self.sql(
                    "SELECT cost_nusd FROM {s}rollup "
                    "WHERE period = {p} AND dim = '' AND start = {p} AND key = ''"
                ),
                (period, self._date(start)),
            ).fetchone()
        try:
            return 0 if row is None else int(row[0])
        except (TypeError, ValueError) as exc:
            raise self._corrupt(exc) from exc

    def entries(
        self,
        start_ts: float | None = None,
        end_ts: float | None = None,
        filters: dict[str, str] | None = None,
    ) -> Iterator[StoredEntry]:
        conditions, params = entry_conditions(
            start_ts, end_ts, filters, self.placeholder, self._tag_value
        )
        query = (
            f"SELECT id, {self._entry_columns()} FROM {self.schema}entries "
            f"WHERE (ts, id) > ({self.placeholder}, {self.placeholder})"
            f"{conditions} ORDER BY ts, id LIMIT {ENTRY_PAGE}"
        )

        def fetch(after: tuple[float, int]) -> list[Any]:
            with self._reading() as conn:
                return list(conn.execute(query, (*after, *params)).fetchall())

        return paged_entries(fetch, self._entry_of)

    def entry_sums(
        self,
        start_ts: float,
        end_ts: float,
        by: Sequence[str],
        tag_values: dict[str, Sequence[str]] | None = None,
    ) -> list[tuple[Any, ...]]:
        groups = [self._grouping(name) for name in by]
        mark = self.placeholder
        conditions = [f"ts >= {mark}", f"ts < {mark}"]
        params: list[object] = [start_ts, end_ts]
        for key, wanted in (tag_values or {}).items():
            if not wanted:
                return []
            conditions.append(f"{self._grouping(key)} IN ({', '.join([mark] * len(wanted))})")
            params.extend(wanted)
        columns = ", ".join(groups)
        query = (
            f"SELECT {columns}, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), "
            f"SUM(cost_nusd) FROM {self.schema}entries WHERE {' AND '.join(conditions)} "
            f"GROUP BY {columns}"
        )
        with self._reading() as conn:
            rows = conn.execute(query, params).fetchall()
        days = [i for i, name in enumerate(by) if name == "day"]
        return [
            (
                *(self._day(v) if i in days else v for i, v in enumerate(row[: len(by)])),
                *(int(total) for total in row[len(by) :]),
            )
            for row in rows
        ]

    def _grouping(self, name: str) -> str:
        """The SQL expression of an entry column or a tag key; ValueError for anything else."""
        if name in GROUPABLE:
            return name
        if is_tag_key(name):
            return self._tag_value(name)
        raise ValueError(f"cannot group entries by {name!r}")

    def _entry_of(self, row: Sequence[Any]) -> StoredEntry:
        """An entry from ``SELECT id, <ENTRY_COLUMNS>``."""
        _, ts, day, *rest, priced, uid, tags = row
        return StoredEntry._make((ts, self._day(day), *rest, bool(priced), uid, tags))

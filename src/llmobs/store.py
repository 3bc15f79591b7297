"""The durable cost store: raw entries and daily aggregates in one SQLite file.

Each record is one transaction in WAL mode: once ``add`` returns, the entry survives the
process being killed, and every process on the host that opens the same file sees it. Costs
are stored as integer nano-dollars so sums are exact however many processes add to them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

SCHEMA_VERSION = 1
NANO = 1_000_000_000
MEMORY = ":memory:"
DB_ENV = "LLMOBS_COST_DB"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    day TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    team TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL,
    priced INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_ts ON entries (ts);
CREATE TABLE IF NOT EXISTS daily (
    day TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    team TEXT NOT NULL,
    requests INTEGER NOT NULL,
    unpriced INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL,
    PRIMARY KEY (day, agent_id, model, provider)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily_total (
    day TEXT PRIMARY KEY,
    requests INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS budget_alerts (
    period TEXT NOT NULL,
    period_start TEXT NOT NULL,
    threshold REAL NOT NULL,
    fired_at REAL NOT NULL,
    PRIMARY KEY (period, period_start, threshold)
) WITHOUT ROWID;
"""

_INSERT_ENTRY = """
INSERT INTO entries (ts, day, agent_id, model, provider, team, prompt_tokens, completion_tokens,
                     cache_read_tokens, cache_write_tokens, cost_nusd, priced)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_UPSERT_DAILY = """
INSERT INTO daily VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
ON CONFLICT (day, agent_id, model, provider) DO UPDATE SET
    requests = requests + 1,
    unpriced = unpriced + excluded.unpriced,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    cost_nusd = cost_nusd + excluded.cost_nusd
"""
_UPSERT_TOTAL = """
INSERT INTO daily_total VALUES (?, 1, ?)
ON CONFLICT (day) DO UPDATE SET requests = requests + 1, cost_nusd = cost_nusd + excluded.cost_nusd
RETURNING cost_nusd
"""
_TOKEN_COLUMNS = ("prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens")
ENTRY_COLUMNS = (
    "ts",
    "agent_id",
    "model",
    "provider",
    "team",
    *_TOKEN_COLUMNS,
    "cost_nusd",
    "priced",
)


class CostStoreError(RuntimeError):
    """The cost database cannot be opened or used; the message names the file."""


@dataclass(frozen=True)
class StoredEntry:
    """One raw entry as stored."""

    ts: float
    day: date
    agent_id: str
    model: str
    provider: str
    team: str
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_nusd: int
    priced: bool


@dataclass(frozen=True)
class GroupRow:
    """Sums over a range of days for one (agent, model, provider, team)."""

    agent_id: str
    model: str
    provider: str
    team: str
    requests: int
    unpriced: int
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_nusd: int


@dataclass(frozen=True)
class DayTotal:
    """One day's total requests and spend."""

    day: date
    requests: int
    cost_nusd: int


def default_path() -> str:
    """``$LLMOBS_COST_DB``, else ``$XDG_DATA_HOME/llmobs/costs.sqlite3`` (``~/.local/share``)."""
    configured = os.environ.get(DB_ENV)
    if configured:
        return configured
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return os.path.join(data_home, "llmobs", "costs.sqlite3")


class CostStore:
    """SQLite storage of cost entries and their daily aggregates; thread-safe.

    ``path`` is a file (created with its folder if missing) or ``":memory:"``.
    """

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = self._open(read_only)

    def _open(self, read_only: bool) -> sqlite3.Connection:
        if self.path != MEMORY:
            folder = os.path.dirname(os.path.abspath(self.path))
            if read_only and not os.path.exists(self.path):
                raise CostStoreError(f"{self.path}: no cost database at this path")
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                raise CostStoreError(
                    f"{self.path}: cannot create its folder: {exc.strerror}"
                ) from exc
        try:
            target = f"file:{self.path}?mode=ro" if read_only else self.path
            conn = sqlite3.connect(
                target,
                uri=read_only,
                timeout=30.0,
                isolation_level=None,
                check_same_thread=False,
            )
            if self.path != MEMORY and not read_only:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            self._check_or_create(conn, read_only)
        except sqlite3.DatabaseError as exc:
            raise CostStoreError(
                f"{self.path}: not a usable llmobs cost database ({exc}); it was left untouched"
            ) from exc
        return conn

    def _check_or_create(self, conn: sqlite3.Connection, read_only: bool) -> None:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if tables and "meta" not in tables:
            raise CostStoreError(
                f"{self.path}: is an SQLite database of something else (tables: "
                f"{', '.join(sorted(tables))}); it was left untouched"
            )
        if "meta" in tables:
            version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if version is None or int(version[0]) != SCHEMA_VERSION:
                raise CostStoreError(
                    f"{self.path}: cost database schema version {version and version[0]!r} is "
                    f"not {SCHEMA_VERSION}; it was left untouched"
                )
            return
        if read_only:
            raise CostStoreError(f"{self.path}: empty database, no costs recorded yet")
        conn.executescript(
            f"BEGIN IMMEDIATE; {_SCHEMA} INSERT OR IGNORE INTO meta "
            f"VALUES ('schema_version', '{SCHEMA_VERSION}'); COMMIT;"
        )

    # -- settings kept in the file, so every process and the cost report see them ------------

    def get_setting(self, key: str) -> object:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: object) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO meta VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, sort_keys=True)),
            )

    # -- writing -------------------------------------------------------------------------------

    def add(self, entry: StoredEntry) -> int:
        """Store one entry and update its day's aggregates in one transaction.

        Returns the day's new total spend in nano-dollars, across every process.
        """
        day = entry.day.isoformat()
        tokens = (
            entry.prompt_tokens,
            entry.completion_tokens,
            entry.cache_read_tokens,
            entry.cache_write_tokens,
        )
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    _INSERT_ENTRY,
                    (
                        entry.ts,
                        day,
                        entry.agent_id,
                        entry.model,
                        entry.provider,
                        entry.team,
                        *tokens,
                        entry.cost_nusd,
                        int(entry.priced),
                    ),
                )
                conn.execute(
                    _UPSERT_DAILY,
                    (
                        day,
                        entry.agent_id,
                        entry.model,
                        entry.provider,
                        entry.team,
                        int(not entry.priced),
                        *tokens,
                        entry.cost_nusd,
                    ),
                )
                (day_total,) = conn.execute(_UPSERT_TOTAL, (day, entry.cost_nusd)).fetchone()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return int(day_total)

    def claim_alert(self, period: str, period_start: date, threshold: float, now: float) -> bool:
        """Record that a budget alert fired; False if any process already fired it."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO budget_alerts VALUES (?, ?, ?, ?)",
                (period, period_start.isoformat(), threshold, now),
            )
        return cursor.rowcount == 1

    def prune_entries(self, before_ts: float) -> int:
        """Delete raw entries older than ``before_ts``; daily aggregates are kept."""
        with self._lock:
            return self._conn.execute("DELETE FROM entries WHERE ts < ?", (before_ts,)).rowcount

    # -- reading -------------------------------------------------------------------------------

    def grouped(self, first: date, last: date) -> list[GroupRow]:
        """Sums per (agent, model, provider, team) over the days ``first`` to ``last``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT agent_id, model, provider, team, SUM(requests), SUM(unpriced), "
                "SUM(prompt_tokens), SUM(completion_tokens), SUM(cache_read_tokens), "
                "SUM(cache_write_tokens), SUM(cost_nusd) FROM daily WHERE day BETWEEN ? AND ? "
                "GROUP BY agent_id, model, provider, team",
                (first.isoformat(), last.isoformat()),
            ).fetchall()
        return [GroupRow(*row) for row in rows]

    def day_totals(self, first: date, last: date) -> list[DayTotal]:
        """Each day's totals from ``first`` to ``last`` (days with no requests are absent)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT day, requests, cost_nusd FROM daily_total WHERE day BETWEEN ? AND ?",
                (first.isoformat(), last.isoformat()),
            ).fetchall()
        return [DayTotal(date.fromisoformat(day), requests, cost) for day, requests, cost in rows]

    def total_nusd(self, first: date, last: date) -> int:
        """Total spend from ``first`` to ``last`` inclusive, in nano-dollars."""
        with self._lock:
            (total,) = self._conn.execute(
                "SELECT COALESCE(SUM(cost_nusd), 0) FROM daily_total WHERE day BETWEEN ? AND ?",
                (first.isoformat(), last.isoformat()),
            ).fetchone()
        return int(total)

    def entries(
        self,
        start_ts: float | None = None,
        end_ts: float | None = None,
        filters: dict[str, str] | None = None,
        batch: int = 5_000,
    ) -> Iterator[StoredEntry]:
        """Raw entries with ``start_ts <= ts < end_ts`` matching ``filters``, oldest first.

        Read in batches, so exporting millions of entries holds one batch in memory.
        """
        clauses, params = [], []
        if start_ts is not None:
            clauses.append("ts >= ?")
            params.append(start_ts)
        if end_ts is not None:
            clauses.append("ts < ?")
            params.append(end_ts)
        for column, value in (filters or {}).items():
            if column not in ("agent_id", "model", "provider", "team"):
                raise ValueError(f"cannot filter entries by {column!r}")
            clauses.append(f"{column} = ?")
            params.append(value)
        query = (
            f"SELECT id, ts, day, {', '.join(ENTRY_COLUMNS[1:])} FROM entries "
            f"WHERE (ts, id) > (?, ?) {''.join(' AND ' + c for c in clauses)} "
            f"ORDER BY ts, id LIMIT {int(batch)}"
        )
        after: tuple[float, int] = (float("-inf"), -1)
        while True:
            with self._lock:
                rows = self._conn.execute(query, (*after, *params)).fetchall()
            for row in rows:
                yield StoredEntry(row[1], date.fromisoformat(row[2]), *row[3:12], bool(row[12]))
            if len(rows) < batch:
                return
            after = (rows[-1][1], rows[-1][0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def utc_timestamp(moment: datetime) -> float:
    """Seconds since the epoch of an aware or (UTC) naive datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()

"""The embedded cost store: one SQLite file in WAL mode, shared by the processes of one host.

Each batch is one ``BEGIN IMMEDIATE`` transaction: once it commits, its entries survive the
process being killed and every process that opens the file sees them. A file that is not an
llmobs cost database is never changed, not even its journal mode.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from datetime import date
from pathlib import Path
from typing import Any

from .aggregate import by_day, by_group
from .base import (
    MEMORY,
    SCHEMA_VERSION,
    CostStore,
    CostStoreError,
    DayTotal,
    GroupRow,
    SettingChange,
    StoredEntry,
    check_filters,
)

BUSY_TIMEOUT_SECONDS = 30.0
ENTRY_BATCH = 5_000

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
_TABLES = {"meta", "entries", "daily", "daily_total", "budget_alerts"}

# Each write is one multi-row statement per table: SQLite's Python module lets other threads run
# at every step of a statement, so one statement per row would leave a writer thread waiting
# for the interpreter lock once per row while the service's threads run.
_INSERT_ENTRY = """
INSERT INTO entries (ts, day, agent_id, model, provider, team, prompt_tokens, completion_tokens,
                     cache_read_tokens, cache_write_tokens, cost_nusd, priced)
VALUES {rows}
"""
_UPSERT_DAILY = """
INSERT INTO daily VALUES {rows}
ON CONFLICT (day, agent_id, model, provider) DO UPDATE SET
    requests = requests + excluded.requests,
    unpriced = unpriced + excluded.unpriced,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    cost_nusd = cost_nusd + excluded.cost_nusd
"""
_UPSERT_TOTAL = """
INSERT INTO daily_total VALUES {rows}
ON CONFLICT (day) DO UPDATE SET
    requests = requests + excluded.requests,
    cost_nusd = cost_nusd + excluded.cost_nusd
RETURNING day, cost_nusd
"""
ROWS_PER_STATEMENT = 512
_OLD_VARIABLE_LIMIT = 999  # SQLite's limit on a statement's variables before 3.32
_ENTRY_COLUMNS = (
    "agent_id, model, provider, team, prompt_tokens, completion_tokens, cache_read_tokens, "
    "cache_write_tokens, cost_nusd, priced"
)


def _chunk_sizes(count: int, largest: int) -> list[int]:
    """Split ``count`` rows into chunks of ``largest`` and then powers of two, so that only a
    few distinct statements are ever prepared (and cached) per table."""
    sizes = [largest] * (count // largest)
    rest = count % largest
    power = 1 << max(0, rest.bit_length() - 1)
    while rest:
        if rest >= power:
            sizes.append(power)
            rest -= power
        power >>= 1
    return sizes


@functools.cache
def _statement(template: str, width: int, rows: int) -> str:
    """``template`` with ``rows`` placeholders of ``width`` values for its ``{rows}``."""
    placeholder = "(" + ", ".join("?" * width) + ")"
    return template.format(rows=", ".join([placeholder] * rows))


def _many_rows(
    conn: sqlite3.Connection, template: str, rows: Sequence[tuple[object, ...]]
) -> list[tuple[object, ...]]:
    """Run ``template`` for ``rows`` in a few multi-row statements of a few distinct sizes."""
    if len(rows) == 1:
        return conn.execute(_statement(template, len(rows[0]), 1), rows[0]).fetchall()
    if not rows:
        return []
    width = len(rows[0])
    getlimit = getattr(conn, "getlimit", None)  # Python 3.11+
    which = getattr(sqlite3, "SQLITE_LIMIT_VARIABLE_NUMBER", None)
    limit = getlimit(which) if getlimit and which is not None else _OLD_VARIABLE_LIMIT
    returned: list[tuple[object, ...]] = []
    start = 0
    for size in _chunk_sizes(len(rows), min(ROWS_PER_STATEMENT, limit // width)):
        values = [value for row in rows[start : start + size] for value in row]
        start += size
        returned.extend(conn.execute(_statement(template, width, size), values).fetchall())
    return returned


def _is_busy(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def _stored(row: tuple[Any, ...]) -> StoredEntry:
    """An entry from ``SELECT id, ts, day, <_ENTRY_COLUMNS>``."""
    (_, ts, day, agent_id, model, provider, team, prompt, completion, read, write, cost, priced) = (
        row
    )
    return StoredEntry(
        ts, date.fromisoformat(day), agent_id, model, provider, team,
        prompt, completion, read, write, cost, bool(priced),
    )  # fmt: skip


class SQLiteStore(CostStore):
    """The cost store in one SQLite file (created with its folder if missing) or in memory.

    Writes and reads use separate connections, so a write waiting for another process's lock
    never holds up a budget check or a report. ``read_only`` opens an existing database to
    report on it and never writes.
    """

    batch_multiple = ROWS_PER_STATEMENT

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = os.fspath(path)
        self.location = self.path
        self.read_only = read_only
        self._lock = threading.Lock()
        self._conn = self._open_retrying()
        if self.path == MEMORY:  # one in-memory database: one connection
            self._read_lock, self._reader = self._lock, self._conn
        else:
            self._read_lock, self._reader = threading.Lock(), self._connect()

    # -- opening ------------------------------------------------------------------------------

    def _open_retrying(self) -> sqlite3.Connection:
        """Open the database; while another process holds a lock that SQLite's busy handler
        does not wait for (a journal mode change), retry until the busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        pause = 0.005
        while True:
            try:
                return self._open()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise self._error(exc) from exc
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def _connect(self) -> sqlite3.Connection:
        if self.path == MEMORY:
            target, uri = MEMORY, False
        else:
            absolute = Path(os.path.abspath(self.path))
            if self.read_only:
                if not absolute.exists():
                    raise CostStoreError(f"{self.path}: no cost database at this path")
            else:
                try:
                    absolute.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise CostStoreError(
                        f"{self.path}: cannot create its folder: {exc.strerror}"
                    ) from exc
            # A URI, so that '#' or '?' in a file name stay part of the name.
            target, uri = absolute.as_uri() + ("?mode=ro" if self.read_only else ""), True
        return sqlite3.connect(
            target,
            uri=uri,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise self._unusable(exc) from exc
        try:
            if self._inspect(conn) is None:
                self._create(conn)
            if self.path != MEMORY and not self.read_only:
                self._use_wal(conn)
                self._probe_write(conn)
        except sqlite3.OperationalError as exc:
            conn.close()
            if _is_busy(exc):
                raise
            raise self._unusable(exc) from exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._unusable(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _unusable(self, exc: sqlite3.Error) -> CostStoreError:
        return CostStoreError(
            f"{self.path}: not a usable llmobs cost database ({exc}); it was left untouched"
        )

    def _inspect(self, conn: sqlite3.Connection) -> int | None:
        """The schema version of an llmobs database, None for an empty one; CostStoreError
        for anything else. Reads only."""
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not tables:
            if self.read_only:
                raise CostStoreError(f"{self.path}: empty database, no costs recorded yet")
            return None
        if "meta" not in tables:
            raise CostStoreError(
                f"{self.path}: is an SQLite database of something else (tables: "
                f"{', '.join(sorted(tables))}); it was left untouched"
            )
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = row[0] if row else None
        if version != str(SCHEMA_VERSION):
            raise CostStoreError(
                f"{self.path}: cost database schema version {version!r} is not "
                f"{SCHEMA_VERSION!r}; it was left untouched"
            )
        missing = _TABLES - tables
        if missing:
            raise CostStoreError(
                f"{self.path}: the cost database lacks its table(s) {', '.join(sorted(missing))}; "
                "it was left untouched"
            )
        return SCHEMA_VERSION

    def _create(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have created it since the look above: look again, locked.
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
            ).fetchone()
            if has_meta is None:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._inspect(conn)

    @staticmethod
    def _use_wal(conn: sqlite3.Connection) -> None:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
        conn.execute("PRAGMA synchronous=NORMAL")

    def _probe_write(self, conn: sqlite3.Connection) -> None:
        """Fail now, not at the first record, if the file cannot be written (permissions)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc):
                raise CostStoreError(
                    f"{self.path}: the cost database is read-only ({exc}); give this process "
                    "write access, or open it with read_only=True to report on it"
                ) from exc
            raise
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    # -- errors and transactions --------------------------------------------------------------

    def _error(self, exc: sqlite3.Error) -> CostStoreError:
        return CostStoreError(f"{self.path}: {exc}")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._read_lock:
            try:
                yield self._reader
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate transaction; on failure it is rolled back (if SQLite has not already
        done so, as it does on a full disk) and the real cause is raised."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):  # the cause below is what matters
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(exc) from exc
                raise

    # -- settings -----------------------------------------------------------------------------

    def _decode(self, key: str, text: str) -> object:
        try:
            return json.loads(text)
        except ValueError:
            raise CostStoreError(
                f"{self.path}: the setting {key!r} in the cost database is corrupt: {text[:80]!r}"
            ) from None

    def get_setting(self, key: str) -> object:
        with self._reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else self._decode(key, row[0])

    def update_setting(self, key: str, change: SettingChange) -> object:
        with self._transaction() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
            value = change(None if row is None else self._decode(key, row[0]))
            conn.execute(
                "INSERT INTO meta VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, sort_keys=True)),
            )
        return value

    # -- writing ------------------------------------------------------------------------------

    def add_batch(self, entries: Sequence[StoredEntry]) -> dict[date, int]:
        if not entries:
            return {}
        rows = [
            (
                e.ts,
                e.day.isoformat(),
                e.agent_id,
                e.model,
                e.provider,
                e.team,
                e.prompt_tokens,
                e.completion_tokens,
                e.cache_read_tokens,
                e.cache_write_tokens,
                e.cost_nusd,
                int(e.priced),
            )
            for e in entries
        ]
        daily = [(key.day.isoformat(), *key[1:], *sums) for key, sums in by_group(entries).items()]
        days = [(day.isoformat(), n, cost) for day, (n, cost) in by_day(entries).items()]
        with self._transaction() as conn:
            _many_rows(conn, _INSERT_ENTRY, rows)
            _many_rows(conn, _UPSERT_DAILY, daily)
            totals = _many_rows(conn, _UPSERT_TOTAL, days)
        return {date.fromisoformat(str(day)): int(str(total)) for day, total in totals}

    def claim_alert(self, period: str, period_start: date, threshold: float, now: float) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO budget_alerts VALUES (?, ?, ?, ?)",
                (period, period_start.isoformat(), threshold, now),
            )
        return cursor.rowcount == 1

    def prune_entries(self, before_ts: float) -> int:
        with self._transaction() as conn:
            return conn.execute("DELETE FROM entries WHERE ts < ?", (before_ts,)).rowcount

    # -- reading ------------------------------------------------------------------------------

    def grouped(self, first: date, last: date) -> list[GroupRow]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT agent_id, model, provider, team, SUM(requests), SUM(unpriced), "
                "SUM(prompt_tokens), SUM(completion_tokens), SUM(cache_read_tokens), "
                "SUM(cache_write_tokens), SUM(cost_nusd) FROM daily WHERE day BETWEEN ? AND ? "
                "GROUP BY agent_id, model, provider, team",
                (first.isoformat(), last.isoformat()),
            ).fetchall()
        return [GroupRow(*row) for row in rows]

    def day_totals(self, first: date, last: date) -> list[DayTotal]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT day, requests, cost_nusd FROM daily_total WHERE day BETWEEN ? AND ?",
                (first.isoformat(), last.isoformat()),
            ).fetchall()
        try:
            return [DayTotal(date.fromisoformat(day), int(n), int(cost)) for day, n, cost in rows]
        except (TypeError, ValueError) as exc:
            raise CostStoreError(f"{self.path}: a daily total is corrupt ({exc})") from exc

    def total_nusd(self, first: date, last: date) -> int:
        with self._reading() as conn:
            (total,) = conn.execute(
                "SELECT COALESCE(SUM(cost_nusd), 0) FROM daily_total WHERE day BETWEEN ? AND ?",
                (first.isoformat(), last.isoformat()),
            ).fetchone()
        return int(total)

    def entries(
        self,
        start_ts: float | None = None,
        end_ts: float | None = None,
        filters: dict[str, str] | None = None,
    ) -> Iterator[StoredEntry]:
        clauses: list[str] = []
        params: list[object] = []
        if start_ts is not None:
            clauses.append("ts >= ?")
            params.append(start_ts)
        if end_ts is not None:
            clauses.append("ts < ?")
            params.append(end_ts)
        for column, value in check_filters(filters).items():
            clauses.append(f"{column} = ?")
            params.append(value)
        query = (
            f"SELECT id, ts, day, {_ENTRY_COLUMNS} FROM entries "
            f"WHERE (ts, id) > (?, ?) {''.join(' AND ' + c for c in clauses)} "
            f"ORDER BY ts, id LIMIT {ENTRY_BATCH}"
        )
        after: tuple[float, int] = (float("-inf"), -1)
        while True:
            with self._reading() as conn:
                rows = conn.execute(query, (*after, *params)).fetchall()
            for row in rows:
                yield _stored(row)
            if len(rows) < ENTRY_BATCH:
                return
            after = (rows[-1][1], rows[-1][0])

    def close(self) -> None:
        with self._lock, self._read_lock if self._reader is not self._conn else nullcontext():
            self._reader.close()
            self._conn.close()

"""The embedded cost store: one SQLite file in WAL mode, shared by the processes of one host.

Each batch is one ``BEGIN IMMEDIATE`` transaction: once it commits, its entries survive the
process being killed and every process that opens the file sees them. A file that is not an
llmobs cost database is never changed, not even its journal mode.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from datetime import date
from pathlib import Path

from .aggregate import rollup_rows
from .base import (
    MEMORY,
    SCHEMA_VERSION,
    SUM_FIELDS,
    CostStoreError,
    Hold,
    PeriodTotals,
    Shortfall,
    StoredEntry,
    inserted,
)
from .sql import (
    DELETE_EXPIRED_HOLDS,
    ENTRY_COLUMNS,
    ROLLUP_COLUMNS,
    SPENT_AND_HELD,
    SQLStore,
    ranked_index,
)

BUSY_TIMEOUT_SECONDS = 30.0

_ROLLUP_TABLE = """
CREATE {temp}TABLE IF NOT EXISTS rollup (
    period TEXT NOT NULL,
    dim TEXT NOT NULL,
    start TEXT NOT NULL,
    key TEXT NOT NULL,
    requests INTEGER NOT NULL,
    unpriced INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL,
    PRIMARY KEY (period, dim, start, key),
    CHECK ({integers})
) WITHOUT ROWID
"""
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
CREATE TABLE IF NOT EXISTS budget_alerts (
    period TEXT NOT NULL,
    period_start TEXT NOT NULL,
    threshold REAL NOT NULL,
    fired_at REAL NOT NULL,
    PRIMARY KEY (period, period_start, threshold)
) WITHOUT ROWID;
"""
#: Version 3 added the reservations' holds.
_HOLDS_TABLE = """
CREATE {temp}TABLE IF NOT EXISTS holds (
    reservation INTEGER NOT NULL,
    period TEXT NOT NULL,
    dim TEXT NOT NULL,
    start TEXT NOT NULL,
    key TEXT NOT NULL,
    amount_nusd INTEGER NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (reservation, period, dim, start, key)
) WITHOUT ROWID
"""
_HOLDS_INDEX = "CREATE INDEX IF NOT EXISTS holds_budget ON holds (period, dim, start, key, expires)"
#: Version 4 gave entries an id of their own, so a write retried after a lost commit adds
#: each entry once.
_ENTRY_UID = (
    "ALTER TABLE entries ADD COLUMN uid BLOB",
    "CREATE UNIQUE INDEX IF NOT EXISTS entries_uid ON entries (uid)",
)
#: Version 5 gave entries their attribution tags (JSON text), and tag values their ranking.
_ENTRY_TAGS = ("ALTER TABLE entries ADD COLUMN tags TEXT", ranked_index("", ""))
#: The tables of each schema version. Version 1 kept per-day group sums (``daily``) and day
#: totals (``daily_total``) where version 2 keeps rollups.
_TABLES_OF = {
    1: {"meta", "entries", "daily", "daily_total", "budget_alerts"},
    2: {"meta", "entries", "rollup", "budget_alerts"},
    3: {"meta", "entries", "rollup", "holds", "budget_alerts"},
    4: {"meta", "entries", "rollup", "holds", "budget_alerts"},
    5: {"meta", "entries", "rollup", "holds", "budget_alerts"},
}

# Each write is one multi-row statement per table: SQLite's Python module lets other threads run
# at every step of a statement, so one statement per row would leave a writer thread waiting
# for the interpreter lock once per row while the service's threads run.
_INSERT_ENTRY = """
INSERT INTO entries (ts, day, agent_id, model, provider, team, prompt_tokens, completion_tokens,
                     cache_read_tokens, cache_write_tokens, cost_nusd, priced, uid, tags)
VALUES {rows}
"""
#: A retry's insert: entries stored already are skipped, and the new ones' uids returned.
_INSERT_NEW_ENTRY = _INSERT_ENTRY + "ON CONFLICT (uid) DO NOTHING RETURNING uid"
_ADD_ROLLUP = """
INSERT INTO rollup VALUES {rows}
ON CONFLICT (period, dim, start, key) DO UPDATE SET
    requests = requests + excluded.requests,
    unpriced = unpriced + excluded.unpriced,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    cost_nusd = cost_nusd + excluded.cost_nusd
"""
_ADD_ROLLUP_TOTALS = _ADD_ROLLUP + "RETURNING period, start, cost_nusd"
_SPENT_AND_HELD = SPENT_AND_HELD.format(p="?", s="")
_DELETE_EXPIRED_HOLDS = DELETE_EXPIRED_HOLDS.format(p="?", s="")


def _release(conn: sqlite3.Connection, reservations: Sequence[int]) -> None:
    conn.executemany("DELETE FROM holds WHERE reservation = ?", [(r,) for r in reservations])


def _rollup_table(*, temp: bool = False) -> str:
    """The rollup table's definition; its sums can only hold integers, so reads trust them."""
    integers = " AND ".join(f"typeof({field}) = 'integer'" for field in SUM_FIELDS)
    return _ROLLUP_TABLE.format(temp="TEMP " if temp else "", integers=integers)


#: The first day of the week (Monday) and of the month holding ``day``, in SQLite.
_V1_PERIOD_STARTS = {
    "day": "day",
    "week": "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')",
    "month": "date(day, 'start of month')",
}
_V1_DIMENSION_KEYS = {"": "''", "agent": "agent_id", "model": "model", "provider": "provider",
                      "team": "team"}  # fmt: skip
ROWS_PER_STATEMENT = 512
_OLD_VARIABLE_LIMIT = 999  # SQLite's limit on a statement's variables before 3.32


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


def _upgrade(conn: sqlite3.Connection, version: int, *, temp: bool) -> None:
    """Add what versions after ``version`` have: in the file (a migration, in the caller's
    transaction), or as temporary tables of this connection (reading an older file as it is)."""
    if version < 2:  # rollups, built from the per-day group sums version 1 kept
        name = "temp.rollup" if temp else "rollup"
        conn.execute(_rollup_table(temp=temp))
        sums = ", ".join(f"SUM({field})" for field in SUM_FIELDS)
        for period, start in _V1_PERIOD_STARTS.items():
            for dim, key in _V1_DIMENSION_KEYS.items():
                conn.execute(
                    f"INSERT INTO {name} ({ROLLUP_COLUMNS}) "
                    f"SELECT '{period}', '{dim}', {start} AS s, {key} AS k, {sums} "
                    "FROM main.daily GROUP BY s, k"
                )
        if not temp:
            conn.execute("DROP TABLE daily")
            conn.execute("DROP TABLE daily_total")
    if version < 3:  # the reservations' holds
        conn.execute(_HOLDS_TABLE.format(temp="TEMP " if temp else ""))
        if not temp:
            conn.execute(_HOLDS_INDEX)
    if version < 4 and not temp:  # read as it is, an older file's entries have no uid
        for statement in _ENTRY_UID:
            conn.execute(statement)
    if version < 5 and not temp:  # read as it is, an older file's entries have no tags
        for statement in _ENTRY_TAGS:
            conn.execute(statement)


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """An immediate transaction: committed, or rolled back when anything fails (unless SQLite
    has already done so, as it does on a full disk, so that the real cause is what is raised)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


class SQLiteStore(SQLStore):
    """The cost store in one SQLite file (created with its folder if missing) or in memory.

    Writes and reads use separate connections, so a write waiting for another process's lock
    never holds up a budget check or a report. ``read_only`` opens an existing database to
    report on it and never writes.
    """

    batch_multiple = ROWS_PER_STATEMENT
    unlimited = -1

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = os.fspath(path)
        self.location = self.path
        self.read_only = read_only
        self._read_version: int | None = None  # an older file read as it is
        self._lock = threading.Lock()
        self._conn = self._open_retrying()
        if self.path == MEMORY:  # one in-memory database: one connection
            self._read_lock, self._reader = self._lock, self._conn
        else:
            self._read_lock, self._reader = threading.Lock(), self._connect()
        if self._read_version is not None:
            try:
                _upgrade(self._reader, self._read_version, temp=True)
            except sqlite3.Error as exc:
                self.close()
                raise self._unusable(exc) from exc

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
            version = self._inspect(conn)
            if version is None:
                self._create(conn)
            if self.path != MEMORY and not self.read_only:
                self._use_wal(conn)
                self._probe_write(conn)
            if version is not None and version < SCHEMA_VERSION and not self.read_only:
                self._migrate(conn)
            if version is not None and version < SCHEMA_VERSION and self.read_only:
                self._read_version = version
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
        version = self._known_version(row[0] if row else None, oldest=1)
        self._check_tables(_TABLES_OF[version], tables)
        return version

    def _create(self, conn: sqlite3.Connection) -> None:
        with _immediate(conn):
            # Another process may have created it since the look above: look again, locked.
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
            ).fetchone()
            if has_meta is None:
                for statement in [*_SCHEMA.split(";"), _rollup_table()]:
                    if statement.strip():
                        conn.execute(statement)
                _upgrade(conn, 2, temp=False)  # what came after the rollups
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        self._inspect(conn)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring an older database to this version in one transaction (see ``_upgrade``)."""
        with _immediate(conn):
            # Another process may have migrated it since the look above: look again, locked.
            (text,) = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = self._known_version(text, oldest=1)
            if version < SCHEMA_VERSION:
                _upgrade(conn, version, temp=False)
                conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
                )
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
        """An immediate transaction on the write connection; database errors are raised as
        CostStoreError naming the file."""
        with self._lock:
            try:
                with _immediate(self._conn) as conn:
                    yield conn
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    _writing = _transaction

    # -- writing ------------------------------------------------------------------------------

    def _stored_already(self, error: CostStoreError) -> bool:
        return isinstance(error.__cause__, sqlite3.IntegrityError)

    def _write(
        self, entries: Sequence[StoredEntry], settled: Sequence[int], *, skip_stored: bool
    ) -> PeriodTotals:
        rows = [(e.ts, e.day.isoformat(), *e[2:11], int(e.priced), e.uid, e.tags) for e in entries]
        with self._transaction() as conn:
            added: Sequence[StoredEntry] = entries
            if skip_stored:
                new = _many_rows(conn, _INSERT_NEW_ENTRY, rows)
                added = inserted(entries, {uid for (uid,) in new if isinstance(uid, bytes)})
            else:
                _many_rows(conn, _INSERT_ENTRY, rows)
            dims, totals = (
                [(period, dim, start.isoformat(), *rest) for period, dim, start, *rest in part]
                for part in rollup_rows(added)
            )
            _many_rows(conn, _ADD_ROLLUP, dims)
            returned = _many_rows(conn, _ADD_ROLLUP_TOTALS, totals)
            _release(conn, settled)
        return {
            (str(period), date.fromisoformat(str(start))): int(str(total))
            for period, start, total in returned
        }

    def reserve(
        self, reservation: int, holds: Sequence[Hold], amount_nusd: int, now: float, expires: float
    ) -> Shortfall | None:
        with self._transaction() as conn:  # BEGIN IMMEDIATE: one writer of the file at a time
            for hold in holds:
                row = (hold.period, hold.dim, hold.start.isoformat(), hold.key)
                conn.execute(_DELETE_EXPIRED_HOLDS, (*row, now))
                spent, held = conn.execute(_SPENT_AND_HELD, (*row, *row, now)).fetchone()
                if spent + held + amount_nusd > hold.limit_nusd:
                    return Shortfall(hold, spent, held)
            conn.executemany(
                "INSERT INTO holds VALUES (?, ?, ?, ?, ?, ?, ?)",
                {
                    (reservation, h.period, h.dim, h.start.isoformat(), h.key, amount_nusd, expires)
                    for h in holds
                },
            )
        return None

    def release_all(self, reservations: Sequence[int]) -> None:
        with self._transaction() as conn:
            _release(conn, reservations)

    # -- reading ------------------------------------------------------------------------------

    def _date(self, day: date) -> object:
        return day.isoformat()

    def _entry_columns(self) -> str:
        columns = ENTRY_COLUMNS
        if self._read_version is not None and self._read_version < 4:  # read as it is
            columns = columns.replace(", uid", ", NULL")
        if self._read_version is not None and self._read_version < 5:
            columns = columns.replace(", tags", ", NULL")
        return columns

    def _tag_value(self, key: str) -> str:
        return f"json_extract(tags, '$.{key}')"

    def close(self) -> None:
        with self._lock, self._read_lock if self._reader is not self._conn else nullcontext():
            self._reader.close()
            self._conn.close()

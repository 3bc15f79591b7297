"""The fleet cost store: one PostgreSQL database shared by every replica on every host.

Its tables live in the ``llmobs`` schema of the database the URL names. Each batch is one
transaction; once it commits, its entries survive any process or host dying. Rollup rows are
updated in one fixed order by every writer, so concurrent writers never deadlock each other.
Needs ``psycopg`` 3 and ``psycopg_pool`` (``pip install 'obsgen[postgres]'``).
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from .aggregate import rollup_rows
from .base import (
    SCHEMA_VERSION,
    SUM_FIELDS,
    CostStoreError,
    CostStoreUnavailable,
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

try:
    import psycopg
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as missing:  # pragma: no cover - depends on the installation
    raise CostStoreError(
        "a postgresql:// cost store needs psycopg 3 and psycopg_pool: "
        "pip install 'obsgen[postgres]'"
    ) from missing

logger = logging.getLogger("llmobs")

CONNECT_TIMEOUT_SECONDS = 10
POOL_SIZE = 4
#: Serialises creating the schema across every process (any fixed 64-bit number).
_SCHEMA_LOCK = 0x6C6C6D6F62730001
#: How PostgreSQL sorts text by its bytes, as SQLite does.
_BYTE_ORDER = ' COLLATE "C"'
#: What each later version added, run in order on an older database (2 was the first here).
_UPGRADES: dict[int, tuple[str, ...]] = {
    3: (
        """CREATE TABLE llmobs.holds (
            reservation bigint NOT NULL,
            period text NOT NULL,
            dim text NOT NULL,
            start date NOT NULL,
            key text NOT NULL,
            amount_nusd bigint NOT NULL,
            expires double precision NOT NULL,
            PRIMARY KEY (reservation, period, dim, start, key)
        )""",
        "CREATE INDEX holds_budget ON llmobs.holds (period, dim, start, key, expires)",
    ),
}
_UPGRADES[4] = (  # entries get an id of their own: a retried write adds each once
    "ALTER TABLE llmobs.entries ADD COLUMN uid bytea",
    "CREATE UNIQUE INDEX entries_uid ON llmobs.entries (uid)",
)
_UPGRADES[5] = (  # attribution tags (JSON), and tag values ranked by spend
    "ALTER TABLE llmobs.entries ADD COLUMN tags text",
    ranked_index("llmobs.", _BYTE_ORDER),
)
_FIRST_VERSION = 2
_TABLES_OF = {2: {"meta", "entries", "rollup", "budget_alerts"}}
_TABLES_OF[3] = _TABLES_OF[4] = _TABLES_OF[5] = _TABLES_OF[2] | {"holds"}
_SUM_TYPES = ", ".join(f"{field} bigint NOT NULL" for field in SUM_FIELDS)
_CREATE = (
    "CREATE SCHEMA IF NOT EXISTS llmobs",
    "CREATE TABLE llmobs.meta (key text PRIMARY KEY, value text NOT NULL)",
    """CREATE TABLE llmobs.entries (
        id bigserial PRIMARY KEY,
        ts double precision NOT NULL,
        day date NOT NULL,
        agent_id text NOT NULL,
        model text NOT NULL,
        provider text NOT NULL,
        team text NOT NULL,
        prompt_tokens bigint NOT NULL,
        completion_tokens bigint NOT NULL,
        cache_read_tokens bigint NOT NULL,
        cache_write_tokens bigint NOT NULL,
        cost_nusd bigint NOT NULL,
        priced boolean NOT NULL
    )""",
    "CREATE INDEX entries_ts ON llmobs.entries (ts, id)",
    f"""CREATE TABLE llmobs.rollup (
        period text NOT NULL,
        dim text NOT NULL,
        start date NOT NULL,
        key text NOT NULL,
        {_SUM_TYPES},
        PRIMARY KEY (period, dim, start, key)
    )""",
    """CREATE TABLE llmobs.budget_alerts (
        period text NOT NULL,
        period_start date NOT NULL,
        threshold double precision NOT NULL,
        fired_at double precision NOT NULL,
        PRIMARY KEY (period, period_start, threshold)
    )""",
)
_INSERT_ENTRIES = f"""
INSERT INTO llmobs.entries ({ENTRY_COLUMNS})
SELECT * FROM unnest(%s::float8[], %s::date[], %s::text[], %s::text[], %s::text[], %s::text[],
                     %s::int8[], %s::int8[], %s::int8[], %s::int8[], %s::int8[], %s::bool[],
                     %s::bytea[], %s::text[])
"""
#: A retry's insert: entries stored already are skipped, and the new ones' uids returned.
_INSERT_NEW_ENTRIES = _INSERT_ENTRIES + "ON CONFLICT (uid) DO NOTHING RETURNING uid"
_ADD_ROLLUP = f"""
INSERT INTO llmobs.rollup AS r ({ROLLUP_COLUMNS})
SELECT * FROM unnest(%s::text[], %s::text[], %s::date[], %s::text[],
                     {", ".join(["%s::int8[]"] * len(SUM_FIELDS))})
ON CONFLICT (period, dim, start, key) DO UPDATE SET
    {", ".join(f"{field} = r.{field} + excluded.{field}" for field in SUM_FIELDS)}
"""
_ADD_ROLLUP_TOTALS = _ADD_ROLLUP + "RETURNING period, start, cost_nusd"
_SPENT_AND_HELD = SPENT_AND_HELD.format(p="%s", s="llmobs.")
_DELETE_EXPIRED_HOLDS = DELETE_EXPIRED_HOLDS.format(p="%s", s="llmobs.")
_RELEASE = "DELETE FROM llmobs.holds WHERE reservation = ANY(%s)"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def redacted(url: str) -> str:
    """``url`` without its password or query (which may hold one), fit for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{parts.path}"


class _NoRoom(Exception):
    """A reservation did not fit: raised to roll its transaction back."""

    def __init__(self, shortfall: Shortfall) -> None:
        super().__init__(shortfall)
        self.shortfall = shortfall


def _pipeline(conn: psycopg.Connection[Any]) -> AbstractContextManager[object]:
    """Pipeline mode (statements sent without waiting for each result) where libpq has it."""
    return conn.pipeline() if psycopg.Pipeline.is_supported() else nullcontext()


def _columns(rows: Sequence[Sequence[object]], width: int) -> list[list[object]]:
    """Rows as one list per column: the arrays ``unnest`` turns back into rows."""
    return [[row[i] for row in rows] for i in range(width)] if rows else [[] for _ in range(width)]


class PostgresStore(SQLStore):
    """The cost store in a PostgreSQL database, through a small pool of connections.

    ``read_only`` only reads (every transaction is read-only), for reports.
    """

    batch_multiple = 1
    placeholder = "%s"
    schema = "llmobs."
    byte_order = _BYTE_ORDER

    def __init__(self, url: str, *, read_only: bool = False, pool_size: int = POOL_SIZE) -> None:
        self.location = redacted(url)
        self.read_only = read_only
        self._prepared = False
        self._prepare_lock = threading.Lock()
        options = "-c default_transaction_read_only=on" if read_only else ""
        settings: dict[str, Any] = {"autocommit": True, "options": options}
        try:  # one plain connection first: its error says why (a pool's only times out)
            with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS, **settings) as conn:
                self._prepare(conn)
        except psycopg.OperationalError as exc:
            if read_only:  # a report has nothing to wait for
                raise self._error(exc) from exc
            logger.warning(
                "llmobs cannot reach the cost database %s (%s); records wait in memory and are "
                "written when it answers",
                self.location,
                _first_line(exc),
            )
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={**settings, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
            timeout=CONNECT_TIMEOUT_SECONDS,
            open=False,
            name="llmobs-costs",
        )
        self._pool.open()

    # -- opening ------------------------------------------------------------------------------

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        """Create the schema in an empty database, or check the one there; never change a
        database this version cannot use."""
        with conn.transaction():
            if not self.read_only:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'llmobs'"
                )
            }
            if not tables:
                if self.read_only:
                    raise CostStoreError(f"{self.location}: no llmobs cost database here yet")
                for statement in _CREATE:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO llmobs.meta VALUES ('schema_version', %s)", (str(_FIRST_VERSION),)
                )
                version = _FIRST_VERSION
            else:
                version = self._check(conn, tables)
            if version < SCHEMA_VERSION:
                self._upgrade(conn, version)
        self._prepared = True

    def _upgrade(self, conn: psycopg.Connection[Any], version: int) -> None:
        """Bring an older database to this version, in the caller's locked transaction."""
        if self.read_only:
            raise CostStoreError(
                f"{self.location}: the cost database has schema version {version}; open it once "
                f"with write access to upgrade it to {SCHEMA_VERSION}"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _UPGRADES[target]:
                conn.execute(statement)
        conn.execute(
            "UPDATE llmobs.meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
        )

    def _check(self, conn: psycopg.Connection[Any], tables: set[str]) -> int:
        if "meta" not in tables:
            raise CostStoreError(
                f"{self.location}: the schema llmobs holds tables of something else "
                f"({', '.join(sorted(tables))}); it was left untouched"
            )
        row = conn.execute("SELECT value FROM llmobs.meta WHERE key = 'schema_version'").fetchone()
        version = self._known_version(row[0] if row else None, oldest=_FIRST_VERSION)
        self._check_tables(_TABLES_OF[version], tables)
        return version

    # -- errors and transactions --------------------------------------------------------------

    def _error(self, exc: Exception) -> CostStoreError:
        """``exc`` as CostStoreError, or CostStoreUnavailable when the server cannot be
        reached (so that writes are kept and retried)."""
        if isinstance(exc, PoolTimeout):
            return CostStoreUnavailable(
                f"{self.location}: no database connection within {CONNECT_TIMEOUT_SECONDS} s"
            )
        unreachable = isinstance(exc, psycopg.OperationalError)
        kind = CostStoreUnavailable if unreachable else CostStoreError
        return kind(f"{self.location}: {_first_line(exc)}")

    @contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        """Database errors raised as CostStoreError naming the database, never its password."""
        try:
            yield
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._error(exc) from exc

    @contextmanager
    def _connection(self, *, transaction: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection, in one transaction if asked; the schema is checked (or created)
        first if the database could not be reached when the store was opened."""
        with self._mapped_errors(), self._pool.connection() as conn:
            if not self._prepared:
                with self._prepare_lock:
                    if not self._prepared:
                        self._prepare(conn)
            if transaction:
                with conn.transaction():
                    yield conn
            else:
                yield conn

    def _reading(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self._connection()

    def _writing(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self._connection()  # autocommit: each statement is its own transaction

    def _transaction(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self._connection(transaction=True)

    def _lock_setting(self, conn: Any, key: str) -> None:
        # One writer per key at a time, even while the key has no row to lock yet.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('llmobs.meta.' || %s))", (key,))

    def _tag_value(self, key: str) -> str:
        return f"(tags::jsonb ->> '{key}')"

    # -- writing ------------------------------------------------------------------------------

    def _stored_already(self, error: CostStoreError) -> bool:
        return isinstance(error.__cause__, psycopg.errors.UniqueViolation)

    def _write(
        self, entries: Sequence[StoredEntry], settled: Sequence[int], *, skip_stored: bool
    ) -> PeriodTotals:
        width, columns = 4 + len(SUM_FIELDS), _columns(entries, len(StoredEntry._fields))
        # One round trip as a rule: the statements are pipelined and only the commit waited
        # for; a retry waits for its insert too, whose answer says which entries are new.
        with self._connection() as conn, _pipeline(conn), conn.transaction():
            added: Sequence[StoredEntry] = entries
            if skip_stored:
                found = conn.execute(_INSERT_NEW_ENTRIES, columns).fetchall()
                added = inserted(entries, {uid for (uid,) in found})
            else:
                conn.execute(_INSERT_ENTRIES, columns)
            dims, totals = rollup_rows(added)
            if dims:
                conn.execute(_ADD_ROLLUP, _columns(dims, width))
            cursor = conn.execute(_ADD_ROLLUP_TOTALS, _columns(totals, width))
            if settled:
                conn.execute(_RELEASE, (list(settled),))
        with self._mapped_errors():
            returned = cursor.fetchall()
        return {(str(period), start): int(total) for period, start, total in returned}

    def reserve(
        self, reservation: int, holds: Sequence[Hold], amount_nusd: int, now: float, expires: float
    ) -> Shortfall | None:
        rows = sorted({(h.period, h.dim, h.start, h.key) for h in holds})
        try:
            # All in one round trip: the locks, the checks and the holds are pipelined, and
            # the transaction is rolled back if a check finds no room.
            with self._connection() as conn, _pipeline(conn), conn.transaction():
                # A hold is transient (it lapses by itself), so its commit need not wait for
                # the disk; what a call spends is written by its settlement, durably.
                conn.execute("SET LOCAL synchronous_commit = off")
                for period, dim, start, key in rows:  # in one order: no two wait in a cycle
                    conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        (f"llmobs.budget.{period}.{dim}.{start.isoformat()}.{key}",),
                    )
                checks = []
                for hold in holds:
                    row = (hold.period, hold.dim, hold.start, hold.key)
                    conn.execute(_DELETE_EXPIRED_HOLDS, (*row, now))
                    checks.append(conn.execute(_SPENT_AND_HELD, (*row, *row, now)))
                with conn.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO llmobs.holds VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        [(reservation, *row, amount_nusd, expires) for row in rows],
                    )
                for hold, check in zip(holds, checks, strict=True):
                    found = check.fetchone()
                    spent, held = (int(found[0]), int(found[1])) if found else (0, 0)
                    if spent + held + amount_nusd > hold.limit_nusd:
                        raise _NoRoom(Shortfall(hold, spent, held))
        except _NoRoom as no_room:
            return no_room.shortfall
        return None

    def release_all(self, reservations: Sequence[int]) -> None:
        with self._connection() as conn:
            conn.execute(_RELEASE, (list(reservations),))

    def close(self) -> None:
        self._pool.close()

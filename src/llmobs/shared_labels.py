"""Label caps shared by every worker of a multiprocess service.

In multiprocess mode each worker records into its own files and a scrape exposes them all, so
a cap per process would let ten workers (or recycled ones) expose ten times the cap. The values
each label admitted are kept in one small SQLite file in ``PROMETHEUS_MULTIPROC_DIR``: the first
values to arrive, from any worker, are the ones admitted. A worker asks the file only about a
value it has not seen, and once a label is full it loads the admitted values and asks no more.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from prometheus_client import REGISTRY, CollectorRegistry, values

from .exposition import multiprocess_dir

#: Not ``*.db``: prometheus_client's multiprocess collector reads every ``*.db`` file there.
FILE_NAME = "llmobs-labels.sqlite3"


class SharedAdmissions:
    """The admitted values of each label, in a file every worker of the service opens."""

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, FILE_NAME)
        self._lock = threading.Lock()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        """This process's connection (a forked worker opens its own)."""
        if self._conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS admitted "
                "(label TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (label, value))"
            )
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def admit(self, label: str, value: str, limit: int) -> tuple[bool, frozenset[str] | None]:
        """Whether ``value`` is (now) admitted for ``label``; when the label is full, also
        every value it admitted, so the caller never needs to ask again."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                known = conn.execute(
                    "SELECT 1 FROM admitted WHERE label = ? AND value = ?", (label, value)
                ).fetchone()
                (count,) = conn.execute(
                    "SELECT COUNT(*) FROM admitted WHERE label = ?", (label,)
                ).fetchone()
                admitted = known is not None or count < limit
                if known is None and admitted:
                    conn.execute("INSERT INTO admitted VALUES (?, ?)", (label, value))
                    count += 1
                everything = None
                if count >= limit:
                    rows = conn.execute("SELECT value FROM admitted WHERE label = ?", (label,))
                    everything = frozenset(row[0] for row in rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return admitted, everything


def shared_admissions(registry: CollectorRegistry | None) -> SharedAdmissions | None:
    """The shared admissions of a multiprocess service recording into the default registry;
    None for a single process (or a registry of its own, which multiprocess mode leaves
    alone)."""
    if registry is not None and registry is not REGISTRY:
        return None
    if values.ValueClass is values.MutexValue:
        return None
    folder = multiprocess_dir()
    return None if folder is None else SharedAdmissions(folder)

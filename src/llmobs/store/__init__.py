"""Cost stores: the interface every backend implements, and opening one by its location."""

from __future__ import annotations

import os

from .base import (
    DB_ENV,
    DIMENSIONS,
    MEMORY,
    NANO,
    ROLLUP_PERIODS,
    SCHEMA_VERSION,
    TOTAL,
    CostStore,
    CostStoreError,
    CostStoreUnavailable,
    Hold,
    PeriodTotals,
    RollupRow,
    Shortfall,
    StoredEntry,
    default_path,
    utc_timestamp,
)
from .sqlite import SQLiteStore

__all__ = [
    "DB_ENV",
    "DIMENSIONS",
    "MEMORY",
    "NANO",
    "ROLLUP_PERIODS",
    "SCHEMA_VERSION",
    "TOTAL",
    "CostStore",
    "CostStoreError",
    "CostStoreUnavailable",
    "Hold",
    "PeriodTotals",
    "RollupRow",
    "SQLiteStore",
    "Shortfall",
    "StoredEntry",
    "default_path",
    "open_store",
    "utc_timestamp",
]

_SERVER_SCHEMES = ("postgresql://", "postgres://")


def open_store(location: str | os.PathLike[str], *, read_only: bool = False) -> CostStore:
    """The store at ``location``: a ``postgresql://`` URL (every replica of a fleet shares it),
    an SQLite file path (the processes of one host share it) or ``":memory:"``."""
    text = os.fspath(location)
    if text.startswith(_SERVER_SCHEMES):
        from .postgres import PostgresStore  # psycopg is needed only for this backend

        return PostgresStore(text, read_only=read_only)
    return SQLiteStore(text, read_only=read_only)

"""Cost stores: the interface every backend implements, and opening one by its location."""

from __future__ import annotations

import os

from .base import (
    DB_ENV,
    MEMORY,
    NANO,
    SCHEMA_VERSION,
    CostStore,
    CostStoreError,
    DayTotal,
    GroupRow,
    StoredEntry,
    default_path,
    utc_timestamp,
)
from .sqlite import SQLiteStore

__all__ = [
    "DB_ENV",
    "MEMORY",
    "NANO",
    "SCHEMA_VERSION",
    "CostStore",
    "CostStoreError",
    "DayTotal",
    "GroupRow",
    "SQLiteStore",
    "StoredEntry",
    "default_path",
    "open_store",
    "utc_timestamp",
]

_SERVER_SCHEMES = ("postgresql://", "postgres://")


def open_store(location: str | os.PathLike[str], *, read_only: bool = False) -> CostStore:
    """The store at ``location``: an SQLite file path or ``":memory:"``."""
    text = os.fspath(location)
    if text.startswith(_SERVER_SCHEMES):
        raise CostStoreError(
            f"{text.split('@')[-1]}: a PostgreSQL cost store is not available in this version; "
            "use an SQLite file path"
        )
    return SQLiteStore(text, read_only=read_only)

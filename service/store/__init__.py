"""Durable stores behind the `Store` Protocols (`base.py`); `store_for_url` picks one by URL."""

from __future__ import annotations

from .base import Store


def store_for_url(database_url: str) -> Store:
    """The store for `COMFORT_DATABASE_URL`: `sqlite:///PATH` or `postgresql://…`."""
    if database_url.startswith("sqlite:///"):
        from .sqlite import SQLiteStore, sqlite_path

        return SQLiteStore(sqlite_path(database_url))
    if database_url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore  # type: ignore[import-not-found,unused-ignore]

        store: Store = PostgresStore(database_url)
        return store
    raise ValueError("COMFORT_DATABASE_URL must start with sqlite:/// or postgresql://")

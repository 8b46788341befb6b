"""Store fixtures: every `store` test runs once on SQLite and once on the local PostgreSQL.

PostgreSQL tests use a database made for this test run (`comfort_test_<hex>`, dropped at the
end) and a fresh schema per test, chosen through the connection's `search_path`. When the server
does not answer, they skip locally and FAIL in CI (`CI=true`): a silent skip there would hide a
broken setup. `COMFORT_TEST_POSTGRES_URL` names the server (default: the local one, trust auth).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from service.store.base import Store
from service.store.postgres import PostgresStore
from service.store.sqlite import SQLiteConnection, SQLiteStore

T = TypeVar("T")
ADMIN_URL = os.environ.get("COMFORT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}", query=""))


@dataclass
class PostgresServer:
    """The database of this test run, and the admin URL to inspect it with."""

    admin_url: str
    url: str  # the test run's own database
    extensions: set[str] = field(default_factory=set)

    def schema_url(self, schema: str) -> str:
        return f"{self.url}?search_path={schema}"


async def _create_database(admin_url: str, name: str) -> set[str]:
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    db = await asyncpg.connect(with_database(admin_url, name), timeout=5)
    try:
        found = set()
        for extension in ("pageinspect",):
            try:
                await db.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
                found.add(extension)
            except asyncpg.PostgresError:
                pass  # not installed, or not a superuser: the tests that need it say so
        return found
    finally:
        await db.close()


async def _drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _run(coroutine: Awaitable[T]) -> T:
    """Run a coroutine to completion on a loop of its own, even from inside a running loop
    (the session fixture is first requested from a test's async fixture)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A database of its own for this test run on the local server; dropped afterwards."""
    name = f"comfort_test_{secrets.token_hex(6)}"
    try:
        extensions = _run(_create_database(ADMIN_URL, name))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL at {ADMIN_URL} is not usable: {type(exc).__name__}: {exc}"
        if in_ci():
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(f"{reason}; start it (make services) to run the PostgreSQL store tests")
    try:
        yield PostgresServer(ADMIN_URL, with_database(ADMIN_URL, name), extensions)
    finally:
        _run(_drop_database(ADMIN_URL, name))


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def pg_schema(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty schema for one test; dropped afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    _run(_execute(postgres_server.url, f"CREATE SCHEMA {schema}"))
    yield schema
    _run(_execute(postgres_server.url, f"DROP SCHEMA {schema} CASCADE"))


StoreFactory = Callable[..., Awaitable[Store]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store_factory(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[StoreFactory]:
    """Open more stores on the same data (for PostgreSQL: more pools, as processes would)."""
    opened: list[Store] = []
    target: str
    if dialect == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        schema: str = request.getfixturevalue("pg_schema")
        target = server.schema_url(schema)
    else:
        target = str(tmp_path / "comfort.db")

    async def factory(**options: object) -> Store:
        store: Store
        if dialect == "postgres":
            store = PostgresStore(target, **options)  # type: ignore[arg-type]
        else:
            store = SQLiteStore(Path(target))
        await store.open()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        await store.close()


@pytest.fixture
async def store(store_factory: StoreFactory) -> Store:
    """An open, empty store of the test's dialect."""
    return await store_factory()


@pytest.fixture(autouse=True)
def no_cursor_leaves_its_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SQLite store call in this suite hands back data, never a live cursor: a cursor
    freed later on another thread races the connection's own thread (a reader whose PRAGMA
    cursor escaped once stopped seeing new commits)."""
    real_run, real_now = SQLiteConnection._run, SQLiteConnection.now

    async def run(self: SQLiteConnection, fn: Any, arg: Any) -> Any:
        result = await real_run(self, fn, arg)
        assert not isinstance(result, sqlite3.Cursor), f"{fn} handed back a cursor"
        return result

    def now(self: SQLiteConnection, fn: Any) -> Any:
        result = real_now(self, fn)
        assert not isinstance(result, sqlite3.Cursor), f"{fn} handed back a cursor"
        return result

    monkeypatch.setattr(SQLiteConnection, "_run", run)
    monkeypatch.setattr(SQLiteConnection, "now", now)

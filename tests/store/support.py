"""Builders for store tests, and readers of what a store left in its files."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import asyncpg

from service.events import Actor, Role
from service.store.base import (
    AppendRequest,
    ParticipantRecord,
    SessionRecord,
    SessionStateName,
    utc_now,
)
from service.store.postgres import millis

THERAPIST = Actor("t-1", Role.THERAPIST)
CLIENT = Actor("c-1", Role.CLIENT)
OTHER_CLIENT = Actor("c-2", Role.CLIENT)
SYSTEM = Actor("system", Role.SYSTEM)


def new_session(
    *,
    session_id: str | None = None,
    tenant_id: str = "acme",
    platform: str = "zoom",
    external_id: str | None = None,
    client_name: str = "Client One",
    settings: dict[str, Any] | None = None,
) -> SessionRecord:
    """An open session as the engine creates it (times already at the stores' precision)."""
    return SessionRecord(
        id=session_id or f"ses_{secrets.token_hex(8)}",
        tenant_id=tenant_id,
        platform=platform,
        external_id=external_id or f"mtg-{secrets.token_hex(4)}",
        state=SessionStateName.OPEN,
        created_at=millis(utc_now()),
        scheduled_minutes=50,
        participants=(
            ParticipantRecord("t-1", "therapist", "Dr. Therapist", "zoom-t"),
            ParticipantRecord("c-1", "client", client_name, "zoom-c"),
            ParticipantRecord("c-2", "client", None, None),
        ),
        settings=settings or {"cues": {"distress_high": {"enabled": True, "threshold": 8}}},
        epoch=secrets.token_hex(4),
    )


def send(
    session_id: str,
    event_id: str | None = None,
    *,
    actor: Actor = CLIENT,
    type: str = "pause",
    data: dict[str, Any] | None = None,
    to: tuple[str, ...] | None = None,
) -> AppendRequest:
    return AppendRequest(
        session_id=session_id,
        actor=actor,
        type=type,
        event_id=event_id or secrets.token_hex(8),
        data=data or {},
        to=to,
    )


def system(session_id: str, type: str, data: dict[str, Any] | None = None) -> AppendRequest:
    return send(session_id, f"{type}:{secrets.token_hex(4)}", actor=SYSTEM, type=type, data=data)


def sqlite_file_bytes(db_path: Path) -> bytes:
    """Everything SQLite keeps on disk for this database: the file, its WAL and journal."""
    found = b""
    for suffix in ("", "-wal", "-journal", "-shm"):
        path = db_path.with_name(db_path.name + suffix)
        if path.exists():
            found += path.read_bytes()
    return found


async def postgres_tuple_bytes(conn: asyncpg.Connection, schema: str) -> bytes:
    """Every tuple and index entry of the schema's tables (and their TOAST), via pageinspect.

    Dead tuples that VACUUM has not removed yet are included: `heap_page_items` returns the data
    of every line pointer that still has storage, whatever its visibility.
    """
    relations = await conn.fetch(
        "SELECT c.oid::regclass::text AS name, c.relkind::text AS relkind, am.amname "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_am am ON am.oid = c.relam "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'i') "
        "UNION ALL "
        "SELECT t.oid::regclass::text, t.relkind::text, 'heap' FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class t ON t.oid = c.reltoastrelid "
        "WHERE n.nspname = $1",
        schema,
    )
    found = bytearray()
    for rel in relations:
        pages = await conn.fetchval("SELECT pg_relation_size($1::regclass) / 8192", rel["name"])
        for block in range(int(pages)):
            if rel["relkind"] == "r" or rel["relkind"] == "t":
                rows = await conn.fetch(
                    "SELECT t_data FROM heap_page_items(get_raw_page($1, $2::int)) "
                    "WHERE t_data IS NOT NULL",
                    rel["name"],
                    block,
                )
                for row in rows:
                    found += row[0]
            elif rel["amname"] == "btree" and block > 0:  # block 0 is the metapage
                rows = await conn.fetch(
                    "SELECT data FROM bt_page_items(get_raw_page($1, $2::int))",
                    rel["name"],
                    block,
                )
                for row in rows:
                    found += bytes.fromhex(row[0].replace(" ", ""))
    return bytes(found)

"""The audit trail part of the `Store` Protocol, on SQLite and PostgreSQL alike: append and
read, expired entries paged and deleted only up to what was archived, the schema's horizon, and
migration 0004's redaction of participant ids written before pseudonyms."""

from __future__ import annotations

from datetime import timedelta

import pytest

import service.store.postgres
import service.store.sqlite
from service.errors import StoreUnavailable
from service.store.base import AuditEntry, AuditQuery, Store, rfc3339, utc_now
from service.store.migrations import load_migrations
from tests.store.conftest import StoreFactory
from tests.store.support import new_session


def entry(at: str, action: str, **fields: object) -> AuditEntry:
    return AuditEntry(at=at, actor="tenant:acme", action=action, outcome="ok", **fields)  # type: ignore[arg-type]


async def test_the_audit_trail_reads_back_in_order_and_filters_as_asked(store: Store) -> None:
    entries = [
        entry(
            "2026-01-01T00:00:00.000Z",
            "rest.POST /api/v1/sessions",
            tenant_id="acme",
            session_id="s1",
            detail={"status": 201},
        ),
        entry(
            "2026-01-02T00:00:00.000Z",
            "token.mint",
            tenant_id="acme",
            session_id="s1",
            address_hash="ab12",
        ),
        entry(
            "2026-01-03T00:00:00.000Z",
            "rest.DELETE /api/v1/sessions/s2",
            tenant_id="other",
            session_id="s2",
        ),
        entry("2026-01-04T00:00:00.000Z", "100%_literal", tenant_id="acme"),
    ]
    await store.append_audit(entries[:2])
    await store.append_audit(entries[2:])

    assert await store.read_audit(AuditQuery()) == entries
    assert await store.read_audit(AuditQuery(tenant_id="acme")) == [
        entries[0],
        entries[1],
        entries[3],
    ]
    assert await store.read_audit(AuditQuery(session_id="s1", action_prefix="token.")) == [
        entries[1]
    ]
    assert await store.read_audit(AuditQuery(action_prefix="rest.")) == entries[0:1] + entries[2:3]
    assert await store.read_audit(AuditQuery(action_prefix="100%")) == [entries[3]]
    assert await store.read_audit(AuditQuery(action_prefix="100x")) == []
    assert await store.read_audit(AuditQuery(action_prefix="token_")) == []  # `_` is literal
    assert (
        await store.read_audit(AuditQuery(since="2026-01-02T00:00:00.000Z", limit=2))
        == (entries[1:3])
    )


async def test_erasing_a_session_keeps_its_audit_trail(store: Store) -> None:
    record = new_session()
    await store.create_session(record)
    await store.append_audit(
        [entry("2026-01-01T00:00:00.000Z", "token.mint", session_id=record.id)]
    )

    assert await store.erase_session(record.id) is True

    assert [e.action for e in await store.read_audit(AuditQuery(session_id=record.id))] == [
        "token.mint"
    ]


OLD = "2020-01-01T00:00:00.000Z"  # a retention cutoff: entries before it are expired


async def test_expired_entries_are_read_by_page_and_only_those_up_to_an_id_are_deleted(
    store: Store,
) -> None:
    old = [entry(f"2019-0{month}-01T00:00:00.000Z", "token.mint") for month in range(1, 6)]
    recent = entry(rfc3339(utc_now()), "token.mint")
    await store.append_audit([old[0], recent, *old[1:]])

    assert await store.count_expired_audit(OLD) == 5
    first = await store.expired_audit(OLD, 0, 2)
    rest = await store.expired_audit(OLD, first[-1][0], 100)
    assert [e for _, e in first] == old[:2] and [e for _, e in rest] == old[2:]
    assert first[0][0] < first[1][0] < rest[0][0]

    # Only what was archived (ids up to the last one read) goes, whatever else has expired.
    assert await store.delete_expired_audit(OLD, first[-1][0]) == 2
    assert [e for _, e in await store.expired_audit(OLD, 0, 100)] == old[2:]
    assert await store.delete_expired_audit(OLD, rest[-1][0]) == 3
    assert await store.read_audit(AuditQuery()) == [recent]
    assert await store.delete_expired_audit(OLD, rest[-1][0]) == 0


async def test_the_schema_deletes_nothing_at_or_after_the_horizon_nor_moves_it_into_the_last_day(
    store: Store,
) -> None:
    """The trail stays append-only except for `delete_expired_audit`: the horizon it raises
    never moves back, nor into the last day, so a recent entry cannot be deleted."""
    recent = entry(rfc3339(utc_now() - timedelta(hours=2)), "session.erase")
    await store.append_audit([entry("2019-01-01T00:00:00.000Z", "token.mint"), recent])
    with pytest.raises(StoreUnavailable) as refused:
        await store.delete_expired_audit(rfc3339(utc_now()), 10**9)
    assert "never into the last day" in f"{refused.value} {refused.value.__cause__}"
    assert len(await store.read_audit(AuditQuery())) == 2  # nothing went
    assert await store.delete_expired_audit(OLD, 10**9) == 1
    # A later purge with an earlier cutoff leaves the horizon where it is and deletes nothing.
    assert await store.delete_expired_audit("2018-01-01T00:00:00.000Z", 10**9) == 0
    assert await store.read_audit(AuditQuery()) == [recent]


async def test_migration_4_redacts_participant_ids_written_before_pseudonyms(
    store_factory: StoreFactory, monkeypatch: pytest.MonkeyPatch, dialect: str
) -> None:
    """Entries written by a build before 0004 named participants by the vendor's id (an e-mail
    address, say); SQL has no key to pseudonymise them with, so 0004 redacts them and keeps
    the rest of the entry."""
    module = service.store.postgres if dialect == "postgres" else service.store.sqlite
    three = load_migrations("postgres" if dialect == "postgres" else "sqlite")[:3]
    monkeypatch.setattr(module, "load_migrations", lambda _dialect: three)
    before = await store_factory()
    await before.append_audit(
        [
            AuditEntry(
                "2026-01-01T00:00:00.000Z",
                "participant:ann@example.org",
                "socket.connect",
                "ok",
                "acme",
                "ses_1",
                detail={"role": "client"},
            ),
            entry(
                "2026-01-01T00:00:01.000Z",
                "token.mint",
                session_id="ses_1",
                detail={"participant_id": "ann@example.org"},
            ),
            entry("2026-01-01T00:00:02.000Z", "session.erase", session_id="ses_1"),
        ]
    )
    await before.close()
    monkeypatch.undo()

    after = await store_factory()
    entries = await after.read_audit(AuditQuery())
    assert "ann@example.org" not in repr(entries)
    assert [(e.actor, e.action, e.session_id, e.detail) for e in entries] == [
        ("participant:redacted", "socket.connect", "ses_1", {"role": "client"}),
        ("tenant:acme", "token.mint", "ses_1", {"participant_id": "redacted"}),
        ("tenant:acme", "session.erase", "ses_1", {}),
    ]

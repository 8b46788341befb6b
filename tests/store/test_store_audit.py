"""The audit trail part of the `Store` Protocol, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from service.store.base import AuditEntry, AuditQuery, Store
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

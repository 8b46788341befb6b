"""The typed views: what the wire shows of a session (contract §2 `Session`, §3 `welcome`)."""

from __future__ import annotations

from typing import Any

from .events import Event, Role
from .realtime.hub import Connection, SessionRuntime
from .store.base import rfc3339


def session_view(runtime: SessionRuntime, for_client: str | None = None) -> dict[str, Any]:
    """The contract's `Session`; a client sees only the therapists and itself."""
    record = runtime.record
    participants = [
        {
            "id": p.id,
            "role": p.role,
            "display_name": p.display_name,
            "connected": bool(runtime.state.connected.get(p.id)),
        }
        for p in record.participants
        if for_client is None or p.role == Role.THERAPIST.value or p.id == for_client
    ]
    return {
        "id": record.id,
        "platform": record.platform,
        "external_id": record.external_id,
        "state": record.state.value,
        "created_at": rfc3339(record.created_at),
        "started_at": rfc3339(record.started_at) if record.started_at else None,
        "ended_at": rfc3339(record.ended_at) if record.ended_at else None,
        "scheduled_minutes": record.scheduled_minutes,
        "participants": participants,
        "head_seq": runtime.head,
        "epoch": record.epoch,
    }


def welcome_view(runtime: SessionRuntime, conn: Connection) -> dict[str, Any]:
    """The `welcome` a socket gets on connect: the session as its participant may see it."""
    client = conn.participant_id if conn.role is Role.CLIENT else None
    return {
        "session": session_view(runtime, for_client=client),
        "participant": {"id": conn.participant_id, "role": conn.role.value},
        "epoch": runtime.record.epoch,
        "head_seq": runtime.head,
        "state": runtime.state.wire_state(client),
    }


def events_view(runtime: SessionRuntime, events: list[Event]) -> dict[str, Any]:
    """A page of the log (`GET …/events`), with where the log stands."""
    return {
        "events": [e.as_dict() for e in events],
        "head_seq": runtime.head,
        "epoch": runtime.record.epoch,
    }

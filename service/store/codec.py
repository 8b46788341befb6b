"""Row encodings shared by the stores: session participants and settings as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from .base import ParticipantRecord, SessionRecord, SessionStateName


def participants_json(record: SessionRecord) -> str:
    return orjson.dumps(
        [
            {
                "id": p.id,
                "role": p.role,
                "display_name": p.display_name,
                "platform_ref": p.platform_ref,
                "subject": p.subject,
            }
            for p in record.participants
        ]
    ).decode()


def participants_from_json(raw: str | bytes) -> tuple[ParticipantRecord, ...]:
    return tuple(ParticipantRecord(**p) for p in orjson.loads(raw))


def session_from_row(row: Any, parse_time: Any = datetime.fromisoformat) -> SessionRecord:
    """Build a record from a row with the sessions table's columns, by name."""

    def when(value: Any) -> datetime | None:
        if value is None:
            return None
        return value if isinstance(value, datetime) else parse_time(value)

    created = when(row["created_at"])
    assert created is not None
    return SessionRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        platform=row["platform"],
        external_id=row["external_id"],
        state=SessionStateName(row["state"]),
        created_at=created,
        started_at=when(row["started_at"]),
        ended_at=when(row["ended_at"]),
        scheduled_minutes=row["scheduled_minutes"],
        participants=participants_from_json(row["participants"]),
        settings=orjson.loads(row["settings"]),
        epoch=row["epoch"],
        head_seq=row["head_seq"],
    )

"""Planning one group commit: seqs, duplicates and lifecycle, the same for every store.

A store reads the sessions' heads and states and the idempotency keys already stored, asks
`plan_batch` what to write, writes it in the same transaction, and commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..events import Event
from .base import AppendOutcome, AppendRequest, AppendResult, SessionStateName, rfc3339


@dataclass(slots=True)
class SessionHead:
    state: SessionStateName
    head_seq: int
    started_at: datetime | None = None
    ended_at: datetime | None = None
    changed: bool = False


@dataclass(slots=True)
class BatchPlan:
    results: list[AppendResult] = field(default_factory=list)
    inserts: list[Event] = field(default_factory=list)

    @property
    def stores_all(self) -> bool:
        """Every request is stored. A plan made without reading the stored ids holds only then:
        a resent id is answered as a duplicate before any refusal, so a refusal needs them."""
        return all(r.outcome is AppendOutcome.STORED for r in self.results)


IdempotencyKey = tuple[str, str, str]


def plan_batch(
    requests: list[AppendRequest],
    heads: dict[str, SessionHead],
    stored_ids: dict[IdempotencyKey, int],
    now: datetime,
) -> BatchPlan:
    """Decide each request's outcome; mutates `heads` to the state after the batch."""
    plan = BatchPlan()
    at = rfc3339(now)
    seen = dict(stored_ids)
    for req in requests:
        key = (req.session_id, req.actor.id, req.event_id)
        first = seen.get(key)
        if first is not None:
            plan.results.append(AppendResult(AppendOutcome.DUPLICATE, seq=first))
            continue
        head = heads.get(req.session_id)
        if head is None:
            plan.results.append(AppendResult(AppendOutcome.MISSING))
            continue
        if head.state is SessionStateName.ENDED:
            plan.results.append(AppendResult(AppendOutcome.ENDED))
            continue
        if req.type == "session_started" and head.state is not SessionStateName.OPEN:
            plan.results.append(AppendResult(AppendOutcome.SKIPPED))
            continue
        head.head_seq += 1
        if req.type == "session_started":
            head.state, head.started_at, head.changed = SessionStateName.LIVE, now, True
        elif req.type == "session_ended":
            head.state, head.ended_at, head.changed = SessionStateName.ENDED, now, True
        event = Event(
            seq=head.head_seq,
            id=req.event_id,
            type=req.type,
            at=at,
            actor=req.actor,
            to=req.to,
            data=req.data,
            _body=req.body,
        )
        seen[key] = event.seq
        plan.inserts.append(event)
        plan.results.append(AppendResult(AppendOutcome.STORED, event=event, seq=event.seq))
    return plan

"""The pacing part of the `Store` Protocol (timers, vendor outbox, pacing cursor), on SQLite and
PostgreSQL alike; and, on PostgreSQL, that two processes never hold the same claim."""

from __future__ import annotations

import asyncio

import pytest

from service.store.base import (
    AppendOutcome,
    OutboxItem,
    PacingBacklog,
    PacingProgress,
    Store,
    TimerSpec,
)
from tests.store.conftest import StoreFactory
from tests.store.support import new_session, send

NOW = 1_800_000_000.0


def delivery(session_id: str, delivery_id: str, *, created_at: float = NOW) -> OutboxItem:
    return OutboxItem(
        id=delivery_id,
        session_id=session_id,
        tenant_id="acme",
        kind="cue.urgent",
        body=b'{"id":"' + delivery_id.encode() + b'"}',
        created_at=created_at,
        expires_at=created_at + 86_400,
    )


async def _session(store: Store, events: int = 0) -> str:
    record = new_session()
    await store.create_session(record)
    if events:
        results = await store.append_batch([send(record.id) for _ in range(events)])
        assert all(r.outcome is AppendOutcome.STORED for r in results)
    return record.id


async def test_a_timer_is_scheduled_once_and_keeps_its_first_deadline(store: Store) -> None:
    sid = await _session(store, events=2)

    await store.save_pacing([PacingProgress(sid, 1, timers=(TimerSpec(sid, "pause:1", NOW + 20),))])
    await store.save_pacing(
        [
            PacingProgress(sid, 2, timers=(TimerSpec(sid, "pause:1", NOW + 99),)),
            PacingProgress(sid, 2, timers=(TimerSpec(sid, "checkin:2", NOW + 5),)),
        ]
    )

    assert await store.claim_due_timers("p1", NOW + 10, 30, 10) == [
        TimerSpec(sid, "checkin:2", NOW + 5)
    ]
    assert await store.claim_due_timers("p1", NOW + 25, 30, 10) == [
        TimerSpec(sid, "pause:1", NOW + 20)
    ]


async def test_progress_for_an_unknown_or_erased_session_is_not_saved(store: Store) -> None:
    sid = await _session(store, events=1)
    await store.erase_session(sid)

    await store.save_pacing(
        [
            PacingProgress(
                sid, 1, timers=(TimerSpec(sid, "k", NOW),), deliveries=(delivery(sid, "d-1"),)
            ),
            PacingProgress("ses_unknown", 3, timers=(TimerSpec("ses_unknown", "k", NOW),)),
        ]
    )

    assert await store.claim_due_timers("p1", NOW + 1, 30, 10) == []
    assert await store.claim_deliveries("p1", NOW + 1, 30, 10) == []
    assert await store.pending_deliveries(sid) == 0
    assert await store.pacing_backlog(10) == []


async def test_the_backlog_lists_sessions_whose_log_is_ahead_of_their_cursor(
    store: Store,
) -> None:
    behind = await _session(store, events=3)
    caught_up = await _session(store, events=2)
    never_paced = await _session(store, events=1)
    await _session(store)  # an empty log is never behind

    await store.save_pacing(
        [
            PacingProgress(behind, 2),
            PacingProgress(caught_up, 1),
            PacingProgress(caught_up, 2),
            PacingProgress(behind, 1),  # a cursor never moves back
        ]
    )

    assert await store.pacing_backlog(10) == [
        PacingBacklog(behind, 2, 3),
        PacingBacklog(never_paced, 0, 1),
    ]
    assert await store.pacing_backlog(1) == [PacingBacklog(behind, 2, 3)]


async def test_a_claimed_timer_is_not_claimed_again_until_its_lease_lapses(
    store: Store,
) -> None:
    sid = await _session(store, events=1)
    await store.save_pacing(
        [
            PacingProgress(
                sid,
                1,
                timers=(
                    TimerSpec(sid, "late", NOW + 3),
                    TimerSpec(sid, "early", NOW + 1),
                    TimerSpec(sid, "future", NOW + 100),
                ),
            )
        ]
    )

    first = await store.claim_due_timers("p1", NOW + 5, 30, 10)
    meanwhile = await store.claim_due_timers("p2", NOW + 6, 30, 10)
    after_lease = await store.claim_due_timers("p2", NOW + 40, 30, 1)

    assert [t.key for t in first] == ["early", "late"]
    assert meanwhile == []
    assert [t.key for t in after_lease] == ["early"]


async def test_a_finished_timer_never_fires_again_and_cannot_be_rescheduled(
    store: Store,
) -> None:
    sid = await _session(store, events=1)
    timer = TimerSpec(sid, "pause:1", NOW)
    await store.save_pacing([PacingProgress(sid, 1, timers=(timer,))])
    assert await store.claim_due_timers("p1", NOW, 30, 10) == [timer]

    await store.finish_timers([(sid, "pause:1"), (sid, "unknown")])
    await store.save_pacing([PacingProgress(sid, 1, timers=(timer,))])

    assert await store.claim_due_timers("p2", NOW + 1000, 30, 10) == []


async def test_a_delivery_is_claimed_by_one_owner_and_settled_by_that_owner_only(
    store: Store,
) -> None:
    sid = await _session(store, events=1)
    await store.save_pacing(
        [
            PacingProgress(
                sid,
                1,
                deliveries=(
                    delivery(sid, "d-2", created_at=NOW + 2),
                    delivery(sid, "d-1", created_at=NOW + 1),
                ),
            )
        ]
    )
    await store.save_pacing([PacingProgress(sid, 1, deliveries=(delivery(sid, "d-1"),))])
    assert await store.pending_deliveries(sid) == 2

    claims = await store.claim_deliveries("p1", NOW + 5, 30, 10)
    assert [(c.id, c.attempts, c.body) for c in claims] == [
        ("d-1", 0, b'{"id":"d-1"}'),
        ("d-2", 0, b'{"id":"d-2"}'),
    ]
    assert claims[0].created_at == NOW + 1 and claims[0].expires_at == NOW + 1 + 86_400
    assert await store.claim_deliveries("p2", NOW + 6, 30, 10) == []

    # Another owner's settlement changes nothing.
    await store.settle_delivery("d-1", "p2", outcome="delivered", status=200, next_attempt_at=None)
    await store.settle_delivery("d-1", "p1", outcome="retry", status=503, next_attempt_at=NOW + 60)
    await store.settle_delivery("d-2", "p1", outcome="delivered", status=204, next_attempt_at=None)

    assert await store.pending_deliveries(sid) == 1
    assert await store.claim_deliveries("p2", NOW + 59, 30, 10) == []
    [retried] = await store.claim_deliveries("p2", NOW + 61, 30, 10)
    assert (retried.id, retried.attempts) == ("d-1", 1)
    await store.settle_delivery("d-1", "p2", outcome="failed", status=None, next_attempt_at=None)
    assert await store.pending_deliveries(sid) == 0
    assert await store.claim_deliveries("p3", NOW + 10_000, 30, 10) == []
    with pytest.raises(ValueError):
        await store.settle_delivery("d-1", "p2", outcome="lost", status=None, next_attempt_at=None)


async def test_erasing_a_session_removes_its_timers_deliveries_and_cursor(store: Store) -> None:
    sid = await _session(store, events=2)
    kept = await _session(store, events=1)
    await store.save_pacing(
        [
            PacingProgress(
                sid, 1, timers=(TimerSpec(sid, "k", NOW),), deliveries=(delivery(sid, "d-x"),)
            ),
            PacingProgress(kept, 0, timers=(TimerSpec(kept, "k", NOW),)),
        ]
    )

    assert await store.erase_session(sid) is True

    assert await store.pending_deliveries(sid) == 0
    assert await store.claim_deliveries("p1", NOW + 1, 30, 10) == []
    assert await store.claim_due_timers("p1", NOW + 1, 30, 10) == [TimerSpec(kept, "k", NOW)]
    assert await store.pacing_backlog(10) == [PacingBacklog(kept, 0, 1)]


@pytest.mark.parametrize("dialect", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_processes_claiming_at_once_never_share_a_timer_or_delivery(
    store_factory: StoreFactory,
) -> None:
    stores = [await store_factory() for _ in range(3)]
    sid = await _session(stores[0], events=1)
    timers = tuple(TimerSpec(sid, f"t{n}", NOW + n / 1000) for n in range(200))
    deliveries = tuple(delivery(sid, f"d{n}", created_at=NOW + n / 1000) for n in range(200))
    await stores[0].save_pacing([PacingProgress(sid, 1, timers=timers, deliveries=deliveries)])

    async def drain_timers(store: Store, owner: str) -> list[str]:
        got: list[str] = []
        while batch := await store.claim_due_timers(owner, NOW + 1, 300, 7):
            got += [t.key for t in batch]
        return got

    async def drain_deliveries(store: Store, owner: str) -> list[str]:
        got: list[str] = []
        while batch := await store.claim_deliveries(owner, NOW + 1, 300, 7):
            got += [c.id for c in batch]
        return got

    timer_claims = await asyncio.gather(*(drain_timers(s, f"p{n}") for n, s in enumerate(stores)))
    delivery_claims = await asyncio.gather(
        *(drain_deliveries(s, f"p{n}") for n, s in enumerate(stores))
    )

    for claims, expected in ((timer_claims, timers), (delivery_claims, deliveries)):
        flat = [key for part in claims for key in part]
        assert len(flat) == len(set(flat)) == len(expected)

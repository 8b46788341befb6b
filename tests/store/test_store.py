"""The `Store` Protocol, proven the same way on SQLite and on PostgreSQL (the `store` fixture)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import asyncpg
import pytest

from service.errors import Conflict, QuotaExceeded, StoreUnavailable
from service.store.base import (
    AppendOutcome,
    OutboxItem,
    PacingProgress,
    SessionStateName,
    Store,
    TimerSpec,
)
from service.store.postgres import PostgresStore
from service.store.sqlite import SQLiteStore
from tests.store.conftest import PostgresServer, StoreFactory
from tests.store.support import (
    CLIENT,
    OTHER_CLIENT,
    THERAPIST,
    new_session,
    postgres_tuple_bytes,
    send,
    sqlite_file_bytes,
    system,
)

# -- sessions ------------------------------------------------------------------------------


async def test_a_created_session_reads_back_as_it_was_written(store: Store) -> None:
    record = new_session(client_name="Zoë Ünïcode \u0000 \U0001f600")
    await store.create_session(record)

    assert await store.get_session(record.id) == record
    assert await store.get_session("ses_unknown") is None


async def test_find_session_returns_the_tenants_not_ended_session_for_a_meeting(
    store: Store,
) -> None:
    record = new_session(tenant_id="acme", platform="zoom", external_id="123")
    await store.create_session(record)

    found = await store.find_session("acme", "zoom", "123")
    assert found is not None and found.id == record.id
    assert await store.find_session("other", "zoom", "123") is None
    assert await store.find_session("acme", "daily", "123") is None
    assert await store.find_session("acme", "zoom", "1234") is None


async def test_a_second_not_ended_session_for_the_same_meeting_is_a_conflict(
    store: Store,
) -> None:
    first = new_session(external_id="room-1")
    await store.create_session(first)

    with pytest.raises(Conflict):
        await store.create_session(new_session(external_id="room-1"))
    # Another tenant or another platform may use the same meeting key.
    await store.create_session(new_session(tenant_id="other", external_id="room-1"))
    await store.create_session(new_session(platform="daily", external_id="room-1"))

    await store.append_batch([system(first.id, "session_ended", {"by": "vendor"})])
    assert await store.find_session("acme", "zoom", "room-1") is None
    second = new_session(external_id="room-1")
    await store.create_session(second)
    found = await store.find_session("acme", "zoom", "room-1")
    assert found is not None and found.id == second.id


async def test_the_same_session_id_twice_is_a_conflict(store: Store) -> None:
    record = new_session()
    await store.create_session(record)
    with pytest.raises(Conflict):
        await store.create_session(dataclasses.replace(record, external_id="elsewhere"))


async def test_a_tenant_holds_at_most_max_active_sessions_not_ended(store: Store) -> None:
    first, second = new_session(), new_session()
    await store.create_session(first, max_active=2)
    await store.create_session(second, max_active=2)
    with pytest.raises(QuotaExceeded):
        await store.create_session(new_session(), max_active=2)
    # Another tenant has a quota of its own; without one (0) there is no limit.
    await store.create_session(new_session(tenant_id="other"), max_active=2)
    await store.create_session(new_session())  # acme: 3
    with pytest.raises(QuotaExceeded):
        await store.create_session(new_session(), max_active=3)
    # An ended session no longer counts.
    await store.append_batch([system(first.id, "session_ended", {"by": "vendor"})])
    await store.create_session(new_session(), max_active=3)
    assert len([r for r in await store.list_sessions(("open",)) if r.tenant_id == "acme"]) == 3


async def test_concurrent_creates_from_two_stores_never_exceed_the_quota(
    store_factory: StoreFactory,
) -> None:
    """Two store clients (two processes' pools) creating for one tenant at once: the count and
    the insert are one step, so exactly `max_active` are created."""
    stores = [await store_factory(), await store_factory()]

    async def create(index: int) -> bool:
        try:
            await stores[index % 2].create_session(new_session(), max_active=5)
        except QuotaExceeded:
            return False
        return True

    created = await asyncio.gather(*(create(i) for i in range(16)))
    assert sum(created) == 5
    assert len(await stores[0].list_sessions(("open", "live"))) == 5


# -- appending -----------------------------------------------------------------------------


async def test_seqs_start_at_one_and_are_gap_free_per_session_across_batches(
    store: Store,
) -> None:
    a, b = new_session(), new_session()
    await store.create_session(a)
    await store.create_session(b)

    first = await store.append_batch([send(a.id), send(b.id), send(a.id)])
    second = await store.append_batch([send(b.id), send(a.id, actor=THERAPIST, type="ack")])

    assert [r.outcome for r in first + second] == [AppendOutcome.STORED] * 5
    assert [r.seq for r in first] == [1, 1, 2]
    assert [r.seq for r in second] == [2, 3]
    assert [e.seq for e in await store.read_events(a.id, 0, 100)] == [1, 2, 3]
    assert [e.seq for e in await store.read_events(b.id, 0, 100)] == [1, 2]
    assert await store.head_seqs([a.id, b.id, "ses_unknown"]) == {a.id: 3, b.id: 2}
    assert await store.head_seqs([]) == {}
    head = await store.get_session(a.id)
    assert head is not None and head.head_seq == 3


async def test_a_stored_event_reads_back_as_it_was_acknowledged(store: Store) -> None:
    record = new_session()
    await store.create_session(record)
    request = send(
        record.id,
        "evt-1",
        actor=THERAPIST,
        type="checkin_request",
        data={"instrument": "suds", "note": "ünïcode ✓"},
        to=("c-1",),
    )

    [result] = await store.append_batch([request])

    assert result.outcome is AppendOutcome.STORED and result.event is not None
    [read] = await store.read_events(record.id, 0, 10)
    assert read.as_dict() == result.event.as_dict()
    assert read.as_dict()["actor"] == {"id": "t-1", "role": "therapist"}
    assert read.to == ("c-1",)
    assert read.wire == result.event.wire


async def test_a_resent_id_in_the_same_batch_is_a_duplicate_of_the_first(store: Store) -> None:
    record = new_session()
    await store.create_session(record)

    results = await store.append_batch(
        [send(record.id, "x"), send(record.id, "y"), send(record.id, "x", type="resume")]
    )

    assert [(r.outcome, r.seq) for r in results] == [
        (AppendOutcome.STORED, 1),
        (AppendOutcome.STORED, 2),
        (AppendOutcome.DUPLICATE, 1),
    ]
    assert results[2].event is None
    assert [e.id for e in await store.read_events(record.id, 0, 10)] == ["x", "y"]


async def test_a_resent_id_in_a_later_batch_is_a_duplicate_whatever_its_type(
    store: Store,
) -> None:
    record = new_session()
    await store.create_session(record)
    await store.append_batch([send(record.id, "a"), send(record.id, "b")])

    results = await store.append_batch(
        [send(record.id, "b", type="zone", data={"zone": "okay"}), send(record.id, "c")]
    )

    assert [(r.outcome, r.seq) for r in results] == [
        (AppendOutcome.DUPLICATE, 2),
        (AppendOutcome.STORED, 3),
    ]
    assert await store.find_duplicate(record.id, CLIENT.id, "b") == 2
    assert await store.find_duplicate(record.id, CLIENT.id, "zzz") is None
    assert await store.find_duplicate(record.id, OTHER_CLIENT.id, "b") is None


async def test_the_same_id_from_two_senders_is_two_events(store: Store) -> None:
    record = new_session()
    await store.create_session(record)

    results = await store.append_batch(
        [send(record.id, "same", actor=CLIENT), send(record.id, "same", actor=OTHER_CLIENT)]
    )

    assert [(r.outcome, r.seq) for r in results] == [
        (AppendOutcome.STORED, 1),
        (AppendOutcome.STORED, 2),
    ]


async def test_an_ended_session_stores_nothing_but_still_answers_duplicates(
    store: Store,
) -> None:
    record = new_session()
    await store.create_session(record)
    await store.append_batch([send(record.id, "before")])

    results = await store.append_batch(
        [
            system(record.id, "session_ended", {"by": "therapist"}),
            send(record.id, "after"),
            send(record.id, "before"),
        ]
    )
    later = await store.append_batch([send(record.id, "later"), send(record.id, "before")])

    assert [(r.outcome, r.seq) for r in results + later] == [
        (AppendOutcome.STORED, 2),
        (AppendOutcome.ENDED, None),
        (AppendOutcome.DUPLICATE, 1),
        (AppendOutcome.ENDED, None),
        (AppendOutcome.DUPLICATE, 1),
    ]
    assert [e.type for e in await store.read_events(record.id, 0, 10)] == [
        "pause",
        "session_ended",
    ]


async def test_an_unknown_session_is_missing_and_does_not_spoil_the_batch(store: Store) -> None:
    record = new_session()
    await store.create_session(record)

    results = await store.append_batch([send("ses_nope"), send(record.id), send("ses_nope")])

    assert [(r.outcome, r.seq) for r in results] == [
        (AppendOutcome.MISSING, None),
        (AppendOutcome.STORED, 1),
        (AppendOutcome.MISSING, None),
    ]
    assert await store.read_events("ses_nope", 0, 10) == []


async def test_session_started_makes_it_live_once_and_session_ended_ends_it(
    store: Store,
) -> None:
    record = new_session()
    await store.create_session(record)

    started = await store.append_batch([system(record.id, "session_started")])
    again = await store.append_batch([system(record.id, "session_started"), send(record.id)])
    live = await store.get_session(record.id)
    ended = await store.append_batch([system(record.id, "session_ended", {"by": "vendor"})])
    final = await store.get_session(record.id)

    assert [r.outcome for r in started + again + ended] == [
        AppendOutcome.STORED,
        AppendOutcome.SKIPPED,
        AppendOutcome.STORED,
        AppendOutcome.STORED,
    ]
    assert live is not None and live.state is SessionStateName.LIVE
    assert live.started_at is not None and live.ended_at is None
    assert live.started_at >= record.created_at
    assert final is not None and final.state is SessionStateName.ENDED
    assert final.started_at == live.started_at
    assert final.ended_at is not None and final.ended_at >= final.started_at
    assert final.head_seq == 3
    # The times a store keeps are the ones it reports in the events (millisecond precision).
    events = await store.read_events(record.id, 0, 10)
    assert events[0].at == final.started_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def test_an_open_session_may_end_without_starting(store: Store) -> None:
    record = new_session()
    await store.create_session(record)

    results = await store.append_batch(
        [system(record.id, "session_ended", {"by": "vendor"}), system(record.id, "session_started")]
    )

    assert [r.outcome for r in results] == [AppendOutcome.STORED, AppendOutcome.ENDED]
    final = await store.get_session(record.id)
    assert final is not None and final.state is SessionStateName.ENDED
    assert final.started_at is None and final.ended_at is not None


async def test_list_sessions_lists_the_sessions_in_the_states_asked(store: Store) -> None:
    opened, live, ended = new_session(), new_session(), new_session()
    for record in (opened, live, ended):
        await store.create_session(record)
    await store.append_batch(
        [system(live.id, "session_started"), system(ended.id, "session_ended", {"by": "vendor"})]
    )
    assert isinstance(store, SQLiteStore | PostgresStore)

    not_ended = await store.list_sessions(("open", "live"))
    only_ended = await store.list_sessions(("ended",))

    assert {r.id for r in not_ended} == {opened.id, live.id}
    assert [r.id for r in only_ended] == [ended.id]


# -- reading -------------------------------------------------------------------------------


async def test_read_events_pages_in_seq_order(store: Store) -> None:
    record = new_session()
    await store.create_session(record)
    await store.append_batch([send(record.id, f"e{n}") for n in range(1, 8)])

    pages, after = [], 0
    while page := await store.read_events(record.id, after, 3):
        pages.append([e.seq for e in page])
        after = page[-1].seq

    assert pages == [[1, 2, 3], [4, 5, 6], [7]]
    assert [e.id for e in await store.read_events(record.id, 5, 100)] == ["e6", "e7"]
    assert await store.read_events(record.id, 7, 100) == []


# -- platform deliveries -------------------------------------------------------------------


async def test_a_platform_delivery_is_claimed_once(store: Store) -> None:
    record = new_session()
    await store.create_session(record)

    assert await store.claim_webhook_delivery("acme", "daily", "dlv-1", record.id) is True
    assert await store.claim_webhook_delivery("acme", "daily", "dlv-1", record.id) is False
    assert await store.claim_webhook_delivery("acme", "zoom", "dlv-1", None) is True
    assert await store.claim_webhook_delivery("other", "daily", "dlv-1", None) is True


# -- availability --------------------------------------------------------------------------


async def test_a_reachable_store_answers_ping(store: Store) -> None:
    await store.ping()


async def test_a_closed_store_raises_store_unavailable(store: Store) -> None:
    await store.close()

    with pytest.raises(StoreUnavailable):
        await store.ping()
    with pytest.raises(StoreUnavailable):
        await store.append_batch([send("ses_x")])


async def test_a_second_store_on_the_same_data_finds_it_migrated_and_intact(
    store: Store, store_factory: StoreFactory
) -> None:
    record = new_session()
    await store.create_session(record)
    await store.append_batch([send(record.id, "one")])
    await store.close()

    reopened = await store_factory()

    assert await reopened.get_session(record.id) is not None
    assert [r.outcome for r in await reopened.append_batch([send(record.id, "one")])] == [
        AppendOutcome.DUPLICATE
    ]
    assert [r.seq for r in await reopened.append_batch([send(record.id, "two")])] == [2]


# -- erasure -------------------------------------------------------------------------------

NAME_MARK = "Erasable Q. Displayname"
EVENT_MARK = "evt-erasable-7f3a91"
DELIVERY_MARK = "dlv-erasable-c0ffee"
TIMER_MARK = "timer-erasable-5eed"
OUTBOX_MARK = "outbox-erasable-b0d1"
MARKS = (NAME_MARK, EVENT_MARK, DELIVERY_MARK, TIMER_MARK, OUTBOX_MARK)


async def _stored_bytes(store: Store, request: pytest.FixtureRequest) -> bytes:
    if isinstance(store, SQLiteStore):
        return sqlite_file_bytes(store.path)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    if "pageinspect" not in server.extensions:
        pytest.skip("pageinspect is not available to look at the tuples left behind")
    schema: str = request.getfixturevalue("pg_schema")
    admin = await asyncpg.connect(server.url)
    try:
        return await postgres_tuple_bytes(admin, schema)
    finally:
        await admin.close()


async def test_an_erased_session_leaves_nothing_readable(
    store: Store, request: pytest.FixtureRequest
) -> None:
    """After the erase, no trace of the session's names, event ids or deliveries is left in
    the database files (SQLite: the file and its WAL, read raw; PostgreSQL: every tuple and
    index entry, dead or alive, read with pageinspect), while other sessions are intact.

    The ids are fixed: with the erased session's rows sorting before the kept one's, SQLite's
    page splits leave stale copies of cells in pages' unallocated space, which `secure_delete`
    does not zero (it zeroes what a DELETE frees, not what a rebalance left behind); only the
    VACUUM after the delete removes them.
    """
    kept = new_session(session_id="ses_" + "b" * 16, client_name="Kept Person")
    erased = new_session(session_id="ses_" + "a" * 16, client_name=NAME_MARK)
    for record in (kept, erased):
        await store.create_session(record)
    for n in range(30):
        await store.append_batch(
            [
                send(erased.id, f"{EVENT_MARK}-{n}", data={"zone": "too_much"}, type="zone"),
                send(kept.id, f"kept-{n}"),
            ]
        )
    await store.claim_webhook_delivery("acme", "daily", DELIVERY_MARK, erased.id)
    await store.save_pacing(
        [
            PacingProgress(
                erased.id,
                30,
                timers=(TimerSpec(erased.id, f"{TIMER_MARK}-1", 1e9),),
                deliveries=(
                    OutboxItem(
                        f"{OUTBOX_MARK}-1",
                        erased.id,
                        "acme",
                        "cue.urgent",
                        OUTBOX_MARK.encode(),
                        1e9,
                        2e9,
                    ),
                ),
            )
        ]
    )
    before = await _stored_bytes(store, request)
    for mark in MARKS:
        assert mark.encode() in before, f"the test cannot see {mark!r} before the erase"

    assert await store.erase_session(erased.id) is True

    after = await _stored_bytes(store, request)
    for mark in MARKS:
        assert mark.encode() not in after, f"{mark!r} is still in the store's files"
    assert b"Kept Person" in after and b"kept-29" in after
    assert await store.get_session(erased.id) is None
    assert await store.read_events(erased.id, 0, 100) == []
    assert await store.head_seqs([erased.id, kept.id]) == {kept.id: 30}
    assert await store.find_duplicate(erased.id, CLIENT.id, f"{EVENT_MARK}-0") is None
    assert [r.outcome for r in await store.append_batch([send(erased.id)])] == [
        AppendOutcome.MISSING
    ]
    # The delivery record went too: the same delivery is new again.
    assert await store.claim_webhook_delivery("acme", "daily", DELIVERY_MARK, None) is True
    assert await store.erase_session(erased.id) is False


async def test_the_sqlite_file_lives_where_the_url_says(tmp_path: Path) -> None:
    from service.store import store_for_url

    store = store_for_url(f"sqlite:///{tmp_path}/nested/comfort.db")
    await store.open()
    try:
        assert (tmp_path / "nested" / "comfort.db").exists()
    finally:
        await store.close()

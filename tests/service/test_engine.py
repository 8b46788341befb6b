"""The writer core (service/engine.py): a session ends once however often it is asked to; a
system event is stored with the typed data it was made from; and the sessions a process serves
are kept level with the store: what another writer stored reaches this process's sockets, in
order, and a session erased elsewhere is dropped here with its sockets.

"Another writer" is a second SQLite store on the same file, appending as another process would,
whose fan-out never reaches this one: only the engine's catch-up can bring its events here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from service.app import ENGINE, HUB
from service.events import Actor, CueData, Role
from service.store.base import AppendOutcome, AppendRequest
from service.store.sqlite import SQLiteStore
from tests.conftest import ServerFactory
from tests.support import session_body, session_seq


@contextlib.asynccontextmanager
async def another_writer(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """The service's SQLite file, opened as another process would."""
    other = SQLiteStore(tmp_path / "comfort.db")
    await other.open()
    try:
        yield other
    finally:
        await other.close()


async def _live(server_factory: ServerFactory):
    server = await server_factory(catchup_interval_seconds=0.2)
    created, therapist, (client,) = await server.start_session(
        participants=session_body(2)["participants"]  # c-2 never connects
    )
    return server, created["session"]["id"], therapist, client


async def test_what_another_writer_stored_reaches_the_sockets_in_order(
    server_factory: ServerFactory, tmp_path: Path
):
    server, sid, therapist, client = await _live(server_factory)
    async with another_writer(tmp_path) as other:
        requests = [
            AppendRequest(sid, Actor(sender, Role.CLIENT), kind, f"elsewhere-{n}", {})
            for n, (sender, kind) in enumerate(
                (("c-2", "pause"), ("c-1", "pause"), ("c-1", "slow_down"), ("c-1", "resume"))
            )
        ]
        results = await other.append_batch(requests)
        await other.flush()
        assert [r.outcome for r in results] == [AppendOutcome.STORED] * 4
        await therapist.wait_for(lambda: {"elsewhere-3"} <= {e["id"] for e in therapist.events})
        mine = await client.send("keep_going", id="mine")  # appended here after them, gap-free
        mine_seq = await session_seq(therapist, client, mine["seq"])
    assert therapist.seqs == list(range(1, mine_seq + 1))
    # c-1 got its own, in its own numbering, without c-2's pause.
    assert client.seqs == list(range(1, mine["seq"] + 1)) and mine["seq"] < mine_seq
    assert [e["id"] for e in client.events if e["actor"]["role"] == "client"] == [
        "elsewhere-1",
        "elsewhere-2",
        "elsewhere-3",
        "mine",
    ]
    welcome = (await server.join(therapist.token)).welcome
    assert welcome is not None and welcome["state"]["clients"]["c-1"]["paused"] is False
    assert welcome["state"]["clients"]["c-1"]["pace"] == "keep_going"


async def test_a_session_erased_elsewhere_is_dropped_here_with_its_sockets(
    server_factory: ServerFactory, tmp_path: Path
):
    server, sid, therapist, client = await _live(server_factory)
    async with another_writer(tmp_path) as other:
        assert await other.erase_session(sid)
    async with asyncio.timeout(5):
        while therapist.client.connected or client.client.connected:
            await asyncio.sleep(0.05)
    hub = server.app[HUB]
    assert sid not in hub.runtimes and await hub.load(sid) is None


async def test_a_session_ends_once_however_often_it_is_asked_to(server_factory: ServerFactory):
    server, sid, therapist, client = await _live(server_factory)
    runtime = await server.app[HUB].load(sid)
    engine = server.app[ENGINE]
    await asyncio.gather(
        engine.end_session(runtime, by="vendor"),
        engine.end_session(runtime, by="platform"),
        engine.end_session(runtime, by="therapist"),
    )
    assert runtime.ended
    await engine.end_session(runtime, by="vendor")
    ends = [e for e in await server.api.events(sid) if e["type"] == "session_ended"]
    assert len(ends) == 1 and ends[0]["actor"] == {"id": "system", "role": "system"}
    await therapist.wait_type("session_ended")


async def test_a_system_event_is_stored_with_the_typed_data_it_was_made_from(
    server_factory: ServerFactory,
):
    server, sid, therapist, client = await _live(server_factory)
    runtime = await server.app[HUB].load(sid)
    body = CueData(
        rule="time_remaining", severity="info", client_id="c-1", related_seq=[], message="m"
    )
    result = await server.app[ENGINE].append_system(runtime, "cue", body, event_id="cue:typed")
    assert result.outcome is AppendOutcome.STORED and result.event is not None
    assert result.event.body is body  # carried, not parsed again
    assert result.event.data == body.model_dump(mode="json")
    (cue,) = await therapist.wait_type("cue")
    assert cue["data"] == body.model_dump(mode="json")

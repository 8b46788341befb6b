"""The writer core (service/engine.py): a session ends once however often it is asked to; a
system event is stored with the typed data it was made from; and the sessions a process serves
are kept level with the store: what another writer stored reaches this process's sockets, in
order, and a session erased elsewhere is dropped here with its sockets.

"Another writer" is a second SQLite store on the same file, appending as another process would,
whose fan-out never reaches this one: only the engine's catch-up can bring its events here.

A client's `pressed_at` (an addition: docs/protocol.md) is settled here, on both stores: kept
within the session's life, clamped a few seconds beyond it, dropped further out or unreadable,
and never a reason to refuse the send.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.app import ENGINE, HUB
from service.events import Actor, CueData, Role
from service.store.base import AppendOutcome, AppendRequest
from service.store.sqlite import SQLiteStore
from tests.conftest import ServerFactory
from tests.service.pacing.support import STORES, on_store
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


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("store", STORES)
async def test_a_press_time_is_stored_within_the_session_s_life_on_both_stores(
    store: str, tmp_path: Path
) -> None:
    async with on_store(store, tmp_path) as server:
        created = await server.create_session()
        sid = created["session"]["id"]
        born = created["session"]["created_at"]
        began = datetime.fromisoformat(born)
        therapist = await server.join(created["tokens"]["t-1"])
        client = await server.join(created["tokens"]["c-1"])
        await therapist.wait_type("session_started")
        asked = await therapist.send("checkin_request", {"instrument": "suds"})
        (request,) = await client.wait_type("checkin_request")
        sent: dict[str, tuple[str, dict[str, Any]]] = {
            "kept": ("pause", {"pressed_at": born}),
            "offset": ("zone", {"zone": "too_much", "pressed_at": began.astimezone().isoformat()}),
            "early": ("slow_down", {"pressed_at": _iso(began - timedelta(seconds=2))}),
            "before": ("keep_going", {"pressed_at": _iso(began - timedelta(days=1))}),
            "future": (
                "help_now",
                {"pressed_at": _iso(datetime.now(began.tzinfo) + timedelta(days=1))},
            ),
            "unreadable": ("resume", {"pressed_at": "yesterday, 2 pm"}),
            "number": ("grounding_started", {"exercise": "box_breathing", "pressed_at": 1_700_000}),
            "answer": (
                "checkin_response",
                {"checkin_seq": request["seq"], "value": 8, "pressed_at": born},
            ),
        }
        acks = {name: await client.send(kind, data, id=name) for name, (kind, data) in sent.items()}
        assert all(ack["ok"] for ack in acks.values()), acks
        # What the store holds, and what the therapist was sent live, agree.
        stored = {e["id"]: e for e in await server.api.events(sid) if e["id"] in sent}
        await therapist.wait_for(lambda: set(sent) <= {e["id"] for e in therapist.events})
        live = {e["id"]: e for e in therapist.events if e["id"] in sent}
        assert {k: e["data"] for k, e in stored.items()} == {k: e["data"] for k, e in live.items()}
        pressed = {name: stored[name]["data"].get("pressed_at") for name in sent}
        assert pressed == {
            "kept": born,
            "offset": born,
            "early": born,  # a clock 2 s behind: clamped to the session's creation
            "before": None,
            "future": None,
            "unreadable": None,
            "number": None,
            "answer": born,
        }
        assert stored["answer"]["data"] == {
            "checkin_seq": asked["seq"],
            "value": 8,
            "pressed_at": born,
        }
        assert stored["number"]["data"] == {"exercise": "box_breathing"}
        # The summary says when each was pressed, where the client said so.
        status, summary = await server.api.call("GET", f"/api/v1/sessions/{sid}/summary")
        assert status == 200, summary
        mine = summary["clients"]["c-1"]
        assert [p.get("pressed_at") for p in mine["suds"]] == [born]
        assert [z.get("pressed_at") for z in mine["zones"]] == [born]
        assert [s.get("pressed_at") for s in mine["pause_spans"]] == [born]
        assert mine["help_now"] == [{"seq": stored["future"]["seq"], "at": stored["future"]["at"]}]


async def test_a_press_time_a_little_ahead_is_clamped_to_its_arrival(
    server_factory: ServerFactory,
) -> None:
    server, sid, therapist, client = await _live(server_factory)
    ahead = _iso(datetime.now().astimezone() + timedelta(seconds=2))
    assert (await client.send("pause", {"pressed_at": ahead}, id="ahead"))["ok"]
    (event,) = [e for e in await server.api.events(sid) if e["id"] == "ahead"]
    assert event["data"]["pressed_at"] <= event["at"]  # never after it was stored


async def test_a_late_answer_keeps_its_press_time(server_factory: ServerFactory) -> None:
    server = await server_factory()
    created = await server.create_session(
        settings={"cues": {"checkin_unanswered": {"after_s": 0.3}}}
    )
    born = created["session"]["created_at"]
    therapist = await server.join(created["tokens"]["t-1"])
    client = await server.join(created["tokens"]["c-1"])
    await therapist.wait_type("session_started")
    await therapist.send("checkin_request", {"instrument": "suds"})
    (request,) = await client.wait_type("checkin_request")
    await therapist.wait_type("checkin_expired", timeout=10)
    data = {"checkin_seq": request["seq"], "value": 5, "pressed_at": born}
    assert (await client.send("checkin_response", data, id="late"))["ok"]
    (event,) = [e for e in await server.api.events(created["session"]["id"]) if e["id"] == "late"]
    assert event["data"] == {
        "checkin_seq": event["data"]["checkin_seq"],
        "value": 5,
        "late": True,
        "pressed_at": born,
    }

"""The Socket.IO protocol (contract §3) against a real server with real clients.

Every test here runs twice: with the transport patches of service/realtime/transport.py on (the
default) and off (`transport_patches=False`: python-engineio and aiohttp as they come)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import socketio

from service.app import HUB, SENDS, WRITER
from service.errors import SendError
from service.events import Role
from service.realtime.hub import Connection
from tests.conftest import LiveServer, ServerFactory


@pytest.fixture(params=[True, False], ids=["patched", "unpatched"])
def transport_patches(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def server_factory(server_factory: ServerFactory, transport_patches: bool) -> ServerFactory:
    """The shared factory, with the transport patches on or off for every server it starts."""

    async def factory(**settings):
        settings.setdefault("transport_patches", transport_patches)
        return await server_factory(**settings)

    return factory


async def started(server: LiveServer, clients: int = 1, **overrides):
    created = await server.create_session(clients, **overrides)
    therapist = await server.join(created["tokens"]["t-1"])
    peers = [await server.join(created["tokens"][f"c-{i}"]) for i in range(1, clients + 1)]
    await therapist.wait_type("session_started")
    return created, therapist, peers


async def test_welcome_carries_session_participant_epoch_head_and_state(live_server: LiveServer):
    created = await live_server.create_session(clients=2)
    therapist = await live_server.join(created["tokens"]["t-1"])
    welcome = therapist.welcome
    assert welcome is not None
    assert welcome["participant"] == {"id": "t-1", "role": "therapist"}
    assert welcome["epoch"] == created["session"]["epoch"]
    assert welcome["head_seq"] == 0
    assert set(welcome["state"]["clients"]) == {"c-1", "c-2"}
    assert set(welcome["state"]["clients"]["c-1"]) == {
        "connected",
        "paused",
        "pace",
        "zone",
        "last_suds",
        "grounding",
        "open_checkins",
        "unacknowledged",
    }
    client = await live_server.join(created["tokens"]["c-1"])
    cw = client.welcome
    assert cw is not None
    assert {p["id"] for p in cw["session"]["participants"]} == {"t-1", "c-1"}
    assert set(cw["state"]["clients"]) == {"c-1"}


async def test_state_in_welcome_follows_the_log(live_server: LiveServer):
    created, therapist, (client,) = await started(live_server)
    pause = await client.send("pause")
    await client.send("slow_down")
    await client.send("zone", {"zone": "too_much"})
    await therapist.send("acknowledge", {"seq": pause["seq"]})
    await therapist.wait_type("acknowledge")
    again = await live_server.join(created["tokens"]["c-1"])
    state = again.welcome["state"]["clients"]["c-1"]
    assert state["paused"] is True and state["pace"] == "slow_down" and state["zone"] == "too_much"
    assert state["connected"] is True
    assert len(state["unacknowledged"]) == 2 and pause["seq"] not in state["unacknowledged"]


async def test_reconnect_with_last_seq_gets_exactly_the_missed_events_in_order(
    live_server: LiveServer,
):
    created, therapist, (client,) = await started(live_server)
    await client.send("keep_going")
    await therapist.wait_type("keep_going")
    last_seen = therapist.seqs[-1]
    await therapist.close()
    sent = [await client.send(kind) for kind in ("pause", "slow_down", "resume", "keep_going")]
    back = await live_server.join(
        created["tokens"]["t-1"], last_seq=last_seen, epoch=created["session"]["epoch"]
    )
    await back.wait_for(lambda: sent[-1]["seq"] in back.seqs)
    replayed = [e for e in back.events if e["actor"]["role"] == "client"]
    assert [e["seq"] for e in replayed] == [a["seq"] for a in sent]
    assert back.seqs == sorted(back.seqs) and len(back.seqs) == len(set(back.seqs))
    assert min(back.seqs) == last_seen + 1


async def test_events_stored_during_replay_are_neither_skipped_nor_doubled(live_server: LiveServer):
    created, therapist, (client,) = await started(live_server)
    for _ in range(15):
        await client.send("keep_going")
    sender = asyncio.ensure_future(asyncio.gather(*(client.send("slow_down") for _ in range(5))))
    late = await live_server.join(created["tokens"]["t-1"], last_seq=0)
    acks = await sender
    head = max(a["seq"] for a in acks)
    await late.wait_for(lambda: head in late.seqs)
    assert late.seqs == list(range(1, head + 1))


async def test_bad_last_seq_or_other_epoch_replays_from_the_start(live_server: LiveServer):
    created, therapist, (client,) = await started(live_server)
    await client.send("pause")
    for auth in (
        {"last_seq": -3},
        {"last_seq": "7"},
        {"last_seq": 10_000},
        {"last_seq": 2, "epoch": "not-the-epoch"},
    ):
        peer = live_server.peer(created["tokens"]["t-1"])
        peer.welcomed.clear()
        await peer.client.connect(
            live_server.url,
            auth={"token": created["tokens"]["t-1"], **auth},
            transports=["websocket"],
        )
        await asyncio.wait_for(peer.welcomed.wait(), 5)
        await peer.wait_type("pause")
        assert peer.seqs[0] == 1, auth
        await peer.close()


async def test_resending_an_id_stores_nothing_and_answers_the_first_seq(live_server: LiveServer):
    created, therapist, (client,) = await started(live_server)
    first = await client.send("pause", id="press-1")
    again = await client.send("pause", id="press-1")
    other_type = await client.send("zone", {"zone": "okay"}, id="press-1")
    garbage = await client.send("", raw={"id": "press-1", "type": "nope", "data": 5})
    assert first["duplicate"] is False
    for ack in (again, other_type, garbage):
        assert ack == {"ok": True, "seq": first["seq"], "duplicate": True}
    # Another participant may use the same id: keys are per sender.
    mine = await therapist.send("checkin_request", {"instrument": "suds"}, id="press-1")
    assert mine["ok"] and mine["duplicate"] is False
    events = await live_server.api.events(created["session"]["id"])
    assert sum(1 for e in events if e["id"] == "press-1") == 2


async def test_duplicate_after_session_end_still_answers_first_seq(live_server: LiveServer):
    """Sockets are closed at the end, so this drives the send pipeline directly, as a socket
    whose resend raced the end would."""
    created, therapist, (client,) = await started(live_server)
    first = await client.send("pause", id="p-after-end")
    status, _ = await live_server.api.call(
        "POST", f"/api/v1/sessions/{created['session']['id']}/end"
    )
    assert status == 200
    runtime = await live_server.app[HUB].load(created["session"]["id"])
    sends = live_server.app[SENDS]
    ghost = Connection("ghost", "ghost", runtime.id, "c-1", Role.CLIENT)
    ack = await sends.send(ghost, {"id": "p-after-end", "type": "pause"})
    assert ack.model_dump() == {"ok": True, "seq": first["seq"], "duplicate": True}
    with pytest.raises(SendError) as refused:
        await sends.send(ghost, {"id": "fresh", "type": "pause"})
    assert refused.value.code == "session_ended"


@pytest.mark.parametrize(
    ("role", "kind", "data"),
    [
        ("client", "acknowledge", {"seq": 1}),
        ("client", "checkin_request", {"instrument": "suds"}),
        ("client", "end_session", {}),
        ("client", "suggest_grounding", {"exercise": "box_breathing"}),
        ("therapist", "pause", {}),
        ("therapist", "zone", {"zone": "okay"}),
        ("therapist", "retract", {"seq": 1}),
        ("client", "cue", {}),
        ("therapist", "session_started", {}),
        ("client", "participant_joined", {}),
    ],
)
async def test_roles_may_send_only_their_types(live_server: LiveServer, role, kind, data):
    created, therapist, (client,) = await started(live_server)
    peer = therapist if role == "therapist" else client
    ack = await peer.send(kind, data)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"


async def test_unknown_type_and_bad_payloads_get_structured_errors_and_keep_the_connection(
    live_server: LiveServer,
):
    created, therapist, (client,) = await started(live_server)
    cases = [
        ({"id": "a", "type": "explode"}, "unknown_type"),
        ("not an object", "invalid_payload"),
        ([1, 2, 3], "invalid_payload"),
        (None, "invalid_payload"),
        ({"type": "pause"}, "invalid_payload"),
        ({"id": "", "type": "pause"}, "invalid_payload"),
        ({"id": "x" * 129, "type": "pause"}, "invalid_payload"),
        ({"id": 5, "type": "pause"}, "invalid_payload"),
        ({"id": "a1", "type": "pause", "data": {"extra": 1}}, "invalid_payload"),
        ({"id": "a2", "type": "pause", "extra": 1}, "invalid_payload"),
        ({"id": "a3", "type": "zone", "data": {"zone": "purple"}}, "invalid_payload"),
        ({"id": "a4", "type": "zone", "data": {}}, "invalid_payload"),
        (
            {
                "id": "a5",
                "type": "grounding_finished",
                "data": {"exercise": "box_breathing", "completed": "yes", "duration_s": 3},
            },
            "invalid_payload",
        ),
        (
            {"id": "a6", "type": "checkin_response", "data": {"checkin_seq": 999, "value": 3}},
            "not_found",
        ),
        ({"id": "a7", "type": "retract", "data": {"seq": 999}}, "not_found"),
        ({"id": "a8", "type": "retract", "data": {"seq": True}}, "invalid_payload"),
        ({"id": "a9", "type": "pause", "data": []}, "invalid_payload"),
    ]
    for payload, code in cases:
        ack = (
            await client.send("", raw=payload)
            if payload is not None
            else dict(await client.client.call("send", timeout=5))
        )
        assert ack["ok"] is False, payload
        assert ack["error"]["code"] == code, (payload, ack)
        assert isinstance(ack["error"]["message"], str) and ack["error"]["message"]
    ok = await client.send("pause")
    assert ok["ok"] is True
    await therapist.wait_type("pause")


async def test_therapist_to_must_name_clients_of_the_session(live_server: LiveServer):
    created, therapist, (client,) = await started(live_server)
    for to in (["t-1"], ["nobody"], [], "c-1"):
        ack = await therapist.send("checkin_request", {"instrument": "suds", "to": to})
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", to


async def test_an_oversize_frame_closes_only_that_connection(live_server: LiveServer):
    created, therapist, (client,) = await started(live_server)
    second = await live_server.join(created["tokens"]["c-1"])
    big = {"id": "big", "type": "pause", "data": {"x": "y" * 70_000}}
    with pytest.raises(socketio.exceptions.SocketIOError):
        await second.client.call("send", big, timeout=3)
    await asyncio.sleep(0.3)
    assert not second.client.connected
    assert client.client.connected and therapist.client.connected
    ack = await client.send("slow_down")
    assert ack["ok"]
    await therapist.wait_type("slow_down")


async def test_sends_beyond_the_rate_are_rate_limited(live_server: LiveServer):
    created, therapist, (client,) = await started(live_server)
    acks = await asyncio.gather(*(client.send("keep_going") for _ in range(40)))
    ok = [a for a in acks if a["ok"]]
    limited = [a for a in acks if not a["ok"]]
    assert len(ok) >= 20
    assert limited and {a["error"]["code"] for a in limited} == {"rate_limited"}
    await asyncio.sleep(1.0)
    assert (await client.send("keep_going"))["ok"]


async def test_retract_own_signal_within_the_window_only(live_server: LiveServer):
    created, therapist, (c1, c2) = await started(live_server, clients=2)
    pause = await c1.send("pause")
    other = await c2.send("pause")
    # A client names events by its own positions (§9.1): another client's signal has none, so
    # what it can try is an event it sees but did not signal (a presence event, say).
    await c2.wait_type("session_started")
    not_a_signal = c2.of_type("session_started")[0]["seq"]
    assert (await c2.send("retract", {"seq": not_a_signal}))["error"]["code"] == "forbidden"
    assert (await c2.send("retract", {"seq": 10_000}))["error"]["code"] == "not_found"
    assert (await c1.send("retract", {"seq": pause["seq"]}))["ok"]
    await therapist.send("checkin_request", {"instrument": "suds", "to": ["c-1"]})
    (request,) = await c1.wait_type("checkin_request")
    answered = await c1.send("checkin_response", {"checkin_seq": request["seq"], "value": 4})
    res = await c1.send("retract", {"seq": answered["seq"]})
    assert res["ok"] is False and res["error"]["code"] == "forbidden"
    assert other["ok"]
    welcome = (await live_server.join(created["tokens"]["c-1"])).welcome
    assert welcome["state"]["clients"]["c-1"]["paused"] is False


async def test_checkin_is_answered_once_with_a_value_of_its_instrument(live_server: LiveServer):
    created, therapist, (client,) = await started(live_server)
    await therapist.send("checkin_request", {"instrument": "suds"})
    (req,) = await client.wait_type("checkin_request")
    assert (await client.send("checkin_response", {"checkin_seq": req["seq"], "value": 11}))[
        "error"
    ]["code"] == "invalid_payload"
    assert (await client.send("checkin_response", {"checkin_seq": req["seq"], "value": "okay"}))[
        "error"
    ]["code"] == "invalid_payload"
    assert (await client.send("checkin_response", {"checkin_seq": req["seq"], "value": 6}))["ok"]
    again = await client.send("checkin_response", {"checkin_seq": req["seq"], "value": 5})
    assert again["ok"] is False and again["error"]["code"] == "not_found"
    await therapist.send("checkin_request", {"instrument": "zone"})
    zone = (await client.wait_type("checkin_request", 2))[-1]
    assert (
        await client.send("checkin_response", {"checkin_seq": zone["seq"], "value": "shut_down"})
    )["ok"]
    welcome = (await live_server.join(created["tokens"]["t-1"])).welcome
    state = welcome["state"]["clients"]["c-1"]
    assert state["last_suds"] == 6 and state["zone"] == "shut_down" and state["open_checkins"] == []


async def test_acknowledge_is_addressed_to_the_signal_sender(live_server: LiveServer):
    created, therapist, (c1, c2) = await started(live_server, clients=2)
    sent = await c1.send("pause")
    (pause,) = await therapist.wait_type("pause")  # the therapist names it by the session's seq
    ack = await therapist.send("acknowledge", {"seq": pause["seq"]})
    assert ack["ok"]
    (seen,) = await c1.wait_type("acknowledge")
    assert seen["data"]["seq"] == sent["seq"], "the client reads it in its own numbering"
    assert (await therapist.send("acknowledge", {"seq": 9999}))["error"]["code"] == "not_found"
    await asyncio.sleep(0.2)
    assert not c2.of_type("acknowledge")


async def test_group_session_clients_never_see_each_other(live_server: LiveServer):
    created, therapist, clients = await started(live_server, clients=3)
    c1, c2, c3 = clients
    for peer, kind in ((c1, "pause"), (c2, "slow_down"), (c3, "keep_going")):
        assert (await peer.send(kind))["ok"]
    await therapist.send("checkin_request", {"instrument": "suds", "to": ["c-2"]})
    await therapist.send("suggest_grounding", {"exercise": "five_senses"})
    await therapist.wait_type("suggest_grounding")
    await asyncio.sleep(0.3)
    for peer, me in ((c1, "c-1"), (c2, "c-2"), (c3, "c-3")):
        for event in peer.events:
            actor = event["actor"]
            if actor["role"] == "client":
                assert actor["id"] == me
            if event["type"] in ("participant_joined", "participant_left"):
                who = event["data"]["participant"]
                assert who["role"] == "therapist" or who["id"] == me
            assert event["type"] != "cue"
            if event["to"] is not None:
                assert me in event["to"]
    assert c2.of_type("checkin_request") and not c1.of_type("checkin_request")
    assert all(p.of_type("suggest_grounding") for p in clients)
    assert len([e for e in therapist.events if e["actor"]["role"] == "client"]) == 3


async def test_presence_join_leave_and_session_start(live_server: LiveServer):
    created = await live_server.create_session()
    therapist = await live_server.join(created["tokens"]["t-1"])
    client = await live_server.join(created["tokens"]["c-1"])
    second = await live_server.join(created["tokens"]["c-1"])
    await therapist.wait_type("session_started")
    joins = [
        e
        for e in therapist.of_type("participant_joined")
        if e["data"]["participant"]["id"] == "c-1"
    ]
    assert len(joins) == 1 and joins[0]["data"]["via"] == "widget"
    await second.close()
    await asyncio.sleep(0.3)
    assert not therapist.of_type("participant_left")
    await client.close()
    left = (await therapist.wait_type("participant_left"))[0]
    assert left["data"] == {"participant": {"id": "c-1", "role": "client"}, "via": "widget"}
    status, body = await live_server.api.call("GET", f"/api/v1/sessions/{created['session']['id']}")
    assert body["session"]["state"] == "live" and body["session"]["started_at"]
    conn = {p["id"]: p["connected"] for p in body["session"]["participants"]}
    assert conn == {"t-1": True, "c-1": False}
    assert len(therapist.of_type("session_started")) == 1


async def test_ending_sends_session_ended_then_disconnects_and_refuses(live_server: LiveServer):
    created, therapist, (client,) = await started(live_server)
    ack = await therapist.send("end_session")
    assert ack["ok"]
    ended = (await client.wait_type("session_ended"))[0]
    assert ended["data"] == {"by": "therapist"}
    await asyncio.sleep(0.5)
    assert not client.client.connected and not therapist.client.connected
    late = live_server.peer(created["tokens"]["c-1"])
    with pytest.raises(socketio.exceptions.ConnectionError):
        await late.connect()
    assert late.connect_error["code"] == "session_ended"


async def test_a_participant_may_send_as_soon_as_it_is_connected(live_server: LiveServer):
    created = await live_server.create_session()
    therapist = await live_server.join(created["tokens"]["t-1"])
    client = live_server.peer(created["tokens"]["c-1"])
    await client.connect(wait=False)
    ack = await client.send("pause", id=str(uuid.uuid4()))
    assert ack["ok"]
    await therapist.wait_type("pause")
    await client.wait_type("pause")


async def test_a_replay_longer_than_the_socket_queue_arrives_whole(server_factory):
    """Replay is paced by the socket's drain, so a long log never trips the slow-reader bound."""
    server = await server_factory(max_socket_queue=40, send_rate=1000.0, send_burst=1000)
    created = await server.create_session()
    client = await server.join(created["tokens"]["c-1"])
    acks = []
    for _ in range(40):
        acks += await asyncio.gather(*(client.send("keep_going") for _ in range(8)))
    assert all(a["ok"] for a in acks)
    head = max(a["seq"] for a in acks)
    late = await server.join(created["tokens"]["t-1"], last_seq=0)
    await late.wait_for(lambda: head in late.seqs, timeout=20)
    assert late.seqs[:head] == list(range(1, head + 1))
    assert late.client.connected


async def test_websockets_refuse_per_message_compression(live_server: LiveServer):
    """Deflate state costs ~100 KB a socket; the service never negotiates it."""
    url = live_server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with live_server.api.http.ws_connect(url, compress=15) as ws:
        assert ws.compress == 0
        opening = await ws.receive_str()
        assert opening.startswith("0{")


async def test_live_events_are_written_straight_to_idle_websockets_in_order(
    server_factory, transport_patches
):
    """A delivered event goes onto an idle websocket at once (aiohttp's frame writer), not
    through python-engineio's writer task; an upgrade of either library that breaks this
    falls back to queueing and shows here as no direct writes. With the patches off, every
    event is queued, in the same order."""
    server = await server_factory(send_rate=1000.0, send_burst=1000)
    writer = server.app[WRITER]
    before = writer.direct_writes
    created, therapist, (client,) = await started(server)
    for n in range(30):
        assert (await client.send("keep_going", id=f"go-{n}"))["ok"]
    got = await therapist.wait_type("keep_going", count=30)
    assert [e["id"] for e in got] == [f"go-{n}" for n in range(30)]
    seqs = [e["seq"] for e in therapist.events]
    assert seqs == sorted(set(seqs)), "in seq order, none twice"
    if transport_patches:
        assert writer.direct_writes - before >= 30
    else:
        assert writer.direct_writes == before == 0


async def test_an_upgraded_polling_connection_gets_every_event_in_order(server_factory):
    """Polling first, then the upgrade to a websocket (the browsers' default): packets queued
    for polling and written directly after the upgrade keep their order."""
    server = await server_factory(send_rate=1000.0, send_burst=1000)
    created = await server.create_session()
    therapist = server.peer(created["tokens"]["t-1"])
    await therapist.connect(transports=["polling", "websocket"])
    client = await server.join(created["tokens"]["c-1"])
    for n in range(40):
        assert (await client.send("keep_going", id=f"up-{n}"))["ok"]
    got = await therapist.wait_type("keep_going", count=40)
    assert [e["id"] for e in got] == [f"up-{n}" for n in range(40)]
    seqs = [e["seq"] for e in therapist.events]
    assert seqs == sorted(set(seqs))

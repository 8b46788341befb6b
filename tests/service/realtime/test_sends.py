"""The send pipeline (service/realtime/sends.py): duplicates answered with the first seq, roles,
payload errors, the rate, and the state checks, over real sockets. Runs with the transport
patches on and off (conftest.py)."""

from __future__ import annotations

import asyncio

import pytest

from service.app import HUB, SENDS
from service.errors import SendError
from service.events import Role
from service.realtime.hub import RECENT_EVENTS, Connection
from tests.conftest import LiveServer
from tests.support import own_positions, session_seq


async def test_resending_an_id_stores_nothing_and_answers_the_first_seq(live_server: LiveServer):
    created, therapist, (client, _) = await live_server.start_session(clients=2)
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
    # The first seq in c-1's own numbering (contract §9.1), not the session's.
    assert first["seq"] == own_positions(events, "c-1")["press-1"]
    assert first["seq"] != await session_seq(therapist, client, first["seq"])


async def test_duplicate_after_session_end_still_answers_first_seq(live_server: LiveServer):
    """Sockets are closed at the end, so this drives the send pipeline directly, as a socket
    whose resend raced the end would."""
    created, therapist, (client, _) = await live_server.start_session(clients=2)
    first = await client.send("pause", id="p-after-end")
    assert first["seq"] != await session_seq(therapist, client, first["seq"])
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
    created, therapist, (client,) = await live_server.start_session()
    peer = therapist if role == "therapist" else client
    ack = await peer.send(kind, data)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"


async def test_unknown_type_and_bad_payloads_get_structured_errors_and_keep_the_connection(
    live_server: LiveServer,
):
    created, therapist, (client,) = await live_server.start_session()
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
    created, therapist, (client,) = await live_server.start_session()
    for to in (["t-1"], ["nobody"], [], "c-1"):
        ack = await therapist.send("checkin_request", {"instrument": "suds", "to": to})
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", to


async def test_sends_beyond_the_rate_are_rate_limited(live_server: LiveServer):
    created, therapist, (client,) = await live_server.start_session()
    acks = await asyncio.gather(*(client.send("keep_going") for _ in range(40)))
    ok = [a for a in acks if a["ok"]]
    limited = [a for a in acks if not a["ok"]]
    assert len(ok) >= 20
    assert limited and {a["error"]["code"] for a in limited} == {"rate_limited"}
    await asyncio.sleep(1.0)
    assert (await client.send("keep_going"))["ok"]


async def test_retract_own_signal_within_the_window_only(live_server: LiveServer):
    created, therapist, (c1, c2) = await live_server.start_session(clients=2)
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
    """Named by the client's position of the request, which differs from its session seq."""
    created, therapist, (client, _) = await live_server.start_session(clients=2)
    request = await therapist.send("checkin_request", {"instrument": "suds"})
    (req,) = await client.wait_type("checkin_request")
    assert (await client.send("checkin_response", {"checkin_seq": req["seq"], "value": 11}))[
        "error"
    ]["code"] == "invalid_payload"
    assert (await client.send("checkin_response", {"checkin_seq": req["seq"], "value": "okay"}))[
        "error"
    ]["code"] == "invalid_payload"
    answered = await client.send("checkin_response", {"checkin_seq": req["seq"], "value": 6})
    assert answered["ok"]
    (stored,) = await therapist.wait_type("checkin_response")
    assert stored["data"] == {"checkin_seq": request["seq"], "value": 6}
    assert request["seq"] != req["seq"]
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
    created, therapist, (c1, c2) = await live_server.start_session(clients=2)
    sent = await c1.send("pause")
    (pause,) = await therapist.wait_type("pause")  # the therapist names it by the session's seq
    ack = await therapist.send("acknowledge", {"seq": pause["seq"]})
    assert ack["ok"]
    (seen,) = await c1.wait_type("acknowledge")
    assert seen["data"]["seq"] == sent["seq"], "the client reads it in its own numbering"
    assert (await therapist.send("acknowledge", {"seq": 9999}))["error"]["code"] == "not_found"
    await asyncio.sleep(0.2)
    assert not c2.of_type("acknowledge")


async def test_a_session_past_its_replay_buffer_still_answers_every_send(
    server_factory,
):
    """A loaded session keeps only its last RECENT_EVENTS events and their ids in memory
    (issue 18: memory flat as the log grows); what is older is the store's to answer. A resent
    id from before the buffer is still a duplicate with its first seq, an old signal can still
    be acknowledged, and the retract rules still hold."""
    live_server = await server_factory(send_rate=1000.0, send_burst=1000)
    created, therapist, (client, _) = await live_server.start_session(clients=2)
    first = await client.send("pause", id="early-pause")
    (seen,) = await therapist.wait_type("pause")
    for n in range(RECENT_EVENTS + 10):
        assert (await client.send("keep_going", id=f"k-{n}"))["ok"]
    runtime = live_server.app[HUB].runtimes[created["session"]["id"]]
    assert len(runtime.recent) == RECENT_EVENTS and len(runtime.ids) == RECENT_EVENTS
    assert ("c-1", "early-pause") not in runtime.ids
    for kind in ("pause", "resume"):  # same type or not: a duplicate, stored nothing
        again = await client.send(kind, id="early-pause")
        assert again == {"ok": True, "seq": first["seq"], "duplicate": True}
    assert (await therapist.send("acknowledge", {"seq": seen["seq"]}))["ok"]
    (acked,) = await client.wait_type("acknowledge")
    assert acked["data"] == {"seq": first["seq"]}
    # Retracting the old pause: within 30 s still allowed, and it un-pauses.
    assert (await client.send("retract", {"seq": first["seq"]}))["ok"]
    welcome = (await live_server.join(created["tokens"]["t-1"])).welcome
    assert welcome["state"]["clients"]["c-1"]["paused"] is False
    events = await live_server.api.events(created["session"]["id"])
    assert sum(1 for e in events if e["id"] == "early-pause") == 1
    # Also after the session ended (contract §3), driven directly as in the test above.
    status, _ = await live_server.api.call(
        "POST", f"/api/v1/sessions/{created['session']['id']}/end"
    )
    assert status == 200
    ghost = Connection("ghost", "ghost", runtime.id, "c-1", Role.CLIENT)
    ack = await live_server.app[SENDS].send(ghost, {"id": "early-pause", "type": "pause"})
    assert ack.model_dump() == {"ok": True, "seq": first["seq"], "duplicate": True}

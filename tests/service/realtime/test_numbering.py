"""A client's own numbering (contract §9.1), against a real server with real clients: every number
a client reads or sends is a position in its own stream of visible events (1, 2, 3… gap-free, in
the session's order), whatever the other clients do; therapists and REST keep the session's seqs.

The expected view of each client is computed here from the REST log with the contract's rules
(`tests.support.visible_to`), not from the service's code.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import LiveServer
from tests.support import (
    Api,
    Peer,
    ServiceProcess,
    assert_seen_as,
    expected_view,
    joined,
    next_position,
    own_stream,
    session_seq,
)

QUICK_EXPIRY = {"cues": {"checkin_unanswered": {"after_s": 0.5}}}


def assert_view(received: list[dict[str, Any]], log: list[dict[str, Any]], client: str) -> None:
    """The client received exactly its view of the log (contract §9.1)."""
    expected = expected_view(log, client)
    assert [e["seq"] for e in received] == list(range(1, len(expected) + 1)), client
    for got, want in zip(received, expected, strict=True):
        assert_seen_as(got, want, client)


async def settled_log(server: LiveServer, session_id: str, *peers: Peer) -> list[dict[str, Any]]:
    """The REST log once it stops growing and every peer has what it may see of it."""
    log = await server.api.events(session_id)
    for _ in range(30):
        await asyncio.sleep(0.1)
        again = await server.api.events(session_id)
        if len(again) == len(log):
            break
        log = again
    for peer in peers:
        client = peer.welcome["participant"]["id"] if peer.welcome else ""
        count = len(own_stream(log, client))
        await peer.wait_for(lambda p=peer, n=count: bool(p.seqs) and p.seqs[-1] >= n, timeout=10)
    return log


async def test_each_client_of_a_couples_session_reads_everything_in_its_own_numbering(
    live_server: LiveServer,
) -> None:
    """Events, acks, the numbers in data and check-in expiries, for both clients at once, while
    the other client, the therapist and the system (cues, expiries) log in between."""
    created, therapist, (c1, c2) = await live_server.start_session(
        2, settings={"cues": {**QUICK_EXPIRY["cues"], "repeated_pause": {"count": 2}}}
    )
    sid = created["session"]["id"]
    acks_c2 = [await c2.send("zone", {"zone": "too_much"}, id="c2-zone")]
    for n in range(3):
        assert (await c1.send("pause", id=f"c1-pause-{n}"))["ok"]  # cues for the therapist
    zone = await session_seq(therapist, c2, acks_c2[0]["seq"])
    assert (await therapist.send("acknowledge", {"seq": zone}))["ok"]
    asked = therapist.send("checkin_request", {"instrument": "suds", "to": ["c-2"]})
    request = await next_position(c2, "checkin_request", asked)
    acks_c2.append(await c2.send("checkin_response", {"checkin_seq": request, "value": 6}))
    acks_c2.append(await c2.send("slow_down", id="c2-slow"))
    acks_c2.append(await c2.send("retract", {"seq": acks_c2[-1]["seq"]}))
    await therapist.send("checkin_request", {"instrument": "zone"})  # to both; left to expire
    await therapist.wait_type("checkin_expired", timeout=10)
    await c1.send("keep_going")

    log = await settled_log(live_server, sid, c1, c2)
    assert {"cue", "checkin_expired", "acknowledge", "retract"} <= {e["type"] for e in log}
    assert_view(c1.events, log, "c-1")
    assert_view(c2.events, log, "c-2")
    assert all(ack["ok"] and not ack["duplicate"] for ack in acks_c2)
    assert [a["seq"] for a in acks_c2] == [
        e["seq"] for e in c2.events if e["actor"]["id"] == "c-2"
    ], "an ack's seq is the position of the event it stored"
    # The therapist and REST keep the session's seqs.
    assert therapist.seqs == [e["seq"] for e in log]


async def test_a_second_client_sees_no_jump_when_the_first_pauses(
    live_server: LiveServer,
) -> None:
    """Issue 13, finding 7: read as c-2, nothing moves when c-1 presses."""
    _, therapist, (c1, c2) = await live_server.start_session(2)
    before = await c2.send("keep_going")
    for _ in range(3):
        await c1.send("pause")
    await therapist.wait_type("pause", 3)
    after = await c2.send("keep_going")
    assert after["seq"] == before["seq"] + 1
    await c2.wait_for(lambda: after["seq"] in c2.seqs)
    assert c2.seqs == list(range(1, after["seq"] + 1))


async def test_welcome_head_and_state_are_in_the_client_s_numbering(
    live_server: LiveServer,
) -> None:
    created, therapist, (c1, c2) = await live_server.start_session(2)
    sid = created["session"]["id"]
    await c1.send("pause")
    await c1.send("zone", {"zone": "shut_down"})
    c2_pause = await c2.send("pause")
    await therapist.send("checkin_request", {"instrument": "suds", "to": ["c-1"]})
    asked = therapist.send("checkin_request", {"instrument": "zone"})
    c2_request = await next_position(c2, "checkin_request", asked)
    log = await settled_log(live_server, sid, c1, c2)

    again = await live_server.join(created["tokens"]["c-2"])
    welcome = again.welcome
    assert welcome is not None
    head = len(own_stream(log, "c-2"))
    assert welcome["head_seq"] == welcome["session"]["head_seq"] == head
    state = welcome["state"]["clients"]["c-2"]
    assert state["unacknowledged"] == [c2_pause["seq"]]
    assert state["open_checkins"] == [c2_request]
    await again.wait_for(lambda: len(again.events) >= head)
    assert_view(again.events[:head], log, "c-2")  # replayed from 0: the same view and ids
    assert [e["id"] for e in again.events] == [e["id"] for e in c2.events[:head]]
    # The therapist's welcome: the session's seqs.
    seen = (await live_server.join(created["tokens"]["t-1"])).welcome
    assert seen is not None and seen["head_seq"] == log[-1]["seq"]
    assert seen["state"]["clients"]["c-2"]["unacknowledged"] == [
        await session_seq(therapist, c2, c2_pause["seq"])
    ]


async def test_reconnecting_with_a_position_replays_exactly_what_followed_it(
    live_server: LiveServer,
) -> None:
    created, therapist, (c1, c2) = await live_server.start_session(2)
    sid = created["session"]["id"]
    await c2.send("zone", {"zone": "okay"}, id="early")
    await c1.send("pause")
    log = await settled_log(live_server, sid, c2)
    last = c2.seqs[-1]
    await c2.close()
    await c1.send("slow_down")
    await therapist.send("suggest_grounding", {"exercise": "five_senses", "to": ["c-2"]})
    await therapist.send("suggest_grounding", {"exercise": "box_breathing", "to": ["c-1"]})
    await therapist.send("checkin_request", {"instrument": "suds"})
    back = await live_server.join(created["tokens"]["c-2"], last_seq=last)
    log = await settled_log(live_server, sid, c1, back)
    expected = expected_view(log, "c-2")
    await asyncio.sleep(0.2)
    # Its own `participant_left` and `participant_joined` are among what followed.
    assert back.seqs == list(range(last + 1, len(expected) + 1))
    assert [e["type"] for e in back.events] == [e["type"] for e in expected[last:]]
    # The welcome's head came before its own arrival was logged.
    assert expected[-1]["type"] == "participant_joined"
    assert back.welcome is not None and back.welcome["head_seq"] == len(expected) - 1
    early = next(e["seq"] for e in c2.events if e["id"] == "early")
    resent = await back.send("zone", {"zone": "okay"}, id="early")
    assert resent == {"ok": True, "seq": early, "duplicate": True}


async def test_a_position_the_client_was_not_given_is_not_found(live_server: LiveServer) -> None:
    created, therapist, (c1, c2) = await live_server.start_session(2)
    for _ in range(4):
        await c1.send("keep_going")
    asked = therapist.send("checkin_request", {"instrument": "suds", "to": ["c-1"]})
    c1_request = await next_position(c1, "checkin_request", asked)
    await settled_log(live_server, created["session"]["id"], c2)
    own_head = c2.seqs[-1]
    assert c1_request > own_head, "c-1's position lies beyond c-2's own head"
    for kind, data in (
        ("retract", {"seq": own_head + 1}),
        ("checkin_response", {"checkin_seq": c1_request, "value": 3}),
    ):
        refused = await c2.send(kind, data)
        assert refused["ok"] is False and refused["error"]["code"] == "not_found", refused
    # A last_seq above its own head replays from the start (contract §3), in its numbering.
    again = await live_server.join(created["tokens"]["c-2"], last_seq=c1_request)
    await again.wait_for(lambda: len(again.events) >= own_head)
    assert again.seqs[:own_head] == list(range(1, own_head + 1))


async def test_a_resent_id_answers_the_position_it_answered_first_after_a_restart(
    tmp_path: Path,
) -> None:
    """Idempotency in the client's numbering across a SIGKILL and a restart: the positions are
    rebuilt from the log, so a resend answers what the first send was answered."""
    service = await ServiceProcess(tmp_path).start()
    peers: list[Peer] = []
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create(clients=2)
            therapist, (c1, c2) = await joined(service.url, created, clients=2)
            peers += [therapist, c1, c2]
            first = []
            for n in range(3):
                await c1.send("pause", id=f"c1-{n}")
                first.append(await c2.send("keep_going", id=f"c2-{n}"))
            await c2.wait_for(lambda: first[-1]["seq"] in c2.seqs)
            seen = [e for e in c2.events if e["seq"] <= first[-1]["seq"]]
            service.kill()
            for peer in peers:
                await peer.close()
            await service.start()
            back = await Peer(service.url, created["tokens"]["c-2"]).connect()
            peers.append(back)
            for n in range(3):
                again = await back.send("keep_going", id=f"c2-{n}")
                assert again == {"ok": True, "seq": first[n]["seq"], "duplicate": True}
            await back.wait_for(lambda: len(back.events) >= len(seen))
            replayed = back.events[: len(seen)]
            assert [(e["seq"], e["id"], e["type"]) for e in replayed] == [
                (e["seq"], e["id"], e["type"]) for e in seen
            ], "the same positions and ids after a restart"
    finally:
        for peer in peers:
            await peer.close()
        service.kill()


@pytest.mark.parametrize("clients", [2, 3])
async def test_a_client_reads_every_to_as_naming_itself_alone(
    live_server: LiveServer, clients: int
) -> None:
    """In a couples or a group session, whom else a check-in, a suggestion, an expiry or an
    acknowledgement was for never reaches a client: `to` and `data.to` name it alone (an
    addition, docs/protocol.md), live and in replay; therapists and REST keep them whole."""
    created = await live_server.create_session(clients=clients, settings=QUICK_EXPIRY)
    sid = created["session"]["id"]
    ids = [f"c-{n}" for n in range(1, clients + 1)]
    therapist = await live_server.join(created["tokens"]["t-1"])
    peers = {cid: await live_server.join(created["tokens"][cid]) for cid in ids}
    await therapist.wait_type("session_started")
    for peer in peers.values():
        assert (await peer.send("pause"))["ok"]
    for pause in await therapist.wait_type("pause", clients):
        assert (await therapist.send("acknowledge", {"seq": pause["seq"]}))["ok"]
    addressed = [ids, ids[:2], ids[1:], [ids[-1]]]
    for to in addressed:
        await therapist.send("suggest_grounding", {"exercise": "five_senses", "to": to})
        await therapist.send("checkin_request", {"instrument": "suds", "to": to})
    await therapist.send("suggest_grounding", {"exercise": "box_breathing"})  # to null: all
    await therapist.wait_type("checkin_expired", len(addressed), timeout=10)
    log = await settled_log(live_server, sid, *peers.values())
    assert [e["to"] for e in log if e["type"] == "checkin_expired"] == addressed

    replays = {cid: await live_server.join(created["tokens"][cid]) for cid in ids}
    for cid, peer in peers.items():
        others = [other for other in ids if other != cid]
        count = len(own_stream(log, cid))
        replay = replays[cid]
        await replay.wait_for(lambda r=replay, n=count: len(r.events) >= n)
        for received in (peer.events, replay.events[:count]):
            assert_view(received, log, cid)
            for event in received:
                assert event["to"] in (None, [cid]), (cid, event)
                assert event["data"].get("to") in (None, [cid]), (cid, event)
        seen = orjson.dumps([peer.welcome, peer.events, replay.welcome, replay.events]).decode()
        for other in others:
            assert f'"{other}"' not in seen, f"{cid} read {other}'s id"
        assert len(peer.of_type("checkin_expired")) == sum(cid in to for to in addressed)
    # The therapist and REST: whole.
    requests = [e for e in therapist.events if e["type"] == "checkin_request"]
    assert [e["to"] for e in requests] == [e["data"]["to"] for e in requests] == addressed

"""Delivery (service/realtime/hub.py): in seq order, replayed from where a socket left off, never
skipped nor doubled, each event only to those allowed to see it. Runs with the transport patches
on and off (conftest.py)."""

from __future__ import annotations

import asyncio

from tests.conftest import LiveServer
from tests.support import own_positions, session_seq


async def test_reconnect_with_last_seq_gets_exactly_the_missed_events_in_order(
    live_server: LiveServer,
):
    created, therapist, (client, _) = await live_server.start_session(clients=2)
    await client.send("keep_going")
    await therapist.wait_type("keep_going")
    last_seen = therapist.seqs[-1]
    await therapist.close()
    kinds = ("pause", "slow_down", "resume", "keep_going")
    missed = [f"missed-{n}" for n in range(len(kinds))]
    sent = [await client.send(kind, id=i) for kind, i in zip(kinds, missed, strict=True)]
    back = await live_server.join(
        created["tokens"]["t-1"], last_seq=last_seen, epoch=created["session"]["epoch"]
    )
    await back.wait_for(lambda: missed[-1] in {e["id"] for e in back.events})
    replayed = [e for e in back.events if e["actor"]["role"] == "client"]
    assert [e["id"] for e in replayed] == missed
    log = await live_server.api.events(created["session"]["id"])
    stored = {e["id"]: e["seq"] for e in log if e["actor"]["id"] == "c-1"}
    assert [e["seq"] for e in replayed] == [stored[i] for i in missed]  # the session's seqs
    # The client's acks are its own positions (contract §9.1), which differ here.
    assert [a["seq"] for a in sent] == [own_positions(log, "c-1")[i] for i in missed]
    assert [a["seq"] for a in sent] != [stored[i] for i in missed]
    assert back.seqs == sorted(back.seqs) and len(back.seqs) == len(set(back.seqs))
    assert min(back.seqs) == last_seen + 1


async def test_events_stored_during_replay_are_neither_skipped_nor_doubled(live_server: LiveServer):
    created, therapist, (client, _) = await live_server.start_session(clients=2)
    for _ in range(15):
        await client.send("keep_going")
    sender = asyncio.ensure_future(asyncio.gather(*(client.send("slow_down") for _ in range(5))))
    late = await live_server.join(created["tokens"]["t-1"], last_seq=0)
    acks = await sender
    # The last ack names c-1's position; the therapist reads the session's seq of that event.
    head = await session_seq(therapist, client, max(a["seq"] for a in acks))
    await late.wait_for(lambda: head in late.seqs)
    assert late.seqs == list(range(1, head + 1))


async def test_a_replay_longer_than_the_socket_queue_arrives_whole(server_factory):
    """Replay is paced by the socket's drain, so a long log never trips the slow-reader bound."""
    server = await server_factory(max_socket_queue=40, send_rate=1000.0, send_burst=1000)
    created = await server.create_session()
    client = await server.join(created["tokens"]["c-1"])
    acks = []
    for _ in range(40):
        acks += await asyncio.gather(*(client.send("keep_going") for _ in range(8)))
    assert all(a["ok"] for a in acks)
    head = (await server.api.events(created["session"]["id"]))[-1]["seq"]  # the session's
    late = await server.join(created["tokens"]["t-1"], last_seq=0)
    await late.wait_for(lambda: head in late.seqs, timeout=20)
    assert late.seqs[:head] == list(range(1, head + 1))
    assert late.client.connected


async def test_group_session_clients_never_see_each_other(live_server: LiveServer):
    created, therapist, clients = await live_server.start_session(clients=3)
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
            assert event["to"] in (None, [me]), "a `to` names the client alone"
    assert c2.of_type("checkin_request") and not c1.of_type("checkin_request")
    assert all(p.of_type("suggest_grounding") for p in clients)
    assert len([e for e in therapist.events if e["actor"]["role"] == "client"]) == 3


async def test_an_ended_session_is_let_go_sooner_than_an_idle_one(live_server: LiveServer):
    """A loaded session with no socket is evicted after a while and reloaded when needed; an
    ended one, rarely needed again, sooner (its memory is the soak's to give back)."""
    from service.app import HUB

    hub = live_server.app[HUB]
    idle, done = [await live_server.create_session() for _ in range(2)]
    idle_id, done_id = idle["session"]["id"], done["session"]["id"]
    status, _ = await live_server.api.call("POST", f"/api/v1/sessions/{done_id}/end")
    assert status == 200
    for sid in (idle_id, done_id):
        runtime = await hub.load(sid)
        assert runtime is not None
        runtime.idle_since -= 60
    assert hub.runtimes[done_id].ended
    assert hub.evict_idle(300, 30) == 1
    assert idle_id in hub.runtimes and done_id not in hub.runtimes
    assert (await hub.load(done_id)) is not None, "reloaded from the store when asked for"

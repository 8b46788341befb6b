"""The core round trip over real sockets: a client's pause reaches the therapist, in order."""

from __future__ import annotations

from tests.conftest import LiveServer


async def test_pause_reaches_therapist_and_is_acknowledged(live_server: LiveServer) -> None:
    created = await live_server.create_session()
    sid = created["session"]["id"]
    therapist = await live_server.join(created["tokens"]["t-1"])
    client = await live_server.join(created["tokens"]["c-1"])
    await therapist.wait_type("session_started")
    ack = await client.send("pause")
    assert ack["ok"] is True and ack["duplicate"] is False
    pause = (await therapist.wait_type("pause"))[0]
    assert pause["seq"] == ack["seq"] and pause["actor"] == {"id": "c-1", "role": "client"}
    ack2 = await therapist.send("acknowledge", {"seq": ack["seq"]})
    assert ack2["ok"], ack2
    got = (await client.wait_type("acknowledge"))[0]
    assert got["to"] == ["c-1"]
    events = await live_server.api.events(sid)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert therapist.seqs == sorted(set(therapist.seqs))

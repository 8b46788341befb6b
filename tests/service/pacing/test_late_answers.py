"""Late answers (contract §9.4): an answer to an expired check-in is stored with `"late": true`
added by the service and feeds the cue rules like any answer; a second answer, or an answer to a
request not addressed to the client, is still `not_found`. The expiry and an answer racing it
agree on which came first, on both stores. A client names the request by its own position of it
and is acked in its own numbering (contract §9.1); the log keeps the session's seqs."""

from __future__ import annotations

import asyncio

from tests.conftest import LiveServer
from tests.service.pacing_helpers import cues_of, live_pair, quiet_for
from tests.support import Peer, assert_seen_as, expected_view, session_seq

EXPIRES = {"checkin_unanswered": {"after_s": 0.4}}


async def _expired_request(therapist: Peer, client: Peer, instrument: str) -> tuple[int, int]:
    """A check-in request that expired: its session seq, and the client's position of it."""
    seen = len(client.of_type("checkin_request"))
    request = await therapist.send("checkin_request", {"instrument": instrument})
    assert request["ok"], request
    seq = int(request["seq"])
    await therapist.wait_for(
        lambda: any(e["data"]["checkin_seq"] == seq for e in therapist.of_type("checkin_expired")),
        timeout=8,
    )
    position = int((await client.wait_type("checkin_request", seen + 1))[seen]["seq"])
    await client.wait_for(
        lambda: any(e["data"]["checkin_seq"] == position for e in client.of_type("checkin_expired"))
    )
    return seq, position


async def test_an_answer_after_expiry_is_stored_late_and_feeds_the_cues(
    any_store: LiveServer,
) -> None:
    sid, therapist, (client,) = await live_pair(any_store, EXPIRES)
    suds, suds_position = await _expired_request(therapist, client, "suds")
    answer = await client.send("checkin_response", {"checkin_seq": suds_position, "value": 9})
    assert answer["ok"] is True and answer["duplicate"] is False
    answer_seq = await session_seq(therapist, client, answer["seq"])
    log = await any_store.api.events(sid)
    stored = next(e for e in log if e["seq"] == answer_seq)
    assert stored["data"] == {"checkin_seq": suds, "value": 9, "late": True}
    (live,) = [e for e in therapist.events if e["seq"] == answer_seq]
    assert live == stored  # as stored, live, to the therapist
    (mine,) = [e for e in client.events if e["seq"] == answer["seq"]]
    (want,) = [e for e in expected_view(log, "c-1") if e["id"] == stored["id"]]
    assert_seen_as(mine, want, "c-1")  # and in the client's own numbering
    assert mine["data"] == {"checkin_seq": suds_position, "value": 9, "late": True}
    await therapist.wait_for(lambda: bool(cues_of(therapist, "distress_high")))
    (high,) = cues_of(therapist, "distress_high")
    assert high["data"]["related_seq"] == [answer_seq]

    zone, zone_position = await _expired_request(therapist, client, "zone")
    late_zone = await client.send(
        "checkin_response", {"checkin_seq": zone_position, "value": "too_much"}
    )
    assert late_zone["ok"]
    late_zone_seq = await session_seq(therapist, client, late_zone["seq"])
    await therapist.wait_for(lambda: bool(cues_of(therapist, "out_of_window")))
    (out,) = cues_of(therapist, "out_of_window")
    assert out["data"]["related_seq"] == [late_zone_seq]
    assert zone > suds
    # The state takes the late answers too: the last SUDS and the zone.
    fresh = await any_store.join(await _therapist_token(any_store, sid))
    assert fresh.welcome is not None
    state = fresh.welcome["state"]["clients"]["c-1"]
    assert state["last_suds"] == 9 and state["zone"] == "too_much"
    assert state["open_checkins"] == []


async def _therapist_token(server: LiveServer, sid: str) -> str:
    path = f"/api/v1/sessions/{sid}/tokens"
    status, body = await server.api.call("POST", path, {"participant_id": "t-1"})
    assert status == 200, body
    return str(body["token"])


async def test_one_answer_per_client_per_request_late_or_not(any_store: LiveServer) -> None:
    sid, therapist, (c1, c2) = await live_pair(any_store, EXPIRES, clients=2)
    request = await therapist.send("checkin_request", {"instrument": "suds"})
    (asked_1,) = await c1.wait_type("checkin_request")
    (asked_2,) = await c2.wait_type("checkin_request")
    on_time = await c1.send("checkin_response", {"checkin_seq": asked_1["seq"], "value": 2})
    assert on_time["ok"]
    await therapist.wait_for(lambda: bool(therapist.of_type("checkin_expired")), timeout=8)
    again = await c1.send("checkin_response", {"checkin_seq": asked_1["seq"], "value": 3})
    assert again["ok"] is False and again["error"]["code"] == "not_found"
    late = await c2.send("checkin_response", {"checkin_seq": asked_2["seq"], "value": 4}, "l1")
    assert late["ok"] is True
    twice = await c2.send("checkin_response", {"checkin_seq": asked_2["seq"], "value": 5})
    assert twice["ok"] is False and twice["error"]["code"] == "not_found"
    # The late answer's own id again is a duplicate (its first position), not an error.
    resent = await c2.send("checkin_response", {"checkin_seq": asked_2["seq"], "value": 4}, "l1")
    assert resent == {"ok": True, "seq": late["seq"], "duplicate": True}
    answers = [e for e in await any_store.api.events(sid) if e["type"] == "checkin_response"]
    assert [(e["actor"]["id"], e["data"].get("late")) for e in answers] == [
        ("c-1", None),
        ("c-2", True),
    ]
    assert {e["data"]["checkin_seq"] for e in answers} == {request["seq"]}


async def test_an_answer_to_a_request_for_someone_else_is_not_found_before_and_after_expiry(
    any_store: LiveServer,
) -> None:
    _, therapist, (c1, c2) = await live_pair(
        any_store, {"checkin_unanswered": {"after_s": 1.0}}, clients=2
    )
    await therapist.send("checkin_request", {"instrument": "suds", "to": ["c-1"]})
    (asked,) = await c1.wait_type("checkin_request")
    # c-2 names the position c-1 has for it, and then every position c-2 has been given.
    guesses = [asked["seq"], *c2.seqs]
    for guess in guesses:
        before = await c2.send("checkin_response", {"checkin_seq": guess, "value": 1})
        assert before["ok"] is False and before["error"]["code"] == "not_found"
    await therapist.wait_for(lambda: bool(therapist.of_type("checkin_expired")), timeout=8)
    assert c2.of_type("checkin_request") == [] and c2.of_type("checkin_expired") == []
    for guess in [*guesses, *c2.seqs]:
        after = await c2.send("checkin_response", {"checkin_seq": guess, "value": 1})
        assert after["ok"] is False and after["error"]["code"] == "not_found"
    nothing = await c1.send("checkin_response", {"checkin_seq": 10_000, "value": 1})
    assert nothing["ok"] is False and nothing["error"]["code"] == "not_found"


async def test_a_client_cannot_mark_its_own_answer_late(any_store: LiveServer) -> None:
    _, therapist, (client, _) = await live_pair(any_store, clients=2)  # positions are c-1's own
    await therapist.send("checkin_request", {"instrument": "suds"})
    (asked,) = await client.wait_type("checkin_request")
    for late in (True, False, None):
        data = {"checkin_seq": asked["seq"], "value": 1, "late": late}
        refused = await client.send("checkin_response", data)
        assert refused["ok"] is False and refused["error"]["code"] == "invalid_payload"
    fine = await client.send("checkin_response", {"checkin_seq": asked["seq"], "value": 1})
    assert fine["ok"]


async def test_an_answer_racing_the_expiry_is_late_exactly_when_it_follows_it(
    any_store: LiveServer,
) -> None:
    """Answers sent around the moment each request expires: in the log, an answer is marked
    late if and only if it follows the request's `checkin_expired`, and the client has a
    `checkin_unanswered` cue if and only if its answer is late."""
    sid, therapist, (client,) = await live_pair(
        any_store, {"checkin_unanswered": {"after_s": 0.3}, "distress_high": {"enabled": False}}
    )
    requests = []
    for round_ in range(8):
        seen = len(client.of_type("checkin_request"))
        request = await therapist.send("checkin_request", {"instrument": "suds"})
        requests.append(request["seq"])
        position = (await client.wait_type("checkin_request", seen + 1))[seen]["seq"]
        await asyncio.sleep(0.24 + 0.015 * round_)  # from well before to just after the expiry
        answer = await client.send("checkin_response", {"checkin_seq": position, "value": 1})
        assert answer["ok"], answer
    # A late answer's expiry and cue are stored before it (its ack is in); an answer in time
    # means no expiry ever: wait past the last request's (0.3 s, and a timer scan of 0.2 s).
    await quiet_for(0.6)
    events = await any_store.api.events(sid)
    late_seen = on_time_seen = 0
    for seq in requests:
        (answer,) = [
            e for e in events if e["type"] == "checkin_response" and e["data"]["checkin_seq"] == seq
        ]
        expired = [
            e for e in events if e["type"] == "checkin_expired" and e["data"]["checkin_seq"] == seq
        ]
        unanswered = [
            e
            for e in events
            if e["type"] == "cue"
            and e["data"]["rule"] == "checkin_unanswered"
            and e["data"]["related_seq"] == [seq]
        ]
        late = answer["data"].get("late") is True
        assert late == bool(expired and expired[0]["seq"] < answer["seq"]), (seq, events)
        assert bool(unanswered) == late, seq
        if late:
            late_seen += 1
            assert unanswered[0]["seq"] < expired[0]["seq"] < answer["seq"]
        else:
            on_time_seen += 1
            assert not expired  # answered by every client it asked: it never expires
    print(f"\non time: {on_time_seen}, late: {late_seen}")

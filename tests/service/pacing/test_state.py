"""Pacing rules over real sockets: each fires when it should, stays quiet when it should not,
and no client ever receives a cue."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.conftest import LiveServer
from tests.service.pacing_helpers import cues_of, live_pair, quiet_for
from tests.support import Peer, next_position, session_seq

pytest_plugins = ["tests.service.pacing_fixtures"]

QUICK_PAUSE = {"pause_unacknowledged": {"after_s": 0.5}}


async def _answer(
    therapist: Peer, client: Peer, instrument: str, value: Any, client_id: str = "c-1"
) -> int:
    """The client answers a new check-in; the answer's session seq (as cues name it)."""
    request = therapist.send("checkin_request", {"instrument": instrument, "to": [client_id]})
    position = await next_position(client, "checkin_request", request)
    answer = await client.send("checkin_response", {"checkin_seq": position, "value": value})
    assert answer["ok"], answer
    return await session_seq(therapist, client, answer["seq"])


async def test_unacknowledged_pause_fires_one_urgent_cue_after_after_s(
    pacing_server: LiveServer,
) -> None:
    _, therapist, (client,) = await live_pair(pacing_server, QUICK_PAUSE)
    started = time.monotonic()
    pause = await client.send("pause")
    await client.send("resume")  # a resume does not cancel it
    (cue,) = await therapist.wait_type("cue")
    waited = time.monotonic() - started
    assert 0.45 <= waited < 3.0, waited
    assert cue["actor"] == {"id": "system", "role": "system"} and cue["to"] is None
    assert cue["data"]["rule"] == "pause_unacknowledged"
    assert cue["data"]["severity"] == "urgent"
    assert cue["data"]["client_id"] == "c-1"
    assert cue["data"]["related_seq"] == [await session_seq(therapist, client, pause["seq"])]
    assert cue["data"]["message"] and len(cue["data"]["message"]) < 120
    await quiet_for(1.0)
    assert len(cues_of(therapist)) == 1
    assert cues_of(client) == []


async def test_acknowledged_or_retracted_pause_fires_nothing(pacing_server: LiveServer) -> None:
    # Two clients: c-1's positions and the session's seqs differ (contract §9.1).
    _, therapist, (client, _) = await live_pair(pacing_server, QUICK_PAUSE, clients=2)
    first = await client.send("pause")
    seq = await session_seq(therapist, client, first["seq"])
    assert (await therapist.send("acknowledge", {"seq": seq}))["ok"]
    second = await client.send("pause")
    assert (await client.send("retract", {"seq": second["seq"]}))["ok"]
    await quiet_for(1.5)
    assert cues_of(therapist, "pause_unacknowledged") == []


async def test_rule_switched_off_fires_nothing(pacing_server: LiveServer) -> None:
    cues = {
        "pause_unacknowledged": {"enabled": False, "after_s": 0.3},
        "repeated_pause": {"enabled": False},
        "out_of_window": {"enabled": False},
    }
    _, therapist, (client,) = await live_pair(pacing_server, cues)
    await client.send("pause")
    await client.send("pause")
    await client.send("zone", {"zone": "too_much"})
    await quiet_for(1.2)
    assert cues_of(therapist) == []


async def test_distress_high_and_rising(pacing_server: LiveServer) -> None:
    cues = {"distress_high": {"threshold": 7}, "distress_rising": {"delta": 3}}
    _, therapist, (client, _) = await live_pair(pacing_server, cues, clients=2)
    low = await _answer(therapist, client, "suds", 2)
    mid = await _answer(therapist, client, "suds", 4)  # +2: quiet
    high = await _answer(therapist, client, "suds", 8)  # +4 and >= 7: both
    await therapist.wait_for(lambda: len(cues_of(therapist)) >= 2)
    await quiet_for(0.5)
    by_rule = {c["data"]["rule"]: c["data"] for c in cues_of(therapist)}
    assert set(by_rule) == {"distress_high", "distress_rising"}
    assert by_rule["distress_high"]["related_seq"] == [high]
    assert by_rule["distress_high"]["severity"] == "warn"
    assert by_rule["distress_rising"]["related_seq"] == [mid, high]
    assert low < mid
    assert cues_of(client) == []


async def test_out_of_window_from_signal_and_answer(pacing_server: LiveServer) -> None:
    _, therapist, (client, _) = await live_pair(pacing_server, clients=2)
    okay = await client.send("zone", {"zone": "okay"})
    signal = await client.send("zone", {"zone": "shut_down"})
    answer = await _answer(therapist, client, "zone", "too_much")
    await therapist.wait_for(lambda: len(cues_of(therapist, "out_of_window")) >= 2)
    related = sorted(c["data"]["related_seq"][0] for c in cues_of(therapist, "out_of_window"))
    assert related == [await session_seq(therapist, client, signal["seq"]), answer]
    assert await session_seq(therapist, client, okay["seq"]) not in related


async def test_repeated_pause_counts_unretracted_pauses_in_the_window(
    pacing_server: LiveServer,
) -> None:
    cues = {
        "repeated_pause": {"count": 2, "within_s": 600},
        "pause_unacknowledged": {"enabled": False},
    }
    _, therapist, (client, _) = await live_pair(pacing_server, cues, clients=2)
    first = await client.send("pause")
    assert (await client.send("retract", {"seq": first["seq"]}))["ok"]
    second = await client.send("pause")  # the retracted one does not count: quiet
    await client.send("resume")
    third = await client.send("pause")
    (cue,) = await therapist.wait_type("cue")
    assert cue["data"]["rule"] == "repeated_pause"
    assert cue["data"]["related_seq"] == [
        await session_seq(therapist, client, second["seq"]),
        await session_seq(therapist, client, third["seq"]),
    ]
    await quiet_for(0.5)
    assert len(cues_of(therapist)) == 1


async def test_checkin_unanswered_cues_each_silent_client_then_expires(
    pacing_server: LiveServer,
) -> None:
    cues = {"checkin_unanswered": {"after_s": 0.6}}
    _, therapist, clients = await live_pair(pacing_server, cues, clients=2)
    c1, c2 = clients
    request = await therapist.send("checkin_request", {"instrument": "suds"})
    (asked_c1,) = await c1.wait_type("checkin_request")
    (asked_c2,) = await c2.wait_type("checkin_request")
    assert (await c1.send("checkin_response", {"checkin_seq": asked_c1["seq"], "value": 3}))["ok"]
    (expired,) = await therapist.wait_type("checkin_expired", timeout=5)
    assert expired["data"] == {"checkin_seq": request["seq"]}
    assert expired["to"] is None  # the request's `to`: every client
    unanswered = cues_of(therapist, "checkin_unanswered")
    assert [c["data"]["client_id"] for c in unanswered] == ["c-2"]
    assert unanswered[0]["data"]["related_seq"] == [request["seq"]]
    assert unanswered[0]["data"]["severity"] == "info"
    assert unanswered[0]["seq"] < expired["seq"]
    (expired_c2,) = await c2.wait_type("checkin_expired")
    assert expired_c2["data"] == {"checkin_seq": asked_c2["seq"]}, "in c-2's own numbering"
    # v1.1 (§9.4): stored, marked late (tests/service/pacing/test_late_answers.py has the rest).
    late = await c2.send("checkin_response", {"checkin_seq": asked_c2["seq"], "value": 5})
    assert late["ok"] is True
    late_seq = await session_seq(therapist, c2, late["seq"])
    (stored,) = [e for e in therapist.events if e["seq"] == late_seq]
    assert stored["data"] == {"checkin_seq": request["seq"], "value": 5, "late": True}
    assert cues_of(c1) == [] and cues_of(c2) == []


async def test_checkin_answered_by_all_or_rule_off_never_expires(
    pacing_server: LiveServer,
) -> None:
    _, therapist, (client, _) = await live_pair(
        pacing_server, {"checkin_unanswered": {"after_s": 0.4}}, clients=2
    )
    await _answer(therapist, client, "suds", 1)
    await quiet_for(1.0)
    assert therapist.of_type("checkin_expired") == [] and cues_of(therapist) == []

    _, therapist2, (client2, _) = await live_pair(
        pacing_server, {"checkin_unanswered": {"enabled": False, "after_s": 0.3}}, clients=2
    )
    request = therapist2.send("checkin_request", {"instrument": "zone"})
    position = await next_position(client2, "checkin_request", request)
    await quiet_for(1.0)
    assert therapist2.of_type("checkin_expired") == []
    late = await client2.send("checkin_response", {"checkin_seq": position, "value": "okay"})
    assert late["ok"] is True
    late_seq = await session_seq(therapist2, client2, late["seq"])
    (stored,) = [e for e in therapist2.events if e["seq"] == late_seq]
    assert "late" not in stored["data"]  # a request that never expires is never answered late


async def test_disconnected_while_paused_is_urgent(pacing_server: LiveServer) -> None:
    # v1.1: after a grace for the client to come back (tests/service/pacing/test_disconnections.py).
    cues = {
        "pause_unacknowledged": {"enabled": False},
        "disconnected_in_distress": {"grace_s": 0.5},
    }
    _, therapist, (client,) = await live_pair(pacing_server, cues)
    pause = await client.send("pause")
    pause_seq = await session_seq(therapist, client, pause["seq"])
    await client.close()
    (cue,) = await therapist.wait_type("cue")
    assert cue["data"]["rule"] == "disconnected_in_distress"
    assert cue["data"]["severity"] == "urgent"
    assert cue["data"]["related_seq"] == [pause_seq]


async def test_disconnected_soon_after_distress_and_not_otherwise(
    pacing_server: LiveServer,
) -> None:
    cues = {"disconnected_in_distress": {"within_s": 300, "grace_s": 0.5}}
    _, therapist, (client, _) = await live_pair(pacing_server, cues, clients=2)
    high = await _answer(therapist, client, "suds", 9)
    await therapist.wait_for(lambda: len(cues_of(therapist, "distress_high")) == 1)
    await client.close()
    await therapist.wait_for(lambda: len(cues_of(therapist, "disconnected_in_distress")) == 1)
    (left_cue,) = cues_of(therapist, "disconnected_in_distress")
    assert left_cue["data"]["related_seq"] == [high]

    # A calm client who leaves fires nothing.
    _, therapist2, (client2,) = await live_pair(pacing_server, cues)
    await _answer(therapist2, client2, "suds", 2)
    await client2.close()
    await therapist2.wait_type("participant_left")
    await quiet_for(1.3)
    assert cues_of(therapist2) == []


async def test_time_remaining_once_per_client_info_or_warn(pacing_server: LiveServer) -> None:
    # A 1-minute session with before_end_s 59.5: due 0.5 s after it starts.
    cues = {"time_remaining": {"before_end_s": 59.5, "lookback_s": 900}}
    _, therapist, (c1, c2) = await live_pair(pacing_server, cues, clients=2, scheduled_minutes=1)
    await c2.send("zone", {"zone": "too_much"})  # a warn cue for c-2 only
    await therapist.wait_for(lambda: len(cues_of(therapist, "time_remaining")) == 2, timeout=5)
    await quiet_for(0.8)
    remaining = {c["data"]["client_id"]: c["data"] for c in cues_of(therapist, "time_remaining")}
    assert len(cues_of(therapist, "time_remaining")) == 2
    assert remaining["c-1"]["severity"] == "info"
    assert remaining["c-2"]["severity"] == "warn"
    assert "grounding" in remaining["c-2"]["message"]
    assert remaining["c-1"]["related_seq"] == []
    assert cues_of(c1) == [] and cues_of(c2) == []


async def test_time_remaining_never_fires_if_never_live(pacing_server: LiveServer) -> None:
    created = await pacing_server.create_session(
        settings={"cues": {"time_remaining": {"before_end_s": 59.9}}}, scheduled_minutes=1
    )
    therapist = await pacing_server.join(created["tokens"]["t-1"])  # alone: never live
    await quiet_for(1.0)
    assert therapist.of_type("session_started") == []
    assert cues_of(therapist) == []


async def test_a_client_never_receives_a_cue_live_or_in_replay(pacing_server: LiveServer) -> None:
    created = await pacing_server.create_session(settings={"cues": QUICK_PAUSE})
    sid = created["session"]["id"]
    therapist = await pacing_server.join(created["tokens"]["t-1"])
    client = await pacing_server.join(created["tokens"]["c-1"])
    await therapist.wait_type("session_started")
    await client.send("pause")
    await client.send("zone", {"zone": "too_much"})
    await therapist.wait_for(lambda: len(cues_of(therapist)) >= 2)
    await asyncio.sleep(0.3)
    logged = [e for e in await pacing_server.api.events(sid) if e["type"] == "cue"]
    assert len(logged) == 2
    assert cues_of(client) == []
    replay = await pacing_server.join(created["tokens"]["c-1"], last_seq=0)
    await asyncio.sleep(0.3)
    assert replay.events and cues_of(replay) == []


async def test_disconnected_in_distress_from_a_platform_leave(pacing_server: LiveServer) -> None:
    """The video platform reports the client left (as the webhook route applies it) while
    the widget stays connected: the cue fires once and says it was the video call."""
    from integrations.base import PlatformEvent, PlatformEventKind
    from service.appkeys import LIFECYCLE

    body = {
        "platform": "zoom",
        "participants": [
            {"id": "t-1", "role": "therapist", "platform_ref": "zt"},
            {"id": "c-1", "role": "client", "platform_ref": "zc"},
        ],
    }
    cues = {
        "pause_unacknowledged": {"enabled": False},
        "disconnected_in_distress": {"grace_s": 0.5},
    }
    sid, therapist, (client,) = await live_pair(pacing_server, cues, **body)
    external = (await pacing_server.api.call("GET", f"/api/v1/sessions/{sid}"))[1]["session"][
        "external_id"
    ]
    lifecycle = pacing_server.app[LIFECYCLE]

    async def platform(kind: PlatformEventKind, key: str) -> None:
        event = PlatformEvent(kind, external, "zc", key)
        assert await lifecycle.apply_platform_event("demo", "zoom", event) == "applied"

    await platform(PlatformEventKind.PARTICIPANT_JOINED, "j1")
    pause = await client.send("pause")
    await platform(PlatformEventKind.PARTICIPANT_LEFT, "l1")
    await therapist.wait_for(lambda: len(cues_of(therapist)) == 1)
    (cue,) = cues_of(therapist)
    assert cue["data"]["rule"] == "disconnected_in_distress"
    assert cue["data"]["related_seq"] == [await session_seq(therapist, client, pause["seq"])]
    assert "video call" in cue["data"]["message"]
    await client.close()  # the widget leaves too, in the same pause: still one cue
    await therapist.wait_for(
        lambda: any(
            e["type"] == "participant_left" and e["data"]["via"] == "widget"
            for e in therapist.events
        )
    )
    await quiet_for(1.2)  # past the widget leave's own grace
    assert len(cues_of(therapist)) == 1

"""`disconnected_in_distress` waits `grace_s` for the client to come back by any route (contract
§5 and §9.3): a reload or a short drop raises nothing; a client still away after the grace does,
once per distress episode. First the pure fold (`PacingState`), then real servers on both stores."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integrations.base import PlatformEvent, PlatformEventKind
from service.appkeys import LIFECYCLE
from service.events import SYSTEM_ACTOR
from tests.conftest import LiveServer
from tests.service.pacing.support import THERAPIST, Folded, client, presence
from tests.service.pacing_helpers import live_pair, quiet_for
from tests.support import Api, Peer, ServiceProcess, joined, numbered_apart, session_seq

C1 = client()
RULE = "disconnected_in_distress"


def paused_and_left(f: Folded, via: str = "widget") -> tuple[int, int]:
    """c-1 joins, pauses at 10 s and leaves at 12 s; returns (pause seq, leave seq)."""
    f.add(0, *presence("participant_joined", via=via))
    pause = f.add(10, "pause", C1)
    left = f.add(12, *presence("participant_left", via=via))
    return pause, left


# -- the fold ------------------------------------------------------------------------------------


def test_a_client_still_away_after_the_grace_fires_once_not_before() -> None:
    f = Folded.of({"pause_unacknowledged": {"enabled": False}})
    pause, _ = paused_and_left(f)
    assert f.due(12 + 19.9) == []
    (cue,) = f.due(12 + 20)  # the default grace_s: 20
    assert (cue.rule, cue.severity, cue.related_seq) == (RULE, "urgent", (pause,))
    assert cue.message == (
        "The client left the session while paused and has not come back after 20 s."
    )
    assert f.due(3600) == []


@pytest.mark.parametrize("back_via", ["widget", "platform"])
@pytest.mark.parametrize("left_via", ["widget", "platform"])
def test_a_return_by_any_route_within_the_grace_cancels_it(left_via: str, back_via: str) -> None:
    f = Folded.of({"pause_unacknowledged": {"enabled": False}})
    paused_and_left(f, via=left_via)
    f.add(13, *presence("participant_joined", via=back_via))
    assert f.due(3600) == []


def test_a_return_before_the_leave_does_not_count() -> None:
    f = Folded.of({"pause_unacknowledged": {"enabled": False}})
    f.add(0, *presence("participant_joined", via="platform"))
    pause, _ = paused_and_left(f)  # joins the widget, pauses, leaves the widget
    (cue,) = f.due(40)
    assert cue.related_seq == (pause,)


def test_back_then_gone_again_waits_a_new_grace_and_fires_once_for_the_episode() -> None:
    f = Folded.of({"pause_unacknowledged": {"enabled": False}})
    pause, _ = paused_and_left(f)
    f.add(13, *presence("participant_joined"))  # a reload
    f.add(25, *presence("participant_left"))  # then gone for good
    assert f.due(32) == []  # the first leave's deadline: the client came back since
    assert f.due(44.9) == []
    (cue,) = f.due(45)
    assert cue.related_seq == (pause,)
    f.add(46, *presence("participant_left", via="platform"))  # the same pause: no second cue
    assert f.due(3600) == []


def test_a_return_after_the_cue_leaves_the_cue_in_place() -> None:
    f = Folded.of({"pause_unacknowledged": {"enabled": False}})
    paused_and_left(f)
    assert len(f.due(32)) == 1
    f.add(33, *presence("participant_joined"))
    assert f.due(3600) == []  # nothing more, nothing withdrawn: the log keeps what happened


def test_grace_s_zero_fires_at_the_leave() -> None:
    f = Folded.of({"pause_unacknowledged": {"enabled": False}, RULE: {"grace_s": 0}})
    paused_and_left(f)
    (cue,) = f.due(12)
    assert cue.message == "The client left the session while paused."


def test_a_pause_withdrawn_during_the_grace_fires_nothing() -> None:
    f = Folded.of({"pause_unacknowledged": {"enabled": False}})
    pause, _ = paused_and_left(f, via="platform")  # the widget stays: it can still retract
    f.add(14, "retract", C1, {"seq": pause})
    assert f.due(3600) == []


@pytest.mark.parametrize(
    ("signal", "words"),
    [
        (("zone", {"zone": "shut_down"}), "of reporting distress"),
        (("help_now", {}), "of asking for help"),
    ],
)
def test_a_leave_within_within_s_of_distress_or_help_fires(
    signal: tuple[str, dict[str, Any]], words: str
) -> None:
    f = Folded.of({RULE: {"within_s": 60, "grace_s": 5}})
    f.add(0, *presence("participant_joined"))
    distress = f.add(100, signal[0], C1, signal[1])
    f.due(100)  # its own cue
    f.add(159, *presence("participant_left"))
    (cue,) = [c for c in f.due(164) if c.rule == RULE]
    assert cue.related_seq == (distress,)
    assert f"within 60 s {words} and has not come back after 5 s" in cue.message

    late = Folded.of({RULE: {"within_s": 60, "grace_s": 5}})
    late.add(100, signal[0], C1, signal[1])
    late.add(161, *presence("participant_left"))  # over a minute later: calm enough
    assert [c for c in late.due(3600) if c.rule == RULE] == []


def test_switched_off_or_ended_fires_nothing() -> None:
    off = Folded.of({RULE: {"enabled": False}, "pause_unacknowledged": {"enabled": False}})
    paused_and_left(off)
    assert off.due(3600) == [] and off.timers == {}

    ended = Folded.of({"pause_unacknowledged": {"enabled": False}})
    paused_and_left(ended)
    ended.add(13, "end_session", THERAPIST)
    ended.add(13, "session_ended", SYSTEM_ACTOR, {"by": "therapist"})
    assert ended.due(3600) == []


def test_the_same_log_gives_the_same_cues() -> None:
    """Pure: a fold rebuilt from the log (a restart, another process) decides alike."""
    runs = []
    for _ in range(2):
        f = Folded.of({"pause_unacknowledged": {"enabled": False}})
        paused_and_left(f)
        f.add(13, *presence("participant_joined"))
        f.add(20, *presence("participant_left", via="platform"))
        runs.append(f.due(3600))
    assert runs[0] == runs[1] and len(runs[0]) == 1


# -- real servers, both stores ---------------------------------------------------------------------

GRACE = 1.0
PAST_GRACE = GRACE + 1.0  # the grace, and a few timer scans (every 0.2 s here)
QUIET_PAUSE = {"pause_unacknowledged": {"enabled": False}, RULE: {"grace_s": GRACE}}


def urgent(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "cue" and e["data"]["severity"] == "urgent"]


@pytest.mark.parametrize("away_s", [0.0, 0.3])
async def test_a_reload_while_paused_raises_no_urgent_cue(
    any_store: LiveServer, away_s: float
) -> None:
    """The page reloads: gone, and back within a second (0 s: the new socket may connect before
    the old one's departure is logged; the log must still show the return)."""
    created = await any_store.create_session(settings={"cues": QUIET_PAUSE})
    sid = created["session"]["id"]
    therapist = await any_store.join(created["tokens"]["t-1"])
    first = await any_store.join(created["tokens"]["c-1"])
    await therapist.wait_type("session_started")
    assert (await first.send("pause"))["ok"]
    await first.close()
    await asyncio.sleep(away_s)
    again = await any_store.join(created["tokens"]["c-1"])
    assert again.welcome is not None and again.welcome["state"]["clients"]["c-1"]["paused"]
    await quiet_for(PAST_GRACE)
    assert urgent(therapist.events) == []
    events = await any_store.api.events(sid)
    assert not [e for e in events if e["type"] == "cue"]
    presence_of_c1 = [
        e["type"]
        for e in events
        if e["type"].startswith("participant_") and e["data"]["participant"]["id"] == "c-1"
    ]
    assert presence_of_c1[-1] == "participant_joined"  # the log shows the client back
    status, got = await any_store.api.call("GET", f"/api/v1/sessions/{sid}")
    assert status == 200
    assert {p["id"]: p["connected"] for p in got["session"]["participants"]}["c-1"] is True


async def test_a_drop_longer_than_the_grace_raises_one_urgent_cue(any_store: LiveServer) -> None:
    sid, therapist, (client, _) = await live_pair(any_store, QUIET_PAUSE, clients=2)
    pause = await client.send("pause")
    pause_seq = await session_seq(therapist, client, pause["seq"])  # c-1 numbers it its own way
    await client.close()
    left = time.monotonic()
    await therapist.wait_type("participant_left")
    await therapist.wait_for(lambda: len(urgent(therapist.events)) == 1, timeout=GRACE + 5)
    assert time.monotonic() - left >= GRACE - 0.1  # not before the grace
    (cue,) = urgent(therapist.events)
    assert cue["data"]["rule"] == RULE and cue["data"]["related_seq"] == [pause_seq]
    # Coming back now withdraws nothing, and no second cue follows.
    await any_store.join(await _client_token(any_store, sid))
    await quiet_for(GRACE)  # five timer scans
    assert len(urgent(therapist.events)) == 1


async def _client_token(server: LiveServer, sid: str) -> str:
    """A fresh join token for c-1, as the vendor mints one."""
    path = f"/api/v1/sessions/{sid}/tokens"
    status, body = await server.api.call("POST", path, {"participant_id": "c-1"})
    assert status == 200, body
    return str(body["token"])


async def _platform_session(server: LiveServer) -> tuple[str, str, Peer, Peer]:
    body = {
        "platform": "zoom",
        "participants": [
            {"id": "t-1", "role": "therapist", "platform_ref": "zt"},
            {"id": "c-1", "role": "client", "platform_ref": "zc"},
            {"id": "c-2", "role": "client"},  # c-1's positions and the session's seqs differ
        ],
    }
    sid, therapist, (client, _) = await live_pair(server, QUIET_PAUSE, clients=2, **body)
    status, got = await server.api.call("GET", f"/api/v1/sessions/{sid}")
    assert status == 200
    return sid, got["session"]["external_id"], therapist, client


async def _platform(server: LiveServer, external: str, kind: PlatformEventKind, key: str) -> None:
    """A platform's join or leave for c-1, as the webhook route applies it."""
    event = PlatformEvent(kind, external, "zc", key)
    assert await server.app[LIFECYCLE].apply_platform_event("demo", "zoom", event) == "applied"


async def test_a_platform_leave_and_rejoin_within_the_grace_raises_nothing(
    any_store: LiveServer,
) -> None:
    _, external, therapist, client = await _platform_session(any_store)
    await _platform(any_store, external, PlatformEventKind.PARTICIPANT_JOINED, "j1")
    await client.send("pause")
    await _platform(any_store, external, PlatformEventKind.PARTICIPANT_LEFT, "l1")
    await asyncio.sleep(0.3)  # back well within the grace
    await _platform(any_store, external, PlatformEventKind.PARTICIPANT_JOINED, "j2")
    await quiet_for(PAST_GRACE)
    assert urgent(therapist.events) == []


async def test_a_platform_leave_without_a_return_fires_and_a_widget_return_cancels(
    any_store: LiveServer,
) -> None:
    _, external, therapist, client = await _platform_session(any_store)
    await _platform(any_store, external, PlatformEventKind.PARTICIPANT_JOINED, "j1")
    pause = await client.send("pause")
    await _platform(any_store, external, PlatformEventKind.PARTICIPANT_LEFT, "l1")
    await therapist.wait_for(lambda: len(urgent(therapist.events)) == 1, timeout=GRACE + 5)
    (cue,) = urgent(therapist.events)
    assert cue["data"]["related_seq"] == [await session_seq(therapist, client, pause["seq"])]
    assert "video call" in cue["data"]["message"]

    # Another session: the client leaves the video call, and its widget reconnects (a return by
    # another route) within the grace: nothing fires.
    sid2, external2, therapist2, client2 = await _platform_session(any_store)
    await _platform(any_store, external2, PlatformEventKind.PARTICIPANT_JOINED, "j1")
    await client2.send("pause")
    await _platform(any_store, external2, PlatformEventKind.PARTICIPANT_LEFT, "l1")
    await client2.close()
    await therapist2.wait_for(
        lambda: any(
            e["data"].get("via") == "widget" for e in therapist2.of_type("participant_left")
        )
    )
    await any_store.join(await _client_token(any_store, sid2))
    await quiet_for(PAST_GRACE)
    assert urgent(therapist2.events) == []


@pytest.mark.slow  # spawns a service process
async def test_a_departure_s_grace_runs_across_a_sigkill_and_restart(tmp_path: Path) -> None:
    """The client leaves while paused and the process dies within the grace: after the restart
    the cue fires once for the client still away, and never for the one that came back."""
    service = await ServiceProcess(tmp_path).start()
    peers: list[Peer] = []
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            sessions = []
            for _ in range(2):
                cues = {**QUIET_PAUSE, RULE: {"grace_s": 4}}  # past a kill and a restart
                created = await api.create(clients=2, settings={"cues": cues})
                await numbered_apart(service.url, created["tokens"]["c-2"])
                therapist, (client,) = await joined(service.url, created)
                peers += [therapist, client]
                pause = await client.send("pause")
                pause_seq = await session_seq(therapist, client, pause["seq"])
                assert pause_seq != pause["seq"]
                await client.close()
                await therapist.wait_for(
                    lambda t=therapist: any(
                        e["data"]["participant"]["id"] == "c-1"
                        for e in t.of_type("participant_left")
                    )
                )
                sessions.append((created, pause_seq))
            service.kill()  # within the grace: the timers are in the store
            await service.start()
            (away, away_pause), (back, _) = sessions
            returned = await Peer(service.url, back["tokens"]["c-1"]).connect()
            peers.append(returned)
            watcher = await Peer(service.url, away["tokens"]["t-1"]).connect()
            peers.append(watcher)
            await watcher.wait_for(lambda: len(urgent(watcher.events)) == 1, timeout=16)
            (cue,) = urgent(watcher.events)
            assert cue["data"]["related_seq"] == [away_pause]
            await asyncio.sleep(2.0)
            assert len(urgent(watcher.events)) == 1
            back_events = await api.events(back["session"]["id"])
            assert urgent(back_events) == []
            assert len(urgent(await api.events(away["session"]["id"]))) == 1
    finally:
        for peer in peers:
            await peer.close()
        service.terminate()

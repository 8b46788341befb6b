"""Timers survive the service: a pending cue fires exactly once across SIGKILL and restart, a
deadline that passed while the service was down fires as soon as it is back, events stored just
before a crash still get their timers (the backlog scan), and a timer is claimed by one store
client at a time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from service.appkeys import PACING
from service.store.base import PacingProgress, TimerSpec
from service.store.sqlite import SQLiteStore
from tests.conftest import LiveServer
from tests.service.pacing_helpers import cues_of, live_pair
from tests.support import (
    Api,
    Peer,
    ServiceProcess,
    joined,
    numbered_apart,
    session_seq,
    stored_seq,
)

pytest_plugins = ["tests.service.pacing_fixtures"]


def _cues(events: list[dict[str, object]], rule: str) -> list[dict[str, object]]:
    return [e for e in events if e["type"] == "cue" and e["data"]["rule"] == rule]  # type: ignore[index]


async def _paused(
    service: ServiceProcess, api: Api, peers: list[Peer], after_s: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A live session whose c-1 has paused (`pause_unacknowledged` after `after_s`), its peers
    added to `peers`: (the created session, the pause's ack, in c-1's own numbering, which
    differs from the session's: c-2 came and went first)."""
    cues = {"pause_unacknowledged": {"after_s": after_s}}
    created = await api.create(clients=2, settings={"cues": cues})
    await numbered_apart(service.url, created["tokens"]["c-2"])
    therapist, (client,) = await joined(service.url, created)
    peers += [therapist, client]
    pause = await client.send("pause", id="the-pause")
    assert pause["ok"], pause
    return created, pause


@pytest.mark.slow
async def test_pending_cue_fires_exactly_once_across_sigkill_and_restart(tmp_path: Path) -> None:
    service = await ServiceProcess(tmp_path).start()
    peers: list[Peer] = []
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created, pause = await _paused(service, api, peers, after_s=1.0)
            sid = created["session"]["id"]
            service.kill()  # the timer is pending (or not even saved yet)
            killed_at = time.monotonic()
            await asyncio.sleep(1.5)  # the deadline passes while the service is down
            await service.start()
            restarted = time.monotonic()
            watcher = await Peer(service.url, created["tokens"]["t-1"]).connect()
            peers.append(watcher)
            await watcher.wait_for(
                lambda: len(cues_of(watcher, "pause_unacknowledged")) == 1, timeout=10
            )
            fired_after_restart = time.monotonic() - restarted
            (cue,) = cues_of(watcher, "pause_unacknowledged")
            pause_seq = stored_seq(await api.events(sid), "the-pause")
            assert cue["data"]["related_seq"] == [pause_seq] != [pause["seq"]]
            # Killed again after it fired, and restarted: it does not fire a second time.
            service.kill()
            await service.start()
            await asyncio.sleep(1.5)  # a timer scan (every second) and more: no second firing
            events = await api.events(sid)
            assert len(_cues(events, "pause_unacknowledged")) == 1
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
            print(
                f"\ncue after restart: {fired_after_restart:.2f} s "
                f"(down {restarted - killed_at:.2f} s)"
            )
    finally:
        for peer in peers:
            await peer.close()
        service.terminate()


AFTER_S = 4.0  # longer than a kill and a restart (about 1.5 s), so the timer is still pending


@pytest.mark.slow
async def test_timer_pending_at_sigkill_fires_on_time_after_a_quick_restart(
    tmp_path: Path,
) -> None:
    service = await ServiceProcess(tmp_path).start()
    peers: list[Peer] = []
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created, pause = await _paused(service, api, peers, after_s=AFTER_S)
            sid = created["session"]["id"]
            paused_at = time.monotonic()
            await asyncio.sleep(0.5)
            service.kill()
            await service.start()
            watcher = await Peer(service.url, created["tokens"]["t-1"]).connect()
            peers.append(watcher)
            assert cues_of(watcher) == []  # not due yet
            await watcher.wait_for(lambda: len(cues_of(watcher)) == 1, timeout=12)
            late = time.monotonic() - paused_at - AFTER_S
            assert -0.2 <= late < 3.0, late
            events = await api.events(sid)
            assert len(_cues(events, "pause_unacknowledged")) == 1
            related = _cues(events, "pause_unacknowledged")[0]["data"]["related_seq"]  # type: ignore[index]
            assert related == [stored_seq(events, "the-pause")] != [pause["seq"]]
    finally:
        for peer in peers:
            await peer.close()
        service.terminate()


async def test_events_stored_before_a_crash_get_their_timers_from_the_backlog(
    pacing_server: LiveServer,
) -> None:
    """The gap between an event's commit and the pacing save: a fresh engine finds it."""
    pacing = pacing_server.app[PACING]
    sid, therapist, (client, _) = await live_pair(
        pacing_server, {"pause_unacknowledged": {"after_s": 0.5}}, clients=2
    )
    pacing.hub.applied.unsubscribe(pacing.observe)  # as if the process died after commit
    pause = await client.send("pause")
    await asyncio.sleep(0.3)
    assert cues_of(therapist) == []
    pacing.sessions.clear()  # forget everything folded: as a restarted process would
    pacing.hub.applied.subscribe(pacing.observe)
    await therapist.wait_for(lambda: len(cues_of(therapist)) == 1, timeout=5)
    pause_seq = await session_seq(therapist, client, pause["seq"])
    assert cues_of(therapist)[0]["data"]["related_seq"] == [pause_seq] != [pause["seq"]]


async def test_a_due_timer_is_claimed_by_one_store_client_at_a_time(tmp_path: Path) -> None:
    first, second = SQLiteStore(tmp_path / "c.db"), SQLiteStore(tmp_path / "c.db")
    await first.open()
    await second.open()
    try:
        server_sessions = await _make_session(first)
        now = time.time()
        await first.save_pacing(
            [
                PacingProgress(
                    server_sessions,
                    1,
                    tuple(TimerSpec(server_sessions, f"k{i}", now - 1) for i in range(40)),
                )
            ]
        )
        a, b = await asyncio.gather(
            first.claim_due_timers("a", now, 30, 25), second.claim_due_timers("b", now, 30, 25)
        )
        keys_a, keys_b = {t.key for t in a}, {t.key for t in b}
        assert not keys_a & keys_b and len(keys_a | keys_b) == 40
        assert await first.claim_due_timers("c", now, 30, 100) == []  # all held
        await first.finish_timers([(server_sessions, k) for k in keys_a])
        later = await second.claim_due_timers("d", now + 31, 30, 100)  # lapsed claims only
        assert {t.key for t in later} == keys_b
        await second.finish_timers([(server_sessions, k) for k in keys_b])
        # Scheduling a done timer again changes nothing.
        await first.save_pacing(
            [PacingProgress(server_sessions, 1, (TimerSpec(server_sessions, "k0", now),))]
        )
        assert await first.claim_due_timers("e", now + 100, 30, 100) == []
    finally:
        await first.release_pacing()
        await second.release_pacing()
        await first.close()
        await second.close()


async def _make_session(store: SQLiteStore) -> str:
    import secrets

    from service.store.base import ParticipantRecord, SessionRecord, SessionStateName, utc_now

    record = SessionRecord(
        id="ses_" + secrets.token_hex(6),
        tenant_id="demo",
        platform="generic",
        external_id="room",
        state=SessionStateName.OPEN,
        created_at=utc_now(),
        scheduled_minutes=50,
        participants=(ParticipantRecord("t-1", "therapist"), ParticipantRecord("c-1", "client")),
        settings={"cues": {}},
        epoch="e",
    )
    await store.create_session(record)
    return record.id

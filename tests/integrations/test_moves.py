"""MoveTracker: a leave that is half of a move between a meeting's rooms is no leave.

The stays are event_sync's: a move into a breakout room is the occupant leaving the main room
and joining the breakout room on the same XMPP connection (`occupant_jid`), the breakout
room's events naming the main room (jitsi-contrib/prosody-plugins `event_sync/README.md`,
"Events from breakout rooms"); the requests may arrive in either order.
"""

from __future__ import annotations

import asyncio

import pytest

from integrations.base import PlatformEvent, PlatformEventKind, Stay
from integrations.moves import MoveTracker

JOINED = PlatformEventKind.PARTICIPANT_JOINED
LEFT = PlatformEventKind.PARTICIPANT_LEFT
CONNECTION = "14f01c40@meet.example.com/OWhl8jSh"
MAIN = Stay("", CONNECTION, 100.0)
BREAKOUT = Stay("e0f49fd5", CONNECTION, 160.0)
MAIN_AGAIN = Stay("", CONNECTION, 220.0)


class Recorder:
    def __init__(self) -> None:
        self.applied: list[tuple[PlatformEventKind, Stay | None]] = []

    async def __call__(self, event: PlatformEvent) -> str:
        self.applied.append((event.kind, event.stay))
        return "applied"


def event(kind: PlatformEventKind, stay: Stay | None, ref: str = "c-ref") -> PlatformEvent:
    return PlatformEvent(kind, "room", ref, f"{kind}:{stay}", stay=stay)


async def deliver(
    tracker: MoveTracker, recorder: Recorder, *events: PlatformEvent, gap: float = 0.01
) -> list[str]:
    """Deliver events as concurrent requests would arrive, `gap` seconds apart."""

    async def one(delay: float, e: PlatformEvent) -> str:
        await asyncio.sleep(delay)
        # None: the leave was half of a move and nothing was applied.
        return await tracker.apply("acme", "jitsi", e, recorder) or "ignored"

    return list(await asyncio.gather(*(one(i * gap, e) for i, e in enumerate(events))))


async def test_a_move_in_order_logs_no_leave() -> None:
    tracker, recorder = MoveTracker(hold_s=0.1), Recorder()
    await deliver(tracker, recorder, event(JOINED, MAIN))
    results = await deliver(tracker, recorder, event(LEFT, MAIN), event(JOINED, BREAKOUT))
    assert results == ["ignored", "applied"]
    assert [kind for kind, _ in recorder.applied] == [JOINED, JOINED]


async def test_a_move_out_of_order_logs_no_leave() -> None:
    """The breakout join overtakes the main room's leave (event_sync retried the leave)."""
    tracker, recorder = MoveTracker(hold_s=0.1), Recorder()
    await deliver(tracker, recorder, event(JOINED, MAIN))
    results = await deliver(tracker, recorder, event(JOINED, BREAKOUT), event(LEFT, MAIN))
    assert results == ["applied", "ignored"]
    assert LEFT not in [kind for kind, _ in recorder.applied]


async def test_there_and_back_again_logs_no_leave_in_any_order() -> None:
    tracker, recorder = MoveTracker(hold_s=0.1), Recorder()
    await deliver(tracker, recorder, event(JOINED, MAIN))
    moves = [
        event(LEFT, MAIN),
        event(JOINED, BREAKOUT),
        event(LEFT, BREAKOUT),
        event(JOINED, MAIN_AGAIN),
    ]
    await deliver(tracker, recorder, *reversed(moves))
    assert LEFT not in [kind for kind, _ in recorder.applied]


async def test_a_real_leave_is_applied_after_the_hold() -> None:
    tracker, recorder = MoveTracker(hold_s=0.15), Recorder()
    await deliver(tracker, recorder, event(JOINED, MAIN))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await deliver(tracker, recorder, event(LEFT, MAIN)) == ["applied"]
    assert loop.time() - started >= 0.15
    assert recorder.applied[-1] == (LEFT, MAIN)


async def test_a_real_leave_from_a_breakout_room_is_applied() -> None:
    tracker, recorder = MoveTracker(hold_s=0.05), Recorder()
    await deliver(tracker, recorder, event(JOINED, MAIN))
    await deliver(tracker, recorder, event(LEFT, MAIN), event(JOINED, BREAKOUT))
    assert await deliver(tracker, recorder, event(LEFT, BREAKOUT)) == ["applied"]


async def test_joining_and_leaving_quickly_is_still_a_leave() -> None:
    """The leave of the very stay that just began is not superseded by it."""
    tracker, recorder = MoveTracker(hold_s=0.05), Recorder()
    results = await deliver(tracker, recorder, event(JOINED, MAIN), event(LEFT, MAIN))
    assert results == ["applied", "applied"]


async def test_a_leave_that_overtakes_its_own_join_is_still_a_leave() -> None:
    tracker, recorder = MoveTracker(hold_s=0.05), Recorder()
    results = await deliver(tracker, recorder, event(LEFT, MAIN), event(JOINED, MAIN))
    assert results == ["applied", "applied"]


async def test_an_older_stay_whose_leave_was_lost_does_not_hide_a_later_leave() -> None:
    tracker, recorder = MoveTracker(hold_s=0.05), Recorder()
    stale = Stay("", "old@meet.example.com/x", 10.0)
    await deliver(tracker, recorder, event(JOINED, stale), event(JOINED, MAIN))
    assert await deliver(tracker, recorder, event(LEFT, MAIN)) == ["applied"]


async def test_another_participant_or_meeting_does_not_hide_a_leave() -> None:
    tracker, recorder = MoveTracker(hold_s=0.05), Recorder()
    await deliver(tracker, recorder, event(JOINED, MAIN), event(JOINED, BREAKOUT, ref="t-ref"))
    assert await deliver(tracker, recorder, event(LEFT, MAIN)) == ["applied"]


@pytest.mark.parametrize(
    "passing",
    [
        PlatformEvent(LEFT, "room", "c-ref", "k"),  # no stay: other platforms
        PlatformEvent(LEFT, "room", None, "k", stay=MAIN),  # no participant
        PlatformEvent(PlatformEventKind.SESSION_ENDED, "room", None, "k"),
    ],
)
async def test_events_without_a_stay_pass_straight_through(passing: PlatformEvent) -> None:
    tracker, recorder = MoveTracker(hold_s=30), Recorder()
    result = await asyncio.wait_for(tracker.apply("acme", "jitsi", passing, recorder), 1)
    assert result == "applied"


async def test_participants_unheard_of_for_long_are_forgotten() -> None:
    now = [0.0]
    tracker, recorder = MoveTracker(hold_s=0.01, clock=lambda: now[0]), Recorder()
    await deliver(tracker, recorder, event(JOINED, BREAKOUT))
    now[0] = 13 * 3600.0
    await deliver(tracker, recorder, event(JOINED, MAIN, ref="someone-else"))
    assert await deliver(tracker, recorder, event(LEFT, MAIN)) == ["applied"]

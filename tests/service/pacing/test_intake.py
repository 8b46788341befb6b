"""How the pacing engine takes in applied events (service/pacing/engine.py `observe`): the next
event of a session folded here is folded at once, without a task (issue 18: a task per event was
most of the pacing's cost), and what the fold calls for, a timer, is saved with it, not left for
the maintenance loop, which here runs only at start."""

from __future__ import annotations

import dataclasses

from service.appkeys import HUB
from tests.service.pacing_helpers import FAST, PacingFactory, cues_of, live_pair, pacing_of

pytest_plugins = ["tests.service.pacing_fixtures"]

# No backstop within a test: the flush of lagging cursors (which also saves what a failed save
# left) and the backlog scan run at start only.
NO_BACKSTOP = dataclasses.replace(FAST, flush_s=3600.0, backlog_scan_s=3600.0)


async def test_a_timer_called_for_by_a_folded_event_is_saved_with_it(
    pacing_factory: PacingFactory,
) -> None:
    server = await pacing_factory(options=NO_BACKSTOP)
    _, therapist, (client,) = await live_pair(server, {"pause_unacknowledged": {"after_s": 0.5}})
    # Folded by now: the joins and the start; the pause comes as the next event.
    assert (await client.send("pause"))["ok"]
    await therapist.wait_for(lambda: cues_of(therapist, "pause_unacknowledged"), timeout=5)


async def test_events_folded_at_once_leave_the_fold_level_with_the_session(
    pacing_factory: PacingFactory,
) -> None:
    server = await pacing_factory(options=NO_BACKSTOP)
    session_id, therapist, (client,) = await live_pair(server)
    for _ in range(5):
        assert (await client.send("keep_going"))["ok"]
    await therapist.wait_for(lambda: len(therapist.of_type("keep_going")) == 5)
    sp = pacing_of(server).sessions[session_id]
    assert sp.state is not None and not sp.busy and not sp.inbox
    assert sp.state.head == server.app[HUB].runtimes[session_id].head

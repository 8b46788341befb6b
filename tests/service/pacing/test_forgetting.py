"""The pacing fold keeps what its rules can still look at, and no more (issue 18: a loaded
session's memory must not grow with its log): pauses, distress marks, cues, check-ins and logged
ids older than the longest rule window plus a margin are forgotten, the same way for the same
log; an open pause and an unanswered check-in are kept whatever their age."""

from __future__ import annotations

from service.events import SYSTEM_ACTOR
from service.pacing.state import FORGET_MARGIN_S
from tests.service.pacing.support import THERAPIST, Folded, client, presence

C1 = client()
PAUSES_KEPT = 600.0  # repeated_pause.within_s, the longest default window looking at pauses


def _two_hours_of_signals(folded: Folded, start_s: float) -> float:
    at = start_s
    while at < start_s + 7200:
        at += 2.0
        folded.add(at, "keep_going", C1)
    return at


def test_a_long_session_keeps_only_what_its_rules_can_look_at():
    folded = Folded.of()
    folded.add(0, "session_started", SYSTEM_ACTOR)
    acknowledged = folded.add(10, "pause", C1)
    folded.add(12, "acknowledge", THERAPIST, {"seq": acknowledged})
    folded.add(13, "resume", C1)
    folded.add(20, "zone", C1, {"zone": "too_much"})
    request = folded.add(30, "checkin_request", THERAPIST, {"instrument": "suds"})
    folded.add(35, "checkin_response", C1, {"checkin_seq": request, "value": 8})
    folded.due(60)  # the out-of-window and distress cues are logged
    still_open = folded.add(100, "pause", C1)  # never resumed
    unanswered = folded.add(110, "checkin_request", THERAPIST, {"instrument": "suds"})
    state = folded.state
    assert state.logged and state.checkins
    end = _two_hours_of_signals(folded, 120)
    track = state.clients["c-1"]
    assert list(track.pauses) == [still_open], "the open pause is kept, the old one forgotten"
    assert track.distress == {} and track.cues == []
    assert list(state.checkins) == [unanswered]
    assert state.logged == {} and state.pending == {}
    # Timers long due find nothing to log but the time left (computed when it fires)...
    assert [cue.rule for cue in folded.due(end)] == ["time_remaining"]
    # ...and the open pause still leads to its cue when the client leaves.
    kind, actor, data = presence("participant_left")
    left = folded.add(end + 1, kind, actor, data)
    assert f"left:{left}" in folded.timers
    (cue,) = folded.due(end + 1 + 20)
    assert cue.rule == "disconnected_in_distress" and cue.related_seq == (still_open,)


def test_what_is_within_the_longest_window_is_kept():
    folded = Folded.of()
    folded.add(0, "session_started", SYSTEM_ACTOR)
    first = folded.add(5, "pause", C1)
    folded.add(6, "resume", C1)
    # Just inside the window plus the margin: the pause is still there.
    at = 6.0
    while at < 5 + PAUSES_KEPT + FORGET_MARGIN_S - 10:
        at += 2.0
        folded.add(at, "keep_going", C1)
    assert first in folded.state.clients["c-1"].pauses
    while at < 5 + PAUSES_KEPT + FORGET_MARGIN_S + 100:
        at += 2.0
        folded.add(at, "keep_going", C1)
    assert first not in folded.state.clients["c-1"].pauses


def test_a_timer_firing_after_its_cue_was_forgotten_logs_nothing():
    folded = Folded.of()
    folded.add(0, "session_started", SYSTEM_ACTOR)
    folded.add(5, "pause", C1)
    key = next(k for k in folded.timers if k.startswith("cue:pause_unacknowledged"))
    _two_hours_of_signals(folded, 6)
    assert folded.state.cue_for(key, 7300.0) is None


def test_the_same_log_forgets_the_same_things():
    logs = [Folded.of(), Folded.of()]
    for folded in logs:
        folded.add(0, "session_started", SYSTEM_ACTOR)
        folded.add(5, "pause", C1)
        _two_hours_of_signals(folded, 6)
    a, b = (f.state for f in logs)
    assert a.clients["c-1"].pauses == b.clients["c-1"].pauses and a.logged == b.logged


def test_a_late_answer_within_the_hour_still_counts_as_distress():
    folded = Folded.of()
    folded.add(0, "session_started", SYSTEM_ACTOR)
    request = folded.add(10, "checkin_request", THERAPIST, {"instrument": "suds"})
    folded.add(130, "checkin_expired", SYSTEM_ACTOR, {"checkin_seq": request})
    at = 130.0
    while at < 1300:
        at += 2.0
        folded.add(at, "keep_going", C1)
    late = folded.add(at + 1, "checkin_response", C1, {"checkin_seq": request, "value": 9})
    assert f"cue:distress_high:{late}" in folded.timers

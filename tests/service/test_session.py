"""The session aggregate: folding the log into State, and the checks sends must pass."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.errors import SendError
from service.events import Actor, Event, Role, parse_send
from service.session import SessionState, parse_time

T0 = "2026-11-25T10:00:00.000Z"
CLIENT = Actor("c-1", Role.CLIENT)
THERAPIST = Actor("t-1", Role.THERAPIST)


def fold(*events: tuple[str, Actor, dict, tuple[str, ...] | None]) -> SessionState:
    state = SessionState(client_ids=("c-1", "c-2"), therapist_ids=("t-1",))
    for seq, (kind, actor, data, to) in enumerate(events, start=1):
        state.apply(Event(seq, f"e{seq}", kind, T0, actor, to, data))
    return state


def test_retract_window_is_thirty_seconds():
    state = fold(("pause", CLIENT, {}, None))
    send = parse_send({"id": "r", "type": "retract", "data": {"seq": 1}}, Role.CLIENT)
    state.check_send("c-1", Role.CLIENT, send, parse_time(T0) + timedelta(seconds=29))
    with pytest.raises(SendError) as late:
        state.check_send("c-1", Role.CLIENT, send, parse_time(T0) + timedelta(seconds=31))
    assert late.value.code == "forbidden"


def test_unacknowledged_holds_pause_slow_down_and_out_of_window_zones_only():
    state = fold(
        ("pause", CLIENT, {}, None),
        ("slow_down", CLIENT, {}, None),
        ("zone", CLIENT, {"zone": "okay"}, None),
        ("zone", CLIENT, {"zone": "shut_down"}, None),
        ("keep_going", CLIENT, {}, None),
        ("acknowledge", THERAPIST, {"seq": 2}, ("c-1",)),
        ("retract", CLIENT, {"seq": 4}, None),
    )
    client = state.clients["c-1"]
    assert client.unacknowledged == [1]
    assert client.paused and client.pace == "keep_going" and client.zone is None


def test_checkins_open_answer_and_expire():
    state = fold(
        ("checkin_request", THERAPIST, {"instrument": "suds"}, None),
        ("checkin_request", THERAPIST, {"instrument": "zone", "to": ["c-2"]}, ("c-2",)),
        ("checkin_response", CLIENT, {"checkin_seq": 1, "value": 8}, None),
        ("checkin_expired", Actor("system", Role.SYSTEM), {"checkin_seq": 2}, ("c-2",)),
    )
    assert state.clients["c-1"].open_checkins == [] and state.clients["c-1"].last_suds == 8
    assert state.clients["c-2"].open_checkins == [1]
    late = parse_send(
        {"id": "x", "type": "checkin_response", "data": {"checkin_seq": 2, "value": "okay"}},
        Role.CLIENT,
    )
    # v1.1 (§9.4): an expired request still takes its one answer, which is logged late.
    state.check_send("c-2", Role.CLIENT, late, parse_time(T0))
    assert state.answer_is_late(2) and not state.answer_is_late(1)
    state.apply(
        Event(
            5,
            "e5",
            "checkin_response",
            T0,
            Actor("c-2", Role.CLIENT),
            None,
            {"checkin_seq": 2, "value": "okay", "late": True},
        )
    )
    assert state.clients["c-2"].zone == "okay" and state.clients["c-2"].open_checkins == [1]
    with pytest.raises(SendError) as err:  # a second answer
        state.check_send("c-2", Role.CLIENT, late, parse_time(T0))
    assert err.value.code == "not_found"
    with pytest.raises(SendError) as err:  # c-1 was not asked
        state.check_send("c-1", Role.CLIENT, late, parse_time(T0))
    assert err.value.code == "not_found"
    wrong = parse_send(
        {"id": "y", "type": "checkin_response", "data": {"checkin_seq": 2, "value": "okay"}},
        Role.CLIENT,
    )
    with pytest.raises(SendError):
        state.check_send("c-1", Role.CLIENT, wrong, parse_time(T0))


def test_each_client_s_stream_numbers_only_the_events_it_may_see():
    """Contract §9.1: position p of a client is the p-th event of the log visible to it."""
    system = Actor("system", Role.SYSTEM)
    state = fold(
        ("pause", CLIENT, {}, None),  # 1: c-1 only
        ("pause", Actor("c-2", Role.CLIENT), {}, None),  # 2: c-2 only
        ("acknowledge", THERAPIST, {"seq": 2}, ("c-2",)),  # 3: c-2 only
        (
            "cue",
            system,
            {
                "rule": "r",
                "severity": "warn",
                "client_id": "c-1",
                "related_seq": [1],
                "message": "m",
            },
            None,
        ),  # 4: nobody
        ("suggest_grounding", THERAPIST, {"exercise": "five_senses"}, None),  # 5: both
    )
    one, two = state.streams["c-1"], state.streams["c-2"]
    assert list(one.seqs) == [1, 5] and list(two.seqs) == [2, 3, 5]
    assert (one.head, two.head) == (2, 3)
    assert [one.position(s) for s in range(1, 6)] == [1, None, None, None, 2]
    assert [two.position(s) for s in range(1, 6)] == [None, 1, 2, None, 3]
    assert [two.seq_at(p) for p in range(0, 5)] == [None, 2, 3, 5, None]


def test_what_the_fold_keeps_grows_only_in_machine_arrays():
    """Issue 18: a long log leaves no per-signal objects behind (the collector walks every one,
    and a soak's sessions hold hundreds), and a check-in answered by all is forgotten."""
    events = [("pause", CLIENT, {}, None), ("acknowledge", THERAPIST, {"seq": 1}, ("c-1",))]
    events += [("keep_going", CLIENT, {}, None)] * 500
    events += [
        ("checkin_request", THERAPIST, {"instrument": "suds"}, None),
        ("checkin_response", CLIENT, {"checkin_seq": 503, "value": 2}, None),
        ("checkin_response", Actor("c-2", Role.CLIENT), {"checkin_seq": 503, "value": 3}, None),
    ]
    state = fold(*events)
    assert state.checkins == {}
    assert len(state.clients["c-1"].signals.seqs) == 501
    assert state.signal_owner(1) == "c-1" and state.signal_owner(2) is None
    ack = parse_send({"id": "a", "type": "acknowledge", "data": {"seq": 1}}, Role.THERAPIST)
    state.check_send("t-1", Role.THERAPIST, ack, parse_time(T0))  # the oldest signal still is one
    answer = parse_send(
        {"id": "x", "type": "checkin_response", "data": {"checkin_seq": 503, "value": 1}},
        Role.CLIENT,
    )
    with pytest.raises(SendError) as err:  # forgotten: as for a second answer
        state.check_send("c-1", Role.CLIENT, answer, parse_time(T0))
    assert err.value.code == "not_found"


def test_retract_is_refused_for_another_s_signal_and_not_found_beyond_the_head():
    state = fold(("pause", CLIENT, {}, None), ("pause", Actor("c-2", Role.CLIENT), {}, None))
    now = parse_time(T0)
    for seq, code in ((2, "forbidden"), (3, "not_found")):
        send = parse_send({"id": "r", "type": "retract", "data": {"seq": seq}}, Role.CLIENT)
        with pytest.raises(SendError) as err:
            state.check_send("c-1", Role.CLIENT, send, now)
        assert err.value.code == code
    state.apply(Event(3, "e3", "retract", T0, Actor("c-2", Role.CLIENT), None, {"seq": 1}))
    assert state.clients["c-1"].paused, "a retract of someone else's signal changes nothing"

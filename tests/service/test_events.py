"""The event vocabulary: every shape of send payload is either accepted or refused with a
contract code, never anything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.errors import SendError
from service.events import (
    CLIENT_TYPES,
    PRESS_TIME_SKEW,
    PRESS_TYPES,
    SIGNAL_TYPES,
    THERAPIST_TYPES,
    Actor,
    CheckinResponseData,
    Event,
    LoggedCheckinResponseData,
    PressData,
    Role,
    ZoneData,
    parse_send,
    read_press_time,
    settle_press_time,
    visible_to_client,
)
from service.text import text_problem

CODES = {"invalid_payload", "unknown_type", "forbidden"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
types = st.sampled_from(sorted(CLIENT_TYPES | THERAPIST_TYPES | {"cue", "nope", ""}))
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"id": st.text(min_size=0, max_size=130) | st.integers(), "type": types},
        optional={
            "data": json_values
            | st.dictionaries(
                st.sampled_from(
                    [
                        "zone",
                        "exercise",
                        "completed",
                        "duration_s",
                        "seq",
                        "checkin_seq",
                        "value",
                        "instrument",
                        "to",
                        "x",
                    ]
                ),
                json_values,
                max_size=4,
            )
        },
    ),
)


@given(payload=payloads, role=st.sampled_from([Role.CLIENT, Role.THERAPIST]))
@settings(max_examples=400)
def test_any_payload_is_accepted_or_refused_with_a_contract_code(payload, role):
    try:
        send = parse_send(payload, role)
    except SendError as exc:
        assert exc.code in CODES and exc.message
        return
    assert isinstance(send.id, str) and 1 <= len(send.id) <= 128
    assert send.type in (CLIENT_TYPES if role is Role.CLIENT else THERAPIST_TYPES)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"id": "a", "type": "pause"}, None),
        ({"id": "a", "type": "pause", "data": None}, None),
        (
            {
                "id": "a",
                "type": "grounding_finished",
                "data": {"exercise": "breathing_478", "completed": False, "duration_s": 42.5},
            },
            None,
        ),
        (
            {
                "id": "a",
                "type": "grounding_finished",
                "data": {"exercise": "breathing_478", "completed": False, "duration_s": -1},
            },
            "invalid_payload",
        ),
        (
            {
                "id": "a",
                "type": "grounding_finished",
                "data": {"exercise": "breathing_478", "completed": 0, "duration_s": 1},
            },
            "invalid_payload",
        ),
        ({"id": "a", "type": "checkin_response", "data": {"checkin_seq": 3, "value": 7}}, None),
        (
            {"id": "a", "type": "checkin_response", "data": {"checkin_seq": 3, "value": 7.5}},
            "invalid_payload",
        ),
        (
            {"id": "a", "type": "checkin_response", "data": {"checkin_seq": 0, "value": 7}},
            "invalid_payload",
        ),
        ({"id": "a", "type": "retract", "data": {"seq": "3"}}, "invalid_payload"),
    ],
)
def test_client_payload_examples(payload, code):
    if code is None:
        assert parse_send(payload, Role.CLIENT).id == "a"
    else:
        with pytest.raises(SendError) as err:
            parse_send(payload, Role.CLIENT)
        assert err.value.code == code


def _event(kind, actor, to=None, data=None):
    return Event(
        seq=1, id="e", type=kind, at="2026-01-01T00:00:00.000Z", actor=actor, to=to, data=data or {}
    )


def test_visibility_rules():
    c1, c2, t = Actor("c-1", Role.CLIENT), Actor("c-2", Role.CLIENT), Actor("t-1", Role.THERAPIST)
    system = Actor("system", Role.SYSTEM)
    assert visible_to_client(_event("pause", c1), "c-1")
    assert not visible_to_client(_event("pause", c1), "c-2")
    assert visible_to_client(_event("checkin_request", t), "c-2")
    assert visible_to_client(_event("checkin_request", t, ("c-2",)), "c-2")
    assert not visible_to_client(_event("checkin_request", t, ("c-2",)), "c-1")
    assert not visible_to_client(_event("cue", system, None, {"client_id": "c-1"}), "c-1")
    joined = {"participant": {"id": "c-2", "role": "client"}, "via": "widget"}
    assert not visible_to_client(_event("participant_joined", system, None, joined), "c-1")
    assert visible_to_client(_event("participant_joined", system, None, joined), "c-2")
    therapist_joined = {"participant": {"id": "t-1", "role": "therapist"}, "via": "platform"}
    assert visible_to_client(_event("participant_left", system, None, therapist_joined), "c-1")
    assert visible_to_client(_event("session_ended", system, None, {"by": "vendor"}), "c-1")
    assert not visible_to_client(_event("checkin_expired", system, ("c-2",)), "c-1")
    assert visible_to_client(_event("checkin_expired", system, ("c-1", "c-2")), "c-1")
    assert not visible_to_client(_event("pause", c2), "c-1")


def test_wire_round_trip_is_byte_stable():
    event = _event("zone", Actor("c-1", Role.CLIENT), None, {"zone": "okay"})
    again = Event.from_wire(event.wire)
    assert again.wire == event.wire and again.as_dict() == event.as_dict()


# -- contract §9.2 and §9.4 --------------------------------------------------------------------


@given(st.text(st.characters(codec=None, categories=None), max_size=210))
def test_a_location_is_1_to_200_characters_of_plain_text(text):
    """All of Unicode, lone surrogates included: taken exactly when §9.5's text rules and the
    length allow it, otherwise `invalid_payload` without the text in the message."""
    payload = {"id": "a", "type": "location_shared", "data": {"text": text}}
    allowed = 1 <= len(text) <= 200 and text_problem(text) is None
    try:
        send = parse_send(payload, Role.CLIENT)
    except SendError as exc:
        assert not allowed and exc.code == "invalid_payload"
        assert not text or text not in exc.message
        return
    assert allowed and send.data.model_dump() == {"text": text}


def test_help_now_is_a_client_signal_with_no_data():
    assert "help_now" in SIGNAL_TYPES and "location_shared" not in SIGNAL_TYPES
    assert parse_send({"id": "a", "type": "help_now"}, Role.CLIENT).type == "help_now"
    for data in ({"x": 1}, {"text": "here"}):
        with pytest.raises(SendError) as err:
            parse_send({"id": "a", "type": "help_now", "data": data}, Role.CLIENT)
        assert err.value.code == "invalid_payload"
    for kind in ("help_now", "location_shared"):
        with pytest.raises(SendError) as err:
            parse_send({"id": "a", "type": kind, "data": {}}, Role.THERAPIST)
        assert err.value.code == "forbidden"


def test_a_logged_answer_may_carry_late_but_a_sent_one_may_not():
    data = {"checkin_seq": 3, "value": 7, "late": True}
    with pytest.raises(SendError) as err:
        parse_send({"id": "a", "type": "checkin_response", "data": data}, Role.CLIENT)
    assert err.value.code == "invalid_payload"
    logged = _event("checkin_response", Actor("c-1", Role.CLIENT), None, data)
    assert isinstance(logged.body, LoggedCheckinResponseData) and logged.body.late is True
    on_time = _event(
        "checkin_response", Actor("c-1", Role.CLIENT), None, {"checkin_seq": 3, "value": 7}
    )
    assert isinstance(on_time.body, CheckinResponseData) and on_time.body.late is None


def test_a_client_s_location_and_help_are_seen_by_it_and_the_therapists_only():
    c1 = Actor("c-1", Role.CLIENT)
    for kind, data in (("location_shared", {"text": "home"}), ("help_now", {})):
        assert visible_to_client(_event(kind, c1, None, data), "c-1")
        assert not visible_to_client(_event(kind, c1, None, data), "c-2")


def test_a_send_id_holding_nul_is_invalid_payload():
    """PostgreSQL text cannot hold NUL (tests/faults/test_store_failures_postgres.py)."""
    for event_id in ("\x00", "a\x00b", "x" * 127 + "\x00"):
        with pytest.raises(SendError) as refused:
            parse_send({"id": event_id, "type": "pause"}, Role.CLIENT)
        assert refused.value.code == "invalid_payload"
    assert parse_send({"id": "\uffff\u0001\t", "type": "pause"}, Role.CLIENT).id == "\uffff\u0001\t"


def test_an_event_keeps_its_wire_in_an_allocation_of_its_own_size() -> None:
    """Loaded sessions keep 256 events each for replay: orjson's 4 KB output buffer per kept
    wire (made here, or received from another process) was most of the service's memory."""
    import tracemalloc

    from service.events import Actor, Event, Role

    def made(i: int) -> bytes:
        return Event(
            i,
            f"id-{i}",
            "keep_going",
            "2026-12-02T03:00:00.000Z",
            Actor("c-1", Role.CLIENT),
            None,
            {},
        ).wire

    def received(i: int) -> bytes:
        return Event.from_wire(made(i)).wire

    for build in (made, received):
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            kept = [build(i) for i in range(200)]
            per_event = (tracemalloc.get_traced_memory()[0] - before) / len(kept)
        finally:
            tracemalloc.stop()
        assert per_event < 1024, (build.__name__, per_event)


# -- pressed_at: a client's own press time (an addition: docs/protocol.md) ----------------------

PRESS_DATA = {
    "pause": {},
    "resume": {},
    "keep_going": {},
    "slow_down": {},
    "help_now": {},
    "zone": {"zone": "too_much"},
    "grounding_started": {"exercise": "five_senses"},
    "grounding_finished": {"exercise": "five_senses", "completed": False, "duration_s": 3.5},
    "checkin_response": {"checkin_seq": 4, "value": 6},
}
any_value = st.one_of(
    st.text(st.characters(codec=None, categories=None), max_size=40),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.datetimes().map(datetime.isoformat),  # no offset: not taken
    json_values,
)


def test_the_press_types_are_the_client_signals_and_answers():
    assert set(PRESS_DATA) == PRESS_TYPES
    assert SIGNAL_TYPES | {"checkin_response"} == PRESS_TYPES


@settings(max_examples=300)
@given(kind=st.sampled_from(sorted(PRESS_TYPES)), value=any_value)
def test_any_pressed_at_is_kept_normalised_or_dropped_and_never_refuses_the_send(kind, value):
    """All of Unicode, lone surrogates, numbers, nesting, local and offset times: the send is
    taken; `pressed_at` is RFC 3339 UTC with milliseconds when it was an ISO 8601 time with an
    offset, and absent otherwise."""
    data = {**PRESS_DATA[kind], "pressed_at": value}
    send = parse_send({"id": "a", "type": kind, "data": data}, Role.CLIENT)
    dumped = send.data.model_dump(mode="json", exclude_none=True)
    kept = dumped.pop("pressed_at", None)
    assert dumped == PRESS_DATA[kind]
    expected = None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
            if moment.utcoffset() is not None:
                utc = moment.astimezone(UTC)
                expected = utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
        except (ValueError, OverflowError):
            pass
    assert kept == expected


def test_pressed_at_is_normalised_to_utc_milliseconds():
    assert read_press_time("2026-12-02T15:02:03.123456+01:00") == "2026-12-02T14:02:03.123Z"
    assert read_press_time("2026-12-02T14:02Z") == "2026-12-02T14:02:00.000Z"
    for bad in ("2026-12-02T14:02:03", "2026-12-02", "14:02", "yesterday", "", "\ud83d", 5, None):
        assert read_press_time(bad) is None, bad


def test_pressed_at_is_only_for_the_press_types():
    """`retract` and `location_shared` keep their data as the contract has it: an unknown key
    there is still `invalid_payload`, as on every therapist type."""
    stamp = "2026-12-02T14:02:03.000Z"
    for kind, data, role in (
        ("retract", {"seq": 1}, Role.CLIENT),
        ("location_shared", {"text": "home"}, Role.CLIENT),
        ("acknowledge", {"seq": 1}, Role.THERAPIST),
        ("end_session", {}, Role.THERAPIST),
    ):
        with pytest.raises(SendError) as refused:
            parse_send({"id": "a", "type": kind, "data": {**data, "pressed_at": stamp}}, role)
        assert refused.value.code == "invalid_payload"


def test_a_press_without_a_time_shares_one_empty_body():
    plain = parse_send({"id": "a", "type": "pause"}, Role.CLIENT).data
    assert plain is parse_send({"id": "b", "type": "help_now", "data": {}}, Role.CLIENT).data
    assert _event("pause", Actor("c-1", Role.CLIENT)).body is plain
    dated = _event("pause", Actor("c-1", Role.CLIENT), None, {"pressed_at": "2026-01-01T00:00Z"})
    assert isinstance(dated.body, PressData) and dated.body.pressed_at == "2026-01-01T00:00:00.000Z"


CREATED = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 12, 2, 14, 5, 0, 250_000, tzinfo=UTC)


def _settled(pressed: datetime) -> str | None:
    body = ZoneData(zone="okay", pressed_at=pressed.isoformat())
    out = settle_press_time(body, received=RECEIVED, earliest=CREATED)
    assert isinstance(out, ZoneData) and out.zone == "okay"
    return out.pressed_at


@pytest.mark.parametrize(
    ("pressed", "stored"),
    [
        # within the session's life: kept as pressed
        (CREATED, "2026-12-02T14:00:00.000Z"),
        (datetime(2026, 12, 2, 14, 2, 7, tzinfo=UTC), "2026-12-02T14:02:07.000Z"),
        (RECEIVED, "2026-12-02T14:05:00.250Z"),
        # a clock a little ahead or behind: clamped to the bound
        (RECEIVED + PRESS_TIME_SKEW, "2026-12-02T14:05:00.250Z"),
        (CREATED - PRESS_TIME_SKEW, "2026-12-02T14:00:00.000Z"),
        # beyond the skew: dropped
        (RECEIVED + PRESS_TIME_SKEW + timedelta(milliseconds=1), None),
        (RECEIVED + timedelta(days=365), None),
        (CREATED - PRESS_TIME_SKEW - timedelta(milliseconds=1), None),
        (datetime(1970, 1, 1, tzinfo=UTC), None),
    ],
)
def test_a_press_time_outside_the_session_is_clamped_or_dropped(pressed, stored):
    assert _settled(pressed) == stored


def test_settling_leaves_a_body_without_a_press_time_alone():
    for body in (PressData(), ZoneData(zone="okay"), CheckinResponseData(checkin_seq=1, value=3)):
        assert settle_press_time(body, received=RECEIVED, earliest=CREATED) is body

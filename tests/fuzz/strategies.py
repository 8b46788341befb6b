"""Hypothesis strategies for what arrives at the service's edges: JSON of any shape, and
payloads that are near misses of valid ones (right keys, wrong values; right values, one
wrong key) so the fuzzer gets past the first check as often as it fails at it."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    # Within 64 bits: the in-process test clients share the service's orjson codec (a
    # class attribute of python-socketio), which cannot encode more; the raw-frame tests send
    # bigger numbers as text.
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)

CLIENT_TYPES = [
    "pause",
    "resume",
    "keep_going",
    "slow_down",
    "zone",
    "grounding_started",
    "grounding_finished",
    "checkin_response",
    "retract",
    "help_now",
    "location_shared",
]
THERAPIST_TYPES = ["acknowledge", "checkin_request", "suggest_grounding", "end_session"]
OTHER_TYPES = ["cue", "session_started", "participant_joined", "", "PAUSE", "pause "]
EXERCISES = ["box_breathing", "breathing_478", "paced_breathing", "five_senses"]
ZONES = ["too_much", "okay", "shut_down"]

SMALL_INT = st.integers(min_value=-3, max_value=60)
PARTICIPANT = st.sampled_from(["c-1", "c-2", "c-3", "t-1", "nobody"]) | st.text(max_size=130)

DATA_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "zone": st.sampled_from(ZONES) | JSON,
    "exercise": st.sampled_from(EXERCISES) | JSON,
    "completed": st.booleans() | JSON,
    "duration_s": st.floats(min_value=-10, max_value=1e6) | JSON,
    "checkin_seq": SMALL_INT | JSON,
    "value": st.integers(min_value=-2, max_value=12) | st.sampled_from(ZONES) | JSON,
    "seq": SMALL_INT | st.just(2**53 + 1) | JSON,
    "instrument": st.sampled_from(["suds", "zone", "phq9"]) | JSON,
    "to": st.lists(PARTICIPANT, max_size=4) | JSON,
    # location_shared: any text but lone surrogates, which the in-process clients cannot encode
    # (tests/service/test_events.py sends them to the model; the raw-frame tests to the socket)
    "text": st.text(max_size=210) | JSON,
    "late": st.booleans() | JSON,
    "extra": JSON,
}


@st.composite
def near_data(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(DATA_VALUES)), max_size=3, unique=True))
    return {key: draw(DATA_VALUES[key]) for key in keys}


@st.composite
def send_payloads(draw: st.DrawFn) -> Any:
    """A `send` payload: mostly near-valid, sometimes anything at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    payload: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        payload["id"] = draw(st.uuids().map(str) | st.text(max_size=140) | JSON)
    if draw(st.integers(0, 9)):
        payload["type"] = draw(st.sampled_from(CLIENT_TYPES + THERAPIST_TYPES + OTHER_TYPES) | JSON)
    if draw(st.integers(0, 3)):
        payload["data"] = draw(near_data() | JSON)
    if draw(st.integers(0, 15)) == 0:
        payload[draw(st.text(max_size=8))] = draw(JSON)
    return payload

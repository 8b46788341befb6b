"""Guarantee 5 for the REST API (contract §2): every body for `POST /sessions` and
`POST /sessions/{id}/tokens`, and every query for `GET …/events`, is answered with a success
or the contract's error envelope and a matching status, never a 5xx; the service stays up.
Bodies come near-valid, as any JSON, as raw bytes, and hostile (tests/fuzz/strategies.py): JSON
escapes no encoder writes (`"\ud83d"`), nesting 1,000 to 100,000 deep, numbers past a double;
an id, external id or display name holding what contract §9.5 refuses is 400 `invalid_body`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.figures import report
from tests.fuzz.harness import REST_CODES, FuzzService, start_fuzz_service, stop_fuzz_service
from tests.fuzz.profiles import FUZZ
from tests.fuzz.strategies import (
    JSON,
    PARTICIPANT,
    RAW_BYTES,
    any_text,
    deep_json,
    encode,
    hostile_json_texts,
    json_text,
    refused_text,
)
from tests.support import session_body

pytestmark = pytest.mark.fuzz

PLATFORMS = ["zoom", "daily", "jaas", "jitsi", "whereby", "livekit", "twilio", "vonage", "generic"]
RULES = [
    "pause_unacknowledged",
    "distress_high",
    "distress_rising",
    "out_of_window",
    "repeated_pause",
    "checkin_unanswered",
    "disconnected_in_distress",
    "help_requested",  # never tunable: invalid_body
]
RULE_KEYS = ["enabled", "after_s", "threshold", "delta", "count", "within_s", "grace_s", "bogus"]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzService]:
    svc = start_fuzz_service(Path(tmp_path_factory.mktemp("fuzz-rest")))
    yield svc
    stop_fuzz_service(svc)


@pytest.fixture(scope="module")
def session(service: FuzzService) -> dict[str, Any]:
    return service.call(service.api.create(2))


# A client's FHIR subject reference (docs/protocol.md, "The summary"): valid ones, near misses,
# and any text, lone surrogates included.
subject = (
    st.sampled_from(
        [
            "Patient/123",
            "Group/g-1/_history/2",
            "https://fhir.example.org/Patient/9",
            "Practitioner/1",
            "Patient/",
            "Patient/" + "x" * 65,
            "urn:uuid:0f6b7a1e-2c1d-4f43-9e0a-6a3c5d2b9f10",
        ]
    )
    | st.from_regex(r"(Patient|Device)/[A-Za-z0-9.\-]{0,70}", fullmatch=True)
    | any_text(max_size=80)
    | JSON
)
participant = st.fixed_dictionaries(
    {"id": PARTICIPANT, "role": st.sampled_from(["therapist", "client", "system", "admin"]) | JSON},
    optional={
        "display_name": st.text(max_size=300) | JSON,
        "platform_ref": st.text(max_size=300) | JSON,
        "subject": subject,
        "extra": JSON,
    },
)
rule_settings = st.dictionaries(
    st.sampled_from(RULE_KEYS),
    st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False) | JSON,
    max_size=3,
)
cues = st.dictionaries(st.sampled_from([*RULES, "made_up_rule"]), rule_settings | JSON, max_size=3)
ANY_TEXT = any_text(max_size=90)  # lone surrogates, NUL, C1, non-characters too
resource = st.dictionaries(
    st.sampled_from(["label", "phone", "sms", "url", "extra"]),
    st.sampled_from(["988", "+1 (555) 010-0199", "https://988lifeline.org", "Crisis line"])
    | ANY_TEXT
    | JSON,
    max_size=4,
)
safety = st.fixed_dictionaries(
    {}, optional={"ask_location": st.booleans() | JSON, "resources": st.lists(resource, max_size=6)}
)


@st.composite
def create_bodies(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    body: dict[str, Any] = {
        "platform": draw(st.sampled_from(PLATFORMS) | JSON),
        "external_id": draw(st.just(f"room-{uuid.uuid4().hex[:8]}") | st.text(max_size=300) | JSON),
        "participants": draw(st.lists(participant, max_size=5) | JSON),
    }
    if draw(st.booleans()):
        body["scheduled_minutes"] = draw(st.integers(-10, 10**7) | JSON)
    if draw(st.booleans()):
        body["settings"] = draw(
            st.fixed_dictionaries({}, optional={"cues": cues, "safety": safety | JSON}) | JSON
        )
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=2, unique=True)):
        if draw(st.booleans()):
            del body[key]
    return body


CASES: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def report_cases() -> Iterator[None]:
    yield
    report(f"fuzz rest: cases={CASES}")


def check(status: int, body: Any, ok: int) -> None:
    import inspect

    caller = inspect.stack()[1].function
    CASES[caller] = CASES.get(caller, 0) + 1
    assert status < 500, (status, body)
    if status == ok:
        return
    assert isinstance(body, dict) and set(body) == {"error"}, (status, body)
    error = body["error"]
    assert error["code"] in REST_CODES and REST_CODES[error["code"]] == status, (status, body)
    assert isinstance(error["message"], str)


@FUZZ
@given(body=create_bodies())
def test_every_create_body_is_answered_without_a_5xx(service: FuzzService, body: Any) -> None:
    status, answer = service.call(service.api.call("POST", "/api/v1/sessions", body))
    check(status, answer, 201)
    if status == 201:
        assert set(answer["tokens"]) == {p["id"] for p in answer["session"]["participants"]}


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_every_raw_create_body_is_answered_without_a_5xx(service: FuzzService, raw: bytes) -> None:
    status, answer = service.call(service.api.call("POST", "/api/v1/sessions", raw=raw))
    check(status, answer, 201)


@FUZZ
@given(body=st.fixed_dictionaries({"participant_id": PARTICIPANT | JSON}) | JSON)
def test_every_token_body_is_answered_without_a_5xx(
    service: FuzzService, session: dict[str, Any], body: Any
) -> None:
    sid = session["session"]["id"]
    status, answer = service.call(service.api.call("POST", f"/api/v1/sessions/{sid}/tokens", body))
    check(status, answer, 200)


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["after", "limit", "x"]),
        st.text(max_size=12) | st.integers(-(2**70), 2**70).map(str),
        max_size=3,
    )
)
@example(query={"limit": str(2**63)})
def test_every_events_query_is_answered_without_a_5xx(
    service: FuzzService, session: dict[str, Any], query: dict[str, str]
) -> None:
    from urllib.parse import urlencode

    sid = session["session"]["id"]
    status, answer = service.call(
        service.api.call("GET", f"/api/v1/sessions/{sid}/events?{urlencode(query)}")
    )
    check(status, answer, 200)


@pytest.mark.parametrize("after", [str(2**63), "9" * 30])
def test_an_after_beyond_64_bits_is_invalid_body_not_a_5xx(
    service: FuzzService, session: dict[str, Any], after: str
) -> None:
    sid = session["session"]["id"]
    status, answer = service.call(
        service.api.call("GET", f"/api/v1/sessions/{sid}/events?after={after}")
    )
    assert status == 400 and answer["error"]["code"] == "invalid_body", (status, answer)


ROUTES = ["/api/v1/sessions", "/api/v1/sessions/{sid}/tokens", "/api/v1/sessions/{sid}/end"]


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(RAW_BYTES)
    if kind == 1:
        return encode(draw(deep_json()))
    base = draw(st.sampled_from([session_body(2), {"participant_id": "c-1"}]))
    return encode(draw(hostile_json_texts(base)))


@FUZZ
@given(route=st.sampled_from(ROUTES), raw=hostile_bodies())
def test_every_hostile_body_is_answered_without_a_5xx(
    service: FuzzService, session: dict[str, Any], route: str, raw: bytes
) -> None:
    """Issue 13, finding 2: nesting and lone surrogate escapes reached past the JSON decoder."""
    path = route.format(sid=session["session"]["id"])
    status, answer = service.call(service.api.call("POST", path, raw=raw))
    check(status, answer, 201 if path.endswith("sessions") else 200)
    assert service.call(service.healthy())


@st.composite
def refused_bodies(draw: st.DrawFn) -> tuple[str, str]:
    """A valid create body but one id, external id or display name that §9.5 refuses; written
    as a client writes JSON (a lone surrogate as its escape)."""
    body = session_body(2, external_id=f"room-{uuid.uuid4().hex[:8]}")
    field = draw(st.sampled_from(["external_id", "id", "display_name"]))
    bad = draw(refused_text(max_size=60))
    if field == "external_id":
        body["external_id"] = bad
    else:
        body["participants"][draw(st.integers(0, 2))][field] = bad
    return field, json_text(body, ascii_only=draw(st.booleans()))


@FUZZ
@given(case=refused_bodies())
def test_an_id_or_name_the_contract_refuses_is_400_invalid_body(
    service: FuzzService, case: tuple[str, str]
) -> None:
    field, text = case
    status, answer = service.call(service.api.call("POST", "/api/v1/sessions", raw=encode(text)))
    CASES[f"refused {field}"] = CASES.get(f"refused {field}", 0) + 1
    assert status == 400 and answer["error"]["code"] == "invalid_body", (field, status, answer)

"""Guarantee 5 and contract §9.5 for platform webhooks (contract §6), every platform and every
route (Jitsi's four `event_sync` paths included):

- bodies of any shape behind VALID signatures are answered 200 or a structured 4xx, never a
  5xx, and the service stays up. The bodies start from what each platform really sends
  (tests/integrations/platform_signers) and are mutated: values replaced by any JSON, keys
  dropped or added, the whole body replaced; then by hostile leaves: JSON escapes no encoder
  writes (`"\ud83d"`), nesting 1,000 to 100,000 deep, numbers past a double, raw bytes;
- a validly signed delivery whose meeting key or participant reference holds what §9.5 refuses
  (a lone surrogate, NUL, C0 or C1, a non-character) is acknowledged (2xx) and ignored;
- a signature (or signed timestamp) header of any bytes is 401 `invalid_signature`.
"""

from __future__ import annotations

import copy
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

import integrations.moves
from tests.fuzz.figures import report
from tests.fuzz.harness import REST_CODES, FuzzService, start_fuzz_service, stop_fuzz_service
from tests.fuzz.profiles import FUZZ, FUZZ_PER_PLATFORM
from tests.fuzz.rawhttp import RawRequest, send
from tests.fuzz.strategies import (
    JSON,
    RAW_BYTES,
    any_text,
    deep_json,
    encode,
    header_values,
    hostile_json_texts,
    is_field_value,
    json_text,
    leaf_paths,
    percent_encoded,
    refused_text,
)
from tests.support import Api

# The signers are imported as tests/integrations/conftest.py makes them importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))
from platform_signers import MEETINGS, SIGNERS, PlatformSigner

from tests.integrations.test_webhooks_e2e import ACME_KEY, PUBLIC_URL, Platforms

pytestmark = pytest.mark.fuzz


class WebhookTarget:
    def __init__(self, service: FuzzService, platforms: Platforms) -> None:
        self.service = service
        self.platforms = platforms
        self.api = Api(service.url, key=ACME_KEY, http=service.http)
        self.cases: dict[str, int] = {}

    async def book(self, platform: str, meeting: str | None = None) -> str:
        created = await self.api.create(
            1,
            platform=platform,
            external_id=meeting or MEETINGS[platform],
            participants=[
                {"id": "t-1", "role": "therapist", "platform_ref": "t-ref"},
                {"id": "c-1", "role": "client", "platform_ref": "c-ref"},
            ],
        )
        return str(created["session"]["id"])

    async def post(self, signer: PlatformSigner, path: str, body: bytes) -> tuple[int, Any]:
        headers = signer.sign(path, "", body, url=f"{PUBLIC_URL}/webhooks/acme/{path}")
        url = URL(f"{self.service.url}/webhooks/acme/{path}", encoded=True)
        async with self.service.http.post(url, data=body, headers=headers) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookTarget]:
    platforms = Platforms()
    with pytest.MonkeyPatch.context() as patch:
        # Platform leaves wait MOVE_HOLD_S for a move's other half (tests/integrations/
        # test_moves.py): not 5 s a case here. Read when the routes are made.
        patch.setattr(integrations.moves, "MOVE_HOLD_S", 0.05)
        svc = start_fuzz_service(
            Path(tmp_path_factory.mktemp("fuzz-webhooks")),
            platforms.tenants(),
            public_url=PUBLIC_URL,
        )
    target = WebhookTarget(svc, platforms)
    for platform in SIGNERS:
        svc.call(target.book(platform))
    yield target
    report(f"fuzz webhooks: cases={dict(sorted(target.cases.items()))}")
    stop_fuzz_service(svc)


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = leaf_paths(obj)
        path = draw(st.sampled_from(paths))
        if not path:
            return draw(JSON)
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.integers(0, 2))
        if action == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == 1 and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(JSON)
        else:
            parent[path[-1]] = draw(JSON)
    return obj


@st.composite
def deliveries(draw: st.DrawFn, signer: PlatformSigner) -> tuple[str, bytes]:
    action = draw(st.sampled_from(signer.actions))
    ref = draw(st.sampled_from(["c-ref", "t-ref", "stranger", None]))
    path, body = signer.build(action, MEETINGS[signer.name], ref, draw(st.uuids()).hex)
    kind = draw(st.integers(0, 9))
    if kind == 0:
        if signer.name == "twilio":  # its signer reads the body as form text
            return path, draw(st.text(max_size=200)).encode()
        return path, draw(st.binary(max_size=200))
    if kind == 1:
        return path, body  # unchanged: a valid delivery (or its repeat)
    if signer.name == "twilio":
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        text = st.text(max_size=40)
        changed = draw(mutated(params).filter(lambda p: isinstance(p, dict)))
        flat = {str(k): v if isinstance(v, str) else draw(text) for k, v in changed.items()}
        return path, urlencode(flat).encode()
    return path, json.dumps(draw(mutated(json.loads(body))), allow_nan=False).encode()


@pytest.mark.parametrize("platform", sorted(SIGNERS))
def test_signed_webhook_bodies_of_any_shape_never_fail_the_service(
    target: WebhookTarget, platform: str
) -> None:
    signer = target.platforms.signers[platform]

    @FUZZ
    @given(delivery=deliveries(signer))
    def run(delivery: tuple[str, bytes]) -> None:
        path, body = delivery
        status, answer = target.service.call(target.post(signer, path, body))
        target.cases[platform] = target.cases.get(platform, 0) + 1
        assert status < 500, (status, answer)
        if status != 200:
            assert status in (400, 404, 413), (status, answer)
            assert answer["error"]["code"] in REST_CODES, answer
        assert target.service.call(target.service.healthy())

    run()


# -- hostile bodies, validly signed ----------------------------------------------------------


def form_body(params: dict[str, str], hostile: dict[str, str]) -> bytes:
    """A form body as Twilio writes it, the `hostile` values percent-encoded byte by byte (a lone
    surrogate as WTF-8, which is not UTF-8)."""
    plain = urlencode({k: v for k, v in params.items() if k not in hostile})
    odd = "&".join(f"{k}={percent_encoded(v)}" for k, v in hostile.items())
    return "&".join(part for part in (plain, odd) if part).encode()


@st.composite
def hostile_deliveries(draw: st.DrawFn, signer: PlatformSigner) -> tuple[str, bytes]:
    action = draw(st.sampled_from(signer.actions))
    ref = draw(st.sampled_from(["c-ref", "t-ref", "stranger", None]))
    path, body = signer.build(action, MEETINGS[signer.name], ref, draw(st.uuids()).hex)
    if signer.name == "twilio":  # form data; its signer reads the body as UTF-8 text
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        keys = draw(st.lists(st.sampled_from(sorted(params)), min_size=1, max_size=3))
        hostile = {key: draw(any_text(max_size=60)) for key in keys}
        return path, form_body(params, hostile)
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return path, draw(RAW_BYTES)
    if kind == 1:
        return path, encode(draw(deep_json()))
    return path, encode(draw(hostile_json_texts(json.loads(body))))


@pytest.mark.parametrize("platform", sorted(SIGNERS))
def test_signed_hostile_bodies_never_fail_the_service(target: WebhookTarget, platform: str) -> None:
    """Raw escapes (lone surrogates as `\\ud83d`), nesting 1,000 to 100,000 deep, numbers past a
    double, raw bytes: behind a valid signature, 200 or a structured 4xx (issue 13, finding 2:
    deep nesting was a RecursionError, a surrogate a 500 from SQLite)."""
    signer = target.platforms.signers[platform]

    @FUZZ_PER_PLATFORM
    @given(delivery=hostile_deliveries(signer))
    def run(delivery: tuple[str, bytes]) -> None:
        path, body = delivery
        status, answer = target.service.call(target.post(signer, path, body))
        target.cases[f"{platform} hostile"] = target.cases.get(f"{platform} hostile", 0) + 1
        assert status < 500, (status, answer)
        if status != 200:
            assert status in (400, 404, 413), (status, answer)
            assert REST_CODES[answer["error"]["code"]] == status, answer
        assert target.service.call(target.service.healthy())

    run()


# -- ids that contract §9.5 refuses ------------------------------------------------------------

# Contract §6's table: where each platform puts the meeting key and the participant reference.
ID_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "zoom": (("payload", "object", "id"), ("payload", "object", "participant", "customer_key")),
    "daily": (("payload", "room"), ("payload", "user_id")),
    "jaas": (("fqn",), ("data", "id")),
    "jitsi": (("room_name",), ("occupant", "id")),
    "whereby": (("data", "meetingId"), ("data", "externalId")),
    "livekit": (("room", "name"), ("participant", "identity")),
    "twilio": (("RoomName",), ("ParticipantIdentity",)),
    "vonage": (("sessionId",), ("connection", "data")),
}
# A meeting of its own per platform, so that no other test's deliveries reach its log.
REFUSED_MEETINGS = {
    name: "85100000001" if name == "zoom" else f"refused7{name}" for name in SIGNERS
}


@pytest.fixture(scope="module")
def refused_sessions(target: WebhookTarget) -> dict[str, str]:
    return {p: target.service.call(target.book(p, REFUSED_MEETINGS[p])) for p in SIGNERS}


def set_at(obj: Any, path: tuple[str, ...], value: str) -> bool:
    for step in path[:-1]:
        if not isinstance(obj, dict) or step not in obj:
            return False
        obj = obj[step]
    if not isinstance(obj, dict) or path[-1] not in obj:
        return False
    obj[path[-1]] = value
    return True


@st.composite
def refused_deliveries(draw: st.DrawFn, signer: PlatformSigner) -> tuple[str, bytes, str]:
    """A delivery for the platform's own booked meeting, with its meeting key or its participant
    reference replaced by text that §9.5 refuses. Returns the path, the body, the field."""
    action = draw(st.sampled_from(signer.actions))
    path, body = signer.build(action, REFUSED_MEETINGS[signer.name], "c-ref", draw(st.uuids()).hex)
    meeting_field, ref_field = ID_FIELDS[signer.name]
    # An end names no participant: its meeting key, then (with it the session would end).
    field = meeting_field if action == "end" else draw(st.sampled_from([meeting_field, ref_field]))
    bad = draw(refused_text())
    if signer.name == "twilio":
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        assert field[0] in params, (action, field)
        return path, form_body(params, {field[0]: bad}), field[-1]
    obj = json.loads(body)
    if signer.name == "jaas" and field == meeting_field:
        bad = obj["fqn"].split("/")[0] + "/" + bad  # the meeting is what follows the `/`
    assert set_at(obj, field, bad), (signer.name, action, field)
    return path, encode(json_text(obj, ascii_only=draw(st.booleans()))), field[-1]


@pytest.mark.parametrize("platform", sorted(SIGNERS))
def test_a_refused_meeting_key_or_participant_is_acknowledged_and_ignored(
    target: WebhookTarget, refused_sessions: dict[str, str], platform: str
) -> None:
    """Contract §9.5: such a value arriving in a platform webhook is acknowledged (2xx) and
    ignored, never a 5xx (a Zoom id or Jitsi room name `"\\ud83d"` reached SQLite: issue 13)."""
    signer = target.platforms.signers[platform]
    session_id = refused_sessions[platform]

    @FUZZ_PER_PLATFORM
    @given(delivery=refused_deliveries(signer))
    def run(delivery: tuple[str, bytes, str]) -> None:
        path, body, field = delivery
        status, answer = target.service.call(target.post(signer, path, body))
        key = f"{platform} refused {field}"
        target.cases[key] = target.cases.get(key, 0) + 1
        assert 200 <= status < 300, (field, status, answer)
        assert target.service.call(target.api.events(session_id)) == [], "not ignored"
        assert target.service.call(target.service.healthy())

    run()


# -- signature headers of any bytes ------------------------------------------------------------

# The signed timestamps that travel in headers of their own (JaaS and Whereby sign theirs inside
# the signature header, `t=…`).
TIMESTAMP_HEADERS = {"zoom": "x-zm-request-timestamp", "daily": "X-Webhook-Timestamp"}
SIGNATURE_PREFIXES = (b"v0=", b"v1,", b"t=1,v1=", b"Bearer ", b"sha256=")


@pytest.mark.parametrize("platform", sorted(SIGNERS))
def test_a_signature_header_of_any_bytes_is_401(target: WebhookTarget, platform: str) -> None:
    """A valid delivery (for nobody) whose signature, or signed timestamp, header holds any bytes
    (a raw 0xFF in `x-zm-signature` or Jitsi's `Authorization` was a 500: issue 13, finding 2):
    401 `invalid_signature`, unless a parser refuses a control byte first."""
    signer = target.platforms.signers[platform]
    names = [signer.signature_header, *filter(None, [TIMESTAMP_HEADERS.get(platform)])]

    @FUZZ_PER_PLATFORM
    @given(
        name=st.sampled_from(names),
        value=header_values(prefixes=SIGNATURE_PREFIXES),
        action=st.sampled_from(signer.actions),
    )
    def run(name: str, value: bytes, action: Any) -> None:
        path, body = signer.build(action, MEETINGS[platform], "stranger", uuid.uuid4().hex)
        headers = signer.sign(path, "", body, url=f"{PUBLIC_URL}/webhooks/acme/{path}")
        original = headers.pop(name).encode()
        sent = [(k.encode(), v.encode()) for k, v in headers.items()] + [(name.encode(), value)]
        request = RawRequest(b"POST", f"/webhooks/acme/{path}".encode(), sent, body)
        answer = target.service.call(send(target.service.url, request))
        key = f"{platform} {name} bytes"
        target.cases[key] = target.cases.get(key, 0) + 1
        assert answer.status < 500, (name, value, answer.status, answer.body[:300])
        if answer.refused_by_the_parser:
            assert not is_field_value(value), (value, answer.body)
        elif value.strip(b" \t") == original:
            assert answer.status == 200, (answer.status, answer.body[:300])
        else:
            assert answer.status == 401, (name, value, answer.status, answer.body[:300])
            assert answer.json()["error"]["code"] == "invalid_signature", answer.body
        assert target.service.call(target.service.healthy())

    run()

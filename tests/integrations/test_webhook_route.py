"""The webhook route over real HTTP, with a recording engine standing in for the session engine.

Proves the route's own job: tenant and platform lookup (404), signature (401, nothing
applied), the public URL Twilio signs, the Zoom challenge reply, Jitsi's sub-paths, and that
payloads never reach the logs. End-to-end tests with the real engine are in test_webhooks_e2e.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from platform_signers import MEETINGS, SIGNERS, Delivery, JitsiSigner, PlatformSigner, ZoomSigner
from structlog.testing import capture_logs
from yarl import URL

import integrations.moves
from integrations.base import PlatformEvent, PlatformEventKind
from service.http.middleware import errors_middleware
from service.http.webhooks import WebhookContext, webhook_routes

PUBLIC = "https://comfort.example.com"


@dataclass
class FakeTenant:
    integrations: dict[str, dict[str, str]]


@dataclass
class FakeTenants:
    tenants: dict[str, FakeTenant]

    def get(self, tenant_id: str) -> FakeTenant | None:
        return self.tenants.get(tenant_id)


@dataclass
class RecordingEngine:
    """Records events and dedupes by delivery key, as the real engine's contract says."""

    applied: list[tuple[str, str, PlatformEvent]] = field(default_factory=list)
    seen: set[tuple[str, str, str]] = field(default_factory=set)

    async def apply_platform_event(
        self, tenant_id: str, platform: str, event: PlatformEvent
    ) -> str:
        key = (tenant_id, platform, event.delivery_key)
        if key in self.seen:
            return "duplicate"
        self.seen.add(key)
        self.applied.append((tenant_id, platform, event))
        return "applied"


@dataclass
class Harness:
    base: str
    http: ClientSession
    engine: RecordingEngine
    signers: dict[str, PlatformSigner]

    async def post(self, delivery: Delivery, tenant: str = "acme") -> tuple[int, dict[str, object]]:
        url = f"{self.base}/webhooks/{tenant}/{delivery.path}"
        if delivery.query:
            url += f"?{delivery.query}"
        # encoded=True: send path and query byte for byte, as a platform would.
        target = URL(url, encoded=True)
        async with self.http.post(target, data=delivery.body, headers=delivery.headers) as response:
            return response.status, await response.json()

    def deliver(
        self, platform: str, action: str, ref: str | None = "c-ref", **kw: object
    ) -> Delivery:
        base = f"{PUBLIC}/webhooks/acme"
        return self.signers[platform].delivery(
            action,  # type: ignore[arg-type]
            MEETINGS[platform],
            ref,
            url_base=base,
            **kw,  # type: ignore[arg-type]
        )


@pytest.fixture(autouse=True)
def quick_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jitsi leaves wait MOVE_HOLD_S for a move's other half (test_moves.py): not 5 s here."""
    monkeypatch.setattr(integrations.moves, "MOVE_HOLD_S", 0.05)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    signers = {name: cls() for name, cls in SIGNERS.items()}
    tenants = FakeTenants(
        {
            "acme": FakeTenant({name: signer.config for name, signer in signers.items()}),
            "bare": FakeTenant({}),
        }
    )
    engine = RecordingEngine()
    context = WebhookContext(tenants=tenants, sessions=engine, public_url=PUBLIC, body_timeout_s=1)
    app = web.Application(middlewares=[errors_middleware])  # the service's error envelopes
    app.router.add_routes(webhook_routes(context))
    server = TestServer(app)
    await server.start_server()
    async with ClientSession() as http:
        yield Harness(str(server.make_url("")).rstrip("/"), http, engine, signers)
    await server.close()


@pytest.fixture(params=sorted(SIGNERS))
def platform(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_signed_join_leave_end_reach_the_engine(harness: Harness, platform: str) -> None:
    actions = harness.signers[platform].actions
    for action in actions:
        status, body = await harness.post(harness.deliver(platform, action))
        assert status == 200, body
        assert body == {"ok": True, "applied": 1, "duplicate": 0, "ignored": 0}
    kinds = [event.kind for _, _, event in harness.engine.applied]
    expected = {
        "join": PlatformEventKind.PARTICIPANT_JOINED,
        "leave": PlatformEventKind.PARTICIPANT_LEFT,
        "end": PlatformEventKind.SESSION_ENDED,
    }
    assert kinds == [expected[a] for a in actions]
    assert {(t, p) for t, p, _ in harness.engine.applied} == {("acme", platform)}


async def test_repeated_delivery_is_reported_duplicate(harness: Harness, platform: str) -> None:
    delivery = harness.deliver(platform, "join", delivery_id="d-1")
    assert (await harness.post(delivery))[1]["applied"] == 1
    status, body = await harness.post(delivery)
    assert status == 200
    assert body["duplicate"] == 1
    assert len(harness.engine.applied) == 1


async def test_tampered_signature_is_401_and_applies_nothing(
    harness: Harness, platform: str
) -> None:
    delivery = harness.signers[platform].tampered(harness.deliver(platform, "join"))
    status, body = await harness.post(delivery)
    assert status == 401
    assert body["error"]["code"] == "invalid_signature"  # type: ignore[index]
    assert harness.engine.applied == []


async def test_stale_timestamp_is_401(harness: Harness, platform: str) -> None:
    signer = harness.signers[platform]
    if not signer.has_timestamp:
        pytest.skip("no signed timestamp")
    import time

    status, _ = await harness.post(harness.deliver(platform, "join", ts=int(time.time()) - 400))
    assert status == 401
    assert harness.engine.applied == []


async def test_unknown_tenant_or_unconfigured_platform_is_404(
    harness: Harness, platform: str
) -> None:
    delivery = harness.deliver(platform, "join")
    for tenant in ("nobody", "bare"):
        status, body = await harness.post(delivery, tenant=tenant)
        assert status == 404
        assert body["error"]["code"] == "not_found"  # type: ignore[index]
    assert harness.engine.applied == []


async def test_platforms_without_webhooks_are_404(harness: Harness) -> None:
    delivery = harness.deliver("zoom", "join")
    for name in ("generic", "teams", "jitsi"):
        moved = Delivery(name, name, "", delivery.headers, delivery.body)
        status, body = await harness.post(moved)
        assert status == 404, name
        assert body["error"]["code"] == "not_found"  # type: ignore[index]


async def test_jitsi_accepts_only_the_four_event_sync_paths(harness: Harness) -> None:
    signer = harness.signers["jitsi"]
    assert isinstance(signer, JitsiSigner)
    joined = harness.deliver("jitsi", "join")
    for path in ("jitsi/events/occupant/kicked", "jitsi/events", "jitsi/other/occupant/joined"):
        status, _ = await harness.post(Delivery("jitsi", path, "", joined.headers, joined.body))
        assert status == 404, path
    body = json.dumps({"event_name": "muc-room-created", "room_name": "r"}).encode()
    created = Delivery("jitsi", "jitsi/events/room/created", "", joined.headers, body)
    assert (await harness.post(created)) == (
        200,
        {"ok": True, "applied": 0, "duplicate": 0, "ignored": 0},
    )
    assert harness.engine.applied == []
    unauthorised = joined.with_header("Authorization", "Bearer wrong")
    assert (await harness.post(unauthorised))[0] == 401


async def test_zoom_url_validation_is_answered_only_when_signed(harness: Harness) -> None:
    signer = harness.signers["zoom"]
    assert isinstance(signer, ZoomSigner)
    body = signer.url_validation("abc_DEF-123")
    signed = Delivery("zoom", "zoom", "", signer.sign("zoom", "", body, url=""), body)
    status, reply = await harness.post(signed)
    assert status == 200
    assert set(reply) == {"plainToken", "encryptedToken"}
    assert reply["plainToken"] == "abc_DEF-123"
    assert (await harness.post(signer.tampered(signed)))[0] == 401
    unsigned = Delivery("zoom", "zoom", "", {"content-type": "application/json"}, body)
    assert (await harness.post(unsigned))[0] == 401
    bad = signer.url_validation("x" * 65)
    status, reply = await harness.post(
        Delivery("zoom", "zoom", "", signer.sign("zoom", "", bad, url=""), bad)
    )
    assert status == 400
    assert "encryptedToken" not in reply


async def test_twilio_is_verified_against_the_public_url_with_the_query(harness: Harness) -> None:
    delivery = harness.deliver("twilio", "join", query="ref=a%2Fb&z=1")
    status, body = await harness.post(delivery)
    assert (status, body["applied"]) == (200, 1)
    # Signed for the server's own address instead of COMFORT_PUBLIC_URL: refused.
    local = harness.signers["twilio"].delivery(
        "join", MEETINGS["twilio"], "c-ref", url_base=harness.base + "/webhooks/acme"
    )
    assert (await harness.post(local))[0] == 401


async def test_signed_body_of_the_wrong_shape_is_400(harness: Harness) -> None:
    signer = harness.signers["daily"]
    body = json.dumps({"type": "participant.joined", "id": "x", "payload": {"user_id": 5}}).encode()
    delivery = Delivery("daily", "daily", "", signer.sign("daily", "", body, url=""), body)
    status, reply = await harness.post(delivery)
    assert status == 400
    assert reply["error"]["code"] == "invalid_body"  # type: ignore[index]


async def test_a_large_signed_body_is_read_whole(harness: Harness) -> None:
    """Bodies arrive in several chunks; the signature is checked over all of them."""
    signer = harness.signers["daily"]
    body = json.loads(harness.deliver("daily", "join").body)
    body["payload"]["padding"] = "x" * (200 * 1024)
    raw = json.dumps(body).encode()
    delivery = Delivery("daily", "daily", "", signer.sign("daily", "", raw, url=""), raw)
    status, reply = await harness.post(delivery)
    assert (status, reply["applied"]) == (200, 1)


async def test_oversized_body_is_413(harness: Harness) -> None:
    delivery = harness.deliver("daily", "join")
    status, _ = await harness.post(delivery.with_body(b"x" * (300 * 1024)))
    assert status == 413


async def test_payloads_and_secrets_never_reach_the_logs(harness: Harness, platform: str) -> None:
    with capture_logs() as logs:
        await harness.post(harness.deliver(platform, "join", ref="secret-participant-ref"))
        await harness.post(
            harness.signers[platform].tampered(
                harness.deliver(platform, "leave", ref="secret-participant-ref")
            )
        )
    text = json.dumps(logs, default=str)
    assert logs, "the route logs each webhook"
    assert "secret-participant-ref" not in text
    assert MEETINGS[platform] not in text
    for secret in harness.signers[platform].config.values():
        assert secret not in text


# -- contract §9.5: one decoding boundary for webhook bodies and credential headers -----------


async def raw_post(base: str, delivery: Delivery, mangle: bytes = b"") -> tuple[bytes, bytes]:
    """POST `delivery` over a raw socket, each of its headers but Content-Type followed by the
    bytes `mangle`; the answer's status line and body."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [
        f"POST /webhooks/acme/{delivery.path}"
        f"{'?' + delivery.query if delivery.query else ''} HTTP/1.1".encode(),
        b"Host: t",
        b"Connection: close",
        b"Content-Length: " + str(len(delivery.body)).encode(),
    ]
    for name, value in delivery.headers.items():
        extra = b"" if name.lower() == "content-type" else mangle
        lines.append(name.encode() + b": " + value.encode() + extra)
    try:
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + delivery.body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


async def test_a_raw_ff_byte_in_a_credential_header_is_401_invalid_signature(
    harness: Harness, platform: str
) -> None:
    """x-zm-signature, Jitsi's and LiveKit's bearer, every platform's signature header: a value
    that is not text fails as a wrong one does (401), never 500."""
    delivery = harness.deliver(platform, "join")
    status, body = await raw_post(harness.base, delivery)
    assert status.startswith(b"HTTP/1.1 200"), (status, body)  # the same, unmangled
    for mangle in (b"\xff", b"\xc3", b"\x80abc"):
        status, body = await raw_post(harness.base, delivery, mangle)
        assert status.startswith(b"HTTP/1.1 401"), (mangle, status, body)
        assert json.loads(body)["error"]["code"] == "invalid_signature"
    assert len(harness.engine.applied) == 1


def re_signed(harness: Harness, delivery: Delivery, body: bytes) -> Delivery:
    signer = harness.signers[delivery.platform]
    url = f"{PUBLIC}/webhooks/acme/{delivery.path}"
    headers = signer.sign(delivery.path, delivery.query, body, url=url)
    return Delivery(delivery.platform, delivery.path, delivery.query, headers, body)


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50 + b"1" + b"}" * 50, b"\xff\xfe{}"],
    ids=["nested-100000", "nested-50", "not-utf8"],
)
async def test_a_signed_body_that_cannot_be_decoded_is_a_4xx(
    harness: Harness, platform: str, body: bytes
) -> None:
    try:
        delivery = re_signed(harness, harness.deliver(platform, "join"), body)
    except UnicodeDecodeError:
        pytest.skip(f"{platform}'s signer reads its body as text")
    status, answer = await harness.post(delivery)
    if platform == "twilio":  # form data: no StatusCallbackEvent in it, nothing to do
        assert status == 200 and answer["applied"] == 0
    else:
        assert status == 400 and answer["error"]["code"] == "invalid_body"  # type: ignore[index]
    assert harness.engine.applied == []


# Breaking §9.5's text rules: C0 (NUL, tab, newline), C1, a non-character, a lone surrogate.
UNUSABLE = ["c-\x00ref", "c\tref", "c\nref", "c-\x85ref", "c-\ufdd0ref", "c-\ud83d"]


@pytest.mark.parametrize("value", UNUSABLE, ids=lambda v: f"U+{ord(v[2]):04X}")
async def test_an_event_whose_ids_break_the_text_rules_is_acknowledged_and_ignored(
    harness: Harness, platform: str, value: str
) -> None:
    """A participant reference, or a meeting key, that the service could not hold (a lone
    surrogate SQLite cannot encode, a NUL PostgreSQL refuses): 2xx, nothing applied, logged
    with the field and the rule, never the value."""
    deliveries = []
    try:
        deliveries.append(harness.deliver(platform, "join", ref=value))
        end = (
            harness.signers[platform].delivery("end", value, url_base=f"{PUBLIC}/webhooks/acme")
            if "end" in harness.signers[platform].actions
            else None
        )
    except (UnicodeEncodeError, ValueError):
        pytest.skip(f"{platform}'s own encoding cannot carry this value")
    if end is not None and platform != "zoom":  # Zoom's meeting id is a number
        deliveries.append(end)
    for delivery in deliveries:
        with capture_logs() as logs:
            status, answer = await harness.post(delivery)
        assert status == 200, answer
        assert answer == {"ok": True, "applied": 0, "duplicate": 0, "ignored": 1}
        ignored = [e for e in logs if e["event"] == "platform_event_ignored"]
        assert [e["reason"] for e in ignored] in (
            ["control_character"],
            ["noncharacter"],
            ["lone_surrogate"],
        )
        assert value not in json.dumps(logs, default=str)
    assert harness.engine.applied == []


async def test_a_lone_surrogate_elsewhere_in_a_payload_changes_nothing(harness: Harness) -> None:
    """JavaScript may cut a display name between the halves of an emoji: the ids are fine, so
    the event is applied."""
    delivery = harness.deliver("zoom", "join")
    body = json.loads(delivery.body)
    body["payload"]["object"]["participant"]["user_name"] = "Someone \ud83d"
    status, answer = await harness.post(re_signed(harness, delivery, json.dumps(body).encode()))
    assert (status, answer["applied"]) == (200, 1)


async def test_a_webhook_body_that_trickles_in_is_answered_408(harness: Harness) -> None:
    """A body sent byte by byte is cut short at the body deadline (the harness: 1 s)."""
    delivery = harness.deliver("jitsi", "join")
    host, port = harness.base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = [
        f"POST /webhooks/acme/{delivery.path} HTTP/1.1".encode(),
        b"Host: t",
        b"Content-Length: " + str(len(delivery.body)).encode(),
        *(f"{name}: {value}".encode() for name, value in delivery.headers.items()),
    ]
    writer.write(b"\r\n".join(head) + b"\r\n\r\n")

    async def trickle() -> None:
        for byte in delivery.body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    sending = asyncio.create_task(trickle())
    try:
        status = await asyncio.wait_for(reader.readline(), 10)
        assert status.startswith(b"HTTP/1.1 408"), status
        rest = await asyncio.wait_for(reader.readuntil(b"}}"), 10)
        assert b'"code":"request_timeout"' in rest
    finally:
        sending.cancel()
        writer.close()
    assert harness.engine.applied == []

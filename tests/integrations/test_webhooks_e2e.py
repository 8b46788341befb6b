"""Platform webhooks end to end: the real service, signed requests from outside, the session log.

For each platform: a session booked with `platform_ref`s; signed join, leave and end
deliveries become `participant_joined`/`participant_left` (via "platform") and
`session_ended` (by "platform"); a tampered or stale delivery is 401 and logs nothing; a
repeated delivery logs nothing twice; an unknown meeting is acknowledged and ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from platform_signers import MEETINGS, SIGNERS, Delivery, PlatformSigner
from structlog.testing import capture_logs
from yarl import URL

import integrations.moves
from service.appkeys import AUDIT, STORE
from service.store.base import AuditQuery
from service.tenants import Tenant, TenantRegistry, hash_key
from tests.service.pacing.support import STORES, fresh_postgres, serving
from tests.support import Api

ACME_KEY = "test-key-acme-webhooks-0123456789"
PUBLIC_URL = "https://comfort.example.com"  # what the platforms call; Twilio signs it


class Platforms:
    def __init__(self) -> None:
        self.signers: dict[str, PlatformSigner] = {name: cls() for name, cls in SIGNERS.items()}

    def tenants(self) -> TenantRegistry:
        integrations = {name: dict(signer.config) for name, signer in self.signers.items()}
        return TenantRegistry(
            [
                Tenant(id="acme", api_key_sha256=hash_key(ACME_KEY), integrations=integrations),
                Tenant(id="plain", api_key_sha256=hash_key(ACME_KEY + "-plain")),
            ]
        )


async def post(
    http: aiohttp.ClientSession, base: str, delivery: Delivery, tenant: str = "acme"
) -> tuple[int, Any]:
    url = f"{base}/webhooks/{tenant}/{delivery.path}" + (
        f"?{delivery.query}" if delivery.query else ""
    )
    async with http.post(
        URL(url, encoded=True), data=delivery.body, headers=delivery.headers
    ) as response:
        return response.status, await response.json(content_type=None)


def deliver(
    signer: PlatformSigner, action: str, meeting: str, ref: str | None, **kw: Any
) -> Delivery:
    return signer.delivery(action, meeting, ref, url_base=f"{PUBLIC_URL}/webhooks/acme", **kw)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def quick_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jitsi leaves wait MOVE_HOLD_S for a move's other half (test_moves.py): not 5 s here."""
    monkeypatch.setattr(integrations.moves, "MOVE_HOLD_S", 0.05)


@pytest.fixture
async def service(server_factory: Any) -> Any:
    platforms = Platforms()
    server = await server_factory(tenants=platforms.tenants(), public_url=PUBLIC_URL)
    async with aiohttp.ClientSession() as http:
        yield server, platforms, Api(server.url, key=ACME_KEY, http=http), http


async def book(api: Api, platform: str, meeting: str) -> str:
    body = await api.create(
        1,
        platform=platform,
        external_id=meeting,
        participants=[
            {"id": "t-1", "role": "therapist", "display_name": "Dr T", "platform_ref": "t-ref"},
            {"id": "c-1", "role": "client", "display_name": "C", "platform_ref": "c-ref"},
        ],
    )
    return str(body["session"]["id"])


def platform_events(events: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    """(type, participant id, via/by) for the presence and end events of a log."""
    out = []
    for event in events:
        if event["type"] in ("participant_joined", "participant_left"):
            out.append((event["type"], event["data"]["participant"]["id"], event["data"]["via"]))
        elif event["type"] == "session_ended":
            out.append((event["type"], None, event["data"].get("by")))
    return out


@pytest.mark.parametrize("platform", sorted(SIGNERS))
async def test_signed_platform_lifecycle_reaches_the_session_log(
    service: Any, platform: str
) -> None:
    server, platforms, api, http = service
    signer = platforms.signers[platform]
    meeting = MEETINGS[platform]
    session_id = await book(api, platform, meeting)

    joined = deliver(signer, "join", meeting, "c-ref")
    assert (await post(http, server.url, joined))[0] == 200
    status, body = await post(http, server.url, joined)  # the platform retries
    assert status == 200
    assert body["duplicate"] == 1 or body["ignored"] == 1
    assert (await post(http, server.url, deliver(signer, "join", meeting, "t-ref")))[0] == 200
    assert (await post(http, server.url, deliver(signer, "leave", meeting, "c-ref")))[0] == 200
    # Someone we did not book, and a meeting we do not know: acknowledged, ignored.
    assert (await post(http, server.url, deliver(signer, "join", meeting, "stranger")))[0] == 200
    assert (await post(http, server.url, deliver(signer, "join", "99999999999", "c-ref")))[0] == 200

    expected = [
        ("participant_joined", "c-1", "platform"),
        ("participant_joined", "t-1", "platform"),
        ("participant_left", "c-1", "platform"),
    ]
    if "end" in signer.actions:
        assert (await post(http, server.url, deliver(signer, "end", meeting, None)))[0] == 200
        expected.append(("session_ended", None, "platform"))
    assert platform_events(await api.events(session_id)) == expected
    if "end" in signer.actions:
        status, body = await api.call("GET", f"/api/v1/sessions/{session_id}")
        assert body["session"]["state"] == "ended"


@pytest.mark.parametrize("platform", sorted(SIGNERS))
async def test_bad_signatures_are_401_and_change_nothing(service: Any, platform: str) -> None:
    server, platforms, api, http = service
    signer = platforms.signers[platform]
    meeting = MEETINGS[platform]
    session_id = await book(api, platform, meeting)
    before = await api.events(session_id)

    refused = [signer.tampered(deliver(signer, "join", meeting, "c-ref"))]
    if signer.has_timestamp:
        refused.append(deliver(signer, "join", meeting, "c-ref", ts=int(time.time()) - 301))
        refused.append(
            deliver(signer, "join", meeting, "c-ref", ts=int(time.time() * 1000) - 301_000)
        )
    if "end" in signer.actions:
        refused.append(signer.tampered(deliver(signer, "end", meeting, None)))
    for delivery in refused:
        status, body = await post(http, server.url, delivery)
        assert status == 401
        assert body["error"]["code"] == "invalid_signature"
    assert await api.events(session_id) == before


@pytest.mark.parametrize("platform", sorted(SIGNERS))
async def test_signed_deliveries_are_audited_by_platform_and_refused_ones_counted(
    service: Any, platform: str
) -> None:
    """A delivery whose signature holds is the platform's, with an audit entry of its own; a
    tampered one proved nothing, and is counted with the other refusals (issue 13)."""
    server, platforms, api, http = service
    signer = platforms.signers[platform]
    meeting = MEETINGS[platform]
    await book(api, platform, meeting)
    audit, store = server.app[AUDIT], server.app[STORE]
    await audit.flush(close_window=True)
    before = len(await store.read_audit(AuditQuery(action_prefix="rest.POST /webhooks")))

    assert (await post(http, server.url, deliver(signer, "join", meeting, "c-ref")))[0] == 200
    for _ in range(3):
        tampered = signer.tampered(deliver(signer, "join", meeting, "c-ref"))
        assert (await post(http, server.url, tampered))[0] == 401
    await audit.flush(close_window=True)
    added = (await store.read_audit(AuditQuery(action_prefix="rest.POST /webhooks")))[before:]
    assert [(e.actor, e.outcome, e.tenant_id) for e in added if e.actor != "anonymous"] == [
        (f"platform:{platform}", "200", "acme")
    ]
    refused = [e for e in added if e.actor == "anonymous"]
    assert {(e.outcome, e.tenant_id, e.detail["reason"]) for e in refused} == {
        ("401", "acme", "invalid_signature")
    }
    assert sum(e.detail["count"] for e in refused) == 3


@pytest.mark.parametrize("platform", sorted(SIGNERS))
async def test_unknown_tenant_or_unconfigured_platform_is_404(service: Any, platform: str) -> None:
    server, platforms, _api, http = service
    delivery = deliver(platforms.signers[platform], "join", MEETINGS[platform], "c-ref")
    for tenant in ("nobody-" + uuid.uuid4().hex[:6], "plain"):
        status, body = await post(http, server.url, delivery, tenant=tenant)
        assert status == 404
        assert body["error"]["code"] == "not_found"


async def test_zoom_url_validation_through_the_service(service: Any) -> None:
    server, platforms, _api, http = service
    signer = platforms.signers["zoom"]
    body = signer.url_validation("Zoom_Challenge-1")  # type: ignore[attr-defined]
    signed = Delivery("zoom", "zoom", "", signer.sign("zoom", "", body, url=""), body)
    status, reply = await post(http, server.url, signed)
    assert status == 200
    expected = hmac.new(
        signer.config["secret_token"].encode(), b"Zoom_Challenge-1", hashlib.sha256
    ).hexdigest()
    assert reply == {"plainToken": "Zoom_Challenge-1", "encryptedToken": expected}
    assert (await post(http, server.url, signer.tampered(signed)))[0] == 401


async def test_a_second_platform_join_logs_nothing(service: Any) -> None:
    """A platform join for someone already present logs nothing (contract §3)."""
    server, platforms, api, http = service
    signer = platforms.signers["daily"]
    meeting = "room-twice"
    session_id = await book(api, "daily", meeting)
    for _ in range(2):  # two distinct deliveries saying the same thing
        assert (await post(http, server.url, deliver(signer, "join", meeting, "c-ref")))[0] == 200
    assert platform_events(await api.events(session_id)) == [
        ("participant_joined", "c-1", "platform")
    ]


@pytest.mark.parametrize("platform", sorted(SIGNERS))
async def test_webhook_payloads_and_secrets_stay_out_of_the_logs(
    service: Any, platform: str
) -> None:
    server, platforms, api, http = service
    signer = platforms.signers[platform]
    meeting = MEETINGS[platform]
    await book(api, platform, meeting)
    with capture_logs() as logs:
        await post(http, server.url, deliver(signer, "join", meeting, "c-ref"))
        await post(http, server.url, signer.tampered(deliver(signer, "leave", meeting, "c-ref")))
        await post(http, server.url, deliver(signer, "join", meeting, "unbooked-person-ref"))
    text = json.dumps(logs, default=str)
    assert "platform_webhook_received" in text
    assert "unbooked-person-ref" not in text
    for secret in signer.config.values():
        assert secret not in text


@pytest.fixture(params=STORES)
async def service_on_each_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """The `service` fixture's set-up, on SQLite and on PostgreSQL."""
    platforms = Platforms()
    async with contextlib.AsyncExitStack() as stack:
        settings: dict[str, Any] = {"public_url": PUBLIC_URL}
        if request.param == "postgresql":
            settings["database_url"] = await stack.enter_async_context(fresh_postgres())
        server = await stack.enter_async_context(serving(tmp_path, platforms.tenants(), **settings))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        yield server, platforms, Api(server.url, key=ACME_KEY, http=http), http


@pytest.mark.parametrize("platform", ["zoom", "daily", "vonage"])
async def test_ids_the_store_could_not_hold_are_acknowledged_and_ignored(
    service_on_each_store: Any, platform: str
) -> None:
    """Contract §9.5 on both stores: a lone surrogate (which SQLite cannot encode) or a NUL
    (which PostgreSQL refuses) as a meeting key or participant reference is 2xx and changes
    nothing; the service goes on applying good deliveries."""
    server, platforms, api, http = service_on_each_store
    signer = platforms.signers[platform]
    meeting = MEETINGS[platform]
    session_id = await book(api, platform, meeting)
    for bad in ("\ud83d", "c-\x00", "\x85"):
        deliveries = [deliver(signer, "join", meeting, bad)]
        if platform != "zoom":  # Zoom's meeting id is a number
            deliveries.append(deliver(signer, "join", bad, "c-ref"))
        for delivery in deliveries:
            status, body = await post(http, server.url, delivery)
            assert status == 200, body
            assert body == {"ok": True, "applied": 0, "duplicate": 0, "ignored": 1}
    assert platform_events(await api.events(session_id)) == []
    assert (await post(http, server.url, deliver(signer, "join", meeting, "c-ref")))[0] == 200
    assert platform_events(await api.events(session_id)) == [
        ("participant_joined", "c-1", "platform")
    ]

"""Webhooks to the vendor (contract §8): a real local receiver gets correctly signed deliveries of
urgent cues and session ends, retried under the same id with a byte-identical body after a 500;
deliveries are durable (found again by a fresh engine) and erased with their session. The
receiver listens on loopback over plain HTTP, which the rules of §9.5 refuse: these tenants carry
the development waiver (COMFORT_ALLOW_PRIVATE_WEBHOOKS), except where the rules are the subject.
The Standard Webhooks headers (§9.6) are checked with the libraries vendors use in
test_outbox_standard_webhooks.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import socket
import sqlite3
import time
from pathlib import Path

import orjson
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from service.appkeys import PACING
from service.outbox import RetryPolicy, sign, signature_headers
from service.webhook_targets import WebhookTargets
from tests.service.outbox_helpers import SECRET, Receiver, tenants_with_webhook
from tests.service.pacing_helpers import PacingFactory, cues_of, live_pair

pytest_plugins = ["tests.service.pacing_fixtures", "tests.service.outbox_fixtures"]


def verify(header: str, body: bytes, secret: str = SECRET, tolerance: int = 300) -> bool:
    """What a vendor does: parse t and v1, recompute the HMAC, compare in constant time."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = abs(time.time() - timestamp) <= tolerance
    return fresh and hmac.compare_digest(expected.hexdigest(), parts["v1"])


async def test_urgent_cue_is_delivered_signed_after_a_500_with_the_same_body(
    pacing_factory: PacingFactory, receiver: Receiver
) -> None:
    server = await pacing_factory(tenants=tenants_with_webhook(receiver.url))
    sid, therapist, (client,) = await live_pair(server, {"pause_unacknowledged": {"after_s": 0.3}})
    await client.send("pause")
    (cue,) = await therapist.wait_type("cue")
    await receiver.wait(lambda: len(receiver.received) >= 2)
    (h1, body1, t1), (h2, body2, t2) = receiver.received[:2]
    assert body1 == body2  # byte-identical retry
    assert t2 - t1 < 10.0  # the first retry within 10 s
    for headers, body in ((h1, body1), (h2, body2)):
        assert verify(headers["Comfort-Signature"], body)
        assert headers["Content-Type"] == "application/json"
        assert not verify(headers["Comfort-Signature"], body + b" ")  # the raw body is signed
    delivery = orjson.loads(body1)
    assert set(delivery) == {"id", "type", "tenant", "session_id", "created_at", "data"}
    assert delivery["type"] == "cue.urgent" and delivery["tenant"] == "demo"
    assert delivery["session_id"] == sid
    assert delivery["data"] == cue  # the Event, as the therapist got it
    await asyncio.sleep(0.8)
    assert len(receiver.bodies("cue.urgent")) == 2  # delivered: not sent again
    store = server.app[PACING].store
    assert await store.pending_deliveries(sid) == 0


async def test_session_end_is_delivered_and_warn_cues_are_not(
    pacing_factory: PacingFactory, receiver: Receiver
) -> None:
    receiver.fail_first = 0
    server = await pacing_factory(tenants=tenants_with_webhook(receiver.url))
    sid, therapist, (client,) = await live_pair(server)
    await client.send("zone", {"zone": "too_much"})  # a warn cue: not for the vendor
    await therapist.wait_for(lambda: len(cues_of(therapist)) == 1)
    status, _ = await server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    assert status == 200
    await receiver.wait(lambda: len(receiver.bodies("session.ended")) == 1)
    (ended,) = receiver.bodies("session.ended")
    assert ended["data"]["type"] == "session_ended" and ended["data"]["data"] == {"by": "vendor"}
    await asyncio.sleep(0.5)
    assert receiver.bodies("cue.urgent") == []


async def test_deliveries_survive_losing_the_process_and_go_with_the_session(
    pacing_factory: PacingFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """The receiver is down at first; a fresh engine (as after a restart) finds the pending
    delivery in the store and delivers it. Erasing a session erases its deliveries."""
    receiver.fail_first = 1000
    server = await pacing_factory(tenants=tenants_with_webhook(receiver.url))
    pacing = server.app[PACING]
    sid, therapist, (client,) = await live_pair(server)
    status, _ = await server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    await receiver.wait(lambda: len(receiver.received) >= 1)
    assert await pacing.store.pending_deliveries(sid) == 1
    await pacing.stop()  # the process that enqueued it is gone
    receiver.fail_first = 0
    receiver.received.clear()
    await pacing.start()  # a fresh start: nothing in memory, all from the store
    await receiver.wait(lambda: len(receiver.bodies("session.ended")) == 1)
    await asyncio.sleep(0.3)
    assert await pacing.store.pending_deliveries(sid) == 0

    created = await server.create_session()
    other = created["session"]["id"]
    receiver.fail_first = 1000
    await server.api.call("POST", f"/api/v1/sessions/{other}/end")
    await receiver.wait(lambda: any(b["session_id"] == other for b in receiver.bodies()))
    status, _ = await server.api.call("DELETE", f"/api/v1/sessions/{other}")
    assert status == 204
    with sqlite3.connect(tmp_path / "comfort.db") as db:
        for table in ("vendor_outbox", "timers", "pacing_cursors"):
            rows = db.execute(f"SELECT COUNT(*) FROM {table} WHERE session_id = ?", (other,))
            assert rows.fetchone()[0] == 0, table


def test_retry_policy_first_within_10_s_then_doubling_to_an_hour_for_24_hours() -> None:
    policy = RetryPolicy()
    created = 1_000_000.0
    now, gaps = created, []
    while True:
        following = policy.next_attempt(created, len(gaps) + 1, now)
        if following is None:
            break
        gaps.append(following - now)
        now = following
    assert gaps[0] <= 10.0
    assert all(b >= a * 1.4 for a, b in itertools.pairwise(gaps[:9]))  # ~doubling
    assert max(gaps) <= 3600.0 and max(gaps) >= 3600.0 * 0.75
    assert now <= created + 24 * 3600 and now >= created + 22 * 3600


def test_signature_matches_the_documented_recipe() -> None:
    body = b'{"id":"dlv_1"}'
    header = sign("s3cret", 1_700_000_000, body)
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize(
    ("secret", "key"),
    [
        ("s3cret ✓", "s3cret ✓".encode()),  # any other secret: its UTF-8 bytes
        ("whsec_czNjcmV0IGtleQ==", b"s3cret key"),  # whsec_: the base64 after the prefix
    ],
)
def test_standard_webhooks_headers_match_the_contract_recipe(secret: str, key: bytes) -> None:
    """Contract §9.6: `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-
    timestamp>.<raw body>")>`, beside a `Comfort-Signature` of the same moment that keeps its key
    (the secret as written, `whsec_` and all)."""
    body = b'{"id":"dlv_1"}'
    headers = signature_headers(secret, "dlv_1", 1_700_000_000, body)
    digest = hmac.new(key, b"dlv_1.1700000000." + body, hashlib.sha256).digest()
    assert headers == {
        "Comfort-Signature": sign(secret, 1_700_000_000, body),
        "Comfort-Delivery": "dlv_1",
        "webhook-id": "dlv_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
    comfort = hmac.new(secret.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers["Comfort-Signature"] == f"t=1700000000,v1={comfort}"


async def test_deliveries_log_no_url_secret_or_body(
    pacing_factory: PacingFactory, receiver: Receiver
) -> None:
    from structlog.testing import capture_logs

    receiver.fail_first = 1
    server = await pacing_factory(tenants=tenants_with_webhook(receiver.url))
    with capture_logs() as logs:
        sid, therapist, (client,) = await live_pair(
            server, {"pause_unacknowledged": {"after_s": 0.2}}
        )
        await client.send("pause")
        await receiver.wait(lambda: len(receiver.received) >= 2)
        await asyncio.sleep(0.2)
    attempts = [entry for entry in logs if entry["event"] == "vendor_delivery_attempted"]
    assert [a["outcome"] for a in attempts][:2] == ["retry", "delivered"]
    text = repr(logs)
    for secret in (SECRET, receiver.url, "127.0.0.1", "paused", "Clara"):
        assert secret not in text, secret


class StaticResolver(AbstractResolver):
    """DNS as a test wants it for the names it gives (no DNS server runs here); the system's
    lookup (`/etc/hosts`: localhost) for the others."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.system = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.answers:
            return await self.system.resolve(host, port, family)
        address = self.answers[host]
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": family,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


def delivery_rows(tmp_path: Path, session_id: str) -> list[tuple[str, int, int | None]]:
    with sqlite3.connect(tmp_path / "comfort.db") as db:
        return list(
            db.execute(
                "SELECT state, attempts, last_status FROM vendor_outbox WHERE session_id = ?",
                (session_id,),
            )
        )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/hooks/comfort", "not https"),
        ("https://127.0.0.1:{port}/hooks/comfort", "is a loopback address"),
        (
            "https://[::ffff:127.0.0.1]:{port}/hooks/comfort",
            "is an IPv6 form of a loopback address",
        ),
        ("https://localhost:{port}/hooks/comfort", "resolves to a loopback address"),
        # Resolved at delivery (no DNS is asked when the tenant is built): DNS rebinding.
        ("https://hooks.vendor.test:{port}/hooks/comfort", "resolves to a loopback address"),
    ],
)
async def test_a_private_webhook_is_refused_at_delivery_recorded_failed_and_not_retried(
    pacing_factory: PacingFactory, receiver: Receiver, tmp_path: Path, url: str, reason: str
) -> None:
    """Contract §9.5: checked again at each delivery; a refused delivery is recorded as failed
    and not retried. Nothing reaches the receiver, and the log names neither URL nor address."""
    from structlog.testing import capture_logs

    receiver.fail_first = 0
    port = int(receiver.url.rsplit(":", 1)[1].split("/", 1)[0])
    targets = WebhookTargets(lookup=lambda: StaticResolver({"hooks.vendor.test": "127.0.0.1"}))
    server = await pacing_factory(tenants=tenants_with_webhook(url.format(port=port), targets))
    with capture_logs() as logs:
        sid, therapist, (client,) = await live_pair(server)
        status, _ = await server.api.call("POST", f"/api/v1/sessions/{sid}/end")
        assert status == 200
        deadline = time.monotonic() + 8
        while delivery_rows(tmp_path, sid) != [("failed", 1, None)]:
            assert time.monotonic() < deadline, delivery_rows(tmp_path, sid)
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # several retry intervals of the test policy (0.3 s first)
    assert delivery_rows(tmp_path, sid) == [("failed", 1, None)], "not retried"
    assert receiver.received == []
    (refused,) = [e for e in logs if e["event"] == "vendor_delivery_refused"]
    assert refused["reason"] == reason and refused["tenant"] == "demo"
    for leaked in ("127.0.0.1", "localhost", "hooks.vendor.test", "::ffff", str(port)):
        assert leaked not in repr(logs), leaked


async def test_the_waiver_delivers_to_the_address_the_checked_lookup_gave(
    pacing_factory: PacingFactory, receiver: Receiver
) -> None:
    """COMFORT_ALLOW_PRIVATE_WEBHOOKS waives the rules, and the client connects to the address
    its resolver answered (the one the rules judge): this name resolves nowhere else."""
    receiver.fail_first = 0
    port = int(receiver.url.rsplit(":", 1)[1].split("/", 1)[0])
    targets = WebhookTargets(
        allow_private=True, lookup=lambda: StaticResolver({"hooks.vendor.test": "127.0.0.1"})
    )
    url = f"http://hooks.vendor.test:{port}/hooks/comfort"
    server = await pacing_factory(tenants=tenants_with_webhook(url, targets))
    sid, therapist, (client,) = await live_pair(server)
    await server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    await receiver.wait(lambda: len(receiver.bodies("session.ended")) == 1)
    (headers, _, _) = receiver.received[0]
    assert headers["Host"] == f"hooks.vendor.test:{port}"

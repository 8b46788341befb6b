"""Webhooks to the vendor (contract §8): a durable outbox, signed POSTs, retries with backoff.

Urgent cues and session ends become `OutboxItem`s, stored by the pacing engine with its progress
(so a restart loses none: see `service/pacing`). `OutboxSender` claims due deliveries in the
store (one process at a time), POSTs each body byte for byte, signed afresh at each attempt
(`Comfort-Signature`, and the Standard Webhooks headers of §9.6), and reschedules failures: the
first retry within 10 s, then doubling up to an hour, with jitter, for 24 hours. It runs on its
own task and its own store connection, off the signal path. A URL that breaks the rules of
contract §9.5 (`service.webhook_targets`: https, a public address, as resolved for this very
connection) is not posted to: the delivery is recorded failed, no retry.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import orjson
import structlog

from .aio import wait_event
from .errors import StoreUnavailable
from .events import CueData, Event
from .store.base import OutboxClaim, OutboxItem, OutboxStore
from .tenants import Tenant, standard_webhooks_key
from .webhook_targets import WebhookTargetRefused, WebhookTargets

log = structlog.get_logger(__name__)

_DELIVERY_NAMESPACE = uuid.UUID("5b0c9a52-8d0e-4c52-9a57-6f1c2f3d8e01")
SIGNATURE_HEADER = "Comfort-Signature"
# What `_post` answers instead of an HTTP status when it posts nothing.
NOT_CONFIGURED = -1  # the tenant has no webhook any more
REFUSED = -2  # the URL breaks the rules for webhook targets


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a failed delivery again."""

    first_retry_s: float = 8.0
    max_interval_s: float = 3600.0
    window_s: float = 24 * 3600.0
    jitter: float = 0.25  # each delay is cut by up to this fraction, at random

    def next_attempt(self, created_at: float, attempts_made: int, now: float) -> float | None:
        """When to attempt again after `attempts_made` failed attempts; None: give up."""
        nominal = min(self.max_interval_s, self.first_retry_s * 2 ** max(0, attempts_made - 1))
        delay = nominal * (1 - random.uniform(0, self.jitter))
        at = now + delay
        return at if at <= created_at + self.window_s else None


def vendor_kind(event: Event) -> str | None:
    """The webhook type an event is delivered as, or None when vendors are not told of it."""
    if event.type == "session_ended":
        return "session.ended"
    if (
        event.type == "cue"
        and isinstance(body := event.body, CueData)
        and body.severity == "urgent"
    ):
        return "cue.urgent"
    return None


def delivery_id(session_id: str, event: Event) -> str:
    """Deterministic: every process derives the same id for the same logged event."""
    return "dlv_" + uuid.uuid5(_DELIVERY_NAMESPACE, f"{session_id}/{event.seq}/{event.id}").hex


def outbox_item(
    tenant_id: str, session_id: str, event: Event, now: float, window_s: float
) -> OutboxItem | None:
    """The delivery for `event`, or None when it is not one vendors get."""
    kind = vendor_kind(event)
    if kind is None:
        return None
    ident = delivery_id(session_id, event)
    body = orjson.dumps(
        {
            "id": ident,
            "type": kind,
            "tenant": tenant_id,
            "session_id": session_id,
            "created_at": event.at,
            "data": event.as_dict(),
        }
    )
    return OutboxItem(ident, session_id, tenant_id, kind, body, now, now + window_s)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Comfort-Signature` header value: `t=<unix>,v1=<hex HMAC-SHA256>`, keyed with the
    secret's UTF-8 bytes as written (a `whsec_` secret too: §8 predates §9.6)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def sign_standard(secret: str, delivery: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value (contract §9.6): `v1,<base64 HMAC-SHA256>` over
    `"<webhook-id>.<webhook-timestamp>.<raw body>"`, keyed as `standard_webhooks_key` says."""
    signed = f"{delivery}.{timestamp}.".encode() + body
    digest = hmac.new(standard_webhooks_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secret: str, delivery: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header that authenticates one attempt, all of the same moment `timestamp`."""
    return {
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Comfort-Delivery": delivery,
        "webhook-id": delivery,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard(secret, delivery, timestamp, body),
    }


class OutboxSender:
    """Delivers due outbox rows of every tenant; several processes may run one each."""

    def __init__(
        self,
        store: OutboxStore,
        tenant_of: Callable[[str], Tenant | None],
        owner: str,
        *,
        policy: RetryPolicy | None = None,
        scan_interval_s: float = 1.0,
        lease_s: float = 30.0,
        timeout_s: float = 10.0,
        concurrency: int = 8,
        targets: WebhookTargets | None = None,
    ) -> None:
        self.store = store
        self.tenant_of = tenant_of
        self.owner = owner
        self.policy = policy or RetryPolicy()
        self.scan_interval_s = scan_interval_s
        self.lease_s = lease_s
        self.timeout_s = timeout_s
        self.targets = targets or WebhookTargets()
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._closing = False
        self.outcomes: dict[str, int] = {"delivered": 0, "retry": 0, "failed": 0}

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=self.targets.resolver()),
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            headers={"User-Agent": "session-comfort-webhooks/1"},
        )
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="vendor-outbox")

    async def stop(self) -> None:
        """Stop claiming; attempts in flight are cut and handed back for another try now.

        The loop is not cancelled while it claims: a claim committed but never returned would
        hold its deliveries until the lease lapses.
        """
        self._closing = True
        self._wake.set()
        for attempt in list(self._inflight):
            attempt.cancel()
        if self._task is not None:
            try:
                async with asyncio.timeout(5.0):
                    await asyncio.shield(self._task)
            except (TimeoutError, Exception):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
        self._task = None
        if self._http is not None:
            await self._http.close()
        self._http = None

    def wake(self) -> None:
        """New deliveries were stored: look now rather than at the next scan."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._closing:
            try:
                claims = await self.store.claim_deliveries(
                    self.owner, time.time(), self.lease_s, 50
                )
            except StoreUnavailable:
                claims = []
            except Exception:
                log.exception("outbox_claim_failed")
                claims = []
            if claims:
                attempts = [asyncio.create_task(self._attempt(c)) for c in claims]
                self._inflight.update(attempts)
                if self._closing:
                    for attempt in attempts:
                        attempt.cancel()
                await asyncio.gather(*attempts, return_exceptions=True)
                self._inflight.difference_update(attempts)
                continue
            self._wake.clear()
            await wait_event(self._wake, self.scan_interval_s)

    async def _attempt(self, claim: OutboxClaim) -> None:
        """One POST, then its outcome recorded. Cut short by `stop`, the delivery is handed
        back for another try at once; the record itself is never cut (a settle rolled back
        would leave the delivery claimed until its lease lapses)."""
        cancelled = False
        status: int | None = None
        try:
            async with self._limit:
                status = await self._post(claim)
        except asyncio.CancelledError:
            cancelled = True
        now = time.time()
        if cancelled:
            outcome, next_at = "retry", now
        elif status is not None and 200 <= status < 300:
            outcome, next_at = "delivered", None
        elif status in (NOT_CONFIGURED, REFUSED):  # nothing to deliver to, now or later
            outcome, next_at, status = "failed", None, None
        else:
            next_at = self.policy.next_attempt(claim.created_at, claim.attempts + 1, now)
            outcome = "retry" if next_at is not None else "failed"
        self.outcomes[outcome] += 1
        log.info(
            "vendor_delivery_attempted",
            delivery_id=claim.id,
            session_id=claim.session_id,
            tenant=claim.tenant_id,
            type=claim.kind,
            attempt=claim.attempts + 1,
            status=status,
            outcome=outcome,
            retry_in_s=round(next_at - now, 1) if next_at is not None else None,
        )
        settle = asyncio.ensure_future(
            self.store.settle_delivery(
                claim.id, self.owner, outcome=outcome, status=status, next_attempt_at=next_at
            )
        )
        try:
            await asyncio.shield(settle)
        except asyncio.CancelledError:
            cancelled = True
            with contextlib.suppress(Exception):
                await settle
        except StoreUnavailable:
            pass  # the claim lapses and the delivery is tried again
        if cancelled:
            raise asyncio.CancelledError

    async def _post(self, claim: OutboxClaim) -> int | None:
        """POST once; the HTTP status, None when no answer came, or NOT_CONFIGURED, REFUSED."""
        tenant = self.tenant_of(claim.tenant_id)
        if tenant is None or not tenant.webhook_url or tenant.webhook_secret is None:
            return NOT_CONFIGURED
        assert self._http is not None
        headers = {
            "Content-Type": "application/json",
            **signature_headers(
                tenant.webhook_secret.get_secret_value(), claim.id, int(time.time()), claim.body
            ),
        }
        try:
            self.targets.check_url(tenant.webhook_url)
            async with self._http.post(
                tenant.webhook_url, data=claim.body, headers=headers, allow_redirects=False
            ) as resp:
                await resp.read()
                return resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            refused = _refusal(exc)
            if refused is None:
                log.info(
                    "vendor_delivery_unanswered", delivery_id=claim.id, error=type(exc).__name__
                )
                return None
            # The reason names no host or address: the URL stays out of the log.
            log.warning(
                "vendor_delivery_refused",
                delivery_id=claim.id,
                tenant=claim.tenant_id,
                reason=refused.reason,
            )
            return REFUSED


def _refusal(exc: BaseException) -> WebhookTargetRefused | None:
    """The rule a failed POST broke, when the failure is a refusal: by the check before the
    POST, or by the resolver (whose error aiohttp wraps in a connector error)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        exc = exc.os_error
    return exc if isinstance(exc, WebhookTargetRefused) else None

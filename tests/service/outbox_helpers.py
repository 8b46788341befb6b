"""Helpers for the vendor outbox tests: a vendor's webhook endpoint that records every request
it gets (served by the `receiver` fixture of `outbox_fixtures`), and tenants that post to it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from service.tenants import Tenant, TenantRegistry, hash_key
from service.webhook_targets import WebhookTargets
from tests.support import API_KEY, OTHER_KEY

SECRET = "whsec-test-0123456789"  # not `whsec_`: a plain secret, its UTF-8 bytes the key


@dataclass
class Receiver:
    """A vendor's webhook endpoint: answers the first `fail_first` requests with 500."""

    url: str = ""
    fail_first: int = 1
    received: list[tuple[dict[str, str], bytes, float]] = field(default_factory=list)
    got: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read(), time.monotonic()))
        self.got.set()
        if len(self.received) <= self.fail_first:
            return web.Response(status=500)
        return web.Response(status=204)

    def bodies(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = [orjson.loads(body) for _, body, _ in self.received]
        return [b for b in found if kind is None or b["type"] == kind]

    async def wait(self, predicate: Any, timeout: float = 8.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"receiver got {len(self.received)} requests"
            self.got.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.got.wait(), 0.2)


# COMFORT_ALLOW_PRIVATE_WEBHOOKS=1, as a development setup has it.
WAIVED = WebhookTargets(allow_private=True)


def tenants_with_webhook(
    url: str, targets: WebhookTargets = WAIVED, secret: str = SECRET
) -> TenantRegistry:
    """Tenant `demo` posts its deliveries to `url`, signed with `secret`; `other` has none."""
    return TenantRegistry(
        [
            Tenant(
                id="demo",
                api_key_sha256=hash_key(API_KEY),
                webhook_url=url,
                webhook_secret=secret,  # type: ignore[arg-type]
            ),
            Tenant(id="other", api_key_sha256=hash_key(OTHER_KEY)),
        ],
        targets,
    )

"""Platform webhook routes: `POST /webhooks/{tenant}/{platform}` (contract §6).

The route finds the tenant and its keys for the platform, hands the raw request to the
platform's adapter (`integrations/`) to verify and parse, and gives the resulting events to
the sessions' lifecycle (`service/lifecycle.py`), which matches, deduplicates and logs them.
Unknown tenants and unconfigured platforms are 404 `not_found`; bad signatures 401
`invalid_signature` and change nothing. Failures are raised as `ComfortError`s and rendered by
the service's one error middleware (`http/middleware.py`). Payloads and credentials are never
logged.

The body is read through the one decoding boundary (`http/decode.py`: its size, its deadline),
and so are the headers and the JSON the adapters read (`integrations/base.py`). An event whose
meeting key, participant reference, delivery id or stay breaks the text rules of contract §9.5
(`service/text.py`: a control character, a non-character, a lone surrogate) names nothing the
service could hold: it is acknowledged and ignored, and logged with the field and the rule
broken, never the value.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Protocol

import structlog
from aiohttp import web

from integrations import ADAPTERS
from integrations.base import (
    InvalidPayload,
    InvalidSignature,
    PlatformAdapter,
    PlatformEvent,
    WebhookRequest,
)
from integrations.jitsi.webhook import EVENT_PATHS as JITSI_EVENT_PATHS
from integrations.moves import MoveTracker

from ..appkeys import PLATFORM, TENANT_ID
from ..errors import InvalidBody, NotFound, Unauthorized
from ..lifecycle import PlatformOutcome
from ..text import TextProblem, text_problem
from .decode import read_body
from .middleware import json_response

log = structlog.get_logger(__name__)

#: Platforms' webhook bodies are small; anything bigger is not one of theirs.
MAX_BODY_BYTES = 256 * 1024


class _Tenant(Protocol):
    @property
    def integrations(self) -> Mapping[str, Mapping[str, str]]: ...


class TenantDirectory(Protocol):
    def get(self, tenant_id: str) -> _Tenant | None: ...


class PlatformEventSink(Protocol):
    def apply_platform_event(
        self, tenant_id: str, platform: str, event: PlatformEvent
    ) -> Awaitable[PlatformOutcome]: ...


@dataclass(frozen=True)
class WebhookContext:
    """What the webhook route needs from the application."""

    tenants: TenantDirectory
    sessions: PlatformEventSink
    #: `COMFORT_PUBLIC_URL` without a trailing slash: what the platforms call (Twilio signs it).
    public_url: str
    #: `COMFORT_BODY_TIMEOUT_SECONDS`: a body not all there this soon is 408 `request_timeout`.
    body_timeout_s: float = 10.0


def _not_found() -> NotFound:
    return NotFound("no webhook endpoint here")


def _configured(adapter: PlatformAdapter, config: Mapping[str, str] | None) -> bool:
    return config is not None and all(config.get(key) for key in adapter.config_keys)


def unusable_text(event: PlatformEvent) -> tuple[str, TextProblem] | None:
    """The first text field of `event` that breaks the text rules, and the rule; or None."""
    stay = event.stay
    fields = {
        "meeting_key": event.meeting_key,
        "participant_ref": event.participant_ref,
        "delivery_key": event.delivery_key,
        "stay_room": stay.room if stay else None,
        "stay_connection": stay.connection if stay else None,
    }
    for name, value in fields.items():
        problem = text_problem(value) if value else None
        if problem is not None:
            return name, problem
    return None


async def _receive(
    request: web.Request, context: WebhookContext, platform: str, moves: MoveTracker
) -> web.Response:
    tenant_id = request.match_info["tenant"]
    adapter = ADAPTERS.get(platform)
    tenant = context.tenants.get(tenant_id)
    config = tenant.integrations.get(platform) if tenant is not None else None
    if adapter is None or config is None or not _configured(adapter, config):
        raise _not_found()
    body = await read_body(request, limit=MAX_BODY_BYTES, timeout_s=context.body_timeout_s)

    # Path and query exactly as received (percent-encoding included): Twilio signs them.
    path, _, query = request.raw_path.partition("?")
    webhook_request = WebhookRequest(
        method=request.method,
        url=context.public_url + path + (f"?{query}" if query else ""),
        path=path,
        query=query,
        headers=request.headers,
        body=body,
        received_at=time.time(),
    )
    bound = log.bind(tenant=tenant_id, platform=platform)
    try:
        adapter.verify(webhook_request, config)
    except InvalidSignature as exc:
        bound.warning("platform_webhook_refused", reason=str(exc))
        raise Unauthorized(
            "the request is not signed as the platform signs", code="invalid_signature"
        ) from None
    request[TENANT_ID], request[PLATFORM] = tenant_id, platform  # the audit's caller
    try:
        outcome = adapter.parse(webhook_request, config)
    except InvalidPayload as exc:
        bound.warning("platform_webhook_invalid", reason=str(exc))
        raise InvalidBody("the body is not a webhook of this platform") from None

    results: Counter[PlatformOutcome] = Counter()

    def apply_event(event: PlatformEvent) -> Awaitable[PlatformOutcome]:
        return context.sessions.apply_platform_event(tenant_id, platform, event)

    for event in outcome.events:
        unusable = unusable_text(event)
        if unusable is not None:
            field, problem = unusable
            bound.warning("platform_event_ignored", field=field, reason=problem.reason)
            results[PlatformOutcome.IGNORED] += 1
            continue
        # A leave that may be half of a move between rooms waits for the other half here.
        applied = await moves.apply(tenant_id, platform, event, apply_event)
        results[applied or PlatformOutcome.IGNORED] += 1
    counts = {str(kind): results[kind] for kind in PlatformOutcome}
    bound.info("platform_webhook_received", events=len(outcome.events), **counts)
    if outcome.reply is not None:
        return json_response(outcome.reply)
    return json_response({"ok": True, **counts})


def webhook_routes(context: WebhookContext) -> list[web.RouteDef]:
    """The webhook routes, answering with `context`'s tenants, sessions and public URL."""
    moves = MoveTracker()  # leaves held a moment in case they are half of a move (Jitsi)

    async def platform_webhook(request: web.Request) -> web.Response:
        platform = request.match_info["platform"]
        if platform == "jitsi":
            # Self-hosted Jitsi only posts to its event_sync sub-paths.
            raise _not_found()
        return await _receive(request, context, platform, moves)

    async def jitsi_event_sync(request: web.Request) -> web.Response:
        if request.match_info["event"].rstrip("/") not in JITSI_EVENT_PATHS:
            raise _not_found()
        return await _receive(request, context, "jitsi", moves)

    return [
        web.post("/webhooks/{tenant}/jitsi/{event:.+}", jitsi_event_sync),
        web.post("/webhooks/{tenant}/{platform}", platform_webhook),
    ]

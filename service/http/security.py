"""HTTP hardening: API-key guessing throttle, CORS for allowed origins, security headers.

Headers are set in `on_response_prepare`, so every response gets them, JSON, HTML and errors
alike (pages set their own Content-Security-Policy first; `setdefault` keeps it).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Collection

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware


class AuthThrottle:
    """Counts failed API-key checks per client address; past `limit` in `window_s`, the address
    is answered 429 until the window has passed, even with a good key."""

    def __init__(
        self, limit: int = 10, window_s: float = 60.0, max_addresses: int = 10_000
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        stamps = self._failures.get(address)
        if stamps is None:
            return deque()
        while stamps and now - stamps[0] > self.window_s:
            stamps.popleft()
        if not stamps:
            del self._failures[address]
        return stamps

    def blocked(self, address: str) -> bool:
        return len(self._recent(address, time.monotonic())) >= self.limit

    def failed(self, address: str) -> None:
        now = time.monotonic()
        if address not in self._failures and len(self._failures) >= self.max_addresses:
            # Bounded memory under a spray of addresses: forget the stalest entry.
            oldest = min(self._failures, key=lambda a: self._failures[a][-1])
            del self._failures[oldest]
        stamps = self._failures.setdefault(address, deque())
        stamps.append(now)
        if len(stamps) > self.limit:
            stamps.popleft()


# Public code: the widgets bundle and the platforms' adapter modules (contract §7, §9.7), and the
# origin check a refused page must be able to read.
PUBLIC_PREFIXES = ("/widgets/", "/integrations/")


def cors_middleware(allowed_origins: Collection[str]) -> Middleware:
    """CORS (contract §9.7), on every answer of these paths, errors included (`create_app` puts
    this middleware outside `errors_middleware`, so it sees the envelope, never an exception).

    - The REST API (`/api/`): only `allowed_origins` (`COMFORT_ALLOWED_ORIGINS` and the
      service's own public URL) are told yes, by name, with `Vary: Origin`.
    - The modules under `/widgets/` and `/integrations/`: `*`, which includes every allowed
      origin. They are public code, and a page whose origin is not allowed yet must still load
      the widget, or nothing could tell its developer `origin_not_allowed` (the socket, not the
      module, is held to `COMFORT_ALLOWED_ORIGINS`).
    """
    allowed = frozenset(allowed_origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PUBLIC_PREFIXES):
            response = await handler(request)
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
            return response
        if not request.path.startswith("/api/"):
            return await handler(request)
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/") not in allowed:
            origin = None
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            preflight = web.Response(status=204)
            if origin:
                preflight.headers.update(
                    {
                        "Access-Control-Allow-Origin": origin,
                        "Access-Control-Allow-Methods": "GET, POST, DELETE",
                        "Access-Control-Allow-Headers": "Authorization, Content-Type",
                        "Access-Control-Max-Age": "600",
                        "Vary": "Origin",
                    }
                )
            return preflight
        response = await handler(request)
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    return cors


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if response.content_type == "application/json":
        headers.setdefault("Cache-Control", "no-store")
        headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    if (
        request.secure
        or request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip() == "https"
    ):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

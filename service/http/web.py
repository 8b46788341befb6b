"""The browser side of the service (contract §7): the widgets bundle, the embed pages, /demo, the
platforms' client adapters (`/integrations/<platform>/sdk.js`, built self-contained by
widgets/build.mjs), and `GET /widgets/origin`, which tells a widget whether its page's origin may
connect (§9.7). CORS for all of them is `security.cors_middleware`'s.

Pages carry no inline script: each loads `/widgets/comfort.js` as a module and hands the join
token to the element as an (escaped) attribute. Every page sends a Content-Security-Policy that
allows scripts from this origin, connections to it and to `COMFORT_PUBLIC_URL` (never to the
request's `Host`), and framing by `COMFORT_ALLOWED_ORIGINS`.
A page speaks the language of `?lang=`, else the browser's (`Accept-Language`), else English,
and opens with a heading in that language.
"""

from __future__ import annotations

import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from ..api_models import CreateSessionRequest
from ..appkeys import LIFECYCLE, SETTINGS, TENANTS
from ..settings import Settings

log = structlog.get_logger(__name__)

DEMO_TENANT = "demo"

# Where the built bundle is looked for: an installed package may carry it in service/static;
# a checkout builds it into widgets/dist with `make install` (npm ci && npm run build).
_SERVICE_DIR = Path(__file__).resolve().parent.parent
BUNDLE_CANDIDATES = (
    _SERVICE_DIR / "static" / "comfort.js",
    _SERVICE_DIR.parent / "widgets" / "dist" / "comfort.js",
)
# The platforms' client adapters as built by `npm run build` (widgets/build.mjs): each one a
# self-contained ES module (contract §9.7), the same files the npm package ships.
ADAPTER_DIRS = (
    _SERVICE_DIR / "static" / "integrations",
    _SERVICE_DIR.parent / "widgets" / "dist" / "integrations",
)
# What may be asked for under /integrations/: each platform's sdk.js, and sdk-contract.js.
_ADAPTER_PATH = re.compile(r"^(?:[a-z]+/sdk|sdk-contract)\.js$")

# An origin as a browser writes it (scheme://host[:port]); anything else is left out of the CSP
# rather than allowed to break the header.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]+$")

# The languages the widgets speak (widgets/src/locales/), and each page's heading in them.
LANGUAGES = ("en", "es")
# The request headers python-engineio's origin check reads.
_ENGINEIO_HEADERS = ("Origin", "Host", "X-Forwarded-Proto", "X-Forwarded-Host")
_HEADINGS = {
    "comfort-client": {"en": "Comfort for this session", "es": "Bienestar para esta sesión"},
    "comfort-therapist": {"en": "Session comfort panel", "es": "Panel de bienestar en sesión"},
}


@dataclass
class _Bundle:
    body: bytes
    etag: str
    mtime_ns: int


class BundleCache:
    """The built widgets bundle, read once and re-read when the file changes (a rebuild)."""

    def __init__(self, candidates: tuple[Path, ...] = BUNDLE_CANDIDATES) -> None:
        self.candidates = candidates
        self._cached: _Bundle | None = None

    def path(self) -> Path | None:
        return next((p for p in self.candidates if p.is_file()), None)

    def get(self) -> _Bundle | None:
        path = self.path()
        if path is None:
            return None
        mtime_ns = path.stat().st_mtime_ns
        if self._cached is None or self._cached.mtime_ns != mtime_ns:
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self._cached = _Bundle(body=body, etag=etag, mtime_ns=mtime_ns)
        return self._cached


BUNDLE: web.AppKey[BundleCache] = web.AppKey("widgets_bundle", BundleCache)


def setup_web(app: web.Application) -> None:
    """Add the browser's routes: the bundle, the two embed pages, (in demo mode) /demo, and the
    platforms' client adapters."""
    app[BUNDLE] = BundleCache()
    app.router.add_get("/widgets/comfort.js", widgets_bundle)
    app.router.add_get("/widgets/origin", origin_check)
    app.router.add_get("/embed/client", embed_client)
    app.router.add_get("/embed/therapist", embed_therapist)
    app.router.add_get("/demo", demo)
    app.router.add_get("/integrations/{path:.+}", integration_module)


# ---- the bundle ---------------------------------------------------------------------------


async def widgets_bundle(request: web.Request) -> web.StreamResponse:
    """Serve the ES module; revalidated on every load (ETag + no-cache), so a rebuild shows.
    CORS: `security.cors_middleware` (any origin may load the module, contract §9.7)."""
    bundle = request.app[BUNDLE].get()
    if bundle is None:
        return _not_built()
    headers = {"ETag": bundle.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if bundle.etag in _etags(request.headers.get("If-None-Match", "")):
        return web.Response(status=304, headers=headers)
    response = web.Response(body=bundle.body, headers=headers)
    response.content_type = "text/javascript"
    response.charset = "utf-8"
    response.enable_compression()
    return response


def _not_built() -> web.Response:
    return web.Response(
        status=503,
        text="The widgets bundle is not built. Run `make install` "
        "(it runs `npm ci && npm run build` in widgets/).\n",
        content_type="text/plain",
        headers={"Cache-Control": "no-store", "Retry-After": "30"},
    )


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


async def integration_module(request: web.Request) -> web.StreamResponse:
    """The platforms' client adapters (`/integrations/<platform>/sdk.js`, and
    `/integrations/sdk-contract.js`): the built, self-contained modules, as the npm package
    ships them."""
    relative = request.match_info["path"]
    if not _ADAPTER_PATH.match(relative):
        raise web.HTTPNotFound(reason="no such module")
    built = next((d for d in ADAPTER_DIRS if (d / "sdk-contract.js").is_file()), None)
    if built is None:
        return _not_built()
    target = built / relative
    if not target.is_file():
        raise web.HTTPNotFound(reason="no such module")
    return web.FileResponse(
        target,
        headers={"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache"},
    )


# ---- the origin check ---------------------------------------------------------------------


async def origin_check(request: web.Request) -> web.Response:
    """Whether the requesting page's origin may open a socket here (contract §9.7).

    A browser hides from the page why a cross-origin handshake failed, so the widget asks this
    CORS-open route after a failed connection: `{"origin": "<Origin>" | null, "allowed": bool}`.
    It reveals nothing a page could not learn by trying to connect.
    """
    origin = request.headers.get("Origin")
    allowed = socket_origin_allowed(request.app[SETTINGS], request)
    response = web.json_response({"origin": origin, "allowed": allowed})
    # Readable from any page (`security.cors_middleware`), never cached: it depends on Origin.
    response.headers.update({"Cache-Control": "no-store", "Vary": "Origin"})
    return response


def socket_origin_allowed(settings: Settings, request: web.Request) -> bool:
    """The socket server's own rule (python-engineio's CORS check, as `create_socket_server`
    configures it), so this answer and the handshake agree (a test holds them to it).

    No `Origin` (not a browser): allowed. With `COMFORT_ALLOWED_ORIGINS`: those origins and the
    public URL, compared exactly. Without: the request's own origin, which python-engineio's
    aiohttp driver builds from `X-Forwarded-Proto` (default `http`) and the `Host` header, and
    also from `X-Forwarded-Host` when a proxy sends one.
    """
    # python-engineio joins a repeated header's values with "," (its WSGI environ).
    joined = {
        name: ",".join(values)
        for name in _ENGINEIO_HEADERS
        if (values := request.headers.getall(name, []))
    }
    origin = joined.get("Origin")
    if not origin:
        return True
    if settings.allowed_origins:
        allowed = {*settings.allowed_origins, settings.effective_public_url}
        return "*" in allowed or origin in allowed
    host = joined.get("Host")
    if host is None:
        return False
    forwarded_proto = joined.get("X-Forwarded-Proto")
    forwarded_host = joined.get("X-Forwarded-Host")
    own = {f"{forwarded_proto if forwarded_proto is not None else 'http'}://{host}"}
    if forwarded_proto is not None or forwarded_host is not None:
        scheme = (forwarded_proto if forwarded_proto is not None else "http").split(",")[0].strip()
        own.add(f"{scheme}://{(forwarded_host or host).split(',')[0].strip()}")
    return origin in own


# ---- pages --------------------------------------------------------------------------------


async def embed_client(request: web.Request) -> web.Response:
    """The client widget as a whole page, for side panels and iframes."""
    return _embed_page(request, "comfort-client")


async def embed_therapist(request: web.Request) -> web.Response:
    """The therapist panel as a whole page, for side panels and iframes."""
    return _embed_page(request, "comfort-therapist")


def _embed_page(request: web.Request, element: str) -> web.Response:
    token = request.query.get("token", "")
    lang = _lang(request) if token else "en"  # the missing-token message is in English
    title = _HEADINGS[element][lang]
    heading = f'<h1 class="visually-hidden">{html.escape(title)}</h1>'
    if not token:
        body = _page(
            title,
            f'<main class="single">{heading}<p role="alert">This page needs a join token: '
            "add <code>?token=…</code> to its address.</p></main>",
            lang="en",
        )
        return _html(request, body, status=400)
    escaped = html.escape(token, quote=True)
    body = _page(
        title,
        f'<main class="single">{heading}<{element} token="{escaped}"></{element}></main>',
        lang=lang,
    )
    return _html(request, body)


async def demo(request: web.Request) -> web.Response:
    """Create a session in the demo tenant and show both sides of it, working."""
    settings = request.app[SETTINGS]
    if not settings.demo_enabled:
        raise web.HTTPNotFound(reason="the demo is off; set COMFORT_DEMO=1 to serve it")
    tenant = request.app[TENANTS].get(DEMO_TENANT)
    if tenant is None:
        body = _page(
            "Demo", '<main class="single"><p role="alert">There is no "demo" tenant.</p></main>'
        )
        return _html(request, body, status=503)
    create = CreateSessionRequest.model_validate(
        {
            "platform": "generic",
            "external_id": f"demo-{secrets.token_hex(8)}",
            "scheduled_minutes": 50,
            "participants": [
                {"id": "t-1", "role": "therapist", "display_name": "Therapist"},
                {"id": "c-1", "role": "client", "display_name": "Client"},
            ],
        }
    )
    session, tokens = await request.app[LIFECYCLE].create_session(DEMO_TENANT, create, tenant)
    log.info("demo_session_created", session_id=session.id)
    client = html.escape(tokens["c-1"], quote=True)
    therapist = html.escape(tokens["t-1"], quote=True)
    body = _page(
        "Session Comfort demo",
        f"""<header class="demo-head">
  <h1>Session Comfort demo</h1>
  <p>A new session was made for this visit. Press <strong>Pause</strong> on the client side,
  then acknowledge it on the therapist side. Both sides talk to this service for real.</p>
</header>
<main class="demo">
  <section aria-labelledby="client-h">
    <h2 id="client-h">Client</h2>
    <comfort-client token="{client}"></comfort-client>
  </section>
  <section aria-labelledby="therapist-h">
    <h2 id="therapist-h">Therapist</h2>
    <comfort-therapist token="{therapist}"></comfort-therapist>
  </section>
</main>""",
        lang=_lang(request),
    )
    return _html(request, body)


_PAGE_STYLE = """
  :root { color-scheme: light; }
  html, body { margin: 0; background: #f5f8f7; color: #1d2a30;
    font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
  main.single { max-width: 960px; margin: 0 auto; padding: 8px; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden;
    clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
  .demo-head { max-width: 1200px; margin: 0 auto; padding: 16px 16px 0; }
  .demo-head h1 { font-size: 1.3rem; margin: 0 0 4px; }
  .demo-head p { margin: 0; color: #4a5a62; }
  main.demo { max-width: 1200px; margin: 0 auto; padding: 16px; display: grid; gap: 16px;
    grid-template-columns: minmax(0, 1fr); }
  main.demo h2 { font-size: 0.9rem; text-transform: uppercase; letter-spacing: .06em;
    color: #4a5a62; margin: 0 0 6px 4px; }
  @media (min-width: 900px) { main.demo { grid-template-columns: minmax(320px, 2fr) 3fr; } }
"""


def _page(title: str, content: str, lang: str = "en") -> str:
    return f"""<!doctype html>
<html lang="{html.escape(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>{html.escape(title)}</title>
<style>{_PAGE_STYLE}</style>
<script type="module" src="/widgets/comfort.js"></script>
</head>
<body>
{content}
</body>
</html>
"""


def _lang(request: web.Request) -> str:
    """`?lang=es` picks the Spanish strings; without a known `lang`, the browser's preference
    (`Accept-Language`, by q-value, then order); else English."""
    asked = request.query.get("lang", "").lower().split("-")[0]
    if asked in LANGUAGES:
        return asked
    return preferred_language(request.headers.get("Accept-Language", ""))


def preferred_language(header: str) -> str:
    """The first of LANGUAGES that an `Accept-Language` header prefers (RFC 9110 §12.5.4)."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        base = tag.strip().lower().split("-")[0]
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if base in LANGUAGES and quality > 0 and (best is None or (-quality, position) < best[:2]):
            best = (-quality, position, base)
    return best[2] if best else "en"


def _html(request: web.Request, body: str, status: int = 200) -> web.Response:
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    for name, value in page_headers(request).items():
        response.headers[name] = value
    return response


def page_headers(request: web.Request) -> dict[str, str]:
    """The security headers of every page (contract §7; Zoom's side panel requires them)."""
    settings = request.app[SETTINGS]
    ancestors = [o for o in settings.allowed_origins if _ORIGIN.match(o)]
    frame_ancestors = " ".join(ancestors) if ancestors else "'self'"
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"connect-src {' '.join(connect_sources(settings))}",
            # Inline styles: the page's own <style> and Lit's fallback for engines without
            # constructable stylesheets. Scripts stay strictly 'self'.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # The join token is in the URL: never keep these pages in a shared cache.
        "Cache-Control": "no-store",
    }
    if _is_https(request):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


def connect_sources(settings: Settings) -> list[str]:
    """Where an embed page may connect (contract §9.7): its own origin and the service as
    `COMFORT_PUBLIC_URL` names it, HTTP and WebSocket alike (CSP level 3 lets 'self' cover
    ws(s) of the page's own host; older engines need it spelled out). Never the request's `Host`,
    which the client chooses."""
    sources = ["'self'"]
    public = urlsplit(settings.effective_public_url)
    if public.scheme in ("http", "https") and _HOST.match(public.netloc):
        socket_scheme = "wss" if public.scheme == "https" else "ws"
        sources += [f"{public.scheme}://{public.netloc}", f"{socket_scheme}://{public.netloc}"]
    return sources


def _is_https(request: web.Request) -> bool:
    if request.secure:
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"

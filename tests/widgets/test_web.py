"""The widget routes over HTTP (service/http/web.py): the bundle's type and caching, the embed pages'
and /demo's security headers, token escaping, framing by COMFORT_ALLOWED_ORIGINS."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict

from service.http.web import BUNDLE, BundleCache
from tests.conftest import ServerFactory
from tests.widgets.conftest import WIDGETS


async def get(url: str, **headers: str) -> tuple[int, CIMultiDict[str], str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status, CIMultiDict(resp.headers), await resp.text()


def csp(headers: CIMultiDict[str]) -> dict[str, str]:
    policy = headers["Content-Security-Policy"]
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1]
        for part in (p.strip() for p in policy.split(";"))
    }


@pytest.fixture
def fake_bundle(tmp_path: Path) -> Path:
    path = tmp_path / "comfort.js"
    path.write_text("export const version = 1;\n")
    return path


async def test_bundle_is_javascript_revalidated_by_etag(
    server_factory: ServerFactory, fake_bundle: Path
) -> None:
    server = await server_factory()
    server.app[BUNDLE].candidates = (fake_bundle,)
    status, headers, body = await get(server.url + "/widgets/comfort.js")
    assert status == 200
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body == fake_bundle.read_text()
    status, _, _ = await get(
        server.url + "/widgets/comfort.js", **{"If-None-Match": headers["ETag"]}
    )
    assert status == 304

    fake_bundle.write_text("export const version = 2; // rebuilt\n")
    status, again, body = await get(
        server.url + "/widgets/comfort.js", **{"If-None-Match": headers["ETag"]}
    )
    assert status == 200 and "rebuilt" in body and again["ETag"] != headers["ETag"]


async def test_missing_bundle_answers_503_saying_how_to_build_it(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = await server_factory()
    server.app[BUNDLE].candidates = (tmp_path / "nowhere.js",)
    status, _, body = await get(server.url + "/widgets/comfort.js")
    assert status == 503
    assert "make install" in body


@pytest.mark.parametrize("role", ["client", "therapist"])
async def test_embed_page_loads_the_module_with_the_token_escaped(
    server_factory: ServerFactory, role: str
) -> None:
    server = await server_factory()
    status, headers, body = await get(f"{server.url}/embed/{role}?token=abc%22%3E%3Cscript%3Ex")
    assert status == 200
    assert f'<comfort-{role} token="abc&quot;&gt;&lt;script&gt;x"></comfort-{role}>' in body
    assert '<script type="module" src="/widgets/comfort.js"></script>' in body
    assert body.count("<script") == 1  # no inline script anywhere
    policy = csp(headers)
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"].startswith("'self'")
    assert "ws://127.0.0.1" in policy["connect-src"]
    assert policy["frame-ancestors"] == "'self'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers


@pytest.mark.parametrize("page", ["/embed/client?token=t", "/embed/therapist?token=t", "/demo"])
async def test_the_pages_csp_names_the_service_by_its_public_url_never_by_host(
    server_factory: ServerFactory, page: str
) -> None:
    """Contract §9.7: the client chooses `Host`; a CSP built from it would let a forged request
    widen `connect-src` to any host. The policy names COMFORT_PUBLIC_URL instead."""
    server = await server_factory(
        public_url="https://comfort.example.com/",
        allowed_origins=["https://vendor.example"],
        demo=True,
    )
    for host in ("evil.example", "evil.example:443", server.url.removeprefix("http://")):
        status, headers, _ = await get(server.url + page, Host=host)
        assert status == 200, (page, host)
        policy = csp(headers)
        assert policy["connect-src"] == (
            "'self' https://comfort.example.com wss://comfort.example.com"
        )
        assert "evil" not in headers["Content-Security-Policy"]
        assert policy["script-src"] == "'self'"
        assert policy["frame-ancestors"] == "https://vendor.example"


async def test_without_a_public_url_the_csp_names_the_listening_address(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory()
    _, headers, _ = await get(server.url + "/embed/client?token=t", Host="evil.example")
    address = server.url.removeprefix("http://")
    assert csp(headers)["connect-src"] == f"'self' http://{address} ws://{address}"


@pytest.mark.parametrize("origin", [None, "https://vendor.example", "https://not-allowed.example"])
async def test_the_bundle_is_loadable_from_any_page_errors_included(
    server_factory: ServerFactory, fake_bundle: Path, tmp_path: Path, origin: str | None
) -> None:
    """Contract §9.7: the modules are served with CORS for the allowed origins (`*` includes
    them), and so are their errors. A page whose origin is not allowed yet still loads the
    widget, which then tells it `origin_not_allowed` (tests/widgets/test_client_states.py)."""
    server = await server_factory(allowed_origins=["https://vendor.example"])
    sent = {"Origin": origin} if origin else {}
    server.app[BUNDLE].candidates = (fake_bundle,)
    status, headers, _ = await get(server.url + "/widgets/comfort.js", **sent)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    _, not_modified, _ = await get(
        server.url + "/widgets/comfort.js", **sent, **{"If-None-Match": headers["ETag"]}
    )
    assert not_modified["Access-Control-Allow-Origin"] == "*"
    server.app[BUNDLE].candidates = (tmp_path / "nowhere.js",)
    status, headers, _ = await get(server.url + "/widgets/comfort.js", **sent)
    assert status == 503 and headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = await get(server.url + "/widgets/nothing.js", **sent)
    assert status == 404 and headers["Access-Control-Allow-Origin"] == "*"


async def test_embed_page_without_token_says_so(server_factory: ServerFactory) -> None:
    server = await server_factory()
    status, headers, body = await get(server.url + "/embed/client")
    assert status == 400
    assert "join token" in body
    assert "Content-Security-Policy" in headers


async def test_framing_follows_allowed_origins_and_https_gets_hsts(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(allowed_origins=["https://app.zoom.us", "https://vendor.example"])
    _, headers, _ = await get(
        server.url + "/embed/client?token=t", **{"X-Forwarded-Proto": "https"}
    )
    assert csp(headers)["frame-ancestors"] == "https://app.zoom.us https://vendor.example"
    assert headers["Strict-Transport-Security"].startswith("max-age=")


async def test_demo_creates_a_session_per_visit_in_the_demo_tenant(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(demo=True)
    status, headers, first = await get(server.url + "/demo")
    _, _, second = await get(server.url + "/demo")
    assert status == 200
    assert "<comfort-client token=" in first and "<comfort-therapist token=" in first
    assert first != second  # a new session, so new tokens
    assert csp(headers)["script-src"] == "'self'"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_demo_is_not_served_when_off(server_factory: ServerFactory) -> None:
    server = await server_factory(demo=False)
    status, _, _ = await get(server.url + "/demo")
    assert status == 404


def test_bundle_cache_prefers_the_first_existing_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.js", tmp_path / "b.js"
    second.write_text("b")
    cache = BundleCache((first, second))
    assert cache.get() is not None and cache.get().body == b"b"  # type: ignore[union-attr]
    first.write_text("a")
    assert cache.get().body == b"a"  # type: ignore[union-attr]


def test_widgets_unit_tests_pass() -> None:
    """The outbox and replay unit tests (node's test runner) run as part of the Python suite."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.skip("node is not installed")
    if not (WIDGETS / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WIDGETS, check=True)
    result = subprocess.run([npm, "test"], cwd=WIDGETS, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


# ---- the origin check (contract §9.7) ------------------------------------------------------


async def handshake_status(url: str, **headers: str) -> int:
    """The status of a Socket.IO polling handshake: what a browser's first request gets. An
    opened Engine.IO session is closed again (a close packet), so the server stops cleanly."""
    path = url + "/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(path, headers=headers) as resp:
            status, body = resp.status, await resp.text()
        if status == 200:
            sid = json.loads(body[1:])["sid"]  # "0{...}": the Engine.IO open packet
            async with http.post(f"{path}&sid={sid}", data="1", headers=headers) as closed:
                assert closed.status == 200
    return status


async def origin_answer(url: str, **headers: str) -> tuple[CIMultiDict[str], dict[str, object]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url + "/widgets/origin", headers=headers) as resp,
    ):
        assert resp.status == 200
        return CIMultiDict(resp.headers), await resp.json()


@pytest.mark.parametrize(
    ("allowed_origins", "headers"),
    [
        (["https://vendor.example"], {"Origin": "https://vendor.example"}),
        (["https://vendor.example"], {"Origin": "https://other.example"}),
        (["https://vendor.example"], {"Origin": "https://vendor.example/"}),
        (["https://vendor.example"], {}),
        ([], {"Origin": "http://{host}"}),
        ([], {"Origin": "https://{host}"}),
        ([], {"Origin": "https://{host}", "X-Forwarded-Proto": "https"}),
        (
            [],
            {
                "Origin": "https://proxy.example",
                "X-Forwarded-Host": "proxy.example",
                "X-Forwarded-Proto": "https",
            },
        ),
        ([], {"Origin": "https://vendor.example"}),
    ],
)
async def test_the_origin_check_agrees_with_the_socket_handshake(
    server_factory: ServerFactory, allowed_origins: list[str], headers: dict[str, str]
) -> None:
    """A widget on a refused origin cannot see why its handshake failed (the browser hides it),
    so it asks GET /widgets/origin; the answer must be the handshake's own verdict."""
    server = await server_factory(allowed_origins=allowed_origins)
    host = server.url.removeprefix("http://")
    sent = {name: value.format(host=host) for name, value in headers.items()}
    answer_headers, answer = await origin_answer(server.url, **sent)
    handshake_ok = await handshake_status(server.url, **sent) == 200
    assert answer == {"origin": sent.get("Origin"), "allowed": handshake_ok}
    # Readable from any page, never cached (the answer depends on the Origin).
    assert answer_headers["Access-Control-Allow-Origin"] == "*"
    assert answer_headers["Cache-Control"] == "no-store"
    assert answer_headers["Vary"] == "Origin"


async def test_the_origin_check_says_no_to_a_page_that_is_not_allowed(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(allowed_origins=["https://vendor.example"])
    _, yes = await origin_answer(server.url, Origin="https://vendor.example")
    _, no = await origin_answer(server.url, Origin="https://evil.example")
    assert (yes["allowed"], no["allowed"]) == (True, False)


# ---- language and headings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "accept_language", "lang"),
    [
        ("", "es-ES,es;q=0.9", "es"),
        ("", "es-MX", "es"),
        ("", "en-GB,en;q=0.9,es;q=0.8", "en"),
        ("", "fr-FR,fr;q=0.9,es;q=0.5,en;q=0.4", "es"),
        ("", "en;q=0.5, es;q=0.9", "es"),
        ("", "es;q=0, fr", "en"),
        ("", "de", "en"),
        ("", "", "en"),
        ("", "es;q=oops", "en"),
        ("&lang=en", "es-ES", "en"),
        ("&lang=es", "en-US", "es"),
        ("&lang=fr", "es-ES", "es"),
    ],
)
async def test_embed_pages_speak_the_browsers_language_unless_told(
    server_factory: ServerFactory, query: str, accept_language: str, lang: str
) -> None:
    """Without `lang`, an es-ES browser gets Spanish: the page's `<html lang>` is what the
    widgets read (issue 14: it was always "en")."""
    server = await server_factory()
    for role in ("client", "therapist"):
        headers = {"Accept-Language": accept_language} if accept_language else {}
        _, _, body = await get(f"{server.url}/embed/{role}?token=t{query}", **headers)
        assert f'<html lang="{lang}">' in body


@pytest.mark.parametrize(
    ("role", "heading"),
    [("client", "Comfort for this session"), ("therapist", "Session comfort panel")],
)
async def test_each_embed_page_has_a_heading(
    server_factory: ServerFactory, role: str, heading: str
) -> None:
    server = await server_factory()
    _, _, body = await get(f"{server.url}/embed/{role}?token=t", **{"Accept-Language": "en"})
    assert f'<h1 class="visually-hidden">{heading}</h1>' in body
    assert f"<title>{heading}</title>" in body
    _, _, spanish = await get(f"{server.url}/embed/{role}?token=t&lang=es")
    assert '<h1 class="visually-hidden">' in spanish and heading not in spanish

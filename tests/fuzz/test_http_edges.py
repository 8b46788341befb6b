"""Contract §2, §9.5 and guarantee 5 at every HTTP route, sent raw (tests/fuzz/rawhttp.py): each
route the service serves (read from its router: REST, health, OpenAPI, platform webhooks, the
widgets' modules and pages, `/widgets/origin`, Socket.IO's polling handshake) with hostile path
parameters and queries (all of Unicode, percent-encoded byte by byte, lone surrogates as WTF-8),
header values of any byte 0x00-0xFF (but the CR and LF that end a field), and bodies of any
bytes, JSON with raw escapes, or nesting 1,000 to 100,000 deep.

Every answer is below 500; every error answer of the JSON routes is the contract's envelope with
its code's status; afterwards `/healthz` answers and a vendor still reads its session. A request
the HTTP parser refuses before any route (a control byte in a header, a raw byte in the target,
a content coding aiohttp cannot decode) may get aiohttp's own bare 400: it never reached a route,
and that answer carries none of the service's headers.

Then one property per edge where the contract says more: `Authorization` bytes (401
`unauthorized` unless it is the key), `/widgets/origin` (its JSON, `allowed` as contract §1
and §9.7 say), the embed pages (a page whatever the token, its security headers, the token never
out of its attribute).
"""

from __future__ import annotations

import gc
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.tenants import Tenant, TenantRegistry, hash_key
from tests.fuzz.figures import report
from tests.fuzz.harness import REST_CODES, FuzzService, start_fuzz_service, stop_fuzz_service
from tests.fuzz.profiles import FUZZ
from tests.fuzz.rawhttp import RawAnswer, RawRequest, send
from tests.fuzz.strategies import (
    ANY_TEXT,
    FULL_JSON,
    PATH_SEGMENTS,
    RAW_BYTES,
    deep_json,
    dumps,
    encode,
    header_values,
    hostile_json_texts,
    is_field_value,
    percent_encoded,
)
from tests.integrations.platform_signers import SIGNERS, PlatformSigner
from tests.support import API_KEY, session_body

pytestmark = pytest.mark.fuzz

PUBLIC_URL = "https://comfort.example.com"
ALLOWED_ORIGIN = "https://vendor.example"
KEY = API_KEY.encode()
BEARER = b"Bearer " + KEY
STATS: Counter[str] = Counter()


@dataclass
class Edge:
    service: FuzzService
    signers: dict[str, PlatformSigner]
    routes: list[tuple[str, str]]
    #: A session the fuzzer aims at (ended or erased by it at times; then made again).
    target: str
    #: A session no case touches: a vendor reads it after every case.
    keeper: str

    def new_target(self) -> None:
        created = self.service.call(self.service.api.create(1))
        self.target = str(created["session"]["id"])

    def assert_service_answers(self) -> None:
        svc = self.service
        assert svc.call(svc.healthy()), "/healthz after a hostile request"
        status, body = svc.call(svc.api.call("GET", f"/api/v1/sessions/{self.keeper}"))
        assert status == 200, ("a vendor's read after a hostile request", status, body)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    signers = {name: cls() for name, cls in SIGNERS.items()}
    integrations = {name: dict(signer.config) for name, signer in signers.items()}
    tenants = TenantRegistry(
        [
            Tenant(id="demo", api_key_sha256=hash_key(API_KEY), integrations=integrations),
            Tenant(id="other", api_key_sha256=hash_key("other-" + API_KEY)),
        ]
    )
    svc = start_fuzz_service(
        Path(tmp_path_factory.mktemp("fuzz-http")),
        tenants,
        public_url=PUBLIC_URL,
        allowed_origins=[ALLOWED_ORIGIN],
        demo=True,
        # Wrong keys from one address are answered 429 after 10 a minute: the fuzzer sends
        # thousands, and must reach past the throttle to what it guards.
        auth_failure_limit=10**9,
    )
    routes = sorted(
        {
            (route.method, resource.canonical)
            for resource in svc.app.router.resources()
            for route in resource
            if route.method != "HEAD"
        }
    )
    keeper = str(svc.call(svc.api.create(1))["session"]["id"])
    edge = Edge(svc, signers, routes, target="", keeper=keeper)
    edge.new_target()
    yield edge
    report(f"fuzz http: {dict(sorted(STATS.items()))}")
    stop_fuzz_service(svc)


# -- what is sent -----------------------------------------------------------------------------

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND"]
JITSI_EVENTS = [
    "events/room/created",
    "events/room/destroyed",
    "events/occupant/joined",
    "events/occupant/left",
]
PLATFORMS = [*SIGNERS, "generic"]
# Headers whose values the service or its libraries read. Left out: those that frame the
# message (Content-Length, Transfer-Encoding, Connection, Expect, Upgrade), which would make
# another request rather than a hostile value.
HEADERS: dict[bytes, tuple[bytes, tuple[bytes, ...]]] = {
    # name: (a valid value to splice hostile bytes into, prefixes to put them after)
    b"Authorization": (BEARER, (b"Bearer ", b"Basic ", b"bearer ")),
    b"Content-Type": (b"application/json", (b"application/json; charset=", b"multipart/")),
    b"Content-Encoding": (b"gzip", (b"gzip, ", b"identity")),
    b"Origin": (ALLOWED_ORIGIN.encode(), (b"http://", b"https://")),
    b"Accept-Language": (b"es-MX,es;q=0.9", (b"es;q=",)),
    b"Accept": (b"application/json", ()),
    b"Accept-Encoding": (b"gzip, br", ()),
    b"X-Forwarded-For": (b"203.0.113.7, 10.0.0.1", (b"for=",)),
    b"X-Forwarded-Proto": (b"https", ()),
    b"X-Forwarded-Host": (b"comfort.example.com", ()),
    b"Forwarded": (b'for="[2001:db8::1]";proto=https', (b"for=",)),
    b"If-None-Match": (b'W/"abc"', (b'"',)),
    b"Cookie": (b"a=b", ()),
    b"User-Agent": (b"fuzz", ()),
    b"Access-Control-Request-Method": (b"POST", ()),
    b"Access-Control-Request-Headers": (b"authorization", ()),
    b"X-Zm-Signature": (b"v0=00", (b"v0=",)),
    b"X-Zm-Request-Timestamp": (b"1700000000", ()),
    b"X-Twilio-Signature": (b"AAAA", ()),
    b"Whereby-Signature": (b"t=1,v1=00", (b"t=",)),
    b"X-Jaas-Signature": (b"t=1,v1=00", (b"t=",)),
    b"X-Webhook-Signature": (b"AAAA", ()),
}


@st.composite
def headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """Mostly the vendor's key (so requests get past it), and a few headers of any bytes,
    repeated at times."""
    chosen: list[tuple[bytes, bytes]] = []
    key = draw(st.integers(0, 9))
    if key < 6:
        chosen.append((b"Authorization", BEARER))
    for name in draw(st.lists(st.sampled_from(sorted(HEADERS)), max_size=4)):
        valid, prefixes = HEADERS[name]
        value = draw(st.just(valid) | header_values(valid=valid, prefixes=prefixes))
        chosen.append((name, value))
    if draw(st.integers(0, 19)) == 0:  # a header name of any token characters
        name = draw(st.text("!#$%&'*+-.^_`|~0123456789abcdefXYZ", min_size=1, max_size=20))
        chosen.append((name.encode(), draw(header_values())))
    return chosen


PARAMETERS: dict[str, st.SearchStrategy[str]] = {
    "tenant": st.sampled_from(["demo", "other", "nobody"]) | PATH_SEGMENTS,
    "platform": st.sampled_from(PLATFORMS) | PATH_SEGMENTS,
    "event": st.sampled_from(JITSI_EVENTS) | PATH_SEGMENTS,
    "path": st.sampled_from(["zoom/sdk.js", "sdk-contract.js", "../../pyproject.toml"])
    | PATH_SEGMENTS,
}
QUERY_KEYS = ["after", "limit", "format", "token", "lang", "EIO", "transport", "sid", "t", "x"]


@st.composite
def queries(draw: st.DrawFn) -> str:
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(QUERY_KEYS) | ANY_TEXT.map(percent_encoded),
                st.sampled_from(["0", "-1", "1000", "1001", "fhir", "svg", "es", "4", "polling"])
                | st.integers(-(2**70), 2**70).map(str)
                | ANY_TEXT.map(percent_encoded),
            ),
            max_size=4,
        )
    )
    return "&".join(f"{k}={v}" for k, v in pairs)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return b""
    if kind == 1:
        return draw(RAW_BYTES)
    if kind == 2:
        return encode(draw(deep_json()))
    if kind == 3:
        return encode(dumps(draw(FULL_JSON)))
    return encode(draw(hostile_json_texts(session_body(2, platform="zoom"))))


@st.composite
def requests(draw: st.DrawFn, edge: Edge) -> tuple[str, RawRequest]:
    method, template = draw(st.sampled_from(edge.routes))
    if draw(st.integers(0, 7)) == 0:
        method = draw(st.sampled_from(METHODS))

    def parameter(found: re.Match[str]) -> str:
        name = found.group(1)
        if name == "session_id":
            return draw(st.just(edge.target) | st.just(edge.target) | PATH_SEGMENTS)
        return draw(PARAMETERS.get(name, PATH_SEGMENTS))

    target = re.sub(r"\{(\w+)\}", parameter, template).encode()
    query = draw(queries())
    if query:
        target += b"?" + query.encode()
    if draw(st.integers(0, 29)) == 29:  # raw bytes in the target, which HTTP does not allow
        target += draw(st.binary(min_size=1, max_size=8).filter(lambda b: b" " not in b))
    body = draw(bodies()) if method not in ("GET", "HEAD") or draw(st.integers(0, 9)) == 0 else b""
    return template, RawRequest(method.encode(), target, draw(headers()), body)


# -- what is expected -------------------------------------------------------------------------


# Fields a message carries at most once (RFC 9110 and 9112), whose repetition aiohttp refuses.
SINGLETONS = {
    b"content-length",
    b"content-location",
    b"content-range",
    b"content-type",
    b"etag",
    b"host",
    b"max-forwards",
    b"server",
    b"transfer-encoding",
    b"user-agent",
}


def may_be_refused_by_the_parser(request: RawRequest) -> bool:
    """Whether an HTTP parser may refuse `request` before any route: a header value that is not
    one by RFC 9110, a singleton field repeated, a target byte outside visible ASCII, a content
    coding (aiohttp decodes bodies in its parser, and answers the ones it cannot decode)."""
    names = [name.lower() for name, _ in request.headers]
    return (
        not all(is_field_value(value) for _, value in request.headers)
        or any(names.count(name) > 1 for name in SINGLETONS)
        or any(not 0x21 <= b <= 0x7E for b in request.target)
        or b"content-encoding" in names
    )


def assert_envelope(answer: RawAnswer) -> dict[str, Any]:
    body = answer.json()
    assert isinstance(body, dict) and set(body) == {"error"}, (answer.status, answer.body[:300])
    error = body["error"]
    assert REST_CODES.get(error.get("code")) == answer.status, (answer.status, body)
    assert isinstance(error["message"], str) and error["message"], body
    return dict(error)


def route_kind(target: bytes) -> str:
    path = unquote(target.split(b"?")[0].decode("latin-1"))
    if path.startswith("/socket.io/"):
        return "engine.io"  # python-engineio's own answers (text)
    if path in ("/embed/client", "/embed/therapist", "/demo"):
        return "page"
    return "json"


def check_answer(request: RawRequest, answer: RawAnswer) -> None:
    assert answer.status < 500, (answer.status, answer.body[:500])
    if answer.refused_by_the_parser:
        assert may_be_refused_by_the_parser(request), ("refused before any route", answer.body)
        return
    kind = route_kind(request.target)
    if request.method == b"HEAD" or answer.status < 400 or kind == "engine.io":
        return
    if kind == "page" and "text/html" in (answer.header("content-type") or ""):
        assert answer.status == 400, answer.status  # a page without its token
        assert answer.header("content-security-policy"), answer.headers
        return
    assert_envelope(answer)


@FUZZ
@given(data=st.data())
def test_every_request_to_every_route_is_answered_without_a_5xx(
    edge: Edge, data: st.DataObject
) -> None:
    template, request = data.draw(requests(edge), label="request")
    answer = edge.service.call(send(edge.service.url, request))
    STATS[f"{request.method.decode()} {template}"] += 1
    STATS[f"status {answer.status}" + (" (parser)" if answer.refused_by_the_parser else "")] += 1
    check_answer(request, answer)
    ended = request.method == b"DELETE" or b"/end" in request.target
    if ended and edge.target.encode() in request.target and answer.status in (200, 204):
        edge.new_target()  # the fuzzer ended or erased it
    edge.assert_service_answers()


# -- Authorization ----------------------------------------------------------------------------

_CANONICAL = re.compile(rb"[ \t]*Bearer " + re.escape(KEY) + rb"[ \t]*")
_KEY_SOMEHOW = re.compile(rb"[ \t]*bearer[ \t]+" + re.escape(KEY) + rb"[ \t]*", re.IGNORECASE)


@FUZZ
@given(
    value=header_values(valid=BEARER, prefixes=(b"Bearer ", b"Bearer " + KEY, b"Basic ")),
    route=st.sampled_from(["", "/events", "/summary"]),
)
def test_an_authorization_of_any_bytes_is_401_unless_it_holds_the_key(
    edge: Edge, value: bytes, route: str
) -> None:
    """Contract §2: a vendor call without its key is 401 `unauthorized`, whatever bytes stand
    in for it (a raw 0xFF was a 500: issue 13, finding 2)."""
    request = RawRequest(
        b"GET", f"/api/v1/sessions/{edge.keeper}{route}".encode(), [(b"Authorization", value)]
    )
    answer = edge.service.call(send(edge.service.url, request))
    STATS[f"authorization {answer.status}"] += 1
    assert answer.status < 500, (value, answer.status, answer.body[:300])
    if not is_field_value(value) and answer.refused_by_the_parser:
        return
    if _CANONICAL.fullmatch(value):
        assert answer.status == 200, (value, answer.status, answer.body[:300])
    elif _KEY_SOMEHOW.fullmatch(value):
        assert answer.status in (200, 401), (value, answer.status)
    else:
        assert answer.status == 401, (value, answer.status, answer.body[:300])
        assert assert_envelope(answer)["code"] == "unauthorized"
    edge.assert_service_answers()


# -- /widgets/origin --------------------------------------------------------------------------

ORIGIN_HEADERS = [b"Origin", b"Host", b"X-Forwarded-Proto", b"X-Forwarded-Host"]


@FUZZ
@given(
    values=st.fixed_dictionaries(
        {},
        optional={
            name: st.sampled_from([ALLOWED_ORIGIN.encode(), PUBLIC_URL.encode(), b"https"])
            | header_values(prefixes=(b"https://", b"http://"))
            for name in ORIGIN_HEADERS
        },
    )
)
def test_widgets_origin_answers_whether_any_origin_may_connect(
    edge: Edge, values: dict[bytes, bytes]
) -> None:
    """Contract §9.7: `{"origin", "allowed"}` whatever the page's Origin, Host and forwarding
    headers hold. With COMFORT_ALLOWED_ORIGINS set, exactly those origins and the public URL are
    allowed (§1), and a request with no Origin (not a browser) is."""
    request = RawRequest(b"GET", b"/widgets/origin", list(values.items()))
    answer = edge.service.call(send(edge.service.url, request))
    STATS[f"/widgets/origin {answer.status}"] += 1
    assert answer.status < 500, (values, answer.status, answer.body[:300])
    if answer.refused_by_the_parser:
        assert may_be_refused_by_the_parser(request), answer.body
        return
    assert answer.status == 200, (values, answer.status, answer.body[:300])
    body = answer.json()
    assert isinstance(body, dict) and set(body) == {"origin", "allowed"}, body
    origin = values.get(b"Origin", b"").strip(b" \t")
    if not origin:
        assert body["allowed"] is True, body
    else:
        allowed = origin in (ALLOWED_ORIGIN.encode(), PUBLIC_URL.encode())
        assert body["allowed"] is allowed, (origin, body)
        if origin.isascii():
            assert body["origin"] == origin.decode(), (origin, body)
    edge.assert_service_answers()


# -- the embed pages --------------------------------------------------------------------------

_ATTRIBUTE = re.compile(r'<(comfort-client|comfort-therapist) token="([^"]*)"></\1>')


@FUZZ
@given(
    page=st.sampled_from(["/embed/client", "/embed/therapist"]),
    token=ANY_TEXT.map(percent_encoded) | st.sampled_from(["", "%22%3E%3Cscript%3E", "a%00b"]),
    lang=st.none() | ANY_TEXT.map(percent_encoded) | st.sampled_from(["es", "ES-mx", "en"]),
    accept_language=st.none() | header_values(valid=b"es-MX,es;q=0.9", prefixes=(b"es;q=",)),
    forwarded_proto=st.none() | st.sampled_from([b"https", b"http"]) | header_values(),
)
def test_an_embed_page_is_a_page_whatever_its_token_and_language(
    edge: Edge,
    page: str,
    token: str,
    lang: str | None,
    accept_language: bytes | None,
    forwarded_proto: bytes | None,
) -> None:
    """Contract §7: the page answers with its security headers (CSP, nosniff, no referrer); the
    token, whatever it holds, stays inside its attribute (escaped), one element per page."""
    query = f"token={token}" + (f"&lang={lang}" if lang is not None else "")
    headers = [
        (name, value)
        for name, value in [
            (b"Accept-Language", accept_language),
            (b"X-Forwarded-Proto", forwarded_proto),
        ]
        if value is not None
    ]
    request = RawRequest(b"GET", f"{page}?{query}".encode(), headers)
    answer = edge.service.call(send(edge.service.url, request))
    STATS[f"embed {answer.status}"] += 1
    assert answer.status < 500, (answer.status, answer.body[:300])
    if answer.refused_by_the_parser:
        assert may_be_refused_by_the_parser(request), answer.body
        return
    assert answer.status == (400 if not token else 200), (answer.status, answer.body[:300])
    assert "text/html" in (answer.header("content-type") or "")
    assert "script-src 'self'" in (answer.header("content-security-policy") or "")
    assert answer.header("x-content-type-options") == "nosniff"
    assert answer.header("referrer-policy") == "no-referrer"
    text = answer.body.decode("utf-8")  # the page is UTF-8, whatever the token held
    if token:
        ((name, attribute),) = _ATTRIBUTE.findall(text)
        assert name == "comfort-" + page.removeprefix("/embed/"), name
        assert "<" not in attribute and ">" not in attribute, attribute
    edge.assert_service_answers()


# -- content codings --------------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
@pytest.mark.parametrize("route", ["/api/v1/sessions", "/webhooks/demo/zoom"])
def test_a_body_that_is_not_in_its_content_coding_is_answered_4xx(
    edge: Edge, route: str, coding: str
) -> None:
    """A body that says `Content-Encoding: gzip` and is not gzip cannot be read: a client's
    error (400 `invalid_body`), not the service's. Found by the property above."""
    request = RawRequest(
        b"POST",
        route.encode(),
        [(b"Authorization", BEARER), (b"Content-Encoding", coding.encode())],
        b'{"not": "compressed"}',
    )
    answer = edge.service.call(send(edge.service.url, request))
    assert 400 <= answer.status < 500, (answer.status, answer.body[:300])
    if not answer.refused_by_the_parser:
        assert_envelope(answer)
    edge.assert_service_answers()


# -- nesting and the interpreter's stack --------------------------------------------------------

DEEP_BODY = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "route",
    ["/api/v1/sessions", "/webhooks/demo/zoom", "/webhooks/demo/jitsi/events/room/destroyed"],
)
def test_a_deep_body_is_refused_without_taking_the_stack_to_the_interpreter_s_limit(
    edge: Edge, route: str
) -> None:
    """A body nested 100,000 deep is refused (4xx) without its decoding recursing until Python's
    recursion limit stops it: at that depth any Python code that happens to run fails with a
    RecursionError, printed to stderr outside the JSON log (a collector callback: the service's
    own `GcPauses` gauge; a signal handler; a log call). A collection at every allocation, with a
    callback of our own, makes it certain. Found by the hostile webhook property, where it takes
    a collection at the deepest point (flaky)."""
    headers = [(b"Authorization", BEARER)]
    platform = route.split("/")[3] if route.startswith("/webhooks/") else None
    if platform is not None:
        path = route.removeprefix("/webhooks/demo/")
        signed = edge.signers[platform].sign(
            path, "", DEEP_BODY, url=f"{PUBLIC_URL}/webhooks/demo/{path}"
        )
        headers = [(name.encode(), value.encode()) for name, value in signed.items()]
    failed: list[type[BaseException] | None] = []

    def probe(phase: str, info: dict[str, Any]) -> None:
        pass

    hook, threshold = sys.unraisablehook, gc.get_threshold()
    sys.unraisablehook = lambda unraisable: failed.append(unraisable.exc_type)
    gc.callbacks.append(probe)
    gc.set_threshold(1)
    try:
        request = RawRequest(b"POST", route.encode(), headers, DEEP_BODY)
        answer = edge.service.call(send(edge.service.url, request))
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(probe)
        sys.unraisablehook = hook
    assert 400 <= answer.status < 500, (answer.status, answer.body[:300])
    assert failed == [], f"{len(failed)} collector callbacks failed: {set(failed)}"
    edge.assert_service_answers()

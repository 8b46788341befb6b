"""service/logconfig.py: requests that aiohttp's HTTP parser refuses leave no token or key in the
log, and the stdlib loggers write the same JSON lines as the service (contract §4.6).

aiohttp's parser quotes the offending bytes in its exceptions (`LineTooLong` the start of the
line, `InvalidURLError`, `BadHttpMessage` and `InvalidHeader` the line around the bad byte) and
`aiohttp.server` logs them with a traceback (aiohttp `web_protocol.RequestHandler.handle_error`):
these requests are sent raw over a socket to a real `comfort serve`, and its own output is read.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import aiohttp
import pytest
import structlog

from service.logconfig import PseudonymiseParticipants, scrub_text, shared_processors
from service.pseudonyms import Pseudonyms
from tests.support import API_KEY, SECRET, Api, ServiceProcess


def hostile_requests(token: str, key: str) -> dict[str, bytes]:
    """Requests the parser refuses, each carrying a join token or an API key next to the fault."""
    bearer = b"Authorization: Bearer " + key.encode()
    return {
        # The largest line aiohttp reads is 8,190 bytes.
        "an 8,190-byte URL": b"GET /embed/client?token=" + token.encode() + b"&p=" + b"A" * 8200,
        "an invalid byte in the query": b"GET /embed/client?token=" + token.encode() + b"\x01",
        "a control byte in a header value": b"GET /api/v1/sessions/x\r\n" + bearer + b"\x01",
        "a header line over 8,190 bytes": b"GET /api/v1/sessions/x\r\n" + bearer + b"B" * 9000,
        "a header without a colon": b"GET /api/v1/sessions/x\r\nAuthorization Bearer "
        + key.encode(),
        "a key as a header name": b"GET /\r\nBearer " + key.encode() + b": x",
        "a NUL in the method": b"G\x00T /embed/client?token=" + token.encode(),
        "a space in the URL": b"GET /embed/client?token=" + token.encode() + b" x",
    }


def framed(request: bytes) -> bytes:
    """Complete the request line and headers, where the case left them open."""
    line, sep, rest = request.partition(b"\r\n")
    if b" HTTP/1.1" not in line:
        line += b" HTTP/1.1"
    return line + b"\r\nHost: comfort.test" + (sep + rest if rest else b"") + b"\r\n\r\n"


async def send_raw(port: int, request: bytes, *, after_a_good_request: bool = False) -> bytes:
    """Send `request` on a fresh connection (a good request first when asked, since aiohttp
    logs a bad method on a connection's first request at debug level only) and return the
    answer's status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if after_a_good_request:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: comfort.test\r\n\r\n")
            await writer.drain()
            assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 200")
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            await asyncio.wait_for(reader.read(64), 10)  # the small body of /healthz
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "parser",
    [
        pytest.param({}, id="C parser"),
        # aiohttp's pure-Python parser words its exceptions differently.
        pytest.param({"AIOHTTP_NO_EXTENSIONS": "1"}, id="Python parser"),
    ],
)
async def test_requests_the_parser_refuses_log_no_token_or_key(
    tmp_path: Path, parser: dict[str, str]
) -> None:
    service = await ServiceProcess(tmp_path, env={"COMFORT_LOG_LEVEL": "debug", **parser}).start()
    try:
        async with aiohttp.ClientSession() as http:
            created = await Api(service.url, http=http).create()
        token = created["tokens"]["c-1"]
        answers = {}
        for name, request in hostile_requests(token, API_KEY).items():
            answers[name] = await send_raw(service.port, framed(request))
            answers[name + ", second on a connection"] = await send_raw(
                service.port, framed(request), after_a_good_request=True
            )
        await asyncio.sleep(0.3)
    finally:
        service.terminate()
    for name, status_line in answers.items():
        assert status_line.startswith(b"HTTP/1."), f"{name}: no answer"
    text = service.logs()
    for secret in (token, *token.split("."), API_KEY, SECRET):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    rejected = [line for line in lines if line["event"] == "http_request_rejected"]
    # Logged all the same (by class and status), as a warning: it is the client's mistake.
    assert len(rejected) >= len(hostile_requests(token, API_KEY)), text[-3000:]
    for line in rejected:
        assert line["logger"] == "aiohttp.server" and line["level"] == "warning"
        assert line["status"] == 400 and line["error"][0].isupper()
        assert "exception" not in line


def test_token_shaped_text_is_scrubbed_from_any_value() -> None:
    """The second line of defence, for text the filters above do not know: a traceback or a
    library's message quoting a URL or a header."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjLTEifQ.3q2-7w"
    assert jwt not in scrub_text(f"GET /embed/client?token={jwt} HTTP/1.1")
    assert scrub_text(f"b'/x?token={jwt}\\x01'") == "b'/x?token=[redacted]\\x01'"
    assert scrub_text("b'Authorization: Bearer k-123\\x01'") == (
        "b'Authorization: Bearer [redacted]\\x01'"
    )
    assert scrub_text("Authorization Bearer k-123") == "Authorization Bearer [redacted]"
    assert scrub_text("/api?api_key=k-1&after=3") == "/api?api_key=[redacted]&after=3"
    # Ordinary values are left alone.
    for value in ("session_ended", "idempotency_key=abc", "ses_0123456789abcdef", "keep going"):
        assert scrub_text(value) == value


def test_participant_ids_are_logged_as_the_audit_trails_pseudonyms() -> None:
    """One processor, keyed by field name: every participant field of a line (given or bound)
    holds the pseudonym the audit trail uses for that participant of that session; session ids,
    counts and the actors that are not participants stay as they are."""
    pseudonyms = Pseudonyms(SECRET)
    out = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[
            *shared_processors(PseudonymiseParticipants(pseudonyms)),
            structlog.processors.JSONRenderer(),
        ],
    )
    email = "ann.example@clinic.example"
    with structlog.contextvars.bound_contextvars(session_id="ses_1", participant_id=email):
        logger.info("socket_connected", role="client")
    logger.info("event_stored", session_id="ses_1", actor=email, client_id=[email, "c-2"])
    logger.info("event_stored", session_id="ses_1", actor="system", participants=2)
    logger.info("no_session", participant=email)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]

    assert email not in out.getvalue()
    ann = pseudonyms.pseudonym("ses_1", email)
    assert lines[0]["participant_id"] == ann and lines[0]["session_id"] == "ses_1"
    assert lines[1]["actor"] == ann
    assert lines[1]["client_id"] == [ann, pseudonyms.pseudonym("ses_1", "c-2")]
    assert lines[2]["actor"] == "system" and lines[2]["participants"] == 2
    assert lines[3]["participant"] == pseudonyms.pseudonym(None, email) != ann
    # Without the deployment's secret the key is random: still no id, just not comparable.
    assert email not in repr(PseudonymiseParticipants()(None, "info", {"actor": email}))

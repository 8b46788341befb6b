"""The one decoding boundary for what arrives over HTTP: request bodies, JSON (REST and platform
webhooks) and the header values that carry credentials (contract §9.5).

`read_body(request, limit=…, timeout_s=…)` reads a body whole: over `limit` bytes it is 413
`too_large`, and if it has not arrived `timeout_s` after the handler began to read it (a body
sent byte by byte, or never finished) it is 408 `request_timeout` (`COMFORT_BODY_TIMEOUT_SECONDS`).

`decode_json(raw)` never raises anything but `UndecodableBody`, whose `problem` says why (an
enum, never a quote of the input):

- the body is not UTF-8 (no platform sends anything else);
- it is not JSON (NaN and infinities are not JSON);
- it nests arrays or objects deeper than `MAX_JSON_DEPTH` (32) — nothing this service accepts
  nests more than 6 deep, and no later step (pydantic, a `repr`, the stdlib) can then recurse
  into a `RecursionError`;
- it holds a lone surrogate escape (`"\\ud83d"`), which no store and no JSON encoder of ours can
  write back out. REST refuses it (400 `invalid_body`); a platform's payload, which JavaScript
  wrote and whose strings may hold one (a display name cut between the two halves of an emoji),
  is read with `lone_surrogates=True`, and the ids that hold one are refused afterwards by the
  text rules (`service/text.py`), so such an event is acknowledged and ignored.

`header_text(value)` is a header value the service may read as text, or None: aiohttp decodes
header bytes as UTF-8 with `surrogateescape`, so a raw `0xFF` arrives as a lone surrogate that
no `str.encode()` takes. Such a value, or one holding a control character or a non-character,
is no credential: the routes answer it as they answer a wrong one (401).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from enum import StrEnum
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import PayloadEncodingError

from ..errors import InvalidBody, RequestTimeout, TooLarge
from ..text import text_problem

#: The deepest nesting of arrays and objects accepted in a JSON body (the outermost is 1).
MAX_JSON_DEPTH = 32


class BodyProblem(StrEnum):
    """Why a body could not be decoded."""

    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    LONE_SURROGATE = "lone_surrogate"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    BodyProblem.NOT_UTF8: "the body is not valid UTF-8",
    BodyProblem.NOT_JSON: "the body is not valid JSON",
    BodyProblem.TOO_DEEP: f"the body nests arrays or objects over {MAX_JSON_DEPTH} deep",
    BodyProblem.LONE_SURROGATE: "the body holds a lone surrogate escape",
}


class UndecodableBody(ValueError):
    """A body that `decode_json` cannot read; `problem` says why."""

    def __init__(self, problem: BodyProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def decode_json(raw: bytes, *, lone_surrogates: bool = False) -> Any:
    """The JSON value of `raw`, integers exact (a 20-digit meeting id stays an `int`).

    Args:
        lone_surrogates: read lone surrogate escapes into the strings (platform payloads) rather
            than refuse the body (REST).

    Raises:
        UndecodableBody: not UTF-8, not JSON, nested over `MAX_JSON_DEPTH`, or (unless allowed)
            a lone surrogate escape.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UndecodableBody(BodyProblem.NOT_UTF8) from None
    try:
        # The stdlib's decoder, not orjson's: orjson reads an integer past 64 bits as a float.
        # Its recursion is bounded (a RecursionError past the interpreter's limit, caught here);
        # the depth cap proper is checked on the result.
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise UndecodableBody(BodyProblem.TOO_DEEP) from None
    except ValueError:
        raise UndecodableBody(BodyProblem.NOT_JSON) from None
    problem = _shape_problem(value, refuse_surrogates=not lone_surrogates)
    if problem is not None:
        raise UndecodableBody(problem)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("a number beyond a double")
    return number


_SURROGATE = re.compile("[\ud800-\udfff]")


def _shape_problem(value: Any, *, refuse_surrogates: bool) -> BodyProblem | None:
    """TOO_DEEP past `MAX_JSON_DEPTH`, LONE_SURROGATE in a key or string when refused, or None;
    one walk, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if refuse_surrogates and _SURROGATE.search(item):
                return BodyProblem.LONE_SURROGATE
            continue
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                return BodyProblem.TOO_DEEP
            if refuse_surrogates:
                stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                return BodyProblem.TOO_DEEP
            stack.extend((child, depth + 1) for child in item)
    return None


def header_text(value: str | None) -> str | None:
    """`value` when it is readable text (no undecodable byte, control character or
    non-character), else None. None stays None."""
    if value is None or text_problem(value) is not None:
        return None
    return value


async def read_body(request: web.Request, *, limit: int, timeout_s: float) -> bytes:
    """The request's body, whole.

    Raises:
        TooLarge: over `limit` bytes (said by its Content-Length, or found while reading).
        RequestTimeout: not all there within `timeout_s`.
        InvalidBody: not in the `Content-Encoding` it names (a "gzip" body that is not gzip),
            or cut short: the client's error (found by `tests/fuzz/test_http_edges.py`).
    """
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the body is over {limit} bytes")
    buffer = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.content.iter_any():
                buffer += chunk
                if len(buffer) > limit:
                    raise TooLarge(f"the body is over {limit} bytes")
    except TimeoutError:
        raise RequestTimeout(f"the body did not arrive within {timeout_s:g} s") from None
    except (web.RequestPayloadError, PayloadEncodingError):
        # aiohttp's word for a body it could not read: not in the Content-Encoding it names (a
        # "gzip" body that is not gzip), or cut short before its Content-Length.
        raise InvalidBody("the body could not be read (its Content-Encoding or length)") from None
    return bytes(buffer)

"""What a hostile input should get, decided from the input alone: by RFC 8259 (JSON), the
Socket.IO v5 packet encoding, and contract §9.5 and docs/protocol.md ("Packets that cannot be
decoded"), never by asking the service's own decoder.

RFC 8259 lets a decoder limit nesting depth (§9) and the range of numbers (§6). Where an input
goes past what every decoder must take (nesting over 1,000, a number beyond a double), the
verdict is `limited` and either outcome the contract allows is right.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["valid", "invalid", "limited"]

#: Nesting every decoder is expected to take; deeper is `limited` (orjson stops at 1,024).
MAX_PORTABLE_DEPTH = 1_000
_OPEN = {"[": "]", "{": "}"}


class _Refused(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def _number(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise OverflowError(text)
    return value


def _structure(text: str) -> Verdict | None:
    """Brackets outside strings: `invalid` when they do not balance (or a string is left open),
    `limited` when deeper than MAX_PORTABLE_DEPTH, else None (decode it to know)."""
    stack: list[str] = []
    deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in _OPEN:
            stack.append(_OPEN[char])
            deepest = max(deepest, len(stack))
        elif char in "]}" and (not stack or stack.pop() != char):
            return "invalid"
    if in_string or stack:
        return "invalid"
    return "limited" if deepest > MAX_PORTABLE_DEPTH else None


def _has_surrogate(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if any(0xD800 <= ord(c) <= 0xDFFF for c in item):
                return True
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return False


@contextmanager
def _recursion_room() -> Iterator[None]:
    """Python's decoder recurses once per level, on top of the test's own stack (pytest,
    hypothesis): room for MAX_PORTABLE_DEPTH more levels."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(before + 2 * MAX_PORTABLE_DEPTH)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def decode(text: str) -> tuple[Verdict, Any]:
    """A JSON text's verdict, and its value when `valid`. Invalid: not JSON by RFC 8259 (NaN,
    Infinity, leading zeros, raw control characters in strings…), or a string holding a lone
    surrogate escape, which contract §9.5 counts as undecodable."""
    structure = _structure(text)
    if structure is not None:
        return structure, None
    try:
        with _recursion_room():
            value = json.loads(text, parse_constant=_constant, parse_float=_number)
    except OverflowError:
        return "limited", None
    except RecursionError:
        return "limited", None
    except ValueError:
        return "invalid", None
    if _has_surrogate(value):
        return "invalid", None
    return "valid", value


# -- Socket.IO -------------------------------------------------------------------------------

#: docs/protocol.md: an ack id of more than 15 digits cannot be read (a JavaScript client counts
#: to 2^53).
ACK_ID_DIGITS = 15
_EVENT = re.compile(r"42(/[^,]*(?:,|$))?([0-9]*)")

Outcome = Literal["ack", "close", "open", "either"]


@dataclass(frozen=True)
class FrameExpectation:
    """`ack`: an ack for `ack_id` arrives and the connection stays; `close`: the connection is
    closed; `open`: nothing to answer (no ack id) and the connection stays; `either`: closed, or
    open and still answering."""

    outcome: Outcome
    ack_id: int | None = None


def expect_frame(frame: str) -> FrameExpectation:
    """Contract §9.5 for an Engine.IO message holding a Socket.IO EVENT (`42…`)."""
    header = _EVENT.match(frame)
    assert header is not None, frame
    digits = header.group(2)
    if digits and len(digits) <= ACK_ID_DIGITS:
        return FrameExpectation("ack", int(digits))
    if digits:
        return FrameExpectation("close")  # an ack id that cannot be read
    verdict, value = decode(frame[header.end() :])
    if verdict == "limited":
        return FrameExpectation("either")
    if verdict == "invalid":
        return FrameExpectation("close")
    if not (isinstance(value, list) and value and isinstance(value[0], str)):
        return FrameExpectation("close")  # not an event: a list starting with its name
    if value[0] in ("connect", "disconnect"):
        # docs/protocol.md: `unknown_type` like any other name; with no ack id to answer, the
        # service may also close (it does): either.
        return FrameExpectation("either")
    return FrameExpectation("open")


ConnectOutcome = Literal["connected", "invalid_token", "either"]


def expect_connect(auth_text: str, token: str) -> ConnectOutcome:
    """Contract §3 and §9.5 for a CONNECT `40<auth_text>`: admitted when `auth` decodes to an
    object whose `token` is the valid `token` (whatever its `last_seq`, `epoch` or other keys);
    otherwise `invalid_token`, undecodable `auth` included."""
    verdict, value = decode(auth_text)
    if verdict == "limited":
        return "either"
    if verdict == "valid" and isinstance(value, dict) and value.get("token") == token:
        return "connected"
    return "invalid_token"


# -- contract §9.5: text in ids and names ------------------------------------------------------


def refused_by_contract(text: str) -> bool:
    """Whether contract §9.5 refuses `text` as a participant id, external id or display name: a
    control character (Unicode's Cc: C0, DEL and C1), a non-character, a lone surrogate."""
    for char in text:
        point = ord(char)
        if point < 0x20 or 0x7F <= point <= 0x9F or 0xD800 <= point <= 0xDFFF:
            return True
        if 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE:
            return True
    return False

"""Hypothesis strategies for what arrives at the service's edges, shared by every fuzz suite.

Two families:
- *near misses*: payloads with the right keys and wrong values, or the right values and one wrong
  key, so the fuzzer gets past the first check as often as it fails at it (`send_payloads`);
- *hostile input* (contract §9.5, issue 13): all of Unicode with lone surrogates, NUL, C0 and C1
  controls and non-characters; JSON as a client writes it, with escapes no Python encoder emits
  (`"\\ud83d"` as six characters); nesting 1,000 to 100,000 deep; raw bytes; header values of any
  byte (0x00-0xFF but the CR and LF that end a field).

JSON texts are built from Python values in which a `Raw` is spliced verbatim (`dumps`), so a
hostile fragment can sit anywhere in an otherwise valid body.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    # Within 64 bits, so that any JSON codec can carry them; `FULL_JSON` (raw frames) goes
    # beyond.
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)

CLIENT_TYPES = [
    "pause",
    "resume",
    "keep_going",
    "slow_down",
    "zone",
    "grounding_started",
    "grounding_finished",
    "checkin_response",
    "retract",
    "help_now",
    "location_shared",
]
THERAPIST_TYPES = ["acknowledge", "checkin_request", "suggest_grounding", "end_session"]
OTHER_TYPES = ["cue", "session_started", "participant_joined", "", "PAUSE", "pause "]
EXERCISES = ["box_breathing", "breathing_478", "paced_breathing", "five_senses"]
ZONES = ["too_much", "okay", "shut_down"]

SMALL_INT = st.integers(min_value=-3, max_value=60)
PARTICIPANT = st.sampled_from(["c-1", "c-2", "c-3", "t-1", "nobody"]) | st.text(max_size=130)

DATA_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "zone": st.sampled_from(ZONES) | JSON,
    "exercise": st.sampled_from(EXERCISES) | JSON,
    "completed": st.booleans() | JSON,
    "duration_s": st.floats(min_value=-10, max_value=1e6) | JSON,
    "checkin_seq": SMALL_INT | JSON,
    "value": st.integers(min_value=-2, max_value=12) | st.sampled_from(ZONES) | JSON,
    "seq": SMALL_INT | st.just(2**53 + 1) | JSON,
    "instrument": st.sampled_from(["suds", "zone", "phq9"]) | JSON,
    "to": st.lists(PARTICIPANT, max_size=4) | JSON,
    # location_shared: any text but lone surrogates, which the in-process clients cannot encode
    # (tests/service/test_events.py sends them to the model; the raw-frame tests to the socket)
    "text": st.text(max_size=210) | JSON,
    "late": st.booleans() | JSON,
    "extra": JSON,
}


@st.composite
def near_data(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(DATA_VALUES)), max_size=3, unique=True))
    return {key: draw(DATA_VALUES[key]) for key in keys}


@st.composite
def send_payloads(draw: st.DrawFn) -> Any:
    """A `send` payload: mostly near-valid, sometimes anything at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    payload: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        payload["id"] = draw(st.uuids().map(str) | st.text(max_size=140) | JSON)
    if draw(st.integers(0, 9)):
        payload["type"] = draw(st.sampled_from(CLIENT_TYPES + THERAPIST_TYPES + OTHER_TYPES) | JSON)
    if draw(st.integers(0, 3)):
        payload["data"] = draw(near_data() | JSON)
    if draw(st.integers(0, 15)) == 0:
        payload[draw(st.text(max_size=8))] = draw(JSON)
    return payload


# -- all of Unicode ---------------------------------------------------------------------------

C0_CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f"]
C1_CONTROLS = [chr(c) for c in range(0x80, 0xA0)]
LONE_SURROGATES = ["\ud83d", "\ude00", "\ud800", "\udbff", "\udc00", "\udfff"]
NONCHARACTERS = [chr(c) for c in range(0xFDD0, 0xFDF0)] + [
    chr(plane << 16 | low) for plane in range(17) for low in (0xFFFE, 0xFFFF)
]
#: The characters that break stores, codecs and displays, drawn often.
HOSTILE_CHARACTERS = [
    "\x00",
    "\ufffe",
    "\uffff",
    "\ufeff",
    "\u2028",
    "\u2029",
    "\u202e",
    "\U0010ffff",
    *LONE_SURROGATES,
    *C0_CONTROLS,
    *C1_CONTROLS,
    *NONCHARACTERS,
]
# Every code point (`categories=None` takes in Cs, the lone surrogates that `st.text()` leaves
# out by default), and the hostile ones often.
ANY_CHARACTER = (
    st.characters(codec=None, categories=None)
    | st.integers(0xD800, 0xDFFF).map(chr)
    | st.sampled_from(HOSTILE_CHARACTERS)
)
ANY_TEXT = st.text(ANY_CHARACTER, max_size=40)


def any_text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(ANY_CHARACTER, min_size=min_size, max_size=max_size)


@st.composite
def refused_text(draw: st.DrawFn, max_size: int = 40) -> str:
    """Text that holds at least one character contract §9.5 refuses in ids and names (a control
    character, a non-character or a lone surrogate), anywhere in any text."""
    bad = draw(st.sampled_from([*LONE_SURROGATES, *C0_CONTROLS, *C1_CONTROLS, *NONCHARACTERS]))
    before, after = draw(any_text(max_size=max_size // 2)), draw(any_text(max_size=max_size // 2))
    # A lone surrogate next to one of the other half is no longer lone: written as JSON escapes
    # (`json_text`), "\ud800" + "\ude00" is read back as one valid character, U+10200 (found by
    # the deep profile). Keep the refused one apart.
    if _is_low(bad) and before and _is_high(before[-1]):
        before += "x"
    if _is_high(bad) and after and _is_low(after[0]):
        after = "x" + after
    return before + bad + after


def _is_high(char: str) -> bool:
    return "\ud800" <= char <= "\udbff"


def _is_low(char: str) -> bool:
    return "\udc00" <= char <= "\udfff"


FULL_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ANY_TEXT, inner, max_size=5),
    max_leaves=20,
)


# -- JSON as a client writes it ---------------------------------------------------------------


class Raw(str):
    """A JSON fragment spliced verbatim by `dumps` (as a value, or as a key when it is a JSON
    string literal): an escape no encoder writes, nesting no encoder reaches, or broken JSON."""


def json_text(value: Any, *, ascii_only: bool) -> str:
    """JSON as a client writes it: every lone surrogate as an escape (`\\ud83d`), which is what a
    browser's `JSON.stringify` sends; everything else escaped or as is; NaN and Infinity as the
    literals Python writes (not JSON)."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)


def dumps(value: Any, *, ascii_only: bool = False) -> str:
    """`json_text`, with every `Raw` (value or key) written verbatim."""
    marker = f"raw-{uuid.uuid4().hex}-"
    raws: list[str] = []

    def mark(obj: Any) -> Any:
        if isinstance(obj, Raw):
            raws.append(str(obj))
            return f"{marker}{len(raws) - 1}"
        if isinstance(obj, dict):
            return {mark(k) if isinstance(k, Raw) else k: mark(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [mark(v) for v in obj]
        return obj

    text = json_text(mark(value), ascii_only=ascii_only)
    return re.sub(f'"{marker}([0-9]+)"', lambda m: raws[int(m.group(1))], text)


def encode(text: str) -> bytes:
    """A JSON text's bytes: UTF-8, and a raw lone surrogate (never one written as an escape) as
    the three bytes a careless encoder writes (WTF-8), which are not UTF-8."""
    return text.encode("utf-8", "surrogatepass")


#: Escapes as they appear in the text of a frame or body: lone surrogates, pairs in either order,
#: NUL, non-characters, C1, separators; any \uXXXX.
ESCAPES = st.sampled_from(
    [
        "\\ud83d",
        "\\ude00",
        "\\udc00\\ud83d",
        "\\ud83d\\ude00",
        "\\ud83d\\ud83d",
        "\\udbff\\udfff",
        "\\u0000",
        "\\ufffe",
        "\\uffff",
        "\\ufdd0",
        "\\u0085",
        "\\u009f",
        "\\u2028",
        "\\u007f",
        "\\/",
        "\\b\\f\\n\\r\\t",
    ]
) | st.integers(0, 0xFFFF).map(lambda c: f"\\u{c:04x}")
#: Escapes no JSON decoder accepts.
BROKEN_ESCAPES = st.sampled_from(["\\x41", "\\u12", "\\u", "\\", "\\U0001f600", "\\ud83g", "\\'"])


@st.composite
def escaped_strings(draw: st.DrawFn) -> Raw:
    """A JSON string literal written with raw escapes between pieces of any text."""
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            pieces.append(draw(ESCAPES))
        else:
            pieces.append(json_text(draw(ANY_TEXT), ascii_only=draw(st.booleans()))[1:-1])
    return Raw('"' + "".join(pieces) + '"')


#: Depths at and around the limits decoders set (Python's recursion limit, orjson's 1,024), up
#: to 100,000.
DEPTHS = st.integers(1_000, 100_000) | st.sampled_from(
    [1_000, 1_023, 1_024, 1_025, 1_026, 2_000, 10_000, 65_535, 100_000]
)
# Each shape's (opening, innermost, closing), one nesting level per opening.
_NESTINGS = {
    "arrays": ("[", "", "]"),
    "objects": ('{"":', "0", "}"),
    "mixed": ('[{"a":', "null", "}]"),
}


@st.composite
def deep_json(draw: st.DrawFn, max_bytes: int = 250_000) -> Raw:
    """JSON nested 1,000 to 100,000 deep (fewer where `max_bytes` would not hold them): arrays,
    objects or both, sometimes left unclosed (not JSON at all)."""
    shape = draw(st.sampled_from([*_NESTINGS, "unclosed"]))
    opening, inner, closing = _NESTINGS.get(shape, ("[", "", ""))
    levels = 2 if shape == "mixed" else 1
    per_level = len(opening) + len(closing)
    most = max(1, (max_bytes - len(inner)) // per_level)
    depth = min(draw(DEPTHS), most * levels) // levels
    return Raw(opening * depth + inner + closing * depth)


#: A JSON leaf no Python encoder writes: raw escapes, deep nesting, numbers beyond a double or
#: 64 bits, NaN, broken JSON.
@st.composite
def hostile_leaves(draw: st.DrawFn, max_bytes: int = 250_000) -> Raw:
    kind = draw(st.integers(0, 9))
    if kind <= 4:
        return draw(escaped_strings())
    if kind <= 6:
        return draw(deep_json(max_bytes=max_bytes))
    if kind == 7:
        return Raw(
            draw(
                st.sampled_from(
                    ["1e400", "-1e400", "9" * 40, "-0", "1E-400", "NaN", "Infinity", "0x10", "01"]
                )
            )
        )
    return Raw('"' + draw(BROKEN_ESCAPES) + '"')


def leaf_paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into `obj` (the empty path is `obj` itself)."""
    paths = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            paths += leaf_paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            paths += leaf_paths(value, (*prefix, i))
    return paths


def replace_at(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`obj` with the value at `path` replaced (a copy along the path)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {**obj, head: replace_at(obj[head], rest, value)}
    copy = list(obj)
    copy[head] = replace_at(copy[head], rest, value)
    return copy


@st.composite
def hostile_json_texts(draw: st.DrawFn, base: Any, max_bytes: int = 250_000) -> str:
    """`base` written as JSON with one to three of its values (or itself) replaced by a hostile
    leaf, or by any text of all of Unicode; sometimes a key too."""
    obj = base
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(leaf_paths(obj)))
        if draw(st.integers(0, 3)) == 0:
            leaf: Any = draw(ANY_TEXT | FULL_JSON)
        else:
            leaf = draw(hostile_leaves(max_bytes=max_bytes))
        obj = replace_at(obj, path, leaf)
    if isinstance(obj, dict) and draw(st.integers(0, 4)) == 0:
        obj = {**obj, draw(escaped_strings()): draw(hostile_leaves(max_bytes=max_bytes))}
    return dumps(obj, ascii_only=draw(st.booleans()))


# -- bytes ------------------------------------------------------------------------------------

#: Byte sequences that are not UTF-8: a lone 0xFF, a surrogate in WTF-8, an overlong form, a
#: truncated sequence, a code point past U+10FFFF.
NOT_UTF8 = [
    b"\xff",
    b"\xfe",
    b"\xed\xa0\xbd",
    b"\xc0\xaf",
    b"\xc3",
    b"\xe2\x82",
    b"\xf4\x90\x80\x80",
]
RAW_BYTES = st.binary(max_size=300) | st.lists(
    st.binary(max_size=20) | st.sampled_from(NOT_UTF8), max_size=8
).map(b"".join)

#: Every byte a header field's value can carry on the wire: 0x00-0xFF but CR and LF, which end
#: the field (a value holding them is another request, not a value).
HEADER_BYTE = st.integers(0, 255).filter(lambda b: b not in (0x0A, 0x0D))
HEADER_BYTES = st.lists(
    HEADER_BYTE | st.sampled_from([0x00, 0x09, 0x20, 0x7F, 0x80, 0x85, 0xA0, 0xC3, 0xED, 0xFF]),
    max_size=60,
).map(bytes)
#: The bytes RFC 9110 allows in a field value (tab, visible ASCII and space, obs-text 0x80-0xFF):
#: what reaches the service past an HTTP parser.
FIELD_VALUE_BYTES = st.lists(
    st.sampled_from([0x09, 0x20, 0x80, 0x85, 0xA0, 0xC3, 0xED, 0xFE, 0xFF])
    | st.integers(0x21, 0x7E)
    | st.integers(0x80, 0xFF),
    max_size=60,
).map(bytes)


@st.composite
def header_values(draw: st.DrawFn, valid: bytes = b"", prefixes: tuple[bytes, ...] = ()) -> bytes:
    """A header value of any bytes (mostly ones a parser lets through to the service, 0x80-0xFF
    included; at times control bytes too): alone, after one of `prefixes` (`Bearer `, `v0=`…),
    or spliced into a `valid` value (0xFF in an otherwise good key, say)."""
    if draw(st.integers(0, 7)) == 7:
        hostile = draw(HEADER_BYTES)
    else:
        hostile = draw(FIELD_VALUE_BYTES | st.sampled_from(NOT_UTF8))
    kind = draw(st.integers(0, 2))
    if kind == 1 and prefixes:
        return draw(st.sampled_from(prefixes)) + hostile
    if kind == 2 and valid:
        at = draw(st.integers(0, len(valid)))
        return valid[:at] + hostile + valid[at:]
    return hostile


def is_field_value(value: bytes) -> bool:
    """Whether `value` is a header field value by RFC 9110 §5.5 (visible ASCII, space, tab and
    obs-text 0x80-0xFF); an HTTP parser may refuse any other byte (the CTLs) before any route."""
    return all(b == 0x09 or 0x20 <= b <= 0x7E or b >= 0x80 for b in value)


def fit(text: str, max_bytes: int) -> str:
    """`text`, cut short (mid-JSON, then) where its UTF-8 would be over `max_bytes`."""
    while len(encode(text)) > max_bytes:
        text = text[: len(text) * max_bytes // len(encode(text)) - 1]
    return text


def percent_encoded(text: str) -> str:
    """`text` percent-encoded byte by byte as a client may send it: UTF-8, with a lone surrogate
    as its WTF-8 bytes (%ED%A0%BD), which are not UTF-8."""
    return "".join(f"%{b:02X}" for b in encode(text))


PATH_SEGMENTS = (
    any_text(max_size=30).map(percent_encoded)
    | st.lists(st.sampled_from(["%FF", "%00", "%ED%A0%BD", "%2F", "%2e%2e", "..", "%C0%AF"]))
    .map("".join)
    .filter(bool)
    | st.just("x" * 3000)
)


# -- raw Socket.IO frames ---------------------------------------------------------------------

# What a client puts before the JSON of an EVENT packet (Socket.IO v5, "Packet encoding":
# `2[<namespace>,][<ack id>][<JSON>]` inside an Engine.IO message `4`).
# The default namespace, as `` or spelled out; other namespaces, which the client never joined,
# are tests/fuzz/test_every_send_answered.py's own examples.
NAMESPACES = st.sampled_from(["", "", "", "", "/,", "/?x=1,"])
#: Ack ids are digits; contract §9.5 answers one that "can be read", which docs/protocol.md
#: puts at 15 digits (a JavaScript client counts to 2^53).
ACK_ID_DIGITS = 15


#: A client's sends as the contract writes them; the id of all of Unicode (its own rules refuse
#: some).
VALID_CLIENT_SENDS = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str) | any_text(min_size=1, max_size=128),
        "type": st.sampled_from(["pause", "resume", "keep_going", "slow_down", "help_now"]),
    },
    optional={"data": st.just({})},
) | st.fixed_dictionaries(
    {
        "id": st.uuids().map(str),
        "type": st.just("location_shared"),
        "data": st.fixed_dictionaries({"text": any_text(min_size=1, max_size=200)}),
    }
)


@st.composite
def socket_frames(draw: st.DrawFn, ack_id: int, max_bytes: int = 60_000) -> str:
    """An Engine.IO message `42…` carrying a Socket.IO EVENT, under the frame size limit: a
    `send` (near-valid or anything) in all of Unicode written with JSON escapes, hostile leaves
    spliced in, sometimes nested thousands deep, truncated, or with a raw escape anywhere; an
    event name of any text; in the default namespace. Mostly with `ack_id` (sometimes
    after leading zeros), sometimes with none or one too long to read. What it should get is the
    oracle's to say (`tests/fuzz/oracle.py`), from the frame alone."""
    name: Any = "send" if draw(st.integers(0, 7)) else draw(ANY_TEXT | FULL_JSON)
    payload = draw(send_payloads() | FULL_JSON | VALID_CLIENT_SENDS)
    if isinstance(payload, dict) and draw(st.booleans()):
        payload["id"] = draw(ANY_TEXT)
    body = ["send" if name == "send" else name, payload]
    if draw(st.integers(0, 3)) == 3:  # as a client writes it: near-valid sends are stored
        text = dumps(body, ascii_only=draw(st.booleans()))
    else:
        text = draw(hostile_json_texts(body, max_bytes=max_bytes // 4))
    shape = draw(st.sampled_from(["as is", "as is", "as is", "deep", "truncated", "escape"]))
    if shape == "deep":
        text = '["send",' + draw(deep_json(max_bytes=max_bytes - 100)) + "]"
    elif shape == "truncated" and len(text) > 1:
        text = text[: draw(st.integers(1, len(text) - 1))]
    elif shape == "escape":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(ESCAPES | BROKEN_ESCAPES) + text[at:]
    written = str(ack_id)
    kind = draw(st.integers(0, 9))  # (hypothesis draws 0 more often than the others)
    if kind == 9:
        written = ""
    elif kind == 8:
        written = "0" * draw(st.integers(1, 3)) + written
    elif kind == 7:
        written = str(draw(st.integers(10**ACK_ID_DIGITS, 10**40)))
    # Under the size limit, whose frames close their connection (tested on their own).
    return fit(f"42{draw(NAMESPACES)}{written}{text}", max_bytes)


@st.composite
def connect_auths(draw: st.DrawFn, token: str, max_bytes: int = 60_000) -> str:
    """The JSON after `40` in a CONNECT: `auth` of any shape, or `{"token": token, …}` with
    hostile `last_seq`, `epoch` and other keys (contract §3 takes a bad `last_seq` as 0), written
    with raw escapes, hostile leaves spliced in, or truncated; under `max_bytes`. What it should
    get is the oracle's to say (`tests/fuzz/oracle.py`), from the text alone."""
    auth: Any
    if draw(st.integers(0, 2)) == 0:
        auth = draw(FULL_JSON | st.fixed_dictionaries({"token": ANY_TEXT | FULL_JSON}))
        if isinstance(auth, dict) and draw(st.booleans()):
            # Near the real token: anything before it changes its signed part.
            auth["token"] = draw(any_text(min_size=1, max_size=10)) + token
    else:
        auth = {"token": token}
        for key in draw(st.lists(st.sampled_from(["last_seq", "epoch", "extra"]), unique=True)):
            auth[key] = draw(
                st.integers(-(2**70), 2**70) | st.floats() | ANY_TEXT | FULL_JSON | st.just(2**53)
            )
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return fit(draw(hostile_json_texts(auth, max_bytes=max_bytes // 4)), max_bytes)
    text = dumps(auth, ascii_only=draw(st.booleans()))
    if shape == 1:
        return text[: draw(st.integers(0, len(text) - 1))]
    return text

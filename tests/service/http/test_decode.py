"""The one decoding boundary for HTTP bodies and credential headers (service/http/decode.py)."""

from __future__ import annotations

import pytest

from service.http.decode import (
    MAX_JSON_DEPTH,
    BodyProblem,
    UndecodableBody,
    decode_json,
    header_text,
    nests_deeper_than,
)


def nested(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    return opener * depth + closer * depth


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"\xff", BodyProblem.NOT_UTF8),
        (b'{"a": "\xed\xa0\xbd"}', BodyProblem.NOT_UTF8),  # a surrogate encoded as UTF-8
        (b"", BodyProblem.NOT_JSON),
        (b'{"a": 1', BodyProblem.NOT_JSON),
        (b"NaN", BodyProblem.NOT_JSON),
        (b"[Infinity]", BodyProblem.NOT_JSON),
        (b"1e400", BodyProblem.NOT_JSON),
        (nested(MAX_JSON_DEPTH + 1), BodyProblem.TOO_DEEP),
        (nested(1_000), BodyProblem.TOO_DEEP),
        (nested(100_000), BodyProblem.TOO_DEEP),  # past orjson's limit and the stdlib's stack
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, BodyProblem.TOO_DEEP),
        (b'["\\ud83d", ' + nested(100_000) + b"]", BodyProblem.TOO_DEEP),
        (b'"\\ud83d"', BodyProblem.LONE_SURROGATE),
        (b'{"id": "\\ude00x"}', BodyProblem.LONE_SURROGATE),
        (b'{"\\ud83d": 1}', BodyProblem.LONE_SURROGATE),
    ],
)
def test_undecodable_bodies_say_why_and_nothing_else_escapes(
    raw: bytes, problem: BodyProblem
) -> None:
    with pytest.raises(UndecodableBody) as caught:
        decode_json(raw)
    assert caught.value.problem is problem
    assert caught.value.problem.message == str(caught.value)


def test_the_depth_cap_is_inclusive_and_counts_objects_and_arrays_alike() -> None:
    assert isinstance(decode_json(nested(MAX_JSON_DEPTH)), list)
    mixed = b'{"a": [' * (MAX_JSON_DEPTH // 2) + b"1" + b"]}" * (MAX_JSON_DEPTH // 2)
    assert isinstance(decode_json(mixed), dict)
    with pytest.raises(UndecodableBody):
        decode_json(b"[" + mixed + b"]")
    # Wide is not deep.
    assert len(decode_json(b"[" + b",".join([b"[1]"] * 10_000) + b"]")) == 10_000


def test_lone_surrogates_are_read_only_when_asked_for() -> None:
    assert decode_json(b'{"room_name": "\\ud83d", "n": 1}', lone_surrogates=True) == {
        "room_name": "\ud83d",
        "n": 1,
    }
    # A proper pair is no lone surrogate, in either mode.
    assert decode_json(b'"\\ud83d\\ude00"') == "\U0001f600"
    for raw in (b"\xff", b"NaN", nested(MAX_JSON_DEPTH + 1)):
        with pytest.raises(UndecodableBody):
            decode_json(raw, lone_surrogates=True)


@pytest.mark.parametrize(
    ("value", "readable"),
    [
        ("Bearer abc.DEF-123_", True),
        ("v0=" + "a" * 64, True),
        ("t=1700000000,v1=abc+/=", True),
        ("Bearer clé", True),  # UTF-8 that is text: read, and simply matches no credential
        ("Bearer abc\udcff", False),  # a raw 0xFF byte, as aiohttp's surrogateescape gives it
        ("\udcc3\udca9", False),
        ("Bearer a\x00b", False),
        ("Bearer a\x7fb", False),
        ("Bearer a\tb", False),
        ("Bearer \ufffe", False),
        (None, False),
    ],
)
def test_header_text_refuses_what_is_not_text(value: str | None, readable: bool) -> None:
    assert header_text(value) == (value if readable else None)


def test_integers_are_exact() -> None:
    """A 20-digit meeting id stays the integer it was (orjson would read it as a float)."""
    assert decode_json(b'{"id": 98765432101234567890}') == {"id": 98765432101234567890}


@pytest.mark.parametrize(
    ("raw", "deeper_than_2"),
    [
        (b"[[1]]", False),
        (b"[[[1]]]", True),
        (b'{"a": {"b": {}}}', True),
        (b'["[[[[", "{{{{"]', False),  # brackets in strings do not count
        (b'["\\"[[[[", 1]', False),  # nor after an escaped quote
        (b'["\\\\", [[1]]]', True),  # an escaped backslash ends its escape
        (b"[" * 100_000, True),
    ],
)
def test_nesting_is_read_without_recursion(raw: bytes, deeper_than_2: bool) -> None:
    assert nests_deeper_than(raw, 2) is deeper_than_2


def test_a_body_nested_100000_deep_never_takes_the_stack_near_the_limit() -> None:
    """Found by the fuzz suites: the recursive decoder reached the interpreter's limit before
    refusing, and Python code that ran there (a collector callback) failed. A collection at
    every allocation, with a callback that needs a little stack, proves it no longer happens."""
    import gc

    failures: list[BaseException] = []

    def needs_stack(depth: int = 40) -> int:
        return depth if depth == 0 else needs_stack(depth - 1)

    def callback(phase: str, info: dict[str, int]) -> None:
        try:
            needs_stack()
        except RecursionError as exc:
            failures.append(exc)

    before = gc.get_threshold()
    gc.callbacks.append(callback)
    gc.set_threshold(1, 1, 1)
    try:
        for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
            with pytest.raises(UndecodableBody):
                decode_json(body)
    finally:
        gc.set_threshold(*before)
        gc.callbacks.remove(callback)
    assert failures == []

"""The text rules of contract §9.5 (service/text.py): no control character, non-character or lone
surrogate, over all of Unicode; everything else passes untouched."""

from __future__ import annotations

import unicodedata

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from service.text import PlainText, text_problem

ANY_CHARACTER = st.characters(codec=None, categories=None)  # surrogates included
SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
NONCHARACTERS = st.sampled_from(
    [chr(c) for c in range(0xFDD0, 0xFDF0)]
    + [chr(p * 0x10000 + low) for p in range(17) for low in (0xFFFE, 0xFFFF)]
)
PROBLEMS = {"no control characters", "no lone surrogates", "no Unicode non-characters"}
CONTROLS = st.sampled_from([chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]])


def refused(character: str) -> bool:
    """The rule, written from Unicode's own definitions rather than from the module's table."""
    point = ord(character)
    noncharacter = 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE
    return unicodedata.category(character) in ("Cc", "Cs") or noncharacter


class Holder(BaseModel):
    text: PlainText


@given(st.text(ANY_CHARACTER, max_size=30))
def test_a_string_passes_exactly_when_none_of_its_characters_is_refused(value: str) -> None:
    expected_ok = not any(refused(c) for c in value)
    assert (text_problem(value) is None) == expected_ok
    if expected_ok:
        assert Holder(text=value).text == value  # untouched
        orjson.dumps(value)  # and it can be written back out
    else:
        with pytest.raises(ValidationError):
            Holder(text=value)


@given(
    st.text(max_size=10),
    SURROGATES | NONCHARACTERS | CONTROLS,
    st.text(max_size=10),
)
def test_one_refused_character_anywhere_refuses_the_string(
    before: str, bad: str, after: str
) -> None:
    # The problem is named in fixed words: the text itself is never quoted back.
    assert text_problem(before + bad + after) in PROBLEMS


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Crisis line\n", "no control characters"),
        ("tab\there", "no control characters"),
        ("\x85", "no control characters"),
        ("\x7f", "no control characters"),
        ("\ud83d", "no lone surrogates"),
        ("\ufdd0", "no Unicode non-characters"),
        ("\U0010ffff", "no Unicode non-characters"),
        ("Línea 988 · apoyo 😀", None),
        ("\u200b\u202e", None),  # format characters are not control characters
    ],
)
def test_named_cases(value: str, problem: str | None) -> None:
    assert text_problem(value) == problem

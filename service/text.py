"""Text that people give the service: the rules of contract §9.5 for every string shown to someone.

No control character (C0, tab and newline included, DEL and C1), no Unicode non-character
(U+FDD0 to U+FDEF and the last two code points of every plane) and no lone surrogate (which no JSON
encoder of ours can write back out). `PlainText` is a `str` that pydantic checks against them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator

_NONCHARACTERS = "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(17))
_REFUSED = re.compile(rf"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef{_NONCHARACTERS}]")


class TextProblem(StrEnum):
    """Which text rule a value breaks; its value is the rule in words, its `reason` a name for
    logs (the text itself is never quoted)."""

    CONTROL_CHARACTER = "no control characters"
    NONCHARACTER = "no Unicode non-characters"
    LONE_SURROGATE = "no lone surrogates"

    @property
    def reason(self) -> str:
        return self.name.lower()


def text_problem(value: str) -> TextProblem | None:
    """Which rule `value` breaks, or None."""
    found = _REFUSED.search(value)
    if found is None:
        return None
    point = ord(found.group())
    if 0xD800 <= point <= 0xDFFF:
        return TextProblem.LONE_SURROGATE
    if point <= 0x1F or 0x7F <= point <= 0x9F:
        return TextProblem.CONTROL_CHARACTER
    return TextProblem.NONCHARACTER


def _plain(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(str(problem))
    return value


PlainText = Annotated[str, AfterValidator(_plain)]
"""A string that holds no control character, non-character or lone surrogate."""

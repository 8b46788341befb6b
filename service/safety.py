"""A session's safety plan (contract §9.2): whether to ask where the client is, and the crisis
resources the client widget always offers.

Telebehavioral emergency planning expects the client's location at each session and a crisis
line at hand (clinical.md, Safety in video sessions). The service invents no resource: a plan is
what the session gives, or else its tenant's `[tenants.X.safety]` default (replaced whole, never
merged), or none. It is validated when it is given, stored with the session's settings and shown
as `session.settings.safety` (vendors, and the client widget through its welcome).
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .text import PlainText

MAX_RESOURCES = 5
# What a tel:/sms: URI may carry (RFC 3966: digits, a leading +, * and #, the visual separators
# - . ( )) once spaces are dropped: the client widget dials exactly this (`dialable` in
# widgets/src/client-state.js), so the service accepts nothing the widget would drop.
_DIALABLE = re.compile(r"\+?[0-9*#().-]{1,32}")


def _dialable(value: str) -> str:
    compact = value.replace(" ", "")
    if not _DIALABLE.fullmatch(compact) or not any(c.isdigit() for c in compact):
        raise ValueError(
            "a number to dial: digits, an optional leading +, spaces and * # ( ) - . "
            "(at most 32 without the spaces)"
        )
    return value


def _https(value: str) -> str:
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (
        parts is None
        or not port_ok
        or parts.scheme.lower() != "https"
        or not parts.hostname
        or "@" in parts.netloc
        or any(c.isspace() for c in value)
    ):
        raise ValueError("an https:// URL with a host (no credentials, no spaces)")
    return value


def _label(value: str) -> str:
    if not value.strip():
        raise ValueError("a label that is not blank")
    return value


Label = Annotated[PlainText, Field(min_length=1, max_length=80), AfterValidator(_label)]
Dialable = Annotated[PlainText, Field(min_length=1, max_length=64), AfterValidator(_dialable)]
HttpsUrl = Annotated[PlainText, Field(min_length=9, max_length=2048), AfterValidator(_https)]


class SafetyResource(BaseModel):
    """One crisis resource, shown by its `label`: a number to call or text, or a web page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Annotated[Label, Field(description="1-80 characters, not blank; what the widget shows")]
    phone: Annotated[
        Dialable | None,
        Field(description="a number to call: digits, a leading +, spaces, * # ( ) - ."),
    ] = None
    sms: Annotated[Dialable | None, Field(description="a number to text, written as phone")] = None
    url: Annotated[HttpsUrl | None, Field(description="an https:// page (no credentials)")] = None

    @model_validator(mode="after")
    def _reachable(self) -> SafetyResource:
        if self.phone is None and self.sms is None and self.url is None:
            raise ValueError("a resource needs at least one of phone, sms, url")
        return self


class SafetyPlan(BaseModel):
    """`settings.safety`: `{"ask_location": false, "resources": [SafetyResource, …]}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ask_location: Annotated[
        bool,
        Field(strict=True, description="the client widget asks where the client is, on connect"),
    ] = False
    resources: Annotated[
        list[SafetyResource],
        Field(max_length=MAX_RESOURCES, description="at most 5; each needs phone, sms or url"),
    ] = Field(default_factory=list)


def stored_safety(settings: dict[str, Any]) -> SafetyPlan | None:
    """The plan kept in a session's stored settings (None for a session without one)."""
    raw = settings.get("safety")
    return SafetyPlan.model_validate(raw) if raw is not None else None

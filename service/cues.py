"""Pacing cue settings: each rule of contract §5, its keys and their defaults.

`settings.cues.<rule>` in a session (over the tenant's defaults) tunes a rule or switches it off;
an unknown rule or key, or a value of the wrong type, is refused when the session is created.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Seconds = Annotated[float, Field(gt=0, le=86400, strict=True, allow_inf_nan=False)]
Wait = Annotated[float, Field(ge=0, le=86400, strict=True, allow_inf_nan=False)]
UNTUNABLE = frozenset({"help_requested"})
"""Cues that always fire: a client's call for help is never switched off (contract §9.2)."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: Annotated[bool, Field(strict=True)] = True


class PauseUnacknowledged(_Rule):
    after_s: Seconds = 20


class DistressHigh(_Rule):
    threshold: Annotated[int, Field(ge=0, le=10, strict=True)] = 7


class DistressRising(_Rule):
    delta: Annotated[int, Field(ge=1, le=10, strict=True)] = 3


class OutOfWindow(_Rule):
    pass


class RepeatedPause(_Rule):
    count: Annotated[int, Field(ge=1, le=100, strict=True)] = 2
    within_s: Seconds = 600


class CheckinUnanswered(_Rule):
    after_s: Seconds = 120


class DisconnectedInDistress(_Rule):
    within_s: Seconds = 300
    grace_s: Wait = 20  # how long the client has to come back (contract §9.3); 0: at once


class TimeRemaining(_Rule):
    before_end_s: Seconds = 600
    lookback_s: Seconds = 900


class CueSettings(BaseModel):
    """Every rule's settings; a rule left out keeps its defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pause_unacknowledged: PauseUnacknowledged = PauseUnacknowledged()
    distress_high: DistressHigh = DistressHigh()
    distress_rising: DistressRising = DistressRising()
    out_of_window: OutOfWindow = OutOfWindow()
    repeated_pause: RepeatedPause = RepeatedPause()
    checkin_unanswered: CheckinUnanswered = CheckinUnanswered()
    disconnected_in_distress: DisconnectedInDistress = DisconnectedInDistress()
    time_remaining: TimeRemaining = TimeRemaining()

    @model_validator(mode="before")
    @classmethod
    def _untunable(cls, value: Any) -> Any:
        if isinstance(value, dict) and (fixed := UNTUNABLE & value.keys()):
            raise ValueError(f"{', '.join(sorted(fixed))} cannot be switched off or tuned")
        return value


class SessionSettings(BaseModel):
    """The `settings` object of a session."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cues: dict[str, dict[str, Any]] = Field(default_factory=dict)


def resolve_cues(
    tenant_defaults: dict[str, dict[str, Any]], session: dict[str, dict[str, Any]]
) -> CueSettings:
    """Session settings over tenant defaults over the built-in defaults, validated."""
    merged: dict[str, dict[str, Any]] = {rule: dict(keys) for rule, keys in tenant_defaults.items()}
    for rule, keys in session.items():
        merged.setdefault(rule, {}).update(keys)
    return CueSettings.model_validate(merged)

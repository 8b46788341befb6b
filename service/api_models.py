"""REST request bodies and queries (contract §2) as pydantic models; the OpenAPI document is made
from these, so what the document says is what the handlers accept. What the API answers is in
`views.py`."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .cues import CueSettings
from .safety import SafetyPlan
from .text import PlainText

Platform = Literal[
    "zoom", "daily", "jaas", "jitsi", "whereby", "livekit", "twilio", "vonage", "generic"
]
PLATFORMS: tuple[str, ...] = Platform.__args__  # type: ignore[attr-defined]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# FHIR R4 Observation.subject may reference a Patient, Group, Device or Location; a literal
# reference is relative (`Patient/123`, an id of 1-64 `[A-Za-z0-9.-]`, optionally
# `/_history/<version>`) or an absolute URL (FHIR R4 references.html, "Literal references").
_FHIR_ID = r"[A-Za-z0-9\-.]{1,64}"
_FHIR_SUBJECT = re.compile(
    rf"(?:Patient|Group|Device|Location)/{_FHIR_ID}(?:/_history/{_FHIR_ID})?"
    r"|https?://[A-Za-z0-9\-._~%!$&'()*+,;=:@/?#\[\]]{1,1000}"
)
FhirSubject = Annotated[
    str,
    Field(
        max_length=1024,
        description="*Addition*: a client's FHIR subject reference for the summary's export: "
        "`Patient/123` (`Patient`, `Group`, `Device` or `Location`) or an absolute http(s) URL",
        examples=["Patient/123"],
    ),
]


# Ids and names shown to people or matched with a platform's follow contract §9.5's text rules
# (`service/text.py`): no control characters, non-characters or lone surrogates.
ParticipantId = Annotated[PlainText, Field(min_length=1, max_length=128)]


class ParticipantIn(_Body):
    id: ParticipantId
    role: Literal["therapist", "client"]
    display_name: Annotated[PlainText, Field(max_length=200)] | None = None
    platform_ref: Annotated[PlainText, Field(min_length=1, max_length=256)] | None = None
    subject: FhirSubject | None = None

    @field_validator("subject")
    @classmethod
    def _fhir_reference(cls, subject: str | None) -> str | None:
        if subject is not None and not _FHIR_SUBJECT.fullmatch(subject):
            raise ValueError(
                "a FHIR reference such as Patient/123 (Patient, Group, Device or Location), "
                "or an absolute http(s) URL"
            )
        return subject

    @model_validator(mode="after")
    def _subject_of_a_client(self) -> ParticipantIn:
        if self.subject is not None and self.role != "client":
            raise ValueError("subject is for client participants only")
        return self


class SessionSettingsIn(_Body):
    cues: CueSettings = CueSettings()
    safety: Annotated[
        SafetyPlan | None,
        Field(
            description="the safety plan (contract §9.2); when given it replaces the tenant's "
            "default whole (null: this session has none)"
        ),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _cues_object(cls, value: Any) -> Any:
        if isinstance(value, dict) and "cues" in value and not isinstance(value["cues"], dict):
            raise ValueError("cues must be an object of rules")
        return value


class CreateSessionRequest(_Body):
    platform: Platform
    external_id: Annotated[PlainText, Field(min_length=1, max_length=256)]
    scheduled_minutes: Annotated[int, Field(ge=1, le=1440, strict=True)] = 50
    participants: Annotated[list[ParticipantIn], Field(min_length=2, max_length=64)]
    settings: SessionSettingsIn = SessionSettingsIn()

    @field_validator("participants")
    @classmethod
    def _roles_and_ids(cls, participants: list[ParticipantIn]) -> list[ParticipantIn]:
        ids = [p.id for p in participants]
        if len(set(ids)) != len(ids):
            raise ValueError("participant ids must be unique")
        roles = {p.role for p in participants}
        if roles != {"therapist", "client"}:
            raise ValueError("at least one therapist and one client are required")
        return participants


class MintTokenRequest(_Body):
    participant_id: ParticipantId


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    after: Annotated[int, Field(ge=0, le=2**53)] = 0
    limit: Annotated[int, Field(ge=1, le=1000)] = 500

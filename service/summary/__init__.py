"""The session summary (contract §5): JSON, a FHIR R4 Bundle, or an SVG timeline (the route is
`GET /api/v1/sessions/{id}/summary`, in `http/api.py`).

`digest.py` folds a session's log into per-client series and the cues, and holds the JSON
answer's models; `fhir.py` and `svg.py` are the other two views of the same digest.
"""

from __future__ import annotations

from .digest import (
    FORMATS,
    SessionDigest,
    SummaryQuery,
    SummaryResponse,
    digest_session,
    read_log,
)
from .fhir import fhir_bundle
from .svg import timeline_svg

__all__ = [
    "FORMATS",
    "SessionDigest",
    "SummaryQuery",
    "SummaryResponse",
    "digest_session",
    "fhir_bundle",
    "read_log",
    "timeline_svg",
]

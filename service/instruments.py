"""The instrument registry: what a check-in can ask, its range, its anchors and its licence.

`suds` and `zone` are built in. A vendor that holds a licence for a scale such as the ORS or SRS
registers it with a licence note; the product itself never ships a licensed scale's wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# The code system of Session Comfort's own instrument and answer codes (FHIR `Coding.system`).
CODE_SYSTEM = "urn:session-comfort:instrument"
ZONE_CODE_SYSTEM = "urn:session-comfort:zone"


class InstrumentKind(StrEnum):
    SCALE = "scale"  # an integer between `low` and `high`
    CHOICE = "choice"  # one of `choices`


@dataclass(frozen=True, slots=True)
class Instrument:
    """One check-in instrument.

    `anchors` label points of a scale (value -> words); `choices` are a choice's answers
    (code -> words). `licence_note` says who may use it and how; a licensed instrument's
    wording is supplied by the licensee, never by this product.
    """

    id: str
    name: str
    kind: InstrumentKind
    low: int | None = None
    high: int | None = None
    anchors: dict[int, str] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)
    source: str = ""
    licence_note: str | None = None

    def accepts(self, value: object) -> bool:
        """Is `value` a valid answer to this instrument?"""
        if self.kind is InstrumentKind.SCALE:
            return (
                isinstance(value, int)
                and not isinstance(value, bool)
                and self.low is not None
                and self.high is not None
                and self.low <= value <= self.high
            )
        return isinstance(value, str) and value in self.choices


SUDS = Instrument(
    id="suds",
    name="Subjective Units of Distress (0-10)",
    kind=InstrumentKind.SCALE,
    low=0,
    high=10,
    anchors={
        0: "Calm, at peace",
        5: "Moderately upset, uncomfortable but able to go on",
        10: "The most upset you can imagine, unable to function",
    },
    source="Wolpe, 1969. Read as change within the same person; it has no cut-off.",
)

ZONE = Instrument(
    id="zone",
    name="Window of tolerance",
    kind=InstrumentKind.CHOICE,
    choices={
        "too_much": "Too much (above the window: hyperarousal)",
        "okay": "Okay (within the window)",
        "shut_down": "Shut down (below the window: hypoarousal)",
    },
    source="Siegel, 1999.",
)


class InstrumentRegistry:
    """Instruments by id; the built-in ones are always there."""

    def __init__(self, extra: tuple[Instrument, ...] = ()) -> None:
        self._by_id: dict[str, Instrument] = {SUDS.id: SUDS, ZONE.id: ZONE}
        for instrument in extra:
            self.register(instrument)

    def register(self, instrument: Instrument) -> None:
        """Add a vendor instrument. Raises `ValueError` for a taken id or a scale without a
        valid range."""
        if instrument.id in self._by_id:
            raise ValueError(f"instrument {instrument.id!r} is already registered")
        if instrument.kind is InstrumentKind.SCALE and (
            instrument.low is None or instrument.high is None or instrument.low > instrument.high
        ):
            raise ValueError(f"instrument {instrument.id!r}: a scale needs low <= high")
        self._by_id[instrument.id] = instrument

    def get(self, instrument_id: str) -> Instrument | None:
        return self._by_id.get(instrument_id)

    def __contains__(self, instrument_id: object) -> bool:
        return instrument_id in self._by_id

    def all(self) -> list[Instrument]:
        return list(self._by_id.values())


def licensed_slot(instrument_id: str, name: str, low: int, high: int, licence: str) -> Instrument:
    """A slot for a vendor-licensed scale (ORS, SRS …): range and licence note, no wording.

    The licensee's own software shows the licensed items; Session Comfort records the number.
    """
    return Instrument(
        id=instrument_id,
        name=name,
        kind=InstrumentKind.SCALE,
        low=low,
        high=high,
        licence_note=licence,
    )


DEFAULT_REGISTRY = InstrumentRegistry()

"""What a protocol decoder hands the pipeline: one `Fix` per position, or a `BadFix`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from gisgrid.errors import BadRequest, Text, prefixed


@dataclass
class Fix:
    """A decoded fix, still in the device's datum and the protocol's speed unit."""

    device: str  # the device identifier as sent (id / deviceid / device_id)
    lat: float
    lon: float
    # Aware when the device said its offset (or sent epoch time, UTC by definition); naive when it
    # sent a wall-clock time without one. Only the device knows which zone that is, and the
    # device is known only after authentication: times.localise() then makes every time aware,
    # before the pipeline sees it.
    time: dt.datetime
    speed: float | None = None
    # None: the device's configured unit (the OsmAnd protocol, whose unit depends on the app);
    # "mps", "kn" or "kmh" when the protocol fixes it (Traccar Client JSON: m/s).
    speed_unit: str | None = None
    bearing: float | None = None
    altitude: float | None = None
    accuracy: float | None = None
    battery: float | None = None  # percent 0..100
    valid: bool = True  # the device's own validity flag (OsmAnd `valid=false`)
    raw: dict = field(default_factory=dict)  # the fields as received, kept for the quarantine


@dataclass
class BadFix:
    """An item that could not be decoded: quarantined with reason `invalid` and the message."""

    device: str
    field: str
    reason: str
    raw: dict = field(default_factory=dict)
    time: dt.datetime | None = None  # as Fix.time; None when the time itself was unreadable
    lat: float | None = None
    lon: float | None = None


class FieldError(BadRequest, ValueError):
    """One field of one fix that could not be read. Decoders catch it and quarantine the item
    (a `BadFix`); should one escape, it is still a 400 naming the field."""

    def __init__(self, field: str, reason: str | Text):
        super().__init__(reason, field=field, detail=prefixed(field, reason))


class DecodeError(BadRequest, ValueError):
    """The request as a whole is unusable (no device id, unreadable body): HTTP 400, or 413
    (`too_large`) when it holds more than a request may."""

    def __init__(self, field: str, reason: str | Text, status: int = 400):
        super().__init__(reason, field=field, detail=prefixed(field, reason), status=status,
                         code="too_large" if status == 413 else "invalid")

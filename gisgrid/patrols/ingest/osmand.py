"""The OsmAnd protocol (Traccar's HTTP protocol): one fix per request, as query or form fields.

Spoken by the OsmAnd app's online tracking, the classic Traccar Client and countless scripts.
Field rules follow Traccar's OsmAnd decoder so a device set up for Traccar works unchanged:

- `id` or `deviceid` names the device, `token` proves it (never copied into `raw`).
- `lat` + `lon`, or `location=lat,lon`.
- `timestamp`: an integer below 2147483647 is seconds, a larger one milliseconds (the OsmAnd
  app sends milliseconds, Traccar Client seconds); text containing `T` is ISO-8601; anything
  else `yyyy-MM-dd HH:mm:ss`. Text without a UTC offset is the device's local time, kept naive
  here and read in the device's time zone after authentication (times.py). Only years
  2000-2100 are taken. Missing: the time the server received the request.
- `speed` stays in the device's unit (the OsmAnd app: m/s, Traccar Client: knots); the
  pipeline converts it with the device's `speed_unit`. Negative speed or bearing = unknown.
- `accuracy` in metres; the OsmAnd app has no accuracy placeholder and puts it in `hdop`, so
  `hdop` stands in when `accuracy` is absent.
- `batt` percent; `valid=false` marks the device's own doubt. Other keys are kept in `raw`.

A malformed field does not lose the request: it becomes a `BadFix` naming the field, which
the pipeline quarantines (reason `invalid`) with whatever else could be read.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .records import BadFix, FieldError, Fix
from .times import parse_time

POSITION_KEYS = frozenset({"lat", "lon", "location"})
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass
class Decoded:
    """A decoded request: its fixes, and the credentials it carried."""

    items: list[Fix | BadFix]
    token: str | None = None
    # Per-device tokens, for gateways that forward several devices in one batch.
    tokens: dict[str, str] = field(default_factory=dict)
    source: str = "osmand"


def number(name: str, value: object) -> float | None:
    """A finite float from a form field or a JSON value; empty means absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    # JSON true/false are ints to Python; as a coordinate they are a client bug, not 1 and 0.
    if isinstance(value, bool):
        raise FieldError(name, f"not a number: {value!r}")
    try:
        if isinstance(value, int | float):
            result = float(value)
        elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            result = float(value)
        else:
            raise FieldError(name, f"not a number: {_show(value)}")
    except OverflowError:  # a JSON integer too large for a float
        result = math.inf
    if not math.isfinite(result):
        raise FieldError(name, f"not a finite number: {_show(value)}")
    return result


def unknown_if_negative(name: str, value: object) -> float | None:
    """Speed and heading: Android and Traccar Client send -1 for "don't know"."""
    result = number(name, value)
    return None if result is None or result < 0 else result


def coordinates(lat_name: str, lat: object, lon_name: str, lon: object) -> tuple[float, float]:
    y, x = number(lat_name, lat), number(lon_name, lon)
    if y is None:
        raise FieldError(lat_name, "missing")
    if x is None:
        raise FieldError(lon_name, "missing")
    if not -90 <= y <= 90:
        raise FieldError(lat_name, f"latitude out of range -90..90: {y:g}")
    if not -180 <= x <= 180:
        raise FieldError(lon_name, f"longitude out of range -180..180: {x:g}")
    return y, x


def flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldError(name, f"not true/false: {_show(value)}")


def battery_percent(name: str, value: object) -> float | None:
    # Some trackers put a voltage in `batt`: an impossible percentage is dropped (kept in raw)
    # rather than losing the position over it.
    result = number(name, value)
    return result if result is not None and 0 <= result <= 100 else None


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class FieldReader:
    """Reads fields one by one, remembering every failure instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def read(self, fn, *args):
        try:
            return fn(*args)
        except FieldError as exc:
            self.errors.append(exc)
            return None

    def bad_fix(self, device: str, raw: dict, time: dt.datetime | None,
                latlon: tuple[float, float] | None) -> BadFix:
        first, *others = self.errors
        reason = first.reason
        if others:
            reason += " (also " + "; ".join(str(e) for e in others) + ")"
        lat, lon = latlon if latlon else (None, None)
        return BadFix(device=device, field=first.field, reason=reason, raw=raw, time=time, lat=lat, lon=lon)


def has_position(params: Mapping[str, str]) -> bool:
    """Whether these fields carry a position (else the form body is read instead)."""
    return any(k in params for k in POSITION_KEYS)


def decode(params: Mapping[str, str], *, received_at: dt.datetime) -> Decoded:
    """One OsmAnd request's fields → its fix (or `BadFix`) and its token."""
    token = (params.get("token") or "").strip() or None
    device = (params.get("id") or params.get("deviceid") or "").strip()
    raw = {k: params[k] for k in params if k != "token"}
    r = FieldReader()
    latlon = r.read(_location, params)
    time = r.read(parse_time, "timestamp", params["timestamp"]) if params.get("timestamp") else received_at
    speed = r.read(unknown_if_negative, "speed", params.get("speed"))
    bearing_field = "bearing" if params.get("bearing") else "heading"
    bearing = r.read(unknown_if_negative, bearing_field, params.get(bearing_field))
    altitude = r.read(number, "altitude", params.get("altitude"))
    accuracy_field = "accuracy" if params.get("accuracy") else "hdop"
    accuracy = r.read(unknown_if_negative, accuracy_field, params.get(accuracy_field))
    battery = r.read(battery_percent, "batt", params.get("batt"))
    valid = r.read(flag, "valid", params["valid"]) if params.get("valid") else True
    if r.errors:
        return Decoded([r.bad_fix(device, raw, time, latlon)], token)
    lat, lon = latlon
    fix = Fix(device=device, lat=lat, lon=lon, time=time, speed=speed, speed_unit=None,
              bearing=None if bearing is None else bearing % 360, altitude=altitude, accuracy=accuracy,
              battery=battery, valid=bool(valid), raw=raw)
    return Decoded([fix], token)


def _location(params: Mapping[str, str]) -> tuple[float, float]:
    if params.get("lat") or params.get("lon") or not params.get("location"):
        return coordinates("lat", params.get("lat"), "lon", params.get("lon"))
    parts = params["location"].split(",")
    if len(parts) != 2:
        raise FieldError("location", f"expected lat,lon: {_show(params['location'])}")
    return coordinates("location", parts[0], "location", parts[1])

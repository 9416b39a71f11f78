"""JSON bodies: the Traccar Client's own format, and gisgrid's plain batch.

Traccar Client (the current, background-geolocation based app) posts
`{"device_id": ..., "location": {...}}`, and a list under `location` when it syncs positions it
buffered offline. Its speed is m/s whatever the device's setting, and battery a 0–1 fraction.

The plain batch is for scripts and gateways: `{"device_id", "token", "positions": [...]}`, each
position `{"time" | "timestamp", "lat", "lon", "accuracy", "speed" (m/s), "bearing", "altitude",
"battery" (percent)}`; an item may name its own `device_id` (and `token`), so one gateway can
forward many devices. Times follow the OsmAnd rules (times.py: epoch seconds/ms or ISO-8601;
no offset = the device's local time, years 2000-2100).

One bad item never sinks the batch: it becomes a `BadFix` at its own index. Only a body that
is not one of these shapes, empty, or too long is refused as a whole (`DecodeError`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .osmand import (
    Decoded,
    FieldError,
    FieldReader,
    battery_percent,
    coordinates,
    number,
    unknown_if_negative,
)
from .records import BadFix, DecodeError, Fix
from .times import parse_time

MAX_ITEMS = 10_000


def decode(body: Any, *, received_at: dt.datetime) -> Decoded:
    """A parsed JSON body → fixes; `source` says which of the two shapes it was."""
    if not isinstance(body, dict):
        raise DecodeError("body", "需要 JSON 对象 (a JSON object is expected)")
    if "location" in body:
        return _traccar_client(body, received_at)
    if "positions" in body:
        return _plain_batch(body, received_at)
    raise DecodeError("body", "需要 location (Traccar Client) 或 positions (批量) 字段 "
                              "(expected `location` (Traccar Client) or `positions` (batch))")


def _items(body: dict, key: str) -> tuple[list, bool]:
    value = body[key]
    many = isinstance(value, list)
    items = value if many else [value]
    if not items:
        raise DecodeError(key, "没有定位点 (no positions)")
    if len(items) > MAX_ITEMS:
        raise DecodeError(key, f"最多 {MAX_ITEMS} 个定位点 (at most {MAX_ITEMS} positions, got {len(items)})",
                          status=413)
    return items, many


def device_id(name: str, value: object) -> str:
    # IMEIs arrive as JSON numbers from some gateways; they are identifiers all the same.
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DecodeError(name, f"设备号必须是字符串 (device id must be a string, got {value!r:.40})")
    return str(value).strip()


def _token(name: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DecodeError(name, "令牌必须是字符串 (token must be a string)")
    return value.strip() or None


# -- Traccar Client ---------------------------------------------------------------------------

def _traccar_client(body: dict, received_at: dt.datetime) -> Decoded:
    device = device_id("device_id", body.get("device_id"))
    locations, many = _items(body, "location")
    items = [_client_location(loc, device, f"location[{i}]" if many else "location", received_at)
             for i, loc in enumerate(locations)]
    return Decoded(items, _token("token", body.get("token")), source="traccar")


def _client_location(loc: object, device: str, where: str, received_at: dt.datetime) -> Fix | BadFix:
    if not isinstance(loc, dict):
        return BadFix(device, where, "不是对象 (not an object)", raw={"value": _shown(loc)})
    raw = dict(loc)
    coords = loc.get("coords")
    if not isinstance(coords, dict):
        return BadFix(device, f"{where}.coords", "缺少 coords 对象 (missing coords object)", raw=raw)
    r = FieldReader()
    latlon = r.read(coordinates, f"{where}.coords.latitude", coords.get("latitude"),
                    f"{where}.coords.longitude", coords.get("longitude"))
    ts = loc.get("timestamp")
    time = r.read(parse_time, f"{where}.timestamp", ts) if ts not in (None, "") else received_at
    speed = r.read(unknown_if_negative, f"{where}.coords.speed", coords.get("speed"))
    heading = r.read(unknown_if_negative, f"{where}.coords.heading", coords.get("heading"))
    altitude = r.read(number, f"{where}.coords.altitude", coords.get("altitude"))
    accuracy = r.read(unknown_if_negative, f"{where}.coords.accuracy", coords.get("accuracy"))
    battery = r.read(_battery_fraction, f"{where}.battery.level", loc.get("battery"))
    if r.errors:
        return r.bad_fix(device, raw, time, latlon)
    lat, lon = latlon
    return Fix(device=device, lat=lat, lon=lon, time=time, speed=speed, speed_unit="mps",
               bearing=None if heading is None else heading % 360, altitude=altitude, accuracy=accuracy,
               battery=battery, raw=raw)


def _battery_fraction(name: str, battery: object) -> float | None:
    if not isinstance(battery, dict):
        return None
    level = number(name, battery.get("level"))
    # -1 is the client's "unknown"; anything outside 0..1 is not a fraction we can trust.
    return round(level * 100, 1) if level is not None and 0 <= level <= 1 else None


# -- plain batch ------------------------------------------------------------------------------

def _plain_batch(body: dict, received_at: dt.datetime) -> Decoded:
    default_device = device_id("device_id", body.get("device_id"))
    token = _token("token", body.get("token"))
    positions, _ = _items(body, "positions")
    items: list[Fix | BadFix] = []
    tokens: dict[str, str] = {}
    for i, pos in enumerate(positions):
        where = f"positions[{i}]"
        own = pos if isinstance(pos, dict) else {}
        device = device_id(f"{where}.device_id", own.get("device_id")) or default_device
        own_token = _token(f"{where}.token", own.get("token"))
        if own_token:
            _remember_token(tokens, device, own_token, where)
        items.append(_batch_item(pos, device, where, received_at))
    return Decoded(items, token, tokens, source="batch")


def _remember_token(tokens: dict[str, str], device: str, token: str, where: str) -> None:
    # Two tokens for one device would let the right one vouch for a wrong one's items.
    if tokens.setdefault(device, token) != token:
        raise DecodeError(f"{where}.token", f"设备 {device} 的令牌与前面不一致 (a different token for device {device} "
                                            "than an earlier item)")


def _batch_item(pos: object, device: str, where: str, received_at: dt.datetime) -> Fix | BadFix:
    if not isinstance(pos, dict):
        return BadFix(device, where, "不是对象 (not an object)", raw={"value": _shown(pos)})
    raw = {k: v for k, v in pos.items() if k != "token"}
    r = FieldReader()
    latlon = r.read(coordinates, f"{where}.lat", pos.get("lat"), f"{where}.lon", pos.get("lon"))
    time_key = "time" if "time" in pos else "timestamp"
    ts = pos.get(time_key)
    time = r.read(parse_time, f"{where}.{time_key}", ts) if ts not in (None, "") else received_at
    speed = r.read(unknown_if_negative, f"{where}.speed", pos.get("speed"))
    bearing_key = "bearing" if "bearing" in pos else "heading"
    bearing = r.read(unknown_if_negative, f"{where}.{bearing_key}", pos.get(bearing_key))
    altitude = r.read(number, f"{where}.altitude", pos.get("altitude"))
    accuracy = r.read(unknown_if_negative, f"{where}.accuracy", pos.get("accuracy"))
    battery = r.read(battery_percent, f"{where}.battery", pos.get("battery"))
    valid = pos.get("valid", True)
    if not isinstance(valid, bool):
        r.errors.append(FieldError(f"{where}.valid", f"not true/false: {valid!r:.40}"))
    if r.errors:
        return r.bad_fix(device, raw, time, latlon)
    lat, lon = latlon
    return Fix(device=device, lat=lat, lon=lon, time=time, speed=speed, speed_unit="mps",
               bearing=None if bearing is None else bearing % 360, altitude=altitude, accuracy=accuracy,
               battery=battery, valid=valid, raw=raw)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

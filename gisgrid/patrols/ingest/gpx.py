"""GPX files: patrols recorded offline on a phone or a handheld, uploaded afterwards.

Track points are what was walked, so a file with tracks gives exactly its track points; one
without a time cannot be placed in a patrol and is quarantined (`BadFix`). Routes are plans
and waypoints marked places: they are read only when a file has no track at all, and then
only the ones with a time (an untimed route point was never visited; it is counted as
ignored, not quarantined).

GPX times are UTC by the standard, but phones and loggers do write local time without a zone;
such a time is kept naive and read in the device's time zone like any other protocol's
(times.py), and only years 2000-2100 are taken. `<hdop>` is
taken as accuracy in metres when present: OsmAnd writes its accuracy there (as in its live
tracking), and a true dimensionless HDOP (1–5) only makes the accuracy look good, never bad.
Speed and course come from GPX 1.0's `<speed>`/`<course>` or from extensions of those names
(OsmAnd, Garmin's TrackPointExtension).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import gpxpy
import gpxpy.gpx

from .osmand import FieldReader, coordinates, unknown_if_negative
from .records import BadFix, DecodeError, FieldError, Fix
from .times import bounded


@dataclass
class GpxPoints:
    items: list[Fix | BadFix] = field(default_factory=list)
    points_read: int = 0
    ignored: int = 0  # untimed route points and waypoints of a file without tracks


def decode(data: bytes, device: str) -> GpxPoints:
    """A GPX file's bytes → fixes for `device` (speeds in m/s)."""
    _check_is_gpx(data)
    try:
        doc = gpxpy.parse(io.BytesIO(data))
    except gpxpy.gpx.GPXException as exc:
        raise DecodeError("file", f"GPX 文件无法读取 (unreadable GPX: {str(exc)[:200]})") from None
    result = GpxPoints()
    tracked = [(f"trk[{t}].trkseg[{s}].trkpt[{i}]", p)
               for t, trk in enumerate(doc.tracks) for s, seg in enumerate(trk.segments)
               for i, p in enumerate(seg.points)]
    if tracked:
        result.items = [_point(p, where, device) for where, p in tracked]
        result.points_read = len(tracked)
    else:
        _read_untracked(doc, device, result)
    if not result.items:
        raise DecodeError("file", "GPX 文件中没有带时间的轨迹点 (no track points with a time in the file)")
    return result


def _read_untracked(doc: gpxpy.gpx.GPX, device: str, result: GpxPoints) -> None:
    others = [(f"rte[{r}].rtept[{i}]", p) for r, rte in enumerate(doc.routes) for i, p in enumerate(rte.points)]
    others += [(f"wpt[{i}]", p) for i, p in enumerate(doc.waypoints)]
    result.points_read = len(others)
    result.items = [_point(p, where, device) for where, p in others if p.time is not None]
    result.ignored = len(others) - len(result.items)


def _check_is_gpx(data: bytes) -> None:
    if not data.strip():
        raise DecodeError("file", "文件为空 (empty file)")
    # GPX never needs a DTD; refusing one up front rules out entity expansion tricks.
    head = data.upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise DecodeError("file", "不接受带 DTD 的 XML (XML with a DTD or entities is not accepted)")
    root = _root_name(data)
    if root != "gpx":
        raise DecodeError("file", f"不是 GPX 文件 (not a GPX file: root element <{root}>)")


def _root_name(data: bytes) -> str:
    """The root element's local name, reading no further than its start tag."""
    parser = ET.XMLPullParser(events=("start",))
    try:
        for start in range(0, len(data), 65536):
            parser.feed(data[start:start + 65536])
            for _, elem in parser.read_events():
                return elem.tag.rsplit("}", 1)[-1]
        parser.close()
    except ET.ParseError as exc:
        raise DecodeError("file", f"不是有效的 XML (not XML: {exc})") from None
    raise DecodeError("file", "不是有效的 XML (not XML: no element)")


def _point(p: gpxpy.gpx.GPXTrackPoint | gpxpy.gpx.GPXRoutePoint | gpxpy.gpx.GPXWaypoint, where: str, device: str) -> Fix | BadFix:
    raw = {"at": where, "lat": p.latitude, "lon": p.longitude,
           "time": p.time.isoformat() if p.time else None, "ele": p.elevation}
    r = FieldReader()
    latlon = r.read(coordinates, f"{where}.lat", p.latitude, f"{where}.lon", p.longitude)
    time = r.read(bounded, f"{where}.time", p.time) if p.time is not None else None
    if p.time is None:
        r.errors.append(_missing_time(where))
    # Waypoints have no speed or course in gpxpy (GPX 1.0 gave them to track points only).
    speed = r.read(unknown_if_negative, f"{where}.speed", _first(getattr(p, "speed", None), _extension(p, "speed")))
    course = r.read(unknown_if_negative, f"{where}.course",
                    _first(getattr(p, "course", None), _extension(p, "course"), _extension(p, "bearing")))
    accuracy = r.read(unknown_if_negative, f"{where}.hdop", p.horizontal_dilution)
    if r.errors:
        return r.bad_fix(device, raw, time, latlon)
    lat, lon = latlon
    return Fix(device=device, lat=lat, lon=lon, time=time, speed=speed, speed_unit="mps",
               bearing=None if course is None else course % 360, altitude=p.elevation, accuracy=accuracy,
               raw=raw)


def _missing_time(where: str) -> FieldError:
    return FieldError(f"{where}.time", "轨迹点没有时间 (point has no time)")


def _first(*values):
    return next((v for v in values if v is not None), None)


def _extension(p, name: str) -> str | None:
    """The text of the first extension element (at any depth) with this local name."""
    for ext in getattr(p, "extensions", None) or []:
        for elem in ext.iter():
            if elem.tag.rsplit("}", 1)[-1].lower() == name and elem.text and elem.text.strip():
                return elem.text.strip()
    return None

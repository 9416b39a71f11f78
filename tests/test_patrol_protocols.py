"""GPS ingestion over HTTP: the OsmAnd protocol, Traccar Client JSON, the plain batch, GPX.

Requests are written from the protocols' own formats (what the OsmAnd app, Traccar Client and
a gateway actually send), with fix times a few minutes old: the filters reject fixes older
than 30 days or more than a day ahead.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gisgrid.boundaries.datums import to_wgs84
from gisgrid.boundaries.models import Person
from gisgrid.patrols.ingest import auth, gpx, osmand, traccar_json
from gisgrid.patrols.ingest.records import BadFix, DecodeError, Fix
from gisgrid.patrols.models import Device, DeviceCounter, Position, RejectedPosition

# Heyang county town (WGS-84), inside the grids.
LON, LAT = 110.1496, 35.2377
KNOT = 0.514444


pytestmark = pytest.mark.usefixtures("fresh_partitions")


@pytest.fixture
def inspector_person(heyang_db) -> Person:
    return Person.objects.create(name="协议测试巡查员", role=Person.Role.INSPECTOR,
                                 user=User.objects.get(username="inspector"))


@pytest.fixture
def member_person(heyang_db) -> Person:
    return Person.objects.create(name="协议测试网格员", role=Person.Role.GRID_MEMBER,
                                 user=User.objects.get(username="gridmember"))


def make_device(identifier: str, person: Person | None = None, *, datum: str = "wgs84",
                speed_unit: str = "mps", active: bool = True) -> tuple[Device, str]:
    d = Device(identifier=identifier, person=person, datum=datum, speed_unit=speed_unit, active=active)
    tok = auth.set_token(d)
    d.save()
    return d, tok


@pytest.fixture
def phone(inspector_person) -> tuple[Device, str]:
    """The OsmAnd app: speeds in m/s."""
    return make_device("860000000000001", inspector_person)


@pytest.fixture
def traccar_phone(inspector_person) -> tuple[Device, str]:
    """Traccar Client in its OsmAnd mode: speeds in knots."""
    return make_device("860000000000002", inspector_person, speed_unit="kn")


def ago(minutes: float) -> dt.datetime:
    return (timezone.now() - dt.timedelta(minutes=minutes)).replace(microsecond=0)


def epoch(t: dt.datetime) -> int:
    return int(t.timestamp())


def rows() -> tuple[int, int]:
    return Position.objects.count(), RejectedPosition.objects.count()


def only_position(device: Device) -> Position:
    (p,) = Position.objects.filter(device=device)
    return p


# -- the OsmAnd protocol ------------------------------------------------------------------------

def test_osmand_query_string_stores_the_fix_with_grids(anon_client, phone):
    d, tok = phone
    t = ago(5)
    r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&timestamp={epoch(t)}"
                        f"&lat={LAT}&lon={LON}&speed=1.2&bearing=90&altitude=400&accuracy=8&batt=77")
    assert r.status_code == 200, r.content
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": 0, "items": [{"index": 0, "status": "accepted"}]}
    p = only_position(d)
    assert p.fix_time == t
    assert (p.point.x, p.point.y) == pytest.approx((LON, LAT))
    assert (p.speed_mps, p.bearing, p.altitude, p.accuracy_m, p.battery) == (1.2, 90, 400, 8, 77)
    assert p.source == "osmand"
    assert p.level1_code.startswith("610524") and len(p.level3_code) == 15
    d.refresh_from_db()
    assert d.last_fix_time == t and d.last_battery == 77


def test_osmand_app_template_with_millisecond_timestamp_and_hdop(anon_client, phone):
    # The OsmAnd app's URL template: lat={0}&lon={1}&timestamp={2}&hdop={3}&altitude={4}&speed={5},
    # its timestamp in milliseconds and its accuracy (metres) in hdop.
    d, tok = phone
    t = ago(4)
    ms = epoch(t) * 1000 + 250
    r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}"
                        f"&lat={LAT}&lon={LON}&timestamp={ms}&hdop=12.5&altitude=401.2&speed=1.5&bearing=270.0")
    assert r.status_code == 200, r.content
    p = only_position(d)
    assert p.fix_time == t + dt.timedelta(milliseconds=250)
    assert (p.accuracy_m, p.altitude, p.speed_mps, p.bearing) == (12.5, 401.2, 1.5, 270)


def test_traccar_client_post_with_query_and_empty_body_in_knots(anon_client, traccar_phone):
    d, tok = traccar_phone
    t = ago(3)
    r = anon_client.post(f"/api/v1/track/osmand?token={tok}&id={d.identifier}&timestamp={epoch(t)}"
                         f"&lat={LAT}&lon={LON}&speed=3.0&bearing=45.5&altitude=398&accuracy=6.0&batt=64.0")
    assert r.status_code == 200, r.content
    p = only_position(d)
    assert p.speed_mps == pytest.approx(3.0 * KNOT)
    assert (p.bearing, p.accuracy_m, p.battery) == (45.5, 6, 64)


def test_form_body_when_the_query_has_no_position(anon_client, phone):
    d, tok = phone
    t = ago(6)
    body = f"id={d.identifier}&timestamp={epoch(t)}&lat={LAT}&lon={LON}&speed=2&accuracy=5"
    r = anon_client.post(f"/api/v1/track/osmand?token={tok}", body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200, r.content
    p = only_position(d)
    assert p.fix_time == t and p.speed_mps == 2


def test_location_pair_and_header_tokens(anon_client, phone):
    d, tok = phone
    t1, t2 = ago(8), ago(7)
    r = anon_client.get(f"/api/v1/track/osmand?deviceid={d.identifier}&location={LAT},{LON}&timestamp={epoch(t1)}",
                        HTTP_AUTHORIZATION=f"Bearer {tok}")
    assert r.status_code == 200, r.content
    r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&location={LAT},{LON + 0.0001}"
                        f"&timestamp={epoch(t2)}", HTTP_X_DEVICE_TOKEN=tok)
    assert r.status_code == 200, r.content
    times = list(Position.objects.filter(device=d).order_by("fix_time").values_list("fix_time", flat=True))
    assert times == [t1, t2]


@pytest.mark.parametrize("fmt", [
    "{utc:%Y-%m-%dT%H:%M:%S}Z",
    "{local:%Y-%m-%dT%H:%M:%S}+08:00",
    "{local:%Y-%m-%dT%H:%M:%S}",   # no offset: the device's clock, the county's zone by default
    "{local:%Y-%m-%d %H:%M:%S}",   # Traccar's plain format, local too
])
def test_text_timestamps(anon_client, phone, fmt):
    d, tok = phone
    t = ago(10)
    text = fmt.format(utc=t.astimezone(dt.UTC), local=timezone.localtime(t))
    r = anon_client.get("/api/v1/track/osmand",
                        {"id": d.identifier, "token": tok, "lat": LAT, "lon": LON, "timestamp": text})
    assert r.status_code == 200, r.content
    assert only_position(d).fix_time == t


def test_missing_timestamp_means_time_received(anon_client, phone):
    d, tok = phone
    before = timezone.now()
    r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat={LAT}&lon={LON}")
    assert r.status_code == 200, r.content
    p = only_position(d)
    assert before <= p.fix_time <= timezone.now()
    assert p.fix_time == p.received_at


def test_negative_speed_and_bearing_are_unknown(anon_client, phone):
    d, tok = phone
    r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat={LAT}&lon={LON}"
                        f"&timestamp={epoch(ago(5))}&speed=-1&bearing=-1&extra=kept")
    assert r.status_code == 200, r.content
    p = only_position(d)
    assert p.speed_mps is None and p.bearing is None


def test_malformed_number_is_200_rejected_naming_the_field_and_quarantined(anon_client, phone):
    # Kept (quarantined), so 2xx: a 4xx would make the app resend this point for ever.
    d, tok = phone
    t = ago(5)
    r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat=abc&lon={LON}&timestamp={epoch(t)}")
    assert r.status_code == 200
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (0, 1)
    assert body["items"] == [{"index": 0, "status": "rejected", "reasons": ["invalid"],
                              "detail": "lat: not a number: 'abc'", "field": "lat"}]
    assert rows() == (0, 1)
    q = RejectedPosition.objects.get()
    assert q.reasons == ["invalid"] and q.fix_time == t and q.payload["lat"] == "abc"
    assert "token" not in q.payload  # the secret never lands in the quarantine
    assert DeviceCounter.objects.get(device=d, name="invalid").count == 1


def test_valid_false_is_quarantined_with_200(anon_client, phone):
    d, tok = phone
    r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat={LAT}&lon={LON}"
                        f"&timestamp={epoch(ago(5))}&valid=false")
    assert r.status_code == 200
    assert r.json()["items"][0]["reasons"] == ["invalid"]
    assert rows() == (0, 1)


def test_replayed_request_stores_one_position(anon_client, phone):
    d, tok = phone
    url = (f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat={LAT}&lon={LON}"
           f"&timestamp={epoch(ago(5))}&speed=1")
    assert anon_client.get(url).json()["accepted"] == 1
    again = anon_client.get(url)
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1
    assert rows() == (1, 0)


def test_gcj02_device_is_stored_in_wgs84_with_raw_coordinates(anon_client, inspector_person):
    d, tok = make_device("wechat-001", inspector_person, datum="gcj02")
    g_lon, g_lat = 110.15570, 35.23893  # a GCJ-02 reading (AMap/WeChat) near the county town
    r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat={g_lat}&lon={g_lon}"
                        f"&timestamp={epoch(ago(5))}")
    assert r.status_code == 200, r.content
    p = only_position(d)
    (w_lon,), (w_lat,) = to_wgs84(np.array([g_lon]), np.array([g_lat]), "gcj02")
    assert (p.point.x, p.point.y) == pytest.approx((w_lon, w_lat), abs=1e-9)
    assert (p.raw_lon, p.raw_lat, p.raw_crs) == (g_lon, g_lat, "gcj02")
    # The GCJ-02 offset here is hundreds of metres: storing the raw reading would misplace it.
    assert abs(p.point.x - g_lon) > 0.003


def test_speed_units_knots_versus_mps(anon_client, phone, traccar_phone):
    t = epoch(ago(5))
    for d, tok in (phone, traccar_phone):
        r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat={LAT}&lon={LON}"
                            f"&timestamp={t}&speed=10")
        assert r.status_code == 200, r.content
    assert only_position(phone[0]).speed_mps == pytest.approx(10)
    assert only_position(traccar_phone[0]).speed_mps == pytest.approx(10 * KNOT)


@pytest.mark.parametrize("query, status, code", [
    ("lat={lat}&lon={lon}&token={tok}", 401, "missing_device"),
    ("id={id}&lat={lat}&lon={lon}", 401, "missing_token"),
    ("id=999999999999999&token={tok}&lat={lat}&lon={lon}", 403, "bad_token"),
    ("id={id}&token=wrong-token&lat={lat}&lon={lon}", 403, "bad_token"),
    ("id=disabled-1&token={off}&lat={lat}&lon={lon}", 403, "device_disabled"),
    # A malformed point from a stranger is refused, not quarantined: auth comes first.
    ("id={id}&token=wrong-token&lat=abc&lon={lon}", 403, "bad_token"),
])
def test_auth_errors_store_nothing(anon_client, phone, query, status, code):
    d, tok = phone
    _off_dev, off = make_device("disabled-1", active=False)
    q = query.format(id=d.identifier, tok=tok, off=off, lat=LAT, lon=LON)
    r = anon_client.get(f"/api/v1/track/osmand?{q}&timestamp={epoch(ago(5))}")
    assert r.status_code == status
    body = r.json()
    assert body["error"] == code and body["fields"]
    assert rows() == (0, 0)
    assert not DeviceCounter.objects.exists()


def test_401_carries_a_challenge(anon_client, phone):
    r = anon_client.get(f"/api/v1/track/osmand?id={phone[0].identifier}&lat={LAT}&lon={LON}")
    assert r.status_code == 401
    assert r["WWW-Authenticate"].startswith("Bearer")


def test_old_fix_is_rejected_by_the_filters_with_200(anon_client, phone):
    d, tok = phone
    r = anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat={LAT}&lon={LON}"
                        f"&timestamp={epoch(ago(60 * 24 * 40))}")
    assert r.status_code == 200
    assert r.json()["items"][0] == {"index": 0, "status": "rejected", "reasons": ["too_old"]}
    assert rows() == (0, 1)


# -- Traccar Client JSON and the plain batch ------------------------------------------------------

def client_location(t: dt.datetime, lat: float = LAT, lon: float = LON, **coords) -> dict:
    return {
        "timestamp": t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "coords": {"latitude": lat, "longitude": lon, "accuracy": 7.5, "speed": 1.4, "heading": 180,
                   "altitude": 402, **coords},
        "is_moving": True, "odometer": 1520.5, "event": "motionchange",
        "battery": {"level": 0.77, "is_charging": False}, "extras": {},
    }


def post_json(client, url: str, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_traccar_client_json_single_speed_is_mps_whatever_the_device(anon_client, traccar_phone):
    d, tok = traccar_phone  # registered in knots for the OsmAnd mode
    t = ago(5)
    r = post_json(anon_client, f"/api/v1/track/positions?token={tok}",
                  {"device_id": d.identifier, "location": client_location(t)})
    assert r.status_code == 200, r.content
    p = only_position(d)
    assert p.fix_time == t and p.source == "traccar"
    assert (p.speed_mps, p.bearing, p.accuracy_m, p.altitude, p.battery) == (1.4, 180, 7.5, 402, 77)


def test_single_malformed_json_location_is_200_rejected_and_quarantined(anon_client, phone):
    d, tok = phone
    loc = client_location(ago(5), lat="north")
    r = post_json(anon_client, "/api/v1/track/positions", {"device_id": d.identifier, "location": loc},
                  HTTP_AUTHORIZATION=f"Bearer {tok}")
    assert r.status_code == 200
    (item,) = r.json()["items"]
    assert (item["status"], item["reasons"], item["field"]) == ("rejected", ["invalid"], "location.coords.latitude")
    assert rows() == (0, 1)


def test_traccar_client_json_list_posted_to_the_osmand_url(anon_client, phone):
    # The client syncs what it buffered offline as a list, to the URL it was given.
    d, tok = phone
    locs = [client_location(ago(9)), client_location(ago(8), lon=LON + 0.0002, speed=-1, heading=-1)]
    r = post_json(anon_client, f"/api/v1/track/osmand?token={tok}", {"device_id": d.identifier, "location": locs})
    assert r.status_code == 200, r.content
    assert r.json()["accepted"] == 2
    second = Position.objects.filter(device=d).order_by("fix_time").last()
    assert second.speed_mps is None and second.bearing is None


def test_plain_batch_with_bad_items_stores_the_good_ones(anon_client, phone):
    d, tok = phone
    t = [ago(20 - i) for i in range(5)]
    body = {"device_id": d.identifier, "token": tok, "positions": [
        {"time": t[0].isoformat(), "lat": LAT, "lon": LON, "accuracy": 5, "speed": 1.1, "bearing": 10,
         "altitude": 400, "battery": 80},
        {"time": t[1].isoformat(), "lat": "abc", "lon": LON},
        {"timestamp": epoch(t[2]), "lat": LAT + 0.0003, "lon": LON},
        "not an object",
        {"time": t[4].isoformat(), "lat": 95.0, "lon": LON},
    ]}
    r = post_json(anon_client, "/api/v1/track/positions", body)
    assert r.status_code == 200, r.content
    res = r.json()
    assert (res["accepted"], res["rejected"]) == (2, 3)
    statuses = [(i["index"], i["status"]) for i in res["items"]]
    assert statuses == [(0, "accepted"), (1, "rejected"), (2, "accepted"), (3, "rejected"), (4, "rejected")]
    assert res["items"][1]["detail"] == "positions[1].lat: not a number: 'abc'"
    assert res["items"][3]["detail"].startswith("positions[3]:")
    assert "out of range" in res["items"][4]["detail"]
    assert rows() == (2, 3)
    first = Position.objects.filter(device=d).order_by("fix_time").first()
    assert (first.source, first.battery, first.speed_mps) == ("batch", 80, 1.1)


def test_gateway_batch_of_several_devices_with_their_own_tokens(anon_client, phone, traccar_phone):
    (d1, tok1), (d2, tok2) = phone, traccar_phone
    body = {"positions": [
        {"device_id": d1.identifier, "token": tok1, "time": ago(5).isoformat(), "lat": LAT, "lon": LON},
        {"device_id": d2.identifier, "token": tok2, "time": ago(5).isoformat(), "lat": LAT, "lon": LON, "speed": 2},
    ]}
    r = post_json(anon_client, "/api/v1/track/positions", body)
    assert r.status_code == 200, r.content
    assert r.json()["accepted"] == 2
    assert only_position(d2).speed_mps == 2  # the batch is m/s, not the device's knots


def test_gateway_batch_with_one_wrong_token_stores_nothing(anon_client, phone, traccar_phone):
    (d1, tok1), (d2, _tok2) = phone, traccar_phone
    body = {"positions": [
        {"device_id": d1.identifier, "token": tok1, "time": ago(5).isoformat(), "lat": LAT, "lon": LON},
        {"device_id": d2.identifier, "token": "guess", "time": ago(5).isoformat(), "lat": LAT, "lon": LON},
    ]}
    r = post_json(anon_client, "/api/v1/track/positions", body)
    assert r.status_code == 403 and r.json()["error"] == "bad_token"
    assert rows() == (0, 0)


def test_batch_item_without_any_device_is_401(anon_client, phone):
    d, tok = phone
    body = {"positions": [{"device_id": d.identifier, "token": tok, "lat": LAT, "lon": LON},
                          {"lat": LAT, "lon": LON}]}
    r = post_json(anon_client, "/api/v1/track/positions", body)
    assert r.status_code == 401 and r.json()["error"] == "missing_device"
    assert rows() == (0, 0)


@pytest.mark.parametrize("body, status, field", [
    ("{not json", 400, "body"),
    ("[1, 2]", 400, "body"),
    ('{"device_id": "x", "positions": []}', 400, "positions"),
    ('{"device_id": "x", "location": []}', 400, "location"),
    ('{"device_id": "x", "points": [{"lat": 1, "lon": 2}]}', 400, "body"),
    ('{"device_id": ["x"], "positions": [{"lat": 1, "lon": 2}]}', 400, "device_id"),
])
def test_whole_body_errors(anon_client, phone, body, status, field):
    r = anon_client.post(f"/api/v1/track/positions?token={phone[1]}", body, content_type="application/json")
    assert r.status_code == status
    assert field in r.json()["fields"]
    assert rows() == (0, 0)


def test_more_than_ten_thousand_items_is_413(anon_client, phone):
    d, tok = phone
    body = {"device_id": d.identifier, "token": tok, "positions": [{"lat": LAT, "lon": LON}] * 10_001}
    r = post_json(anon_client, "/api/v1/track/positions", body)
    assert r.status_code == 413
    assert "positions" in r.json()["fields"]
    assert rows() == (0, 0)


def test_body_over_the_upload_limit_is_413_json(anon_client, phone, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    d, tok = phone
    body = {"device_id": d.identifier, "token": tok, "positions": [{"lat": LAT, "lon": LON}] * 100}
    r = post_json(anon_client, "/api/v1/track/positions", body)
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"
    assert rows() == (0, 0)


# -- GPX ------------------------------------------------------------------------------------------

def gpx_file(times: list[dt.datetime | None], name: str = "patrol.gpx", lat: float = LAT, lon: float = LON) -> SimpleUploadedFile:
    pts = []
    for i, t in enumerate(times):
        when = f"<time>{t.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}</time>" if t else ""
        pts.append(f'<trkpt lat="{lat + i * 0.0002:.6f}" lon="{lon:.6f}"><ele>400</ele>{when}'
                   f"<extensions><speed>1.3</speed></extensions></trkpt>")
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="OsmAnd" '
           'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>巡查</name><trkseg>'
           + "".join(pts) + "</trkseg></trk></gpx>")
    return SimpleUploadedFile(name, xml.encode(), content_type="application/gpx+xml")


def test_gpx_upload_by_the_person_themselves(client_as, member_person):
    times = [ago(30), ago(29), None, ago(27)]
    r = client_as("gridmember").post("/api/v1/track/gpx", {"file": gpx_file(times)}, format="multipart")
    assert r.status_code == 200, r.content
    res = r.json()
    assert (res["points_read"], res["accepted"], res["rejected"]) == (4, 3, 1)
    assert res["device"] == f"gpx-{member_person.pk}"
    assert res["items"][2]["detail"].startswith("trk[0].trkseg[0].trkpt[2].time")
    d = Device.objects.get(identifier=f"gpx-{member_person.pk}")
    assert d.person == member_person and d.token_hash == ""
    stored = Position.objects.filter(device=d).order_by("fix_time")
    assert [p.source for p in stored] == ["gpx"] * 3
    assert stored[0].fix_time == times[0] and stored[0].speed_mps == 1.3


def test_gpx_uploaded_twice_stores_once(client_as, member_person):
    times = [ago(30), ago(29)]
    first = client_as("gridmember").post("/api/v1/track/gpx", {"file": gpx_file(times)}, format="multipart")
    again = client_as("gridmember").post("/api/v1/track/gpx", {"file": gpx_file(times)}, format="multipart")
    assert first.json()["accepted"] == 2
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 2)
    assert rows() == (2, 0)


def test_gpx_upload_device_takes_no_live_fixes(anon_client, client_as, member_person):
    client_as("gridmember").post("/api/v1/track/gpx", {"file": gpx_file([ago(30)])}, format="multipart")
    r = anon_client.get(f"/api/v1/track/osmand?id=gpx-{member_person.pk}&token=&lat={LAT}&lon={LON}")
    assert r.status_code == 401
    r = anon_client.get(f"/api/v1/track/osmand?id=gpx-{member_person.pk}&token=anything&lat={LAT}&lon={LON}")
    assert r.status_code == 403
    assert Position.objects.count() == 1


def test_gpx_supervisor_uploads_for_a_person_by_username_in_gcj02(client_as, member_person):
    g_lon, g_lat = 110.15570, 35.23893
    r = client_as("dispatcher").post("/api/v1/track/gpx", {"file": gpx_file([ago(30)], lat=g_lat, lon=g_lon),
                                                          "person": "gridmember", "datum": "gcj02"},
                                     format="multipart")
    assert r.status_code == 200, r.content
    p = Position.objects.get()
    (w_lon,), (w_lat,) = to_wgs84(np.array([g_lon]), np.array([g_lat]), "gcj02")
    assert (p.point.x, p.point.y) == pytest.approx((w_lon, w_lat), abs=1e-9)
    assert p.raw_crs == "gcj02" and p.device.person == member_person


def test_gpx_to_a_registered_device(client_as, phone):
    d, _tok = phone  # the inspector's phone; inspectors supervise patrols
    r = client_as("inspector").post("/api/v1/track/gpx", {"file": gpx_file([ago(30), ago(29)]),
                                                         "device": d.identifier}, format="multipart")
    assert r.status_code == 200, r.content
    assert Position.objects.filter(device=d).count() == 2


@pytest.mark.parametrize("user, data, status, field", [
    ("gridmember", {"person": "inspector"}, 403, "person"),      # someone else's track
    ("gridmember", {"device": "860000000000001"}, 403, "device"),
    ("planner", {"person": "gridmember"}, 403, None),            # no business with tracks (the matrix)
    ("dispatcher", {}, 400, "person"),                           # a supervisor must say whose
    ("dispatcher", {"person": "nobody-here"}, 400, "person"),
    ("dispatcher", {"device": "no-such-device"}, 400, "device"),
    ("dispatcher", {"person": "gridmember", "device": "860000000000001"}, 400, "device"),
    ("dispatcher", {"person": "gridmember", "datum": "utm"}, 400, "datum"),
])
def test_gpx_permissions_and_parameters(client_as, member_person, phone, user, data, status, field):
    r = client_as(user).post("/api/v1/track/gpx", {"file": gpx_file([ago(30)]), **data}, format="multipart")
    assert r.status_code == status, r.content
    assert field in r.json()["fields"] if field else r.json()["error"] == "permission_denied"
    assert rows() == (0, 0)


def test_gpx_needs_a_signed_in_user(anon_client, member_person):
    r = anon_client.post("/api/v1/track/gpx", {"file": gpx_file([ago(30)]), "person": "gridmember"},
                         format="multipart")
    assert r.status_code == 401
    assert rows() == (0, 0)


@pytest.mark.parametrize("content, needle", [
    (b"this is not xml", "not XML"),
    (b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>', "not a GPX"),
    (b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x "y">]><gpx version="1.1"/>', "DTD"),
    (b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
     b'<trkpt lat="abc" lon="110.1"/></trkseg></trk></gpx>', "unreadable GPX"),
    (b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><rte><rtept lat="35.2" lon="110.1"/></rte></gpx>',
     "no track points"),
    (b"", "empty"),
])
def test_gpx_bad_files_are_400_naming_file(client_as, member_person, content, needle):
    f = SimpleUploadedFile("x.gpx", content)
    # The reason in English (the needles are), as Accept-Language asks; zh-hans by default.
    r = client_as("gridmember").post("/api/v1/track/gpx", {"file": f}, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400, r.content
    assert r.json()["error"] == "invalid"
    assert needle in r.json()["fields"]["file"][0]
    assert rows() == (0, 0)


def test_gpx_missing_file(client_as, member_person):
    r = client_as("gridmember").post("/api/v1/track/gpx", {"person": "gridmember"}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()["fields"]


def test_gpx_oversize_is_413_naming_file(client_as, member_person, settings):
    settings.GISGRID_GPX_MAX_BYTES = 2000
    small_enough_header = gpx_file([ago(30)] * 1)
    assert client_as("gridmember").post("/api/v1/track/gpx", {"file": small_enough_header},
                                        format="multipart").status_code == 200
    big = gpx_file([ago(30 - i / 10) for i in range(40)])
    assert big.size > 2000
    r = client_as("gridmember").post("/api/v1/track/gpx", {"file": big}, format="multipart")
    assert r.status_code == 413
    assert r.json()["error"] == "too_large" and "file" in r.json()["fields"]
    assert Position.objects.count() == 1


def test_gpx_without_tracks_reads_timed_waypoints():
    data = (f'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
            f'<wpt lat="{LAT}" lon="{LON}"><time>2026-05-01T08:00:00Z</time></wpt>'
            f'<rte><rtept lat="{LAT}" lon="{LON}"/></rte></gpx>').encode()
    points = gpx.decode(data, "dev")
    assert (points.points_read, points.ignored, len(points.items)) == (2, 1, 1)
    assert points.items[0].time == dt.datetime(2026, 5, 1, 8, tzinfo=dt.UTC)


# -- supervision endpoints ------------------------------------------------------------------------

def test_devices_list_for_supervisors(anon_client, client_as, phone):
    d, tok = phone
    t = epoch(ago(5))
    anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat={LAT}&lon={LON}&timestamp={t}&batt=50")
    anon_client.get(f"/api/v1/track/osmand?id={d.identifier}&token={tok}&lat=x&lon={LON}&timestamp={t}")
    r = client_as("gridchief").get("/api/v1/track/devices")
    assert r.status_code == 200
    (dev,) = [x for x in r.json()["results"] if x["identifier"] == d.identifier]
    assert dev["counters"] == {"accepted": 1, "invalid": 1}
    assert dev["person"]["name"] == "协议测试巡查员"
    assert (dev["datum"], dev["speed_unit"], dev["active"], dev["live"]) == ("wgs84", "mps", True, True)
    assert dev["last_position"]["lon"] == pytest.approx(LON) and dev["last_position"]["battery"] == 50
    assert dev["last_fix_time"].endswith("+08:00")


@pytest.mark.parametrize("user, status", [(None, 401), ("gridmember", 403), ("planner", 403), ("unitstaff", 403),
                                          ("dispatcher", 200), ("inspector", 200), ("admin", 200)])
def test_supervision_endpoints_permissions(anon_client, client_as, user, status):
    client = client_as(user) if user else anon_client
    for url in ("/api/v1/track/devices", "/api/v1/track/rejected"):
        assert client.get(url).status_code == status, url


def test_rejected_list_filters_newest_first(anon_client, client_as, phone, traccar_phone):
    (d1, tok1), (d2, tok2) = phone, traccar_phone
    anon_client.get(f"/api/v1/track/osmand?id={d1.identifier}&token={tok1}&lat=x&lon={LON}&timestamp={epoch(ago(9))}")
    anon_client.get(f"/api/v1/track/osmand?id={d1.identifier}&token={tok1}&lat={LAT}&lon={LON}"
                    f"&timestamp={epoch(ago(60 * 24 * 40))}")
    anon_client.get(f"/api/v1/track/osmand?id={d2.identifier}&token={tok2}&lat=y&lon={LON}&timestamp={epoch(ago(8))}")
    c = client_as("dispatcher")
    everything = c.get("/api/v1/track/rejected").json()
    assert everything["count"] == 3
    assert [x["device"] for x in everything["results"]][0] == d2.identifier  # newest first
    mine = c.get(f"/api/v1/track/rejected?device={d1.identifier}&reason=invalid").json()
    assert [x["reasons"] for x in mine["results"]] == [["invalid"]]
    assert mine["results"][0]["payload"]["lat"] == "x"
    assert c.get("/api/v1/track/rejected?reason=too_old&limit=1").json()["results"][0]["reasons"] == ["too_old"]
    bad = c.get("/api/v1/track/rejected?reason=bogus")
    assert bad.status_code == 400 and "reason" in bad.json()["fields"]
    assert c.get("/api/v1/track/rejected?limit=0").status_code == 400
    assert c.get("/api/v1/track/rejected?limit=ten").status_code == 400


# -- decoders alone ------------------------------------------------------------------------------

NOW = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("stamp, expected", [
    ("2147483646", dt.datetime.fromtimestamp(2147483646, dt.UTC)),         # last value read as seconds
    ("2147483647", None),   # from here on milliseconds: 1970, out of range (as seconds it would be 2038)
    ("1777622400000", dt.datetime(2026, 5, 1, 8, tzinfo=dt.UTC)),
    ("1777622400.5", dt.datetime(2026, 5, 1, 8, 0, 0, 500000, tzinfo=dt.UTC)),
    ("2026-05-01T16:00:00+08:00", dt.datetime(2026, 5, 1, 8, tzinfo=dt.UTC)),
])
def test_timestamp_rules(stamp, expected):
    (fix,) = osmand.decode({"id": "a", "lat": "1", "lon": "2", "timestamp": stamp}, received_at=NOW).items
    assert fix.time == expected
    if expected is None:
        assert isinstance(fix, BadFix) and fix.field == "timestamp" and "1970-01-25" in fix.reason


@pytest.mark.parametrize("params, field", [
    ({"lat": "1", "lon": "2", "timestamp": "yesterday"}, "timestamp"),
    ({"lat": "1", "lon": "2", "speed": "fast"}, "speed"),
    ({"lat": "1", "lon": "2", "bearing": "nan"}, "bearing"),
    ({"lat": "1", "lon": "2", "valid": "maybe"}, "valid"),
    ({"lon": "2"}, "lat"),
    ({"lat": "1", "lon": "200"}, "lon"),
    ({"location": "1;2"}, "location"),
    ({"lat": "1", "lon": "2", "hdop": "x"}, "hdop"),
])
def test_osmand_bad_fields_name_the_field(params, field):
    (item,) = osmand.decode({"id": "a", "token": "t", **params}, received_at=NOW).items
    assert isinstance(item, BadFix) and item.field == field
    assert "token" not in item.raw


def test_osmand_accuracy_wins_over_hdop_and_unknown_keys_stay_raw():
    d = osmand.decode({"id": "a", "token": "s3cret", "lat": "1", "lon": "2", "accuracy": "4", "hdop": "9",
                       "heading": "370", "charge": "true"}, received_at=NOW)
    (fix,) = d.items
    assert isinstance(fix, Fix)
    assert (d.token, fix.accuracy, fix.bearing, fix.time) == ("s3cret", 4, 10, NOW)
    assert fix.raw["charge"] == "true" and "token" not in fix.raw


def test_battery_voltage_is_not_a_percentage():
    (item,) = osmand.decode({"id": "a", "lat": "1", "lon": "2", "batt": "4100"}, received_at=NOW).items
    assert isinstance(item, Fix) and item.battery is None and item.raw["batt"] == "4100"


def test_traccar_json_conflicting_tokens_for_one_device():
    body = {"positions": [{"device_id": "a", "token": "1", "lat": 1, "lon": 2},
                          {"device_id": "a", "token": "2", "lat": 1, "lon": 2}]}
    with pytest.raises(DecodeError) as exc:
        traccar_json.decode(body, received_at=NOW)
    assert exc.value.field == "positions[1].token"


def test_traccar_json_rejects_booleans_as_coordinates_and_reads_numeric_ids():
    d = traccar_json.decode({"device_id": 860000000000003, "location": {"coords": {"latitude": True,
                                                                                   "longitude": 2}}},
                            received_at=NOW)
    (item,) = d.items
    assert isinstance(item, BadFix) and item.device == "860000000000003"
    assert item.field == "location.coords.latitude"
    assert d.source == "traccar"

"""Ingest faults around times, outcomes and rows that cannot be read back, through the HTTP API.

- A time sent without an offset is the device's local time: the county's zone unless the
  device was registered with its own (`register_device --tz`).
- A fix more than `future_s` (5 min) ahead of the server is quarantined as `future`.
- Only years 2000-2100 are taken; anything else is quarantined as `invalid` naming the field,
  without a time, so every stored row can be read back. Rows an older version wrote with
  unreadable times (created here with raw SQL) never break a list or an admin page.
- A point the server kept (stored or quarantined) is answered 200 whatever its outcome: phones
  resend a refused point for ever, so the next good fix must still get through.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import django.db
import psycopg
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from gisgrid.audit.models import AuditEntry
from gisgrid.boundaries.models import Person
from gisgrid.patrols.ingest import auth
from gisgrid.patrols.models import Device, Position, RejectedPosition

LON, LAT = 110.1496, 35.2377  # Heyang county town, inside the grids
SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")  # UTC+6: two hours behind the county's clock
YEAR_1 = "0001-01-01T00:00:00+14:00"  # 1 BC in UTC: PostgreSQL stores it, psycopg cannot read it
YEAR_9999 = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC


pytestmark = pytest.mark.usefixtures("fresh_partitions")


@pytest.fixture
def inspector(heyang_db) -> Person:
    return Person.objects.create(name="时间测试巡查员", role=Person.Role.INSPECTOR,
                                 user=User.objects.get(username="inspector"))


def make_device(identifier: str, person: Person | None, tz: str = "") -> tuple[Device, str]:
    d = Device(identifier=identifier, person=person, tz=tz)
    tok = auth.set_token(d)
    d.save()
    return d, tok


@pytest.fixture
def phone(inspector) -> tuple[Device, str]:
    return make_device("860000000000101", inspector)


def ago(minutes: float) -> dt.datetime:
    return (timezone.now() - dt.timedelta(minutes=minutes)).replace(microsecond=0)


def wall(t: dt.datetime, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """What a phone whose clock is on `zone` shows at instant `t`, without an offset."""
    return t.astimezone(zone).strftime(fmt)


def admin_client() -> Client:
    c = Client()
    c.force_login(User.objects.get(username="admin"))
    return c


# -- the protocol paths a fix can take, each sending one point with a given time text ------------

def gpx_bytes(time_text: str, lat: float | str = LAT) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="OsmAnd" '
            'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
            f'<trkpt lat="{lat}" lon="{LON}"><time>{time_text}</time></trkpt>'
            "</trkseg></trk></gpx>").encode()


def send(client, path: str, dev: Device, tok: str, time_text: str, lat: float | str = LAT):
    """One point by protocol path `path`; returns the HTTP response."""
    ident = dev.identifier
    if path == "osmand_get":
        return client.get("/api/v1/track/osmand",
                          {"id": ident, "token": tok, "lat": lat, "lon": LON, "timestamp": time_text})
    if path == "osmand_form":  # the classic Traccar Client / scripts: fields in a form body
        body = urlencode({"id": ident, "lat": lat, "lon": LON, "timestamp": time_text})
        return client.post(f"/api/v1/track/osmand?token={tok}", body,
                           content_type="application/x-www-form-urlencoded")
    if path == "osmand_json":  # the current Traccar Client posts its JSON to the OsmAnd URL
        body = {"device_id": ident, "location": {"timestamp": time_text,
                                                 "coords": {"latitude": lat, "longitude": LON, "accuracy": 5}}}
        return client.post(f"/api/v1/track/osmand?token={tok}", json.dumps(body), content_type="application/json")
    if path == "positions":
        body = {"device_id": ident, "token": tok, "positions": [{"time": time_text, "lat": lat, "lon": LON}]}
        return client.post("/api/v1/track/positions", json.dumps(body), content_type="application/json")
    if path == "gpx":
        up = APIClient()
        up.force_authenticate(User.objects.get(username="dispatcher"))
        f = SimpleUploadedFile("p.gpx", gpx_bytes(time_text, lat), content_type="application/gpx+xml")
        return up.post("/api/v1/track/gpx", {"file": f, "device": ident}, format="multipart")
    raise AssertionError(path)


PATHS = ["osmand_get", "osmand_form", "osmand_json", "positions", "gpx"]
# The field each path names for a bad time / latitude of its one point.
TIME_FIELD = {"osmand_get": "timestamp", "osmand_form": "timestamp", "osmand_json": "location.timestamp",
              "positions": "positions[0].time", "gpx": "trk[0].trkseg[0].trkpt[0].time"}
LAT_FIELD = {"osmand_get": "lat", "osmand_form": "lat", "osmand_json": "location.coords.latitude",
             "positions": "positions[0].lat", "gpx": "trk[0].trkseg[0].trkpt[0].lat"}


def naive_text(path: str, t: dt.datetime, zone: ZoneInfo) -> str:
    # OsmAnd-style fields take Traccar's "yyyy-MM-dd HH:mm:ss"; JSON and GPX take ISO-8601.
    return wall(t, zone) if path.startswith("osmand_") and path != "osmand_json" else wall(t, zone, "%Y-%m-%dT%H:%M:%S")


# -- times without an offset ----------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_beijing_time_without_offset_is_stored_at_the_right_instant(anon_client, phone, path):
    # The phone: `timestamp=2026-12-01 11:27:01` meant Beijing time. Read as UTC it
    # was 8 hours ahead; now it is the county's time.
    d, tok = phone
    t = ago(3)
    r = send(anon_client, path, d, tok, naive_text(path, t, SHANGHAI))
    assert r.status_code == 200, r.content
    assert r.json()["accepted"] == 1, r.json()
    (p,) = Position.objects.filter(device=d)
    assert p.fix_time == t
    d.refresh_from_db()
    assert d.last_fix_time == t


def test_the_county_zone_comes_from_settings(anon_client, phone, settings):
    # Another county (say, in Xinjiang) sets its own TIME_ZONE: devices without a zone follow it.
    settings.TIME_ZONE = "Asia/Urumqi"
    d, tok = phone
    t = ago(4)
    r = send(anon_client, "osmand_get", d, tok, wall(t, URUMQI))
    assert r.json()["accepted"] == 1, r.content
    assert Position.objects.get(device=d).fix_time == t


@pytest.mark.parametrize("path", ["osmand_get", "positions", "gpx"])
def test_a_device_registered_with_its_own_zone(anon_client, inspector, path):
    out = io.StringIO()
    call_command("register_device", "xj-phone-01", "--person", "inspector", "--tz", "Asia/Urumqi", "--quiet",
                 stdout=out)
    tok = out.getvalue().strip()
    d = Device.objects.get(identifier="xj-phone-01")
    assert d.tz == "Asia/Urumqi"
    t = ago(6)
    r = send(anon_client, path, d, tok, naive_text(path, t, URUMQI))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.content
    # Read in the county's zone instead it would be two hours early.
    assert Position.objects.get(device=d).fix_time == t


def test_offsets_and_epoch_times_ignore_the_device_zone(anon_client, inspector):
    d, tok = make_device("xj-phone-02", inspector, tz="Asia/Urumqi")
    t1, t2, t3, t4 = ago(9), ago(8), ago(7), ago(6)
    texts = [t1.astimezone(SHANGHAI).isoformat(),                     # +08:00
             t2.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),      # Z
             str(int(t3.timestamp())),                                  # epoch seconds: UTC by definition
             str(int(t4.timestamp()) * 1000)]                           # epoch milliseconds (OsmAnd app)
    for text in texts:
        r = send(anon_client, "osmand_get", d, tok, text)
        assert r.json()["accepted"] == 1, (text, r.content)
    stored = list(Position.objects.filter(device=d).order_by("fix_time").values_list("fix_time", flat=True))
    assert stored == [t1, t2, t3, t4]


def test_register_device_tz_is_validated_audited_and_shown(client_as, inspector):
    with pytest.raises(CommandError, match="--tz"):
        call_command("register_device", "xj-phone-03", "--person", "inspector", "--tz", "Mars/Olympus_Mons",
                     stdout=io.StringIO())
    assert not Device.objects.filter(identifier="xj-phone-03").exists()
    out = io.StringIO()
    call_command("register_device", "xj-phone-03", "--person", "inspector", "--tz", "Asia/Urumqi", stdout=out)
    assert "Asia/Urumqi" in out.getvalue()
    entry = AuditEntry.objects.filter(action="device.registered").latest("pk")
    assert entry.data["tz"] == "Asia/Urumqi"
    # Registering again without --tz binds it anew with the county's zone, like the other options.
    call_command("register_device", "xj-phone-03", "--person", "inspector", "--quiet", stdout=io.StringIO())
    assert Device.objects.get(identifier="xj-phone-03").tz == ""
    make_device("xj-phone-04", inspector, tz="Asia/Urumqi")
    results = {x["identifier"]: x for x in client_as("dispatcher").get("/api/v1/track/devices").json()["results"]}
    assert (results["xj-phone-03"]["tz"], results["xj-phone-03"]["tz_default"]) == ("Asia/Shanghai", True)
    assert (results["xj-phone-04"]["tz"], results["xj-phone-04"]["tz_default"]) == ("Asia/Urumqi", False)


def test_admin_edits_the_device_zone_and_refuses_an_unknown_one(phone):
    d, _tok = phone
    c = admin_client()
    url = f"/admin/patrols/device/{d.pk}/change/"
    page = c.get(url)
    assert page.status_code == 200 and 'name="tz"' in page.content.decode()
    form = {"identifier": d.identifier, "person": d.person_id, "user": "", "datum": "wgs84", "speed_unit": "mps",
            "active": "on", "counters-TOTAL_FORMS": "0", "counters-INITIAL_FORMS": "0",
            "counters-MIN_NUM_FORMS": "0", "counters-MAX_NUM_FORMS": "1000"}
    bad = c.post(url, {**form, "tz": "Asia/Nowhere"})
    assert bad.status_code == 200 and "Asia/Nowhere" in bad.content.decode()
    d.refresh_from_db()
    assert d.tz == ""
    ok = c.post(url, {**form, "tz": "Asia/Urumqi"})
    assert ok.status_code == 302, ok.content.decode()[:2000]
    d.refresh_from_db()
    assert d.tz == "Asia/Urumqi"
    assert AuditEntry.objects.filter(action="device.changed", object_id=str(d.pk)).exists()


# -- the future ------------------------------------------------------------------------------------

def test_ten_minutes_ahead_is_future_one_minute_ahead_is_accepted(anon_client, phone):
    d, tok = phone
    now = timezone.now().replace(microsecond=0)
    ahead_10 = send(anon_client, "osmand_get", d, tok, str(int((now + dt.timedelta(minutes=10)).timestamp())))
    assert ahead_10.status_code == 200
    assert ahead_10.json()["items"] == [{"index": 0, "status": "rejected", "reasons": ["future"]}]
    ahead_1 = send(anon_client, "osmand_get", d, tok, str(int((now + dt.timedelta(minutes=1)).timestamp())))
    assert ahead_1.json()["accepted"] == 1
    assert Position.objects.get(device=d).fix_time == now + dt.timedelta(minutes=1)
    assert RejectedPosition.objects.get(device=d).reasons == ["future"]


def test_a_phone_on_utc_sending_local_time_is_not_future_but_one_on_the_wrong_zone_is(anon_client, inspector):
    # A phone whose wall clock is Beijing time, registered as UTC by mistake: its fixes are 8 h
    # ahead and quarantined, not shown live with a negative age.
    d, tok = make_device("utc-phone", inspector, tz="UTC")
    r = send(anon_client, "osmand_get", d, tok, wall(ago(2), SHANGHAI))
    assert r.json()["items"][0]["reasons"] == ["future"]
    assert not Position.objects.filter(device=d).exists()


# -- times that could not be read back ---------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("text", [YEAR_1, YEAR_9999, "1999-12-31T23:59:59Z"])
def test_times_outside_2000_2100_are_quarantined_as_invalid_naming_the_field(anon_client, phone, path, text):
    d, tok = phone
    r = send(anon_client, path, d, tok, text)
    assert r.status_code == 200, r.content
    (item,) = r.json()["items"]
    assert (item["status"], item["reasons"], item["field"]) == ("rejected", ["invalid"], TIME_FIELD[path])
    assert "2000" in item["detail"]
    row = RejectedPosition.objects.get(device=d)  # loading it at all is the point
    assert row.fix_time is None and row.raw_lat == LAT
    sent = json.dumps(row.payload)
    assert (text if path != "gpx" else text[:19]) in sent  # the raw text is kept


@pytest.mark.parametrize("text", ["1e20", "-86400", "99999999999999999999999", "2147483647"])
def test_epoch_times_out_of_range_are_invalid(anon_client, phone, text):
    d, tok = phone
    r = send(anon_client, "osmand_get", d, tok, text)
    assert r.status_code == 200
    assert r.json()["items"][0]["field"] == "timestamp"
    assert RejectedPosition.objects.get(device=d).payload["timestamp"] == text


@pytest.mark.parametrize("value", [{"seconds": 1}, [1764559621], 10**40])
def test_json_times_of_the_wrong_kind_are_invalid_not_500(anon_client, phone, value):
    d, tok = phone
    body = {"device_id": d.identifier, "token": tok, "positions": [{"time": value, "lat": LAT, "lon": LON}]}
    r = anon_client.post("/api/v1/track/positions", json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["items"][0]["field"] == "positions[0].time"
    assert RejectedPosition.objects.get(device=d).fix_time is None


def test_quarantined_odd_years_are_readable_in_the_list_and_the_admin(anon_client, client_as, phone):
    d, tok = phone
    for text in (YEAR_1, YEAR_9999):
        assert send(anon_client, "osmand_get", d, tok, text).status_code == 200
    r = client_as("dispatcher").get(f"/api/v1/track/rejected?device={d.identifier}")
    assert r.status_code == 200
    rows = r.json()["results"]
    assert sorted(x["payload"]["timestamp"] for x in rows) == sorted([YEAR_1, YEAR_9999])
    assert all(x["fix_time"] is None and x["reasons"] == ["invalid"] for x in rows)
    c = admin_client()
    listing = c.get("/admin/patrols/rejectedposition/")
    assert listing.status_code == 200
    for row in RejectedPosition.objects.filter(device=d):
        page = c.get(f"/admin/patrols/rejectedposition/{row.pk}/change/")
        assert page.status_code == 200
        assert "2000" in page.content.decode()  # the detail names the bound


# -- rows an older version wrote -------------------------------------------------------------------

BC = "0001-12-31 10:00:00+00 BC"
Y10K = "10000-01-01 09:59:59+00"


def insert_old_rejected(device: Device, fix_time: str) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO patrols_rejectedposition (device_id, received_at, source, fix_time, raw_lon, raw_lat, "
            "accuracy_m, reasons, detail, payload) VALUES (%s, now(), 'osmand', %s::timestamptz, %s, %s, NULL, "
            "ARRAY['future'], '', %s::jsonb) RETURNING id",
            [device.pk, fix_time, LON, LAT, json.dumps({"timestamp": YEAR_1})])
        return cur.fetchone()[0]


def test_unreadable_rows_from_an_older_version_break_no_list_or_admin_page(anon_client, client_as, phone):
    d, tok = phone
    old = [insert_old_rejected(d, BC), insert_old_rejected(d, Y10K)]
    # What the issue saw: these rows cannot be loaded as they are.
    with pytest.raises((psycopg.DataError, django.db.DataError)):
        list(RejectedPosition.objects.filter(pk__in=old))
    # A second phone of the same person whose last fix an older version put in year 10000 (only
    # possible with the time filters turned off), and a session of it starting in 1 BC.
    d2, _tok2 = make_device("860000000000102", d.person)
    with connection.cursor() as cur:
        cur.execute("UPDATE patrols_device SET last_fix_time = %s::timestamptz, "
                    "last_point = ST_SetSRID(ST_MakePoint(%s, %s), 4326) WHERE id = %s", [Y10K, LON, LAT, d2.pk])
        cur.execute('INSERT INTO patrols_patrolsession (device_id, person_id, start, "end", point_count, '
                    "distance_m, line) VALUES (%s, %s, %s::timestamptz, now(), 2, 0, "
                    "ST_SetSRID(ST_MakePoint(%s, %s), 4326))", [d2.pk, d2.person_id, BC, LON, LAT])
    # The phone whose quarantine holds the old rows keeps reporting.
    assert send(anon_client, "osmand_get", d, tok, str(int(ago(2).timestamp()))).json()["accepted"] == 1

    sup = client_as("dispatcher")
    r = sup.get("/api/v1/track/rejected")
    assert r.status_code == 200, r.content
    shown = {x["id"]: x for x in r.json()["results"]}
    assert set(old) <= set(shown)
    assert shown[old[0]]["fix_time"] is None and "BC" in shown[old[0]]["fix_time_unreadable"]
    assert shown[old[1]]["fix_time_unreadable"].startswith("10000-")
    assert shown[old[0]]["payload"] == {"timestamp": YEAR_1}

    devices = sup.get("/api/v1/track/devices")
    assert devices.status_code == 200
    (old_phone,) = [x for x in devices.json()["results"] if x["identifier"] == d2.identifier]
    assert old_phone["last_fix_time"] is None and old_phone["last_fix_time_unreadable"].startswith("10000-")

    live = sup.get("/api/v1/patrols/live")
    assert live.status_code == 200
    # The person is where the readable phone last was; nobody is in year 10000.
    (me,) = [p for p in live.json()["people"] if p["person"]["id"] == d.person_id]
    assert me["device"] == d.identifier
    period = {"start": ago(60).isoformat(), "end": timezone.now().isoformat()}
    assert sup.get("/api/v1/patrols/sessions", period).status_code == 200
    assert sup.get("/api/v1/patrols/track", {**period, "person": "inspector"}).status_code == 200

    c = admin_client()
    listing = c.get("/admin/patrols/rejectedposition/")
    assert listing.status_code == 200 and "BC" in listing.content.decode()
    for pk in old:
        assert c.get(f"/admin/patrols/rejectedposition/{pk}/change/").status_code == 200
    assert c.get("/admin/patrols/device/").status_code == 200
    assert c.get(f"/admin/patrols/device/{d2.pk}/change/").status_code == 200


def test_the_migration_repairs_unreadable_rows(phone):
    d, _tok = phone
    old = insert_old_rejected(d, BC)
    fine = insert_old_rejected(d, "2026-11-30 08:00:00+00")
    with connection.cursor() as cur:
        cur.execute("UPDATE patrols_device SET last_fix_time = %s::timestamptz WHERE id = %s", [Y10K, d.pk])
        for sql in importlib.import_module("gisgrid.patrols.migrations.0003_device_tz").REPAIR:
            cur.execute(sql)
    row = RejectedPosition.objects.get(pk=old)
    assert row.fix_time is None
    assert row.payload == {"timestamp": YEAR_1, "stored_fix_time": "0001-12-31 10:00:00+00 BC"}
    assert RejectedPosition.objects.get(pk=fine).fix_time == dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)
    d.refresh_from_db()
    assert d.last_fix_time is None


# -- outcomes: kept means 2xx ----------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_a_malformed_point_is_200_rejected_and_the_phone_keeps_reporting(anon_client, phone, path):
    d, tok = phone
    bad = send(anon_client, path, d, tok, str(int(ago(3).timestamp())) if path == "osmand_get" else
               ago(3).isoformat(), lat="abc" if path != "gpx" else "north")
    if path == "gpx":  # an unreadable coordinate makes the whole file unreadable: nothing kept, 400
        assert bad.status_code == 400 and "file" in bad.json()["fields"]
        assert not RejectedPosition.objects.exists()
        bad = send(anon_client, path, d, tok, YEAR_1)  # a point that is kept, though malformed
        assert bad.status_code == 200
        assert bad.json()["items"][0]["field"] == TIME_FIELD[path]
    else:
        assert bad.status_code == 200, bad.content
        (item,) = bad.json()["items"]
        assert (item["status"], item["reasons"], item["field"]) == ("rejected", ["invalid"], LAT_FIELD[path])
        assert "error" not in bad.json()
    assert RejectedPosition.objects.filter(device=d).count() == 1
    t = ago(2)
    good = send(anon_client, path, d, tok, t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert good.status_code == 200 and good.json()["accepted"] == 1, good.content
    assert Position.objects.get(device=d).fix_time == t


@pytest.mark.parametrize("request_args, status, code", [
    ({"path": "/api/v1/track/osmand?id=nobody&token=x&lat=abc&lon=1"}, 403, "bad_token"),
    ({"path": "/api/v1/track/osmand?id={id}&token=wrong&lat=abc&lon=1"}, 403, "bad_token"),
    ({"path": "/api/v1/track/osmand?token={tok}", "data": "{not json", "content_type": "application/json"},
     400, "invalid"),
    ({"path": "/api/v1/track/positions?token={tok}", "data": '{"device_id": "{id}", "positions": []}',
      "content_type": "application/json"}, 400, "invalid"),
])
def test_4xx_only_when_nothing_was_kept(anon_client, phone, request_args, status, code):
    d, tok = phone
    args = {k: v.replace("{id}", d.identifier).replace("{tok}", tok) for k, v in request_args.items()}
    path = args.pop("path")
    r = anon_client.post(path, **args) if "data" in args else anon_client.get(path)
    assert r.status_code == status and r.json()["error"] == code
    assert not RejectedPosition.objects.exists() and not Position.objects.exists()


def test_unknown_device_and_wrong_token_answer_alike(heyang_db):
    """Telling them apart would let anyone list the registered device ids."""
    from django.test import Client

    from gisgrid.patrols.ingest import auth
    from gisgrid.patrols.models import Device

    dev = Device(identifier="alike-probe")
    auth.set_token(dev)
    dev.save()
    c = Client()
    common = "lat=35.2377&lon=110.1496"
    unknown = c.get(f"/api/v1/track/osmand?id=nobody-at-all&token=x&{common}")
    wrong = c.get(f"/api/v1/track/osmand?id={dev.identifier}&token=wrong&{common}")
    assert unknown.status_code == wrong.status_code == 403
    assert unknown.json() == wrong.json()

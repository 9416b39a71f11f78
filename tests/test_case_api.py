"""The case API (/api/v1/cases…): filing with photos, the hotline desk, the loop through its POST
endpoints, lists with filters, who sees what, the inbox, duplicates and merge.

Everything goes through the HTTP API against PostGIS with the Heyang dataset; photos are real
JPEG/PNG/WebP files made with Pillow and stored under a temporary MEDIA_ROOT.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from gisgrid.audit.models import AuditEntry
from gisgrid.boundaries.datums import wgs84_to_gcj02
from gisgrid.cases.factories import reported_case, unit_staff
from gisgrid.cases.models import Case, CaseEvent, Notice, Photo
from gisgrid.incidents.models import Report
from gisgrid.incidents.routing import COMMAND_CENTRE_KIND

SEAT = (110.1449, 35.2385)  # county seat, grid 610524001…, matter E0501 -> 县城市管理执法局 (D-CGJ)
API = "/api/v1/cases"


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def photo_bytes(fmt: str = "JPEG", *, gps: tuple[float, float] | None = None, size=(640, 480),
                make: str = "HUAWEI", orientation: int = 1) -> bytes:
    """A real image; with `gps` (lon, lat) an EXIF GPS block, plus camera make and a time."""
    img = Image.new("RGBA" if fmt == "PNG" else "RGB", size, (30, 140, 60, 255) if fmt == "PNG" else (30, 140, 60))
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0132] = "2026:11:30 09:15:00"
    exif[0x0112] = orientation
    if gps is not None:
        def dms(v: float) -> tuple[float, float, float]:
            d = int(v)
            m = int((v - d) * 60)
            return float(d), float(m), round((v - d - m / 60) * 3600, 4)
        exif[0x8825] = {1: "N", 2: dms(gps[1]), 3: "E", 4: dms(gps[0])}
    out = io.BytesIO()
    img.save(out, fmt, exif=exif)
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def file_case(client, **over):
    body = {"category": "E0501", "lon": SEAT[0], "lat": SEAT[1], "crs": "wgs84", "description": "占道经营水果摊",
            "address": "凤凰东路"}
    body.update(over)
    fmt = "multipart" if "photos" in body else "json"
    return client.post(API, body, format=fmt)


def media_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def post(client, number: str, action: str, body: dict, fmt: str = "json"):
    return client.post(f"{API}/{number}/{action}", body, format=fmt)


# -- filing ----------------------------------------------------------------------------------------

def test_grid_member_files_a_case_with_photos(client_as, media):
    far = (SEAT[0] + 0.01, SEAT[1])  # ~900 m east: the EXIF position disagrees with the report
    r = file_case(client_as("gridmember"), photos=[
        upload(photo_bytes(gps=far), "IMG_0001.jpg"),
        upload(photo_bytes("PNG", gps=(SEAT[0] + 0.0005, SEAT[1])), "IMG_0002.jpg"),  # a PNG named .jpg
        upload(photo_bytes("WEBP"), "x.bin", "application/octet-stream"),
    ])
    assert r.status_code == 201, r.content
    body = r.json()
    case = Case.objects.get(number=body["number"])
    assert case.state == "reported" and case.channel == "grid_member" and case.version == 1
    assert case.report.reporter_name and case.reporter_user.username == "gridmember"
    assert body["routing"]["lead_unit"]["code"] == "D-CGJ"
    assert body["routing"]["grids"]["level1"] == "610524001"
    assert body["clock_detail"]["stage"] == "dispatch" and body["clock_detail"]["stage_due"]
    assert [p["content_type"] for p in body["photos"]] == ["image/jpeg", "image/png", "image/webp"]
    flagged = [p["exif"]["flagged"] if p["exif"] else None for p in body["photos"]]
    assert flagged == [True, False, None]
    assert 850 < body["photos"][0]["exif"]["distance_m"] < 950
    assert "reporter" not in body  # a grid member does not read reporters' phones

    # The dispatcher sees the flag and the distance; the files: original with EXIF, copies without.
    detail = client_as("dispatcher").get(f"{API}/{case.number}").json()
    assert detail["photos"][0]["exif"]["flagged"] is True and detail["reporter"]["name"]
    c = client_as("dispatcher")
    for p in detail["photos"][:2]:
        original = b"".join(c.get(p["original"]).streaming_content)
        public = b"".join(c.get(p["public"]).streaming_content)
        thumb = b"".join(c.get(p["thumbnail"]).streaming_content)
        assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # staff keep the evidence
        for copy in (public, thumb):
            img = Image.open(io.BytesIO(copy))
            exif = img.getexif()
            assert not exif.get_ifd(0x8825) and 0x010F not in exif and 0x0132 not in exif, dict(exif)
            assert b"HUAWEI" not in copy
        assert max(Image.open(io.BytesIO(thumb)).size) <= 320
    assert len(media_files(media)) == 9
    assert AuditEntry.objects.filter(action="case.open", object_id=str(case.pk)).exists()


def test_jpeg_public_copy_keeps_orientation_and_pixels(client_as):
    data = photo_bytes(gps=SEAT, orientation=6, size=(400, 300))
    body = file_case(client_as("inspector"), photos=[upload(data)]).json()
    assert body["channel"] == "inspector"
    p = body["photos"][0]
    assert (p["width"], p["height"]) == (300, 400)  # shown upright: EXIF orientation 6 turns it
    c = client_as("dispatcher")
    public = Image.open(io.BytesIO(b"".join(c.get(p["public"]).streaming_content)))
    assert dict(public.getexif()) == {0x0112: 6}  # only the orientation is left
    original = Image.open(io.BytesIO(data))
    assert public.tobytes() == original.tobytes()  # lossless: the very same pixels


@pytest.mark.parametrize(("files", "status", "code"), [
    ([upload(b"<script>alert(1)</script>", "photo.jpg")], 400, "invalid_photo"),
    ([upload(b"%PDF-1.4\n1 0 obj<<>>endobj\n", "scan.png", "image/png")], 400, "invalid_photo"),
    ([upload(photo_bytes()[:600], "cut.jpg")], 400, "invalid_photo"),
    ([upload(photo_bytes(), f"p{i}.jpg") for i in range(10)], 400, "too_many_photos"),
    ([upload(Image.new("1", (1, 1)).tobytes() + b"GIF89a", "x.gif", "image/gif")], 400, "invalid_photo"),
], ids=["script-named-jpg", "pdf-named-png", "truncated-jpeg", "ten-photos", "not-an-image"])
def test_bad_photos_are_refused_and_nothing_is_stored(client_as, media, files, status, code):
    before = (Case.objects.count(), Report.objects.count(), Photo.objects.count())
    files = [upload(photo_bytes(), "good.jpg")] + files if code != "too_many_photos" else files
    r = file_case(client_as("gridmember"), photos=files)
    assert r.status_code == status, r.content
    assert r.json()["error"] == code and "photos" in r.json()["fields"]
    assert (Case.objects.count(), Report.objects.count(), Photo.objects.count()) == before
    assert media_files(media) == []


def test_a_photo_too_large_is_413(client_as, media, monkeypatch):
    from gisgrid.cases import photos

    monkeypatch.setattr(photos, "MAX_BYTES", 2000)
    r = file_case(client_as("gridmember"), photos=[upload(photo_bytes(size=(800, 800)))])
    assert r.status_code == 413 and r.json()["error"] == "too_large" and "photos" in r.json()["fields"]
    assert media_files(media) == []


def test_a_failure_after_photos_were_written_deletes_them(client_as, media, monkeypatch):
    """The transaction rolls back and the files it wrote go with it."""
    from gisgrid.cases import photos

    real = photos.store

    def store_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(photos, "store", store_then_fail)
    before = Case.objects.count()
    with pytest.raises(RuntimeError):
        file_case(client_as("gridmember"), photos=[upload(photo_bytes())])
    assert Case.objects.count() == before and media_files(media) == []


def test_bad_filing_input_names_the_field(client_as):
    c = client_as("gridmember")
    for over, field in (({"category": "ZZ99"}, "category"), ({"lat": 110.14, "lon": 35.23}, "lat"),
                        ({"crs": "gcj-02"}, "crs"), ({"lon": "east"}, "lon"), ({"description": "x" * 4001}, "description")):
        r = file_case(c, **over)
        assert r.status_code == 400, (over, r.content)
        assert field in r.json()["fields"], (over, r.json())


def test_a_point_outside_the_county_is_accepted_flagged_and_sent_to_the_centre(client_as):
    r = file_case(client_as("gridmember"), lon=108.95, lat=34.27)  # Xi'an
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["outside"] is True and body["routing"]["location_status"] == "outside"
    case = Case.objects.get(number=body["number"])
    assert case.lead_unit is not None and case.lead_unit.kind == COMMAND_CENTRE_KIND  # 指挥中心


# -- the hotline desk --------------------------------------------------------------------------------

def test_hotline_with_a_spoken_address(client_as):
    r = client_as("dispatcher").post(f"{API}/hotline", {
        "category": "E0501", "caller_name": "李来电", "caller_phone": "13811112222", "address": "泰山社区",
        "description": "路边摊占道"}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    case = Case.objects.get(number=body["number"])
    assert case.channel == "hotline" and case.report.address == "泰山社区"
    assert body["reporter"] == {"name": "李来电", "phone": "13811112222"}
    assert body["routing"]["location_status"] in ("inside", "blind_spot")
    # An inspector reads the case but never the caller.
    inspector = client_as("inspector").get(f"{API}/{case.number}").content.decode()
    assert "李来电" not in inspector and "13811112222" not in inspector


def test_hotline_with_a_gcj02_point_and_with_nothing(client_as):
    glon, glat = wgs84_to_gcj02(*SEAT)
    c = client_as("dispatcher")
    r = c.post(f"{API}/hotline", {"category": "E0501", "caller_name": "王", "caller_phone": "13800001111",
                                  "lon": float(glon), "lat": float(glat), "crs": "gcj02"}, format="json")
    assert r.status_code == 201, r.content
    rep = Case.objects.get(number=r.json()["number"]).report
    assert abs(rep.point.x - SEAT[0]) < 1e-5 and rep.raw_crs == "gcj02"
    for body, field in (({}, "address"), ({"address": "不存在的地方火星路"}, "address"), ({"lon": 110.1}, "lat"),
                        ({"address": "泰山社区", "caller_phone": "call me"}, "caller_phone")):
        r = c.post(f"{API}/hotline", {"category": "E0501", "caller_name": "王", "caller_phone": "13800001111",
                                      **body}, format="json")
        assert r.status_code == 400 and field in r.json()["fields"], (body, r.content)
    assert client_as("gridmember").post(f"{API}/hotline", {}, format="json").status_code == 403


# -- the loop through the API -------------------------------------------------------------------------

def test_the_whole_loop_through_the_api(client_as, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        number = file_case(client_as("gridmember"), photos=[upload(photo_bytes(gps=SEAT))]).json()["number"]
    d, u = client_as("dispatcher"), client_as("unitstaff")
    case = client_as("dispatcher").get(f"{API}/{number}").json()
    assert case["allowed_actions"][:2] == ["accept", "supervise"] or "accept" in case["allowed_actions"]
    assert client_as("unitstaff").get(f"{API}/{number}").status_code == 404  # not dispatched yet

    r = post(d, number, "accept", {"version": case["version"], "severity": "general",
                                   "assisting_units": ["D-ZJJ"]})
    assert r.status_code == 200, r.content
    case = r.json()
    assert case["state"] == "accepted" and case["units"]["lead"]["code"] == "D-CGJ"
    assert [x["code"] for x in case["units"]["assisting"]] == ["D-ZJJ"]
    with django_capture_on_commit_callbacks(execute=True):
        case = post(d, number, "dispatch", {"version": case["version"]}).json()
    assert case["state"] == "dispatched" and len(case["work_orders"]) == 2
    assert case["clock_detail"]["complete_due"] and case["clock_detail"]["stage"] == "acknowledge"

    # The unit sees its work order and a notice in its inbox.
    orders = u.get("/api/v1/workorders").json()
    assert [o["case"]["number"] for o in orders["results"]] == [number]
    assert orders["results"][0]["role"] == "lead" and orders["results"][0]["work_state"] == "dispatched"
    inbox = u.get("/api/v1/inbox").json()
    assert inbox["unread"] >= 1 and any(n["case"] == number and n["kind"] == "work_order" for n in inbox["results"])

    detail = u.get(f"{API}/{number}").json()
    assert detail["allowed_actions"] == ["acknowledge", "return_to_centre", "request_extension"]
    assert detail["reporter"]["name"]  # the unit may call the reporter back
    case = post(u, number, "acknowledge", {"version": detail["version"]}).json()
    assert case["state"] == "acknowledged"
    case = post(u, number, "arrive", {"version": case["version"]}).json()
    assert case["state"] == "on_site" and case["clock_detail"]["stage"] == "complete"
    doc = SimpleUploadedFile("回复函.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
    r = post(u, number, "complete", {"version": case["version"], "result_text": "已清理，恢复通行",
                                     "document": doc, "photos": [upload(photo_bytes(gps=SEAT))]}, fmt="multipart")
    assert r.status_code == 200, r.content
    case = r.json()
    assert case["state"] == "completed" and case["result_text"] == "已清理，恢复通行"
    assert [p["stage"] for p in case["photos"]] == ["report", "completion"]
    lead = next(o for o in case["work_orders"] if o["role"] == "lead")
    assert lead["document"]["name"].endswith(".pdf")
    assert b"".join(d.get(lead["document"]["url"]).streaming_content) == b"%PDF-1.4 signed"

    r = post(d, number, "verify", {"version": case["version"], "satisfied": "true",
                                   "photos": [upload(photo_bytes("PNG"))]}, fmt="multipart")
    assert r.status_code == 200, r.content
    case = r.json()
    assert case["state"] == "verified" and case["satisfied"] is True
    case = post(d, number, "archive", {"version": case["version"]}).json()
    assert case["state"] == "archived" and case["allowed_actions"] == []
    actions = [e["action"] for e in case["timeline"]]
    assert actions == ["open", "accept", "dispatch", "acknowledge", "arrive", "complete", "verify", "archive"]
    assert all(e["actor"] for e in case["timeline"][1:])
    audit = set(AuditEntry.objects.filter(object_id=str(Case.objects.get(number=number).pk),
                                          action__startswith="case.").values_list("action", flat=True))
    assert {f"case.{a}" for a in actions} <= audit
    assert Report.objects.get(case__number=number).status == "closed"


def test_conflicts_change_nothing(client_as):
    case = reported_case("E0501")
    d = client_as("dispatcher")
    r = post(d, case.number, "accept", {"version": case.version + 1})
    assert r.status_code == 409 and r.json()["error"] == "stale_version" and r.json()["current_version"] == 1
    r = post(d, case.number, "dispatch", {"version": case.version})
    assert r.status_code == 409 and r.json()["error"] == "wrong_state"
    r = post(d, case.number, "accept", {})
    assert r.status_code == 400 and "version" in r.json()["fields"]
    r = post(d, case.number, "pause", {"version": 1, "reason": "  "})
    assert r.status_code == 400 and "reason" in r.json()["fields"]
    r = post(d, case.number, "accept", {"version": 1, "lead_unit": "NOPE"})
    assert r.status_code == 400 and "lead_unit" in r.json()["fields"]
    r = post(d, "HY20000101-9999", "accept", {"version": 1})
    assert r.status_code == 404
    case.refresh_from_db()
    assert case.state == "reported" and case.version == 1
    assert list(CaseEvent.objects.filter(case=case).values_list("action", flat=True)) == ["open"]


def test_rework_extension_pause_supervise_and_void(client_as):
    case = reported_case("E0501")
    d, u = client_as("dispatcher"), client_as("unitstaff")
    v = post(d, case.number, "accept", {"version": 1}).json()["version"]
    body = post(d, case.number, "pause", {"version": v, "reason": "等待汛期过后"}).json()
    assert body["paused"] is True and body["clock"] == "paused" and "resume" in body["allowed_actions"]
    assert post(d, case.number, "dispatch", {"version": body["version"]}).json()["error"] == "wrong_state"
    body = post(d, case.number, "resume", {"version": body["version"]}).json()
    body = post(d, case.number, "dispatch", {"version": body["version"]}).json()
    body = post(u, case.number, "extension", {"version": body["version"], "days": 2, "reason": "需协调产权单位"}).json()
    ext = body["extensions"][0]
    assert ext["decision"] == "requested" and "decide_extension" in d.get(f"{API}/{case.number}").json()["allowed_actions"]
    due = body["clock_detail"]["complete_due"]
    r = d.post(f"{API}/{case.number}/extensions/{ext['id']}/decide", {"version": body["version"], "approve": True},
               format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["extensions"][0]["decision"] == "approved" and body["clock_detail"]["extended_days"] == 2
    assert body["clock_detail"]["complete_due"] > due
    body = post(d, case.number, "supervise", {"version": body["version"], "reason": "群众多次反映"}).json()
    assert body["supervised"] is True
    body = post(u, case.number, "acknowledge", {"version": body["version"]}).json()
    body = post(u, case.number, "arrive", {"version": body["version"]}).json()
    body = post(u, case.number, "complete", {"version": body["version"], "result_text": "已处理"}).json()
    body = post(d, case.number, "send-back", {"version": body["version"], "reason": "现场仍有摊位"}).json()
    assert body["state"] == "dispatched" and body["round"] == 2
    assert {o["round"] for o in body["work_orders"]} == {1, 2}
    body = post(d, case.number, "void", {"version": body["version"], "reason": "重复上报"}).json()
    assert body["state"] == "voided" and body["void_reason"] == "重复上报"


def test_a_unit_returns_a_case_to_the_centre(client_as):
    case = reported_case("E0501")
    d, u = client_as("dispatcher"), client_as("unitstaff")
    v = post(d, case.number, "accept", {"version": 1}).json()["version"]
    v = post(d, case.number, "dispatch", {"version": v}).json()["version"]
    r = post(u, case.number, "return", {"version": v, "reason": "不属于本单位职责"})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "accepted"
    assert r.json()["work_orders"][0]["work_state"] == "returned"


# -- who sees what ------------------------------------------------------------------------------------------

def test_visibility_of_cases(client_as):
    own = reported_case("E0501", reporter_name="赵举报", reporter_phone="13700001111")  # lead D-CGJ
    other = reported_case("E0301", reporter_name="孙群众", reporter_phone="13600002222")  # lead D-ZJJ
    d = client_as("dispatcher")
    for c in (own, other):
        v = post(d, c.number, "accept", {"version": 1}).json()["version"]
        post(d, c.number, "dispatch", {"version": v})
    listed = {c["number"] for c in client_as("unitstaff").get(API).json()["results"]}
    assert own.number in listed and other.number not in listed
    u = client_as("unitstaff")
    assert u.get(f"{API}/{other.number}").status_code == 404
    assert u.get(f"{API}/{own.number}").json()["reporter"] == {"name": "赵举报", "phone": "13700001111"}
    for who in ("dispatcher", "admin", "gridchief"):
        assert client_as(who).get(f"{API}/{other.number}").json()["reporter"]["phone"] == "13600002222"
    inspector = client_as("inspector").get(f"{API}/{other.number}").json()
    assert "reporter" not in inspector and "13600002222" not in str(inspector)
    assert client_as("planner").get(API).status_code == 403
    assert client_as(None).get(API).status_code == 401
    assert client_as(None).get(f"{API}/{own.number}").status_code == 401


def test_grid_member_sees_their_grids_and_their_own_reports(client_as):
    from gisgrid.boundaries.models import GridAssignment, Person

    member = User.objects.get(username="gridmember")
    person = Person.objects.filter(role="grid_member").order_by("pk").first()
    person.user = member
    person.save()
    GridAssignment.objects.filter(person=person).delete()
    GridAssignment.objects.create(person=person, grid_code="610524001", role="grid_member")
    here = reported_case("E0501")  # in 610524001
    away = reported_case("E0501", lon=110.2653, lat=35.3367)  # another town
    mine = reported_case("E0501", lon=110.2653, lat=35.3367, user=member)
    listed = {c["number"] for c in client_as("gridmember").get(API, {"page_size": 200}).json()["results"]}
    assert here.number in listed and mine.number in listed and away.number not in listed
    assert away.report.level1_code != "610524001"


def test_the_public_sees_their_own_case_by_token_without_staff_data(client_as, media):
    number = file_case(client_as("gridmember"), photos=[upload(photo_bytes(gps=SEAT))]).json()["number"]
    case = Case.objects.get(number=number)
    d = client_as("dispatcher")
    v = post(d, number, "accept", {"version": 1}).json()["version"]
    post(d, number, "pause", {"version": v, "reason": "内部原因：等候张科长批示 13900000000"})
    anon = client_as(None)
    r = anon.get(f"{API}/public/{case.public_token}")
    assert r.status_code == 200, r.content
    body = r.json()
    text = r.content.decode()
    assert body["number"] == number and body["allowed_actions"] == []
    assert "reporter" not in body and "dispatcher" not in text and "张科长" not in text and "13900000000" not in text
    assert all("actor" not in e for e in body["timeline"])
    p = body["photos"][0]
    assert "original" not in p and "exif" not in p
    public = b"".join(anon.get(p["public"]).streaming_content)
    assert not Image.open(io.BytesIO(public)).getexif().get_ifd(0x8825)
    assert anon.get(p["public"].replace("/public", "/original")).status_code == 404
    assert anon.get(f"{API}/public/not-a-token").status_code == 404


# -- lists, filters, pages --------------------------------------------------------------------------------

def test_filters_and_pages(client_as):
    a = reported_case("E0501", description="井盖缺失 around here")
    b = reported_case("E0301", address="凤凰路工地")
    c = reported_case("E0102", lon=110.2653, lat=35.3367)
    d = client_as("dispatcher")
    v = post(d, a.number, "accept", {"version": 1}).json()["version"]
    post(d, a.number, "dispatch", {"version": v})
    Case.objects.filter(pk=b.pk).update(clock="red")

    def numbers(**params):
        r = d.get(API, params)
        assert r.status_code == 200, (params, r.content)
        return [x["number"] for x in r.json()["results"]]

    assert numbers(state="dispatched") == [a.number]
    assert set(numbers(state=["reported"])) >= {b.number, c.number}
    assert numbers(clock="red") == [b.number]
    assert numbers(category="E05") == [a.number] and numbers(category="E0301") == [b.number]
    assert set(numbers(grid=a.report.level1_code)) >= {a.number, b.number} and c.number not in numbers(
        grid=a.report.level1_code)
    assert a.number in numbers(grid=a.report.level2_code) and a.number in numbers(grid=a.report.level3_code)
    assert numbers(unit="D-CGJ") == [a.number]
    assert numbers(q="井盖") == [a.number] and numbers(q="凤凰路工地") == [b.number] and numbers(q=a.number) == [a.number]
    now = timezone.now()
    assert set(numbers(start=(now - timedelta(hours=1)).isoformat(), end=(now + timedelta(hours=1)).isoformat())) \
        == {a.number, b.number, c.number}
    assert numbers(end=(now - timedelta(days=1)).isoformat()) == []
    assert numbers(order="clock")[0] == b.number
    assert numbers(status="closed") == []
    page = d.get(API, {"page_size": 2, "page": 2}).json()
    assert page["count"] == 3 and page["page"] == 2 and len(page["results"]) == 1
    for params, field in (({"grid": "6105"}, "grid"), ({"category": "ZZ"}, "category"), ({"unit": "NOPE"}, "unit"),
                          ({"state": "lost"}, "state"), ({"clock": "blue"}, "clock"), ({"start": "yesterday"}, "start"),
                          ({"page": "0"}, "page"), ({"page_size": "1000"}, "page_size"), ({"grid": "6105\x00"}, "grid"),
                          ({"order": "random"}, "order")):
        r = d.get(API, params)
        assert r.status_code == 400, (params, r.content)
        assert field in r.json()["fields"], (params, r.json())


def test_work_orders_are_the_units_own(client_as):
    own, other = reported_case("E0501"), reported_case("E0301")
    d = client_as("dispatcher")
    for c in (own, other):
        v = post(d, c.number, "accept", {"version": 1}).json()["version"]
        post(d, c.number, "dispatch", {"version": v})
    mine = client_as("unitstaff").get("/api/v1/workorders").json()
    assert [o["case"]["number"] for o in mine["results"]] == [own.number]
    assert client_as("unitstaff").get("/api/v1/workorders", {"unit": "D-ZJJ"}).json()["count"] == 0
    everyone = d.get("/api/v1/workorders", {"unit": "D-ZJJ", "open": "true"}).json()
    assert [o["case"]["number"] for o in everyone["results"]] == [other.number]
    assert client_as("gridmember").get("/api/v1/workorders").status_code == 403
    zjj = unit_staff("D-ZJJ")
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(zjj)
    assert [o["case"]["number"] for o in api.get("/api/v1/workorders").json()["results"]] == [other.number]


def test_inbox_and_mark_read(client_as, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = reported_case("E0501")
    d = client_as("dispatcher")
    box = d.get("/api/v1/inbox").json()
    mine = [n for n in box["results"] if n["case"] == case.number]
    assert mine and mine[0]["read"] is False and box["unread"] >= 1
    r = d.post("/api/v1/inbox/read", {"ids": [mine[0]["id"]]}, format="json")
    assert r.status_code == 200 and r.json()["marked"] == 1
    again = d.get("/api/v1/inbox", {"unread": "true"}).json()
    assert mine[0]["id"] not in [n["id"] for n in again["results"]]
    # A role notice read by one dispatcher stays unread for the admin? Role notices go to every
    # dispatcher; the admin is not a dispatcher and does not get it at all.
    assert mine[0]["id"] not in [n["id"] for n in client_as("admin").get("/api/v1/inbox").json()["results"]]
    assert d.post("/api/v1/inbox/read", {}, format="json").json()["unread"] == 0
    assert Notice.objects.filter(case=case).exists()
    assert client_as(None).get("/api/v1/inbox").status_code == 401
    assert d.get("/api/v1/inbox", {"unread": "maybe"}).status_code == 400


def test_duplicates_and_merge(client_as):
    first = reported_case("E0501")
    second = reported_case("E0501", lon=SEAT[0] + 0.0003, lat=SEAT[1])  # ~27 m away
    far = reported_case("E0501", lon=SEAT[0] + 0.01, lat=SEAT[1])
    d = client_as("dispatcher")
    r = d.get(f"{API}/{second.number}/duplicates")
    assert r.status_code == 200, r.content
    found = r.json()["suggestions"]
    assert [s["number"] for s in found] == [first.number] and 20 < found[0]["distance_m"] < 35
    assert far.number not in [s["number"] for s in found]
    r = post(d, second.number, "merge", {"version": second.version, "into": first.number})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "voided" and r.json()["duplicate_of"] == first.number
    assert post(d, far.number, "merge", {"version": 1, "into": "HY19990101-0001"}).status_code == 400
    assert client_as("gridmember").get(f"{API}/{second.number}/duplicates").status_code == 403


def test_two_dispatchers_accept_at_once_one_wins(client_as):
    case = reported_case("E0501")
    admin, d = client_as("admin"), client_as("dispatcher")
    first = post(d, case.number, "accept", {"version": 1})
    second = post(admin, case.number, "accept", {"version": 1})
    assert first.status_code == 200 and second.status_code == 409 and second.json()["error"] == "stale_version"
    case.refresh_from_db()
    assert case.state == "accepted" and case.version == 2
    assert CaseEvent.objects.filter(case=case, action="accept").count() == 1


def test_period_parameters_are_bounded_and_read_in_utc(client_as):
    # Found by the fuzzer: an offset PostgreSQL refuses (+17:41) with year 1001 was a 500.
    client = client_as("dispatcher")
    r = client.get("/api/v1/cases", {"start": "1001-01-16T12:19:50+17:41"})
    assert r.status_code == 400 and "start" in r.json()["fields"], r.content
    r = client.get("/api/v1/cases", {"start": "2026-11-30T12:19:50+17:41", "end": "2026-12-02T00:00:00+08:00"})
    assert r.status_code == 200, r.content
    r = client.get("/api/v1/workorders", {"end": "9999-01-01T00:00:00+08:00"})
    assert r.status_code == 400 and "end" in r.json()["fields"], r.content


def test_work_order_pages_run_open_first_then_finished_by_deadline(client_as):
    """Pages are cut across the open and the finished orders as one list: open by deadline,
    then finished by deadline; the count is both, and `open` narrows to one part."""
    from gisgrid.accounts import roles
    from gisgrid.cases import workflow
    from gisgrid.cases.factories import account
    from gisgrid.cases.models import WorkOrder

    centre = account("wo-centre", roles.DISPATCHER)
    staff = unit_staff("D-CGJ", "wo-cgj")
    start = timezone.now() - timedelta(days=3)
    cases = []
    for k, severity in enumerate(["major", "general", "complex", "general", "major"]):
        c = reported_case("E0501")
        c = workflow.accept(c, centre, version=c.version, severity=severity, at=start + timedelta(minutes=k))
        c = workflow.dispatch(c, centre, version=c.version, at=start + timedelta(minutes=k, seconds=30))
        cases.append(c)
    for c in cases[:2]:  # two finished by the unit
        c = workflow.acknowledge(c, staff, version=c.version, at=start + timedelta(hours=1))
        c = workflow.arrive(c, staff, version=c.version, at=start + timedelta(hours=2))
        workflow.complete(c, staff, version=c.version, result_text="已处置", at=start + timedelta(hours=3))
    ours = WorkOrder.objects.filter(unit__code="D-CGJ", case__in=cases)

    def key(o):
        return o.due, o.dispatched_at, o.id

    want = ([o.case.number for o in sorted(ours.filter(state__in=WorkOrder.OPEN_STATES), key=key)]
            + [o.case.number for o in sorted(ours.exclude(state__in=WorkOrder.OPEN_STATES), key=key)])
    assert len(want) == 5 and len(set(want[:3])) == 3
    u = client_as("unitstaff")
    got, page = [], 1
    while True:
        body = u.get("/api/v1/workorders", {"page": page, "page_size": 2}).json()
        assert body["count"] == 5
        got += [o["case"]["number"] for o in body["results"]]
        if len(body["results"]) < 2:
            break
        page += 1
    assert got == want
    assert [o["case"]["number"] for o in u.get("/api/v1/workorders", {"open": "true"}).json()["results"]] == want[:3]
    finished = u.get("/api/v1/workorders", {"open": "false", "page_size": 1, "page": 2}).json()
    assert finished["count"] == 2 and [o["case"]["number"] for o in finished["results"]] == want[4:]
    # One part chosen by open=: the page and its count come from one query; a page past the end
    # still says how many there are.
    still_open = u.get("/api/v1/workorders", {"open": "true", "page_size": 2, "page": 2}).json()
    assert still_open["count"] == 3 and [o["case"]["number"] for o in still_open["results"]] == want[2:3]
    beyond = u.get("/api/v1/workorders", {"open": "true", "page_size": 2, "page": 5}).json()
    assert beyond["count"] == 3 and beyond["results"] == []
    assert u.get("/api/v1/workorders", {"open": "false", "q": "no such text"}).json()["count"] == 0

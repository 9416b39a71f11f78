"""A catalogue of named malformed requests across the API, each with the answer it must get.

Issue 10 ("Bad input"): every answer under /api/ is JSON, errors included, never a 5xx; a 400
names the offending field. Each entry below is one request sent through the whole Django stack
(middleware, URL resolver, authentication by real token headers, DRF, the services, PostGIS)
inside the test's transaction, and checked for: the status, the JSON content type, the `error`
code, and for a 400 (or a phone's fix kept in quarantine) the field it names.

A phone's fix that was kept is answered 2xx even when malformed (docs/ingest.md, "Answers"):
those entries expect 200 with the item `rejected` and its `field`.

docs/bad-input.md is generated from this table:
    .venv/bin/python tests/test_bad_input_catalogue.py > docs/bad-input.md
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "bad-input.md"
SEAT = (110.1449, 35.2385)
HUGE_INT = "1" + "0" * 400  # 10**400: beyond any float
MB = 1024 * 1024


def _deep(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def _huge_json() -> bytes:
    """A JSON object of 9 MB, over DATA_UPLOAD_MAX_MEMORY_SIZE (8 MB)."""
    return b'{"description": "' + b"x" * (9 * MB) + b'"}'


def _nine_mb() -> str:
    return "x" * (9 * MB)


def _huge_form() -> bytes:
    return b"lat=35.2377&lon=110.1496&pad=" + b"x" * (9 * MB)


def _many_positions() -> bytes:
    item = '{"time": "2026-05-01T08:00:00+08:00", "lat": 35.2377, "lon": 110.1496}'
    return ('{"device_id": "{device}", "token": "{token}", "positions": [' + ",".join([item] * 10_001) + "]}").encode()


BOWTIE = json.dumps({"type": "FeatureCollection", "features": [{
    "type": "Feature",
    "properties": {"code": "610524001027004", "name": "蝴蝶网格", "level": 3, "parent_code": "610524001027"},
    # The ring crosses itself at (110.1450, 35.2385): a bow-tie, invalid by OGC rules.
    "geometry": {"type": "Polygon", "coordinates": [[[110.1440, 35.2380], [110.1460, 35.2390], [110.1460, 35.2380],
                                                     [110.1440, 35.2390], [110.1440, 35.2380]]]}}]}).encode()
GPX_OK_POINT = (b'<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
                b'<trk><trkseg><trkpt lat="35.2377" lon="110.1496"><time>2026-05-01T08:00:00Z</time></trkpt>'
                b"</trkseg></trk></gpx>")
GPX_DTD = (b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x "y">]><gpx version="1.1" creator="t" '
           b'xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="35.2" lon="110.1"><time>2026-05-01T08:00:00Z</time>'
           b"</wpt></gpx>")
SQUARE = {"type": "Polygon", "coordinates": [[[110.1445, 35.2381], [110.1453, 35.2381], [110.1453, 35.2389],
                                              [110.1445, 35.2389], [110.1445, 35.2381]]]}
XML_POINT = b'<?xml version="1.0"?><point><lon>110.1449</lon><lat>35.2385</lat></point>'


@dataclasses.dataclass(frozen=True)
class Case:
    """One malformed request and the answer it must get.

    `path` and `query` may name things made for the test: {active} (the active edition), {draft}
    (a fresh draft), {version} (its version), {report} (a report), {device}/{token} (a registered
    phone and its token), {person} (the inspector's person id). `who` is "anonymous", a demo
    username (sent as `Authorization: Token`), or "device" (the phone's token as a Bearer).
    """

    name: str
    method: str
    path: str
    status: int
    error: str | None
    field: str | None = None
    what: str = ""
    who: str = "admin"
    query: str = ""
    body: Any = None  # dict/list: JSON; str/bytes: sent raw; callable: makes bytes (big bodies)
    content_type: str | None = None
    form: dict | None = None  # multipart fields; (filename, bytes) for a file
    headers: dict = dataclasses.field(default_factory=dict)
    says: str = ""  # a text the answer must hold (e.g. the swap hint)


def _json_case(name, path, body, status, error, fld=None, what="", **kw) -> Case:
    return Case(name, "POST", path, status, error, fld, what, body=body, content_type="application/json", **kw)


REPORT = {"category": "E0501", "lon": SEAT[0], "lat": SEAT[1], "crs": "wgs84", "reporter_name": "王网格",
          "reporter_phone": "13912345678"}


def _report(**over) -> dict:
    return {**REPORT, **over}


def _report_raw(lon: str, lat: str) -> str:
    return '{"category": "E0501", "lon": ' + lon + ', "lat": ' + lat + ', "reporter_name": "王网格"}'


PERIOD = "start=2026-11-23T00:00&end=2026-11-30T00:00"
OSMAND = "id={device}&token={token}&timestamp=1777593600"

CATALOGUE: list[Case] = [
    # -- locate ---------------------------------------------------------------------------------
    Case("locate_swapped_lonlat", "GET", "/api/v1/locate", 400, "invalid", "lat", "lat/lon swapped",
         query=f"lon={SEAT[1]}&lat={SEAT[0]}", who="anonymous", says="颠倒"),
    Case("locate_lon_nan", "GET", "/api/v1/locate", 400, "invalid", "lon", "lon=NaN",
         query=f"lon=NaN&lat={SEAT[1]}", who="anonymous"),
    Case("locate_lat_infinity", "GET", "/api/v1/locate", 400, "invalid", "lat", "lat=inf",
         query=f"lon={SEAT[0]}&lat=inf", who="anonymous"),
    Case("locate_lon_1e400", "GET", "/api/v1/locate", 400, "invalid", "lon", "lon=1e400 (overflows to infinity)",
         query=f"lon=1e400&lat={SEAT[1]}", who="anonymous"),
    Case("locate_lon_10_400", "GET", "/api/v1/locate", 400, "invalid", "lon", "lon=10**400 as digits",
         query=f"lon={HUGE_INT}&lat={SEAT[1]}", who="anonymous"),
    Case("locate_lat_missing", "GET", "/api/v1/locate", 400, "invalid", "lat", "no lat",
         query=f"lon={SEAT[0]}", who="anonymous"),
    Case("locate_unknown_datum", "GET", "/api/v1/locate", 400, "invalid", "crs", "crs=xian80 (not a datum it knows)",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}&crs=xian80", who="anonymous"),
    Case("locate_nul_in_crs", "GET", "/api/v1/locate", 400, "invalid", "crs", "NUL byte in crs",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}&crs=wgs%0084", who="anonymous"),
    Case("locate_tolerance_negative", "GET", "/api/v1/locate", 400, "invalid", "tolerance_m", "tolerance_m=-1",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}&tolerance_m=-1", who="anonymous"),
    Case("locate_tolerance_nan", "GET", "/api/v1/locate", 400, "invalid", "tolerance_m", "tolerance_m=nan",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}&tolerance_m=nan", who="anonymous"),
    Case("locate_edition_abc", "GET", "/api/v1/locate", 400, "invalid", "edition", "edition=abc",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}&edition=abc", who="anonymous"),
    Case("locate_edition_unknown", "GET", "/api/v1/locate", 404, "not_found", None, "edition that does not exist",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}&edition=999999999", who="anonymous"),
    Case("locate_edition_beyond_bigint", "GET", "/api/v1/locate", 404, "not_found", None,
         "an edition id beyond any integer column", query=f"lon={SEAT[0]}&lat={SEAT[1]}&edition={HUGE_INT}",
         who="anonymous"),
    Case("locate_far_away_point", "GET", "/api/v1/locate", 200, None, None,
         "lon=15&lat=0: valid but far away (the metric projection is infinite there): outside",
         query="lon=15&lat=0", who="anonymous", says='"outside"'),
    _json_case("locate_batch_anonymous", "/api/v1/locate", {"points": [list(SEAT)]}, 401, "not_authenticated",
               what="batch locate without signing in", who="anonymous"),
    _json_case("locate_batch_nan_literal", "/api/v1/locate", '{"points": [[NaN, 35.2385]]}', 400, "parse_error",
               what="NaN literal in JSON (not JSON)"),
    _json_case("locate_batch_1e400", "/api/v1/locate", '{"points": [[1e400, 35.2385]]}', 400, "invalid", "points",
               "1e400 in JSON"),
    _json_case("locate_batch_10_400", "/api/v1/locate", '{"points": [[' + HUGE_INT + ', 35.2385]]}', 400, "invalid",
               "points", "integer 10**400 in JSON"),
    _json_case("locate_batch_swapped", "/api/v1/locate", {"points": [list(SEAT), [SEAT[1], SEAT[0]]]}, 400,
               "invalid", "points", "second point lat/lon swapped", says="颠倒"),
    _json_case("locate_batch_point_not_pair", "/api/v1/locate", {"points": [[110.1, 35.2, 1, 2]]}, 400, "invalid",
               "points", "a point of four numbers"),
    _json_case("locate_batch_point_strings", "/api/v1/locate", {"points": [["110.1", "35.2"]]}, 400, "invalid",
               "points", "coordinates as strings"),
    _json_case("locate_batch_empty_points", "/api/v1/locate", {"points": []}, 400, "invalid", "points",
               "points=[]"),
    _json_case("locate_batch_empty_body", "/api/v1/locate", b"", 400, "invalid", "points", "empty body"),
    _json_case("locate_batch_array_body", "/api/v1/locate", [[110.1, 35.2]], 400, "invalid", "body",
               "a JSON array, not an object"),
    _json_case("locate_batch_deep", "/api/v1/locate", _deep(), 400, "parse_error",
               what="JSON nested 100,000 deep"),
    _json_case("locate_batch_truncated", "/api/v1/locate", '{"points": [[110.1, 35.2]', 400, "parse_error",
               what="truncated JSON"),
    _json_case("locate_batch_unknown_datum", "/api/v1/locate", {"crs": "xian80", "points": [list(SEAT)]}, 400,
               "invalid", "crs", "crs=xian80"),
    _json_case("locate_batch_huge_body", "/api/v1/locate", _huge_json, 413, "too_large", "body",
               "9 MB JSON body (> DATA_UPLOAD_MAX_MEMORY_SIZE)"),
    Case("locate_batch_text_plain", "POST", "/api/v1/locate", 415, "unsupported_media_type", None,
         "JSON sent as text/plain", body='{"points": [[110.1449, 35.2385]]}', content_type="text/plain"),
    Case("locate_batch_xml", "POST", "/api/v1/locate", 415, "unsupported_media_type", None, "XML to a JSON endpoint",
         body=XML_POINT, content_type="application/xml"),
    # -- geocode, grids, county ----------------------------------------------------------------
    Case("geocode_empty_q", "GET", "/api/v1/geocode", 400, "invalid", "q", "q=", query="q=", who="anonymous"),
    Case("geocode_nul_q", "GET", "/api/v1/geocode", 400, "invalid", "q", "NUL byte in q",
         query="q=%E6%B3%B0%00", who="anonymous"),
    Case("geocode_q_20000_chars", "GET", "/api/v1/geocode", 400, "invalid", "q", "q of 20,000 characters",
         query="q=" + "%E6%B3%B0" * 20_000, who="anonymous"),
    Case("geocode_limit_abc", "GET", "/api/v1/geocode", 400, "invalid", "limit", "limit=abc",
         query="q=%E6%B3%B0&limit=abc", who="anonymous"),
    Case("geocode_limit_zero", "GET", "/api/v1/geocode", 400, "invalid", "limit", "limit=0",
         query="q=%E6%B3%B0&limit=0", who="anonymous"),
    Case("grids_level_4", "GET", "/api/v1/grids", 400, "invalid", "level", "level=4", query="level=4",
         who="anonymous"),
    Case("grids_bbox_three_numbers", "GET", "/api/v1/grids", 400, "invalid", "bbox", "bbox of three numbers",
         query="bbox=110,35,111", who="anonymous"),
    Case("grids_bbox_nan", "GET", "/api/v1/grids", 400, "invalid", "bbox", "bbox with NaN",
         query="bbox=NaN,35,111,36", who="anonymous"),
    Case("grids_bbox_min_over_max", "GET", "/api/v1/grids", 400, "invalid", "bbox", "bbox with min > max",
         query="bbox=111,35,110,36", who="anonymous"),
    Case("grids_bbox_swapped", "GET", "/api/v1/grids", 400, "invalid", "bbox", "bbox lat,lon order (lat > 90)",
         query="bbox=35,110,36,111", who="anonymous"),
    Case("grids_simplify_negative", "GET", "/api/v1/grids", 400, "invalid", "simplify", "simplify=-5",
         query="simplify=-5", who="anonymous"),
    Case("grids_simplify_nan", "GET", "/api/v1/grids", 400, "invalid", "simplify", "simplify=nan",
         query="level=3&simplify=nan", who="anonymous"),
    Case("grids_edition_abc", "GET", "/api/v1/grids", 400, "invalid", "edition", "edition=abc",
         query="edition=abc", who="anonymous"),
    Case("grids_simplify_1e400", "GET", "/api/v1/grids", 400, "invalid", "simplify", "simplify=1e400 (infinity)",
         query="simplify=1e400", who="anonymous"),
    Case("blind_spots_edition_abc", "GET", "/api/v1/blind-spots", 400, "invalid", "edition", "edition=abc",
         query="edition=abc", who="anonymous"),
    Case("geocode_blank_q", "GET", "/api/v1/geocode", 400, "invalid", "q", "q of spaces only", query="q=%20%20",
         who="anonymous"),
    Case("grid_code_nul", "GET", "/api/v1/grids/6105%00", 400, "invalid", "code", "NUL byte in the path",
         who="anonymous"),
    Case("grid_code_unknown", "GET", "/api/v1/grids/999999999", 404, "not_found", None, "a grid that does not exist",
         who="anonymous"),
    Case("county_edition_unknown", "GET", "/api/v1/county", 404, "not_found", None, "edition that does not exist",
         query="edition=999999999", who="anonymous"),
    # -- routing --------------------------------------------------------------------------------
    Case("route_unknown_category", "GET", "/api/v1/route", 400, "invalid", "category", "category=ZZ99",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}&category=ZZ99", who="anonymous"),
    Case("route_category_missing", "GET", "/api/v1/route", 400, "invalid", "category", "no category",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}", who="anonymous"),
    Case("route_nul_category", "GET", "/api/v1/route", 400, "invalid", "category", "NUL byte in category",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}&category=E05%0001", who="anonymous"),
    Case("route_swapped_lonlat", "GET", "/api/v1/route", 400, "invalid", "lat", "lat/lon swapped",
         query=f"lon={SEAT[1]}&lat={SEAT[0]}&category=E0501", who="anonymous", says="颠倒"),
    Case("route_no_point_no_address", "GET", "/api/v1/route", 400, "invalid", "lon", "neither point nor address",
         query="category=E0501", who="anonymous"),
    Case("route_unknown_address", "GET", "/api/v1/route", 400, "invalid", "address", "an address nothing matches",
         query="address=%E7%81%AB%E6%98%9F%E5%9F%BA%E5%9C%B0xyz&category=E0501", who="anonymous"),
    Case("route_unknown_datum", "GET", "/api/v1/route", 400, "invalid", "crs", "crs=xian80",
         query=f"lon={SEAT[0]}&lat={SEAT[1]}&crs=xian80&category=E0501", who="anonymous"),
    # -- reports --------------------------------------------------------------------------------
    Case("reports_list_anonymous", "GET", "/api/v1/reports", 401, "not_authenticated", None,
         "list reports without signing in", who="anonymous"),
    Case("reports_list_planner", "GET", "/api/v1/reports", 403, "permission_denied", None,
         "a planner lists reports", who="planner"),
    Case("reports_list_bad_status", "GET", "/api/v1/reports", 400, "invalid", "status", "status=weird",
         query="status=weird", who="dispatcher"),
    Case("reports_list_bad_grid", "GET", "/api/v1/reports", 400, "invalid", "grid", "grid=61x",
         query="grid=61x", who="dispatcher"),
    Case("reports_list_nul_grid", "GET", "/api/v1/reports", 400, "invalid", "grid", "NUL byte in grid",
         query="grid=6105%00", who="dispatcher"),
    Case("reports_list_unknown_category", "GET", "/api/v1/reports", 400, "invalid", "category", "category=ZZ99",
         query="category=ZZ99", who="dispatcher"),
    Case("reports_list_unknown_unit", "GET", "/api/v1/reports", 400, "invalid", "unit", "unit=NOPE",
         query="unit=NOPE", who="dispatcher"),
    Case("reports_list_bad_date", "GET", "/api/v1/reports", 400, "invalid", "created_after", "created_after=yesterday",
         query="created_after=yesterday", who="dispatcher"),
    Case("reports_list_year_9999", "GET", "/api/v1/reports", 400, "invalid", "created_before",
         "created_before in year 9999", query="created_before=9999-12-31T23:59:59-14:00", who="dispatcher"),
    Case("reports_list_year_0", "GET", "/api/v1/reports", 400, "invalid", "created_after", "created_after in year 0",
         query="created_after=0000-01-01", who="dispatcher"),
    Case("reports_list_end_before_start", "GET", "/api/v1/reports", 400, "invalid", "created_before",
         "created_before earlier than created_after",
         query="created_after=2026-05-02T00:00&created_before=2026-05-01T00:00", who="dispatcher"),
    Case("reports_list_nul_text", "GET", "/api/v1/reports", 400, "invalid", "text", "NUL byte in text",
         query="text=a%00b", who="dispatcher"),
    Case("reports_list_text_too_long", "GET", "/api/v1/reports", 400, "invalid", "text", "text of 101 characters",
         query="text=" + "x" * 101, who="dispatcher"),
    Case("reports_list_nul_unit", "GET", "/api/v1/reports", 400, "invalid", "unit", "NUL byte in unit",
         query="unit=D-%00CGJ", who="dispatcher"),
    Case("reports_list_nul_category", "GET", "/api/v1/reports", 400, "invalid", "category", "NUL byte in category",
         query="category=E05%0001", who="dispatcher"),
    Case("reports_error_asked_as_html", "GET", "/api/v1/reports", 400, "invalid", "status",
         "an error with Accept: text/html", query="status=weird", who="dispatcher", headers={"Accept": "text/html"}),
    _json_case("reports_create_swapped", "/api/v1/reports", _report(lon=SEAT[1], lat=SEAT[0]), 400, "invalid",
               "lat", "lat/lon swapped", says="颠倒"),
    _json_case("reports_create_nan_literal", "/api/v1/reports", _report_raw("NaN", "35.2385"), 400, "parse_error",
               what="NaN literal in JSON"),
    _json_case("reports_create_nan_string", "/api/v1/reports", _report(lon="NaN"), 400, "invalid", "lon",
               'lon="NaN" as a string'),
    _json_case("reports_create_1e400", "/api/v1/reports", _report_raw("1e400", "35.2385"), 400, "invalid", "lon",
               "1e400 in JSON"),
    _json_case("reports_create_10_400", "/api/v1/reports", _report_raw(HUGE_INT, "35.2385"), 400, "invalid", "lon",
               "integer 10**400 in JSON"),
    _json_case("reports_create_lon_true", "/api/v1/reports", _report(lon=True), 400, "invalid", "lon",
               "lon=true (a JSON boolean)"),
    _json_case("reports_create_array_body", "/api/v1/reports", [REPORT], 400, "invalid", "body",
               "a JSON array, not an object"),
    Case("reports_create_huge_multipart_field", "POST", "/api/v1/reports", 413, "too_large", "body",
         "a 9 MB multipart text field", form={**{k: str(v) for k, v in REPORT.items()}, "description": _nine_mb}),
    _json_case("reports_create_unknown_category", "/api/v1/reports", _report(category="ZZ99"), 400, "invalid",
               "category", "category=ZZ99"),
    _json_case("reports_create_unknown_datum", "/api/v1/reports", _report(crs="xian80"), 400, "invalid", "crs",
               "crs=xian80"),
    _json_case("reports_create_nul_in_name", "/api/v1/reports", _report(reporter_name="王\u0000网格"), 400, "invalid",
               "reporter_name", "NUL byte in a JSON string"),
    Case("reports_create_nul_multipart", "POST", "/api/v1/reports", 400, "invalid", "category",
         "NUL byte in a multipart field", form={**{k: str(v) for k, v in REPORT.items()}, "category": "E05\x0001"}),
    _json_case("reports_create_empty_body", "/api/v1/reports", b"", 400, "invalid", "category", "empty body"),
    _json_case("reports_create_deep", "/api/v1/reports", _deep(), 400, "parse_error", what="JSON nested 100,000 deep"),
    _json_case("reports_create_huge_body", "/api/v1/reports", _huge_json, 413, "too_large", "body",
               "9 MB JSON body"),
    Case("reports_create_text_plain", "POST", "/api/v1/reports", 415, "unsupported_media_type", None,
         "JSON sent as text/plain", body=json.dumps(REPORT), content_type="text/plain"),
    Case("reports_create_xml", "POST", "/api/v1/reports", 415, "unsupported_media_type", None,
         "XML to a JSON endpoint", body=XML_POINT, content_type="application/xml"),
    _json_case("reports_create_planner", "/api/v1/reports", REPORT, 403, "permission_denied",
               what="a planner files a report", who="planner"),
    Case("reports_detail_negative", "GET", "/api/v1/reports/-1", 404, "not_found", None, "/reports/-1"),
    Case("reports_detail_unknown", "GET", "/api/v1/reports/999999999", 404, "not_found", None,
         "a report that does not exist"),
    Case("reports_detail_beyond_bigint", "GET", "/api/v1/reports/" + "9" * 30, 404, "not_found", None,
         "an id beyond any integer column"),
    Case("reports_detail_nul", "GET", "/api/v1/reports/1%00", 404, "not_found", None, "NUL byte after the id"),
    Case("reports_detail_other_unit", "GET", "/api/v1/reports/{report}", 404, "not_found", None,
         "unit staff read another unit's report (as if absent)", who="unitstaff"),
    # -- editions -------------------------------------------------------------------------------
    _json_case("editions_create_anonymous", "/api/v1/editions", {"name": "x"}, 401, "not_authenticated",
               what="create a draft without signing in", who="anonymous"),
    _json_case("editions_create_dispatcher", "/api/v1/editions", {"name": "x"}, 403, "permission_denied",
               what="a dispatcher creates a draft", who="dispatcher"),
    _json_case("editions_create_no_name", "/api/v1/editions", {}, 400, "invalid", "name", "no name"),
    _json_case("editions_create_based_on_unknown", "/api/v1/editions", {"name": "x", "based_on": 999999999}, 404,
               "not_found", what="based_on an edition that does not exist"),
    Case("editions_create_nul_name_multipart", "POST", "/api/v1/editions", 400, "invalid", "name",
         "multipart with a NUL in name", form={"name": "a\x00b"}),
    _json_case("editions_create_based_on_abc", "/api/v1/editions", {"name": "x", "based_on": "abc"}, 400, "invalid",
               "based_on", "based_on=abc"),
    Case("edition_detail_draft_anonymous", "GET", "/api/v1/editions/{draft}", 404, "not_found", None,
         "a draft, not signed in (as if absent)", who="anonymous"),
    Case("edition_detail_not_a_number", "GET", "/api/v1/editions/abc", 404, "not_found", None, "/editions/abc"),
    Case("edition_import_level_abc", "POST", "/api/v1/editions/{draft}/import", 400, "invalid", "level", "level=abc",
         form={"file": ("l.geojson", b'{"type": "FeatureCollection", "features": []}'), "version": "{version}",
               "level": "abc"}),
    Case("edition_import_bowtie", "POST", "/api/v1/editions/{draft}/import", 400, "invalid", "file",
         "GeoJSON with a bow-tie polygon: an `invalid` finding at the crossing",
         form={"file": ("bowtie.geojson", BOWTIE), "version": "{version}", "level": "3"}, says='"kind":"invalid"'),
    Case("edition_import_bad_map", "POST", "/api/v1/editions/{draft}/import", 400, "invalid", "map",
         "map=code (not target=source)",
         form={"file": ("l.geojson", BOWTIE), "version": "{version}", "level": "3", "map": "code"}),
    Case("edition_import_no_file", "POST", "/api/v1/editions/{draft}/import", 400, "invalid", "file", "no file",
         form={"version": "{version}"}),
    Case("edition_import_not_geojson", "POST", "/api/v1/editions/{draft}/import", 400, "invalid", "file",
         ".geojson that is not JSON", form={"file": ("l.geojson", b"not json at all"), "version": "{version}"}),
    Case("edition_import_wrong_suffix", "POST", "/api/v1/editions/{draft}/import", 400, "invalid", "file",
         "a .txt file", form={"file": ("l.txt", b"hello"), "version": "{version}"}),
    _json_case("edition_import_json_body", "/api/v1/editions/{draft}/import", {"version": 1}, 415,
               "unsupported_media_type", what="JSON where multipart is expected"),
    _json_case("edition_edit_unknown_op", "/api/v1/editions/{draft}/frobnicate", {"version": "{version}"}, 400,
               "invalid", "op", "an unknown edit operation"),
    _json_case("edition_edit_no_version", "/api/v1/editions/{draft}/undo", {}, 400, "invalid", "version",
               "no version"),
    _json_case("edition_edit_version_abc", "/api/v1/editions/{draft}/undo", {"version": "abc"}, 400, "invalid",
               "version", "version=abc"),
    _json_case("edition_edit_bad_geometry", "/api/v1/editions/{draft}/reshape",
               {"code": "610524001027004", "geometry": {"type": "Polygon", "coordinates": "x"}, "version": "{version}"},
               400, "invalid", "geometry", "a geometry that is not GeoJSON"),
    _json_case("edition_edit_bowtie", "/api/v1/editions/{draft}/reshape",
               {"code": "610524001027004", "geometry": json.loads(BOWTIE)["features"][0]["geometry"],
                "version": "{version}"}, 400, "invalid", "geometry", "a bow-tie drawn as a grid's new outline"),
    _json_case("edition_edit_nul_code", "/api/v1/editions/{draft}/reshape",
               {"code": "6105\u0000", "geometry": SQUARE, "version": "{version}"},
               400, "invalid", "code", "NUL byte in a grid code"),
    _json_case("edition_edit_nan_literal", "/api/v1/editions/{draft}/reshape",
               '{"code": "610524001027004", "geometry": {"type": "Polygon", "coordinates": '
               '[[[NaN, 35.238], [110.146, 35.239], [110.146, 35.238], [NaN, 35.238]]]}, "version": 1}',
               400, "parse_error", what="NaN literal in a geometry"),
    _json_case("edition_edit_stale_version", "/api/v1/editions/{draft}/undo", {"version": 999}, 409, "stale_version",
               what="a version the draft no longer has"),
    _json_case("edition_edit_active", "/api/v1/editions/{active}/undo", {"version": 1}, 409, "not_draft",
               what="an edit to the active edition"),
    Case("edition_edit_multipart", "POST", "/api/v1/editions/{draft}/undo", 415, "unsupported_media_type", None,
         "multipart where JSON is expected", form={"version": "{version}"}),
    _json_case("edition_publish_stale", "/api/v1/editions/{draft}/publish", {"version": 999}, 409, "stale_version",
               what="publish with a stale version"),
    _json_case("edition_publish_active", "/api/v1/editions/{active}/publish", {}, 409, "not_draft",
               what="publish the active edition"),
    Case("edition_diff_against_unknown", "GET", "/api/v1/editions/{draft}/diff", 404, "not_found", None,
         "against an edition that does not exist", query="against=999999999"),
    Case("edition_import_not_zip", "POST", "/api/v1/editions/{draft}/import", 400, "invalid", "file",
         "a .zip that is not a zip", form={"file": ("l.zip", b"PK not really"), "version": "{version}"}),
    Case("edition_diff_against_abc", "GET", "/api/v1/editions/{draft}/diff", 400, "invalid", "against",
         "against=abc", query="against=abc"),
    # -- patrols --------------------------------------------------------------------------------
    Case("coverage_end_before_start", "GET", "/api/v1/patrols/coverage", 400, "invalid", "end", "end before start",
         query="start=2026-11-30T00:00&end=2026-11-23T00:00", who="dispatcher"),
    Case("coverage_year_9999", "GET", "/api/v1/patrols/coverage", 400, "invalid", "start", "start in year 9999",
         query="start=9999-12-31T00:00&end=2026-11-30T00:00", who="dispatcher"),
    Case("coverage_year_0", "GET", "/api/v1/patrols/coverage", 400, "invalid", "start", "start in year 0",
         query="start=0000-01-01T00:00&end=2026-11-30T00:00", who="dispatcher"),
    Case("coverage_start_missing", "GET", "/api/v1/patrols/coverage", 400, "invalid", "start", "no start",
         query="end=2026-11-30T00:00", who="dispatcher"),
    Case("coverage_period_too_long", "GET", "/api/v1/patrols/coverage", 400, "invalid", "end", "a period of a year",
         query="start=2025-11-23T00:00&end=2026-11-30T00:00", who="dispatcher"),
    Case("coverage_level_abc", "GET", "/api/v1/patrols/coverage", 400, "invalid", "level", "level=abc",
         query=PERIOD + "&level=abc", who="dispatcher"),
    Case("coverage_radius_nan", "GET", "/api/v1/patrols/coverage", 400, "invalid", "radius", "radius=nan",
         query=PERIOD + "&radius=nan", who="dispatcher"),
    Case("coverage_format_xml", "GET", "/api/v1/patrols/coverage", 400, "invalid", "format", "format=xml",
         query=PERIOD + "&format=xml", who="dispatcher"),
    Case("coverage_unknown_person", "GET", "/api/v1/patrols/coverage", 400, "invalid", "person", "person=nobody",
         query=PERIOD + "&person=nobody", who="dispatcher"),
    Case("coverage_nul_start", "GET", "/api/v1/patrols/coverage", 400, "invalid", "start", "NUL byte in start",
         query="start=2026-11-23%00&end=2026-11-30T00:00", who="dispatcher"),
    Case("schedule_end_before_start", "GET", "/api/v1/patrols/schedule", 400, "invalid", "end", "end before start",
         query="start=2026-11-30T00:00&end=2026-11-23T00:00", who="dispatcher"),
    Case("track_end_before_start", "GET", "/api/v1/patrols/track", 400, "invalid", "end", "end before start",
         query="person={person}&start=2026-11-30T00:00&end=2026-11-23T00:00", who="dispatcher"),
    Case("track_person_missing", "GET", "/api/v1/patrols/track", 400, "invalid", "person", "no person",
         query=PERIOD, who="dispatcher"),
    Case("sessions_year_9999", "GET", "/api/v1/patrols/sessions", 400, "invalid", "end", "end in year 9999",
         query="start=2026-11-23T00:00&end=9999-01-01T00:00", who="dispatcher"),
    Case("live_since_garbage", "GET", "/api/v1/patrols/live", 400, "invalid", "since", "since=yesterday",
         query="since=yesterday", who="dispatcher"),
    Case("coverage_unknown_role", "GET", "/api/v1/patrols/coverage", 400, "invalid", "role", "role=mayor",
         query=PERIOD + "&role=mayor", who="dispatcher"),
    Case("coverage_urban_maybe", "GET", "/api/v1/patrols/coverage", 400, "invalid", "urban", "urban=maybe",
         query=PERIOD + "&urban=maybe", who="dispatcher"),
    Case("coverage_unit_staff", "GET", "/api/v1/patrols/coverage", 403, "permission_denied", None,
         "unit staff read patrol coverage", query=PERIOD, who="unitstaff"),
    # -- phones: ingest -------------------------------------------------------------------------
    Case("osmand_no_id", "GET", "/api/v1/track/osmand", 401, "missing_device", "id", "no device id",
         query="token={token}&lat=35.2377&lon=110.1496", who="anonymous"),
    Case("osmand_no_token", "GET", "/api/v1/track/osmand", 401, "missing_token", "token", "no token",
         query="id={device}&lat=35.2377&lon=110.1496", who="anonymous"),
    Case("osmand_unknown_device", "GET", "/api/v1/track/osmand", 403, "bad_token", "token",
         "a device that is not registered", query="id=no-such-phone&token={token}&lat=35.2377&lon=110.1496",
         who="anonymous"),
    Case("osmand_wrong_token", "GET", "/api/v1/track/osmand", 403, "bad_token", "token", "a wrong token",
         query="id={device}&token=wrong&lat=35.2377&lon=110.1496", who="anonymous"),
    Case("osmand_nul_in_id", "GET", "/api/v1/track/osmand", 403, "bad_token", "token", "NUL byte in the device id",
         query="id=a%00b&token={token}&lat=35.2377&lon=110.1496", who="anonymous"),
    Case("osmand_lat_abc", "GET", "/api/v1/track/osmand", 200, None, "lat", "lat=abc: kept in quarantine",
         query=OSMAND + "&lat=abc&lon=110.1496", who="anonymous"),
    Case("osmand_lat_100", "GET", "/api/v1/track/osmand", 200, None, "lat", "lat=100: kept in quarantine",
         query=OSMAND + "&lat=100&lon=110.1496", who="anonymous"),
    Case("osmand_lon_nan", "GET", "/api/v1/track/osmand", 200, None, "lon", "lon=NaN: kept in quarantine",
         query=OSMAND + "&lat=35.2377&lon=NaN", who="anonymous"),
    Case("osmand_year_9999", "GET", "/api/v1/track/osmand", 200, None, "timestamp",
         "timestamp in year 9999: kept in quarantine",
         query="id={device}&token={token}&lat=35.2377&lon=110.1496&timestamp=9999-12-31T23:59:59-14:00",
         who="anonymous"),
    Case("osmand_year_0", "GET", "/api/v1/track/osmand", 200, None, "timestamp",
         "timestamp in year 1 BC (UTC): kept in quarantine",
         query="id={device}&token={token}&lat=35.2377&lon=110.1496&timestamp=0001-01-01T00:00:00%2B14:00",
         who="anonymous"),
    Case("osmand_location_abc", "GET", "/api/v1/track/osmand", 200, None, "location",
         "location=abc: kept in quarantine", query=OSMAND + "&location=abc", who="anonymous"),
    Case("osmand_nul_in_lat", "GET", "/api/v1/track/osmand", 200, None, "lat", "NUL byte in lat: kept in quarantine",
         query=OSMAND + "&lat=35.2%00&lon=110.1496", who="anonymous"),
    Case("osmand_post_not_json", "POST", "/api/v1/track/osmand", 400, "invalid", "body",
         "a JSON content type with a body that is not JSON", query="token={token}", body=b"{not json",
         content_type="application/json", who="anonymous"),
    Case("osmand_post_huge_form", "POST", "/api/v1/track/osmand", 413, "too_large", "body", "9 MB form body",
         query="id={device}&token={token}", body=_huge_form, content_type="application/x-www-form-urlencoded",
         who="anonymous"),
    _json_case("positions_empty_body", "/api/v1/track/positions", b"", 400, "invalid", "body", "empty body",
               who="device"),
    _json_case("positions_deep", "/api/v1/track/positions", _deep(), 400, "invalid", "body",
               "JSON nested 100,000 deep", who="anonymous"),
    _json_case("positions_xml", "/api/v1/track/positions", XML_POINT, 400, "invalid", "body", "XML body",
               who="device"),
    _json_case("positions_no_positions", "/api/v1/track/positions", {"device_id": "{device}", "positions": []}, 400,
               "invalid", "positions", "positions=[]", who="device"),
    _json_case("positions_10_400", "/api/v1/track/positions",
               '{"device_id": "{device}", "positions": [{"time": 1777593600, "lat": ' + HUGE_INT + ', "lon": 110.1496}]}',
               200, None, "positions[0].lat", "lat=10**400: kept in quarantine", who="device"),
    _json_case("positions_1e400", "/api/v1/track/positions",
               '{"device_id": "{device}", "positions": [{"time": 1777593600, "lat": 1e400, "lon": 110.1496}]}',
               200, None, "positions[0].lat", "lat=1e400: kept in quarantine", who="device"),
    _json_case("positions_nan", "/api/v1/track/positions",
               '{"device_id": "{device}", "positions": [{"time": 1777593600, "lat": NaN, "lon": 110.1496}]}',
               200, None, "positions[0].lat", "lat=NaN literal: kept in quarantine", who="device"),
    _json_case("positions_traccar_latitude_text", "/api/v1/track/positions",
               {"device_id": "{device}", "location": {"timestamp": "2026-05-01T08:00:00.000Z",
                                                    "coords": {"latitude": "north", "longitude": 110.1496}}},
               200, None, "location.coords.latitude", "Traccar Client JSON with latitude \"north\": kept in quarantine",
               who="device"),
    Case("osmand_traccar_json_year_9999", "POST", "/api/v1/track/osmand", 200, None, "location.timestamp",
         "Traccar Client JSON dated year 9999: kept in quarantine", query="token={token}",
         body='{"device_id": "{device}", "location": {"timestamp": "9999-12-31T23:59:59Z", '
              '"coords": {"latitude": 35.2377, "longitude": 110.1496}}}', content_type="application/json",
         who="anonymous"),
    _json_case("positions_device_id_object", "/api/v1/track/positions",
               {"device_id": {"imei": 1}, "positions": [{"lat": 35.2377, "lon": 110.1496}]}, 400, "invalid",
               "device_id", "device_id as an object", who="device"),
    _json_case("positions_token_number", "/api/v1/track/positions",
               {"device_id": "{device}", "token": 5, "positions": [{"lat": 35.2377, "lon": 110.1496}]}, 400,
               "invalid", "token", "token as a number", who="anonymous"),
    _json_case("positions_unknown_device", "/api/v1/track/positions",
               {"device_id": "no-such-phone", "positions": [{"time": 1777593600, "lat": 35.2377, "lon": 110.1496}]},
               403, "bad_token", "token", "unknown device", who="device"),
    _json_case("positions_too_many", "/api/v1/track/positions", _many_positions, 413, "too_large", "positions",
               "10,001 positions"),
    Case("gpx_not_xml", "POST", "/api/v1/track/gpx", 400, "invalid", "file", "a GPX file that is not XML",
         form={"file": ("t.gpx", b"this is not xml"), "person": "{person}"}),
    Case("gpx_with_dtd", "POST", "/api/v1/track/gpx", 400, "invalid", "file", "a GPX file with a DTD (entities)",
         form={"file": ("t.gpx", GPX_DTD), "person": "{person}"}),
    Case("gpx_lat_nan", "POST", "/api/v1/track/gpx", 200, None, "trk[0].trkseg[0].trkpt[0].lat",
         'a track point with lat="NaN": kept in quarantine',
         form={"file": ("t.gpx", GPX_OK_POINT.replace(b'lat="35.2377"', b'lat="NaN"')), "person": "{person}"}),
    Case("gpx_year_9999", "POST", "/api/v1/track/gpx", 200, None, "trk[0].trkseg[0].trkpt[0].time",
         "a track point dated year 9999: kept in quarantine",
         form={"file": ("t.gpx", GPX_OK_POINT.replace(b"2026-05-01", b"9999-05-01")), "person": "{person}"}),
    Case("gpx_unknown_datum", "POST", "/api/v1/track/gpx", 400, "invalid", "datum", "datum=xian80",
         form={"file": ("t.gpx", GPX_OK_POINT), "person": "{person}", "datum": "xian80"}),
    Case("gpx_nul_device", "POST", "/api/v1/track/gpx", 400, "invalid", "device", "NUL byte in device",
         form={"file": ("t.gpx", GPX_OK_POINT), "device": "a\x00b"}),
    Case("gpx_no_file", "POST", "/api/v1/track/gpx", 400, "invalid", "file", "no file",
         form={"person": "{person}"}),
    Case("gpx_anonymous", "POST", "/api/v1/track/gpx", 401, "not_authenticated", None, "upload without signing in",
         form={"file": ("t.gpx", GPX_OK_POINT)}, who="anonymous"),
    Case("track_person_beyond_bigint", "GET", "/api/v1/patrols/track", 400, "invalid", "person",
         "person=10**400 (no such id or username)", query=PERIOD + "&person=" + HUGE_INT, who="dispatcher"),
    Case("rejected_bad_reason", "GET", "/api/v1/track/rejected", 400, "invalid", "reason", "reason=weird",
         query="reason=weird", who="dispatcher"),
    Case("rejected_limit_zero", "GET", "/api/v1/track/rejected", 400, "invalid", "limit", "limit=0",
         query="limit=0", who="dispatcher"),
    Case("devices_planner", "GET", "/api/v1/track/devices", 403, "permission_denied", None, "a planner lists devices",
         who="planner"),
    # -- anywhere under /api/ ------------------------------------------------------------------
    Case("unknown_api_path", "GET", "/api/v1/no-such-thing", 404, "not_found", None, "a path that does not exist",
         who="anonymous"),
    Case("unknown_api_version", "GET", "/api/v2/grids", 404, "not_found", None, "an API version that does not exist",
         who="anonymous"),
    Case("method_not_allowed_delete", "DELETE", "/api/v1/locate", 405, "method_not_allowed", None, "DELETE locate",
         who="anonymous"),
    Case("method_not_allowed_put", "PUT", "/api/v1/reports", 405, "method_not_allowed", None, "PUT reports",
         body={}, content_type="application/json"),
    Case("method_not_allowed_anonymous", "DELETE", "/api/v1/reports/1", 405, "method_not_allowed", None,
         "DELETE a report, not signed in", who="anonymous"),
    Case("bad_user_token", "GET", "/api/v1/reports", 401, "authentication_failed", None, "a token that does not exist",
         who="anonymous", headers={"Authorization": "Token 0000000000000000000000000000000000000000"}),
    Case("malformed_authorization", "GET", "/api/v1/reports", 401, "authentication_failed", None,
         "Authorization: Token with two words", who="anonymous", headers={"Authorization": "Token a b"}),
    Case("answer_asked_as_html", "GET", "/api/v1/categories", 200, None, None,
         "Accept: text/html on an API answer (JSON all the same, no browsable HTML page)", who="anonymous",
         headers={"Accept": "text/html"}),
    Case("error_asked_as_html", "GET", "/api/v1/locate", 400, "invalid", "lon", "an error with Accept: text/html",
         query="lon=abc&lat=35.2", who="anonymous", headers={"Accept": "text/html"}),
]


# -- running a case ----------------------------------------------------------------------------

class World(dict):
    """The placeholders of a case, made on first use inside the test's transaction."""

    def __missing__(self, key: str):
        value = self._make(key)
        self[key] = value
        return value

    def _make(self, key: str):
        from django.contrib.auth.models import User

        from gisgrid.boundaries import editions
        from gisgrid.boundaries.models import Person
        from gisgrid.incidents.models import Category
        from gisgrid.incidents.reports import create_report
        from gisgrid.patrols.ingest import auth
        from gisgrid.patrols.models import Device

        if key == "active":
            return editions.active_edition().pk
        if key in ("draft", "version"):
            draft = editions.create_draft("坏输入目录 catalogue")
            self["draft"], self["version"] = draft.pk, draft.version
            return self[key]
        if key == "report":  # routed to 县住房和城乡建设局, not the demo unit staff's unit
            return create_report(user=None, category=Category.objects.get(code="E0301"), lon=SEAT[0], lat=SEAT[1],
                                 crs="wgs84", reporter_name="孙群众", reporter_phone="13600002222").pk
        if key == "person":
            person = Person.objects.filter(role="inspector").order_by("pk").first()
            person.user = User.objects.get(username="inspector")
            person.save()
            return person.pk
        if key in ("device", "token"):
            device = Device(identifier="catalogue-phone", person=Person.objects.get(pk=self["person"]))
            self["token"] = auth.set_token(device)
            device.save()
            self["device"] = device.identifier
            return self[key]
        raise KeyError(key)


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, str) and "{" in value:
        # Only the known placeholders: JSON bodies hold braces of their own.
        for key in ("active", "draft", "version", "report", "device", "token", "person"):
            if "{" + key + "}" in value:
                value = value.replace("{" + key + "}", str(world[key]))
        return value
    if isinstance(value, dict):
        filled = {k: _fill(v, world) for k, v in value.items()}
        # A version placeholder stands for the number itself in JSON.
        return {k: int(v) if k == "version" and value[k] == "{version}" and isinstance(v, str) else v
                for k, v in filled.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


def prepare(case: Case, world: World) -> Callable[[], Any]:
    """The request of `case`, with its placeholders made; calling the result sends it."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    # A server answers an exception with a 500 (handler500); the test client would raise it instead.
    client = Client(raise_request_exception=False)
    headers = dict(case.headers)
    if case.who == "device":
        headers["Authorization"] = f"Bearer {world['token']}"
    elif case.who != "anonymous":
        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=User.objects.get(username=case.who))
        headers["Authorization"] = f"Token {token.key}"
    url = _fill(case.path, world) + ("?" + _fill(case.query, world) if case.query else "")
    if case.form is not None:
        data = {}
        for k, v in case.form.items():
            if isinstance(v, tuple):
                data[k] = SimpleUploadedFile(v[0], v[1])
            elif callable(v):
                data[k] = v()
            else:
                data[k] = _fill(v, world)
        return lambda: client.generic(case.method, url, **_multipart(data), headers=headers)
    body = case.body() if callable(case.body) else case.body
    if isinstance(body, dict | list):
        body = json.dumps(_fill(body, world), ensure_ascii=False)
    if isinstance(body, str):
        body = body.encode("utf-8")
    if body is None:
        return lambda: client.generic(case.method, url, headers=headers)
    body = _fill_bytes(body, world)
    return lambda: client.generic(case.method, url, body, content_type=case.content_type or "application/octet-stream",
                                  headers=headers)


def stored() -> dict[str, int]:
    """Rows a request could write: a refused one must leave every count as it was."""
    from gisgrid.audit.models import AuditEntry
    from gisgrid.boundaries.models import Edition, EditionChange, Grid
    from gisgrid.incidents.models import Report
    from gisgrid.patrols.models import Device, Position, RejectedPosition

    return {m.__name__: m.objects.count() for m in (AuditEntry, Edition, EditionChange, Grid, Report, Device,
                                                     Position, RejectedPosition)}


def _fill_bytes(body: bytes, world: World) -> bytes:
    for key in ("device", "token"):
        mark = ("{" + key + "}").encode()
        if mark in body:
            body = body.replace(mark, str(world[key]).encode())
    return body


def _multipart(data: dict) -> dict:
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    return {"data": encode_multipart(BOUNDARY, data), "content_type": MULTIPART_CONTENT}


@pytest.fixture
def world(heyang_db, fresh_partitions) -> World:
    return World()


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_catalogue(case: Case, world: World):
    request = prepare(case, world)
    before = stored()
    response = request()
    text = response.content.decode("utf-8", "replace")
    summary = f"{case.method} {case.path}?{case.query[:80]} -> {response.status_code} {text[:400]}"
    assert response.status_code < 500, summary
    assert response["Content-Type"].split(";")[0].strip() == "application/json", (response["Content-Type"], summary)
    body = json.loads(text)
    assert response.status_code == case.status, summary
    if case.error is None:
        if case.field:  # a phone's malformed fix: kept in quarantine, answered 200, naming the field
            item = body["items"][0]
            assert item["status"] == "rejected" and item.get("field") == case.field, summary
    else:
        assert body.get("error") == case.error, summary
        assert body.get("detail"), summary
        if case.field:
            assert case.field in (body.get("fields") or {}), summary
    if case.says:
        assert case.says in text, summary
    after = stored()
    written = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    if response.status_code >= 400:
        assert written == {}, ("a refused request wrote rows", written, summary)
    elif case.field:  # only the quarantine row of the malformed fix
        if case.path.endswith("/track/gpx"):
            written.pop("Device", None)  # the person's upload device, made on their first upload
        assert written == {"RejectedPosition": 1}, (written, summary)


def test_catalogue_is_big_and_names_are_unique():
    names = [c.name for c in CATALOGUE]
    assert len(names) == len(set(names))
    assert len(CATALOGUE) >= 60
    assert {c.path.split("/")[3] for c in CATALOGUE if c.path.startswith("/api/v1/")} >= {
        "locate", "geocode", "grids", "county", "route", "reports", "editions", "patrols", "track"}


# -- the table in docs/ ---------------------------------------------------------------------------

def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def _body_text(case: Case) -> str:
    """What the request sends, shortly: a snippet of its body, or its multipart fields."""
    if case.form is not None:
        parts = [f"{k}={v[0]}" if isinstance(v, tuple) else f"{k}=(9 MB)" if callable(v) else f"{k}={v!r}"
                 for k, v in case.form.items()]
        return "multipart " + _short(", ".join(parts), 70)
    if case.body is None:
        return ""
    if callable(case.body):
        return f"{case.content_type}: (generated, see the test)"
    if isinstance(case.body, dict | list):
        text = json.dumps(case.body, ensure_ascii=False, separators=(",", ":"))
    else:
        text = case.body.decode("utf-8", "replace") if isinstance(case.body, bytes) else case.body
    return f"{case.content_type}: " + (_short(text, 70) if text else "(empty)")


def _request(case: Case) -> str:
    who = {"anonymous": "anonymous", "device": "device token"}.get(case.who, case.who)
    url = _short(case.path + ("?" + case.query if case.query else ""), 90)
    body = _body_text(case)
    cell = f"`{case.method} {url}` ({who})" + (f"<br>`{body}`" if body else "")
    return cell.replace("|", "\\|")


def markdown() -> str:
    lines = [
        "# Bad input: the catalogue",
        "",
        "Generated from `tests/test_bad_input_catalogue.py` (`.venv/bin/python tests/test_bad_input_catalogue.py",
        "> docs/bad-input.md`); the test fails when this file differs. Each row is one malformed request sent",
        "through the whole stack against the Heyang data, and the answer it must get: always JSON, never a 5xx,",
        "with the `error` code and, for a 400, the field `fields` names. A phone's malformed fix is kept in the",
        "quarantine and answered 200 naming the field in its item (docs/ingest.md, \"Answers\").",
        "Placeholders: `{draft}` a fresh draft, `{active}` the active edition, `{report}` a report of another",
        "unit, `{device}`/`{token}` a registered phone, `{person}` the inspector.",
        "",
        "| name | request | what is wrong | status | `error` | field |",
        "|---|---|---|---|---|---|",
    ]
    for c in CATALOGUE:
        what = c.what.replace("|", "\\|")
        lines.append(f"| {c.name} | {_request(c)} | {what} | {c.status} | "
                     f"{'`' + c.error + '`' if c.error else '—'} | {'`' + c.field + '`' if c.field else ''} |")
    lines.append("")
    lines.append(f"{len(CATALOGUE)} requests.")
    return "\n".join(lines) + "\n"


def test_docs_are_generated_from_the_table():
    assert DOC.read_text(encoding="utf-8") == markdown(), \
        "docs/bad-input.md differs: run `.venv/bin/python tests/test_bad_input_catalogue.py > docs/bad-input.md`"


if __name__ == "__main__":
    print(markdown(), end="")


"""Grid read API, county, health, schema/docs, admin, demo accounts and token auth."""

from __future__ import annotations

import csv
import json
import re
from io import StringIO
from pathlib import Path

import pytest
import shapely
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from gisgrid.accounts import roles
from gisgrid.accounts.management.commands.create_demo_users import DEMO_USERS
from gisgrid.boundaries import editions
from gisgrid.boundaries.models import Edition, Grid

ROOT = Path(__file__).resolve().parent.parent
HEYANG = ROOT / "geodata" / "heyang"
SEAT = (110.1449, 35.2385)
EXPECTED_COUNTS = {1: 14, 2: 215, 3: 121}
PROPERTIES = {"code", "name", "level", "kind", "parent_code", "unit", "area_m2"}
PHONE_ROLES = ["admin", "dispatcher", "unitstaff", "gridchief"]
NO_PHONE_ROLES = ["gridmember", "inspector", "planner"]


def dataset_grids() -> list[dict]:
    data = json.loads((HEYANG / "grids.geojson").read_text(encoding="utf-8"))
    return [f["properties"] for f in data["features"]]


def staffed_grid() -> tuple[str, list[dict]]:
    """A grid with staff in staff.csv, and its rows (name, phone, ...)."""
    with open(HEYANG / "staff.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_grid: dict[str, list[dict]] = {}
    for r in rows:
        by_grid.setdefault(r["grid_code"], []).append(r)
    # A level-1 grid (9-digit code) with a chief, so unit and staff both carry phones.
    code = next(c for c, rs in by_grid.items() if len(c) == 9 and all(r["phone"] for r in rs))
    return code, by_grid[code]


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response, json.loads(response.content)


# ------------------------------------------------------------------------------------------
# /api/v1/grids


@pytest.mark.parametrize("level", [1, 2, 3])
def test_grid_list_per_level(anon_client, level):
    _, fc = get_json(anon_client, f"/api/v1/grids?level={level}")
    assert fc["type"] == "FeatureCollection"
    feats = fc["features"]
    assert len(feats) == EXPECTED_COUNTS[level]
    assert len(feats) == sum(1 for p in dataset_grids() if p["level"] == level)
    assert len({f["properties"]["code"] for f in feats}) == len(feats)
    from_file = {str(p["code"]): p for p in dataset_grids() if p["level"] == level}
    for f in feats:
        props = f["properties"]
        assert f["type"] == "Feature"
        assert PROPERTIES <= set(props), set(props)
        assert props["level"] == level
        src = from_file[props["code"]]
        assert (props["name"], props["kind"], str(props["parent_code"])) == (src["name"], src["kind"], str(src["parent_code"]))
        assert props["unit"] == (src.get("unit") or None)
        assert props["area_m2"] > 0
        geom = shapely.geometry.shape(f["geometry"])
        assert geom.geom_type in ("Polygon", "MultiPolygon") and geom.is_valid and not geom.is_empty
    if level > 1:
        parents = {g.code for g in Grid.objects.filter(edition__status="active", level=level - 1)}
        assert {f["properties"]["parent_code"] for f in feats} <= parents


def test_grid_list_area_matches_database(anon_client):
    _, fc = get_json(anon_client, "/api/v1/grids?level=2")
    db = dict(Grid.objects.filter(edition__status="active", level=2).values_list("code", "area_m2"))
    for f in fc["features"]:
        assert f["properties"]["area_m2"] == pytest.approx(db[f["properties"]["code"]], abs=0.1)


def test_simplify_keeps_count_and_shrinks_payload(anon_client):
    full, fc_full = get_json(anon_client, "/api/v1/grids?level=2")
    simple, fc_simple = get_json(anon_client, "/api/v1/grids?level=2&simplify=20")
    assert [f["properties"]["code"] for f in fc_simple["features"]] == [f["properties"]["code"] for f in fc_full["features"]]
    assert len(simple.content) < 0.8 * len(full.content)
    coords = sum(len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))) for f in fc_simple["features"])
    coords_full = sum(len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))) for f in fc_full["features"])
    assert coords < coords_full
    for f in fc_simple["features"]:
        assert not shapely.geometry.shape(f["geometry"]).is_empty, f["properties"]["code"]


def test_bbox_filters(anon_client):
    d = 0.002
    bbox = (SEAT[0] - d, SEAT[1] - d, SEAT[0] + d, SEAT[1] + d)
    _, fc = get_json(anon_client, "/api/v1/grids?level=1&bbox=" + ",".join(map(str, bbox)))
    names = {f["properties"]["name"] for f in fc["features"]}
    assert "城关街道" in names
    assert "金峪镇" not in names
    _, all_fc = get_json(anon_client, "/api/v1/grids?level=1")
    assert len(fc["features"]) < len(all_fc["features"])
    box = shapely.box(*bbox)
    # Exactly the features whose extent meets the box.
    expected = {
        f["properties"]["code"] for f in all_fc["features"]
        if shapely.box(*shapely.geometry.shape(f["geometry"]).bounds).intersects(box)
    }
    assert {f["properties"]["code"] for f in fc["features"]} == expected


def test_bbox_outside_the_county_is_empty(anon_client):
    _, fc = get_json(anon_client, "/api/v1/grids?level=1&bbox=100,20,100.1,20.1")
    assert fc["features"] == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("level=5", "level"),
        ("level=x", "level"),
        ("level=0", "level"),
        ("bbox=110,35,111", "bbox"),
        ("bbox=110,35,111,36,1", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=110,35,111,nan", "bbox"),
        ("bbox=111,35,110,36", "bbox"),
        ("bbox=110,36,111,35", "bbox"),
        ("bbox=110,-95,111,36", "bbox"),
        ("bbox=-200,35,111,36", "bbox"),
        ("level=1&bbox=110,35", "bbox"),
        ("simplify=-1", "simplify"),
        ("simplify=abc", "simplify"),
    ],
)
def test_bad_list_parameters(anon_client, query, field):
    _, body = get_json(anon_client, f"/api/v1/grids?{query}", status=400)
    assert field in body["fields"], body
    assert body["fields"][field] and all(isinstance(m, str) and m for m in body["fields"][field])


# ------------------------------------------------------------------------------------------
# /api/v1/grids/{code}


def test_grid_detail(anon_client):
    code, staff = staffed_grid()
    grid = Grid.objects.select_related("unit").get(edition__status="active", code=code)
    _, body = get_json(anon_client, f"/api/v1/grids/{code}")
    assert body["code"] == code and body["name"] == grid.name and body["level"] == grid.level
    assert body["chain"][-1]["code"] == code
    assert [c["level"] for c in body["chain"]] == list(range(1, grid.level + 1))
    assert {c["code"] for c in body["children"]} == set(
        Grid.objects.filter(parent=grid).values_list("code", flat=True)
    )
    assert body["children"], "a level-1 grid has villages"
    assert body["unit"]["name"] == grid.unit.name
    assert {s["name"] for s in body["staff"]} == {r["name"] for r in staff}
    assert body["edition"]["status"] == "active"
    assert shapely.geometry.shape(body["geometry"]).is_valid


def test_grid_detail_chain_of_a_level3_grid(anon_client):
    grid = Grid.objects.select_related("parent__parent").filter(edition__status="active", level=3).first()
    _, body = get_json(anon_client, f"/api/v1/grids/{grid.code}")
    assert [c["code"] for c in body["chain"]] == [grid.parent.parent.code, grid.parent.code, grid.code]
    assert body["parent_code"] == grid.parent.code
    assert body["children"] == []


def _phones_in(obj) -> list:
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "phone":
                found.append(v)
            found.extend(_phones_in(v))
    elif isinstance(obj, list):
        for v in obj:
            found.extend(_phones_in(v))
    return found


def test_anonymous_sees_names_but_no_phones(anon_client):
    code, staff = staffed_grid()
    response, body = get_json(anon_client, f"/api/v1/grids/{code}")
    raw = response.content.decode()
    assert {s["name"] for s in body["staff"]} == {r["name"] for r in staff}
    assert "phone" not in raw
    for r in staff:
        assert r["phone"] not in raw
    unit_phone = Grid.objects.get(edition__status="active", code=code).unit.phone
    assert unit_phone and unit_phone not in raw


@pytest.mark.parametrize("username", PHONE_ROLES)
def test_roles_that_need_phones_see_them(client_as, username):
    code, staff = staffed_grid()
    response, body = get_json(client_as(username), f"/api/v1/grids/{code}")
    assert {s["name"]: s["phone"] for s in body["staff"]} == {r["name"]: r["phone"] for r in staff}
    assert body["unit"]["phone"] == Grid.objects.get(edition__status="active", code=code).unit.phone


@pytest.mark.parametrize("username", NO_PHONE_ROLES)
def test_roles_without_need_see_no_phones(client_as, username):
    code, staff = staffed_grid()
    response, body = get_json(client_as(username), f"/api/v1/grids/{code}")
    raw = response.content.decode()
    assert body["staff"] and _phones_in(body) == []
    assert "phone" not in raw
    for r in staff:
        assert r["phone"] not in raw


def test_role_sets_match_the_brief():
    assert {"admin", "dispatcher", "unit_staff", "grid_chief"} == set(roles.PERSONAL_DATA_ROLES)


def test_unknown_grid_is_json_404(anon_client):
    response, body = get_json(anon_client, "/api/v1/grids/999999999999", status=404)
    assert body["error"] and body["detail"]


def test_detail_of_a_draft_edition(anon_client, client_as, heyang_db):
    draft = editions.create_draft("detail draft")
    Grid.objects.filter(edition=draft, code="610524001").update(name="改名街道")
    # drafts are work in progress: hidden from the public, readable when signed in
    get_json(anon_client, f"/api/v1/grids/610524001?edition={draft.pk}", status=404)
    get_json(anon_client, f"/api/v1/locate?lon=110.1449&lat=35.2385&edition={draft.pk}", status=404)
    assert draft.pk not in [e["id"] for e in anon_client.get("/api/v1/editions").json()]
    assert draft.pk in [e["id"] for e in client_as("dispatcher").get("/api/v1/editions").json()]
    _, body = get_json(client_as("gridmember"), f"/api/v1/grids/610524001?edition={draft.pk}")
    assert body["name"] == "改名街道" and body["edition"]["id"] == draft.pk
    _, body = get_json(anon_client, "/api/v1/grids/610524001")
    assert body["name"] == "城关街道"
    _, body = get_json(anon_client, "/api/v1/grids/610524001?edition=x", status=400)
    assert "edition" in body["fields"]
    get_json(anon_client, "/api/v1/grids/610524001?edition=999999999", status=404)


# ------------------------------------------------------------------------------------------
# county, health, schema, docs


def test_county_outline(anon_client):
    _, fc = get_json(anon_client, "/api/v1/county")
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 1
    feature = fc["features"][0]
    county = json.loads((HEYANG / "county.geojson").read_text(encoding="utf-8"))["features"][0]
    assert feature["properties"]["code"] == str(county["properties"]["code"])
    assert feature["properties"]["name"] == county["properties"]["name"]
    geom = shapely.geometry.shape(feature["geometry"])
    assert geom.is_valid and geom.contains(shapely.Point(*SEAT))
    towns = shapely.union_all([g.geom.wkt and shapely.from_wkt(g.geom.wkt)
                               for g in Grid.objects.filter(edition__status="active", level=1)])
    assert shapely.area(shapely.symmetric_difference(geom, towns)) < 0.01 * geom.area


def _admin_client() -> Client:
    c = Client()
    c.force_login(User.objects.get(username="admin"))
    return c


def test_healthz(heyang_db):
    # The public learns only ok or not (docs/permissions.md); an admin sees the details.
    _, body = get_json(Client(), "/healthz")
    assert body == {"status": "ok", "database": {"ok": True}}
    response, body = get_json(_admin_client(), "/healthz")
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert re.match(r"\d+\.\d+", body["database"]["postgis"])
    assert body["dataset_loaded"] is True
    assert body["grids"] == {f"level{k}": v for k, v in EXPECTED_COUNTS.items()}
    assert body["edition"]["id"] == Edition.objects.get(status="active").pk


def test_healthz_without_a_dataset(db):
    Edition.objects.filter(status="active").update(status="retired")
    _, body = get_json(Client(), "/healthz")
    assert body == {"status": "degraded", "database": {"ok": True}}
    _, body = get_json(_admin_client(), "/healthz")
    assert body["dataset_loaded"] is False and body["status"] == "degraded"


def test_openapi_schema(anon_client):
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    for p in ("/api/v1/locate", "/api/v1/grids", "/api/v1/grids/{code}", "/api/v1/county"):
        assert p in schema["paths"], p
    assert "post" in schema["paths"]["/api/v1/locate"]
    params = {p["name"] for p in schema["paths"]["/api/v1/grids"]["get"]["parameters"]}
    assert {"level", "bbox", "simplify"} <= params
    # The default (YAML) form names the same paths.
    yaml_body = Client().get("/api/schema/").content.decode()
    assert "/api/v1/locate:" in yaml_body


def test_api_docs_use_local_assets_only(heyang_db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert any(u.endswith(".js") for u in urls), urls
    remote = [u for u in urls if re.match(r"(?i)^(https?:)?//", u)]
    assert remote == []
    assert not re.search(r"""(?i)["'(]\s*(https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", html.replace("://testserver", ""))
    for u in urls:
        if u.startswith("/static/"):
            assert Client().get(u).status_code == 200, u


# ------------------------------------------------------------------------------------------
# admin


def admin_client(username: str) -> Client:
    c = Client()
    c.force_login(User.objects.get(username=username))
    return c


def test_admin_grid_list_and_pages(heyang_db):
    c = admin_client("admin")
    response = c.get("/admin/boundaries/grid/")
    assert response.status_code == 200
    assert "610524001" in response.content.decode()

    active_grid = Grid.objects.get(edition__status="active", code="610524001")
    page = c.get(f"/admin/boundaries/grid/{active_grid.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert active_grid.name in html
    # Posting anyway changes nothing.
    c.post(f"/admin/boundaries/grid/{active_grid.pk}/change/", {"name": "黑客街道"})
    active_grid.refresh_from_db()
    assert active_grid.name == "城关街道"

    draft = editions.create_draft("admin draft")
    draft_grid = Grid.objects.get(edition=draft, code="610524001")
    page = c.get(f"/admin/boundaries/grid/{draft_grid.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' in html
    scripts = re.findall(r"""<script[^>]+src=["']([^"']+)["']""", html)
    assert any("leaflet" in s.lower() for s in scripts), scripts
    assert 'name="geom"' in html


def test_admin_refuses_non_staff(heyang_db):
    c = admin_client("gridmember")
    response = c.get("/admin/boundaries/grid/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    anon = Client().get("/admin/boundaries/grid/")
    assert anon.status_code == 302 and anon["Location"].startswith("/admin/login/")


# ------------------------------------------------------------------------------------------
# demo accounts and tokens


def test_create_demo_users_is_idempotent(heyang_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; same logic
    names = [u for u, _, _ in DEMO_USERS]
    assert len(names) == 7
    call_command("create_demo_users", quiet=True)
    users_before, groups_before = User.objects.count(), Group.objects.count()
    out = StringIO()
    call_command("create_demo_users", stdout=out)
    assert (User.objects.count(), Group.objects.count()) == (users_before, groups_before)
    assert User.objects.filter(username__in=names).count() == 7
    for username, role, _ in DEMO_USERS:
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.check_password(f"{username}-demo")
        assert username in out.getvalue()
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ALL_ROLES)


def test_token_auth_for_locate(heyang_db):
    out = StringIO()
    call_command("drf_create_token", "dispatcher", stdout=out)
    match = re.search(r"\b([0-9a-f]{40})\b", out.getvalue())
    assert match, out.getvalue()
    key = match.group(1)
    body = {"crs": "wgs84", "points": [list(SEAT)]}

    anon = APIClient().post("/api/v1/locate", body, format="json")
    assert anon.status_code == 401
    assert anon["Content-Type"].startswith("application/json")
    assert json.loads(anon.content)["error"]
    assert anon["WWW-Authenticate"].startswith("Token")

    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert bad.post("/api/v1/locate", body, format="json").status_code == 401

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post("/api/v1/locate", body, format="json")
    assert response.status_code == 200, response.content[:300]
    data = json.loads(response.content)
    assert data["count"] == 1
    assert data["results"][0]["grids"][0]["code"] == "610524001"
    # The dispatcher sees phones through the token too.
    assert _phones_in(data)


def test_not_found_errors_are_named(anon_client):
    for url in ("/api/v1/editions/999999", "/api/v1/grids/123"):
        r = anon_client.get(url)
        assert r.status_code == 404 and r.json()["error"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/reports/-1", "/api/v1/no-such-thing", "/api/nothing/here"])
def test_unknown_api_paths_answer_json_404(anon_client, path):
    from django.test import Client

    r = Client(raise_request_exception=False).get(path)
    assert r.status_code == 404
    assert r["Content-Type"].startswith("application/json") and r.json()["error"] == "not_found"


def test_unknown_page_keeps_an_html_404(anon_client):
    from django.test import Client

    r = Client().get("/no-such-page/")
    assert r.status_code == 404 and r["Content-Type"].startswith("text/html")

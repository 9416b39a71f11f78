"""The permission matrix (gisgrid/accounts/policy.py) against the URL configuration and the running app.

Built from the URL configuration: an endpoint or page without a declared rule fails here, and so
does a rule for a route that no longer exists. Then every cell is a test of its own: each role
(and anonymous, and a phone with its device token on the track endpoints) calls each endpoint
and page with each method it declares, and gets 2xx (or the page's redirect) where the matrix
says yes or own, 401/403 (a login redirect on pages) where it says no. The personal-data table
is checked the same way, by looking for the actual names, phone numbers and points in answers.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import shapely
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from gisgrid.accounts import policy, roles
from gisgrid.accounts.models import UnitMembership
from gisgrid.boundaries import diff, editing, editions
from gisgrid.boundaries.models import Grid, Person
from gisgrid.incidents.models import Category, Report
from gisgrid.incidents.reports import create_report
from gisgrid.patrols.ingest import auth, pipeline
from gisgrid.patrols.ingest.records import Fix
from gisgrid.patrols.models import Device

ROOT_DOC = "docs/permissions.md"
SEAT = (110.1449, 35.2385)
USERNAMES = {roles.ADMIN: "admin", roles.DISPATCHER: "dispatcher", roles.UNIT_STAFF: "unitstaff",
             roles.GRID_MEMBER: "gridmember", roles.INSPECTOR: "inspector", roles.GRID_CHIEF: "gridchief",
             roles.PLANNER: "planner"}
REPORTER = ("赵举报", "13700001111")
OTHER_REPORTER = ("孙群众", "13600002222")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


# -- the URL configuration --------------------------------------------------------------------

def _walk(resolver: URLResolver, prefix: str = ""):
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            # Django's own admin: its permissions are Django's (is_staff + model permissions),
            # not this project's roles; it is tested by Django, and reached only by staff.
            if getattr(p, "app_name", None) == "admin":
                continue
            yield from _walk(p, route)
        else:
            yield route, p


def _routes() -> list[tuple[str, URLPattern]]:
    # Static files are served by nginx (deploy/nginx.conf.template), never by a Django route in
    # production; under DEBUG staticfiles would add one, which the matrix does not cover.
    return [(r, p) for r, p in _walk(get_resolver()) if not r.startswith("static/")]


def _declared_methods(callback) -> set[str] | None:
    """The methods a class-based view answers (None for a function view: not introspectable)."""
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is None:
        return None
    names = [m for m in getattr(callback, "view_initkwargs", {}).get("http_method_names", cls.http_method_names)]
    found = {m.upper() for m in names if m in ("get", "post", "put", "patch", "delete") and hasattr(cls, m)}
    if cls.__module__.startswith("django.contrib.auth") and "PUT" in found:
        found.discard("PUT")  # Django's form views alias PUT to POST; no client uses it
    return found


def _display(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + ("id" if m[1] == "pk" else m[1]) + "}", route)


def test_every_route_has_a_rule_and_every_rule_a_route():
    seen: set[tuple[str, str]] = set()
    missing = []
    for route, p in _routes():
        assert p.name, f"route {route!r} has no URL name: the matrix keys on names"
        rules = [r for r in policy.RULES if r.name == p.name]
        if not rules:
            missing.append(f"{p.name} ({route})")
            continue
        assert {r.route for r in rules} == {_display(route)}, (p.name, route)
        methods = _declared_methods(p.callback)
        if methods is not None:
            assert {r.method for r in rules} == methods, (p.name, methods)
        seen.update((r.name, r.method) for r in rules)
    assert not missing, f"no rule in gisgrid/accounts/policy.py for: {', '.join(missing)}"
    assert set(policy.BY_KEY) == seen, f"rules without a route: {sorted(set(policy.BY_KEY) - seen)}"


def test_docs_are_generated_from_the_table():
    assert (Path(__file__).resolve().parent.parent / ROOT_DOC).read_text(encoding="utf-8") == policy.markdown(), \
        "docs/permissions.md differs: run `python -m gisgrid.accounts.policy > docs/permissions.md`"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted({r.name for r in policy.RULES if r.route.startswith(("/api/v1/", "/healthz"))
                                         or r.name in ("map", "planner", "patrols", "index")}))
def test_undeclared_methods_are_refused(name, heyang_db):
    """A method the matrix does not declare is not answered at all: an admin passes every role
    check, so anything but 405 (or 403 from a view that enforces the matrix, where an undeclared
    method is a refused one) would be an undeclared door."""
    rules = [r for r in policy.RULES if r.name == name]
    url = _url_for(rules[0], World())
    client = APIClient()
    client.force_login(User.objects.get(username="admin"))
    for method in HTTP_METHODS:
        if method in {r.method for r in rules}:
            continue
        r = client.generic(method, url)
        assert r.status_code in (403, 405), (name, method, r.status_code)


# -- what each request needs --------------------------------------------------------------------

@dataclass
class World:
    """Data the probes read, made on first use inside the test's transaction (rolled back)."""

    _cache: dict = field(default_factory=dict)

    def _once(self, key: str, make: Callable):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def active(self):
        return self._once("active", editions.active_edition)

    @property
    def level3(self) -> Grid:
        def make():
            g = Grid.objects.filter(edition=self.active, level=3, geom__contains=f"SRID=4326;POINT({SEAT[0]} {SEAT[1]})")
            return g.get()
        return self._once("level3", make)

    @property
    def draft(self):
        """A draft with one edit made (so undo has something to undo) and two open reports
        filed before it whose grids it changes (so its diff lists them)."""
        def make():
            d = editions.create_draft("权限矩阵 matrix")
            g = Grid.objects.get(edition=d, code=self.level3.code)
            shape = shapely.from_wkt(g.geom.wkt)
            editing.set_geometry(d, g.code, shape.buffer(-2e-5), version=d.version)
            d.refresh_from_db()
            return d
        return self._once("draft", make)

    def report(self, key: str, category: str, point=SEAT, reporter=REPORTER) -> Report:
        return self._once(key, lambda: create_report(
            user=None, category=Category.objects.get(code=category), lon=point[0], lat=point[1], crs="wgs84",
            reporter_name=reporter[0], reporter_phone=reporter[1]))

    @property
    def own_report(self) -> Report:  # lead unit 县城市管理执法局, the demo unit staff's unit
        return self.report("own", "E0501")

    @property
    def other_report(self) -> Report:  # lead unit 县住房和城乡建设局
        return self.report("other", "E0301", reporter=OTHER_REPORTER)

    @property
    def blind_points(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Two distinct points inside the largest blind spot of the active edition."""
        def make():
            spot = max(diff.blind_spots(self.active), key=lambda b: b["area_m2"])["geometry"]
            a = shapely.point_on_surface(spot)
            b = shapely.point_on_surface(shapely.difference(spot, a.buffer(2e-5)))
            return (a.x, a.y), (b.x, b.y)
        return self._once("blind_points", make)

    def person(self, username: str) -> Person | None:
        role = {"inspector": "inspector", "gridmember": "grid_member", "gridchief": "grid_chief"}.get(username)
        if role is None:
            return None

        def make():
            p = Person.objects.filter(role=role).order_by("pk").first()
            p.user = User.objects.get(username=username)
            p.save()
            return p
        return self._once(f"person-{username}", make)

    @property
    def device(self) -> tuple[Device, str]:
        def make():
            dev = Device(identifier="matrix-phone", person=self.person("inspector"))
            token = auth.set_token(dev)
            dev.save()
            return dev, token
        return self._once("device", make)

    @property
    def walks(self) -> dict[str, tuple[float, float]]:
        """A fix an hour ago from the inspector's and the grid member's phones: username -> point."""
        def make():
            out = {}
            for username, lon in (("inspector", 110.15011), ("gridmember", 110.15377)):
                ident = f"matrix-{username}"
                dev = Device(identifier=ident, person=self.person(username))
                auth.set_token(dev)
                dev.save()
                t = timezone.now() - dt.timedelta(hours=1)
                pipeline.ingest([Fix(ident, 35.2377, lon, t + dt.timedelta(seconds=10 * i)) for i in range(3)],
                                {ident: dev}, source="batch")
                out[username] = (lon, 35.2377)
            return out
        return self._once("walks", make)


def _period() -> dict:
    now = timezone.localtime()
    return {"start": (now - dt.timedelta(days=2)).replace(microsecond=0).isoformat(),
            "end": (now + dt.timedelta(hours=1)).replace(microsecond=0).isoformat()}


GPX = b"""<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
<trkpt lat="35.2377" lon="110.1496"><time>2026-05-01T08:00:00Z</time></trkpt>
<trkpt lat="35.2378" lon="110.1497"><time>2026-05-01T08:00:10Z</time></trkpt></trkseg></trk></gpx>"""


@dataclass
class Probe:
    method: str
    url: str
    data: dict | None = None
    format: str | None = None
    ok: frozenset = frozenset({200})
    why: str = ""  # why a non-2xx answer proves the caller was let in


def _url_for(rule: policy.Rule, w: World) -> str:
    return _probe(rule, w, roles.ADMIN).url.split("?")[0]


def _probe(rule: policy.Rule, w: World, principal: str) -> Probe:
    """The request a principal makes to exercise `rule`: cheap, and successful when allowed."""
    api = "/api/v1/"
    user = USERNAMES.get(principal, "")
    key = (rule.name, rule.method)
    if key == ("grid-list", "GET"):
        return Probe("GET", api + "grids?level=1&simplify=200")
    if key == ("grid-detail", "GET"):
        return Probe("GET", f"{api}grids/{w.level3.code}")
    if key == ("county", "GET"):
        return Probe("GET", api + "county")
    if key == ("locate", "GET"):
        return Probe("GET", f"{api}locate?lon={SEAT[0]}&lat={SEAT[1]}")
    if key == ("locate", "POST"):
        return Probe("POST", api + "locate", {"points": [list(SEAT)]}, "json")
    if key == ("geocode", "GET"):
        return Probe("GET", api + "geocode?q=泰山社区")
    if key == ("category-list", "GET"):
        return Probe("GET", api + "categories")
    if key == ("route", "GET"):
        return Probe("GET", f"{api}route?lon={SEAT[0]}&lat={SEAT[1]}&category=E0501")
    if key == ("blind-spots", "GET"):
        return Probe("GET", api + "blind-spots")
    if key == ("edition-list", "GET"):
        return Probe("GET", api + "editions")
    if key == ("edition-list", "POST"):
        return Probe("POST", api + "editions", {"name": "矩阵草稿"}, "json", frozenset({201}))
    if key == ("edition-detail", "GET"):
        return Probe("GET", f"{api}editions/{w.active.pk}")
    if key == ("edition-validation", "GET"):
        return Probe("GET", f"{api}editions/{w.active.pk}/validation")
    if rule.name == "edition-diff":
        return Probe("GET", f"{api}editions/{w.draft.pk}/diff")
    if rule.name == "edition-diff-geojson":
        return Probe("GET", f"{api}editions/{w.draft.pk}/diff.geojson")
    if rule.name == "edition-changes":
        return Probe("GET", f"{api}editions/{w.draft.pk}/changes")
    if rule.name == "edition-import":
        # A real import replaces a level of the draft and validates it (seconds); without a file
        # the answer is the handler's 400 naming `file`, which only an authorised caller reaches.
        return Probe("POST", f"{api}editions/{w.draft.pk}/import", {}, "multipart", frozenset({400}),
                     "file")
    if rule.name == "edition-publish":
        # Publishing switches the county's active edition under every other test of the session;
        # a stale version is refused by the handler (409), past the permission check.
        return Probe("POST", f"{api}editions/{w.draft.pk}/publish", {"version": w.draft.version + 1}, "json",
                     frozenset({409}), "stale")
    if rule.name == "edition-edit":
        return Probe("POST", f"{api}editions/{w.draft.pk}/undo", {"version": w.draft.version}, "json")
    if key == ("report-list", "GET"):
        return Probe("GET", api + "reports")
    if key == ("report-list", "POST"):
        return Probe("POST", api + "reports", {"category": "E0501", "lon": SEAT[0], "lat": SEAT[1],
                                               "reporter_name": "矩阵", "reporter_phone": "13800000000"},
                     "json", frozenset({201}))
    if key == ("report-detail", "GET"):
        return Probe("GET", f"{api}reports/{w.own_report.pk}")
    if rule.name in ("track-osmand", "track-positions"):
        dev, token = w.device if principal == policy.DEVICE else (None, None)
        ts = int(timezone.now().timestamp()) - 60
        if rule.name == "track-positions":
            body = {"device_id": "matrix-phone", "positions": [{"timestamp": ts, "lat": 35.2377, "lon": 110.1496}]}
            if token:
                body["token"] = token
            return Probe("POST", api + "track/positions", body, "json")
        q = f"id=matrix-phone&lat=35.2377&lon=110.1496&timestamp={ts}" + (f"&token={token}" if token else "")
        if rule.method == "GET":
            return Probe("GET", f"{api}track/osmand?{q}")
        return Probe("POST", f"{api}track/osmand?{q}", {}, "multipart")
    if rule.name == "track-gpx":
        own = w.person(user) if user else None
        who = own.pk if own is not None else w.person("inspector").pk
        return Probe("POST", api + "track/gpx", {"file": io.BytesIO(GPX), "person": str(who)}, "multipart")
    if rule.name == "track-devices":
        return Probe("GET", api + "track/devices")
    if rule.name == "track-rejected":
        return Probe("GET", api + "track/rejected")
    if rule.name in ("patrol-coverage", "patrol-schedule", "patrols-live", "patrols-sessions"):
        path = {"patrol-coverage": "patrols/coverage", "patrol-schedule": "patrols/schedule",
                "patrols-live": "patrols/live", "patrols-sessions": "patrols/sessions"}[rule.name]
        if user:
            w.person(user)  # a grid member's scope is the person linked to the account
        if rule.name in ("patrol-coverage", "patrols-sessions"):
            p = _period()
            return Probe("GET", f"{api}{path}?start={p['start']}&end={p['end']}".replace("+", "%2B"))
        return Probe("GET", api + path)
    if rule.name == "patrols-track":
        own = w.person(user) if user else None
        who = own.pk if own is not None else w.person("inspector").pk
        p = _period()
        return Probe("GET", f"{api}patrols/track?person={who}&start={p['start']}&end={p['end']}".replace("+", "%2B"))
    if rule.name == "schema":
        return Probe("GET", "/api/schema/?format=json")
    if rule.name == "api-docs":
        return Probe("GET", "/api/docs/")
    if rule.name == "healthz":
        return Probe("GET", "/healthz")
    if rule.name in ("map", "planner", "patrols"):
        if rule.name == "patrols" and user:
            w.person(user)  # patrol scope comes from the account's person
        return Probe("GET", f"/{rule.name}/")
    if rule.name == "index":
        return Probe("GET", "/", ok=frozenset({302}), why="redirect to /map/")
    if key == ("login", "GET"):
        return Probe("GET", "/accounts/login/")
    if key == ("login", "POST"):
        # A wrong password re-renders the form (200): the page is open, the account is not.
        return Probe("POST", "/accounts/login/", {"username": "nobody", "password": "wrong"})
    if rule.name == "logout":
        return Probe("POST", "/accounts/logout/", {}, ok=frozenset({302}), why="redirect to the map")
    if rule.name == "set_language":
        return Probe("POST", "/i18n/setlang/", {"language": "en", "next": "/map/"}, ok=frozenset({302}),
                     why="redirect back")
    from tests.test_case_api_matrix import case_probe  # the case loop's rules (issue 11)

    found = case_probe(rule, w, principal)
    if found is not None:
        return found
    from tests.test_assessment_matrix import assessment_probe  # issue 13

    found = assessment_probe(rule, w, principal)
    if found is not None:
        return found
    from tests.test_case_stats import stats_probe  # issue 12: figures, points, /dispatch/, /dashboard/

    found = stats_probe(rule, w, principal)
    if found is not None:
        return found
    from tests.test_push_audience import push_probe  # issue 12: the event endpoints

    found = push_probe(rule, w, principal)
    if found is not None:
        return found
    raise AssertionError(f"no probe for {key}: add one with the rule")


def _client(principal: str, api: bool):
    client = APIClient() if api else Client()
    if principal in USERNAMES:
        user = User.objects.get(username=USERNAMES[principal])
        if api:
            client.force_authenticate(user)
        else:
            client.force_login(user)
    return client


def _send(client, probe: Probe):
    if probe.method == "GET":
        return client.get(probe.url)
    if probe.format == "json":
        return client.post(probe.url, probe.data, format="json") if isinstance(client, APIClient) \
            else client.post(probe.url, probe.data, content_type="application/json")
    return client.post(probe.url, probe.data or {})


CELLS = [pytest.param(r, p, id=f"{r.name}-{r.method}-{p}")
         for r in policy.RULES for p in policy.PRINCIPALS if r.cells[p] != policy.NA]


@pytest.mark.parametrize(("rule", "principal"), CELLS)
def test_cell(rule: policy.Rule, principal: str, heyang_db):
    w = World()
    probe = _probe(rule, w, principal)
    is_api = rule.route.startswith("/api/")
    r = _send(_client(principal, is_api), probe)
    allowed = rule.cells[principal] in policy.ALLOWED
    body = r.content.decode("utf-8", "replace")[:600]
    if allowed:
        assert r.status_code in probe.ok, (probe.url, r.status_code, body)
        if probe.why and r.status_code >= 400:
            assert probe.why in body, body
        return
    device_endpoint = rule.cells[policy.DEVICE] != policy.NA
    if not is_api:
        if principal == policy.ANONYMOUS:
            assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), (r.status_code, body)
        else:
            assert r.status_code == 403, (r.status_code, body)
    elif principal == policy.ANONYMOUS or device_endpoint:
        # The track endpoints take no session or API token: without a device token, 401.
        assert r.status_code == 401, (probe.url, r.status_code, body)
    else:
        assert r.status_code == 403, (probe.url, r.status_code, body)


# -- personal data --------------------------------------------------------------------------------

def _get(principal: str, url: str, params: dict | None = None):
    if url.startswith("/api/"):
        return _client(principal, True).get(url, params or {})
    return _client(principal, False).get(url, params or {})


FIELD_CELLS = [pytest.param(f, p, id=f"{f.key}-{p}") for f in policy.FIELDS for p in policy.PEOPLE]


@pytest.mark.parametrize(("fld", "principal"), FIELD_CELLS)
def test_personal_data(fld: policy.Field, principal: str, heyang_db):
    w = World()
    cell = fld.cells[principal]
    check = {"staff_name": _staff_names, "staff_phone": _staff_phones, "reporter": _reporters, "report": _reports,
             "patrol_positions": _positions, "health_details": _health}[fld.key]
    check(w, principal, cell)


def _staff(w: World):
    people = Person.objects.filter(assignments__grid_code=w.level3.code, active=True).exclude(phone="")
    assert people.exists(), "the grid at the county seat has staff with phones"
    return list(people)


def _staff_answers(w: World, principal: str) -> list[str]:
    return [_get(principal, f"/api/v1/grids/{w.level3.code}").content.decode(),
            _get(principal, "/api/v1/locate", {"lon": SEAT[0], "lat": SEAT[1]}).content.decode(),
            _get(principal, "/api/v1/route", {"lon": SEAT[0], "lat": SEAT[1], "category": "E0501"}).content.decode()]


def _staff_names(w: World, principal: str, cell: str):
    people = _staff(w)
    for text in _staff_answers(w, principal):
        assert all(p.name in text for p in people) is (cell == policy.YES), text[:300]


def _staff_phones(w: World, principal: str, cell: str):
    people = _staff(w)
    unit_phone = w.level3.unit.phone if w.level3.unit_id else ""
    for text in _staff_answers(w, principal):
        assert any(p.phone in text for p in people) is (cell == policy.YES), text[:300]
    unit = _get(principal, f"/api/v1/grids/{w.level3.code}").json()["unit"]
    assert unit is not None and ("phone" in unit) is (cell == policy.YES)
    if cell == policy.YES and unit_phone:
        assert unit["phone"] == unit_phone


def _reporters(w: World, principal: str, cell: str):
    own, other = w.own_report, w.other_report
    texts = {rid: _get(principal, f"/api/v1/reports/{rid}").content.decode() for rid in (own.pk, other.pk)}
    listing = _get(principal, "/api/v1/reports").content.decode()
    sees_own = cell in policy.ALLOWED
    sees_other = cell == policy.YES
    for text in (texts[own.pk], listing):
        assert (REPORTER[0] in text and REPORTER[1] in text) is sees_own, text[:300]
    for text in (texts[other.pk], listing):
        assert (OTHER_REPORTER[0] in text or OTHER_REPORTER[1] in text) is sees_other, text[:300]


def _point_text(x: float) -> str:
    return repr(float(x))


def _reports(w: World, principal: str, cell: str):
    """Reports and their exact points: in /reports, in /blind-spots items and in a diff's items."""
    own, other = w.own_report, w.other_report
    blind_own = w.report("blind-own", "E0501", w.blind_points[0])
    blind_other = w.report("blind-other", "E0102", w.blind_points[1])
    draft = w.draft  # after the reports: the edit touches their grid, so the diff lists them
    answers = {
        "list": _get(principal, "/api/v1/reports"),
        "own": _get(principal, f"/api/v1/reports/{own.pk}"),
        "other": _get(principal, f"/api/v1/reports/{other.pk}"),
        "blind": _get(principal, "/api/v1/blind-spots"),
        "diff": _get(principal, f"/api/v1/editions/{draft.pk}/diff"),
    }
    assert answers["blind"].status_code == 200  # the areas are public

    def items(kind):
        r = answers[kind]
        if r.status_code != 200:
            return {}
        data = r.json()
        found = [i for f in data["features"] for i in f["properties"]["items"]] if kind == "blind" \
            else data["items_affected"]
        return {i["id"]: i for i in found if i.get("type") == "report"}

    blind, moved = items("blind"), items("diff")
    if cell == policy.NO:
        for kind, r in answers.items():
            text = r.content.decode()
            for rep in (own, other, blind_own, blind_other):
                assert _point_text(rep.point.x) not in text, (kind, rep.pk)
        assert not blind and not moved
        assert answers["list"].status_code in (401, 403) and answers["own"].status_code in (401, 403)
        return
    assert answers["own"].status_code == 200
    assert answers["own"].json()["wgs84"] == [own.point.x, own.point.y]
    listed = {r["id"] for r in answers["list"].json()}
    assert blind_own.pk in blind and blind[blind_own.pk]["point"] == [blind_own.point.x, blind_own.point.y]
    assert own.pk in moved
    if cell == policy.YES:
        assert answers["other"].status_code == 200
        assert {own.pk, other.pk, blind_own.pk, blind_other.pk} <= listed
        assert blind_other.pk in blind and other.pk in moved
    else:  # own: a unit's staff, the reports routed to their unit only
        assert answers["other"].status_code == 404
        assert own.pk in listed and blind_own.pk in listed
        assert other.pk not in listed and blind_other.pk not in listed
        assert blind_other.pk not in blind and other.pk not in moved
        assert _point_text(blind_other.point.x) not in answers["blind"].content.decode()


def _positions(w: World, principal: str, cell: str):
    walks = w.walks
    r = _get(principal, "/api/v1/patrols/live")
    text = r.content.decode()
    shown = {u: _point_text(p[0]) in text for u, p in walks.items()}
    if cell == policy.NO:
        assert r.status_code in (401, 403) and not any(shown.values())
    elif cell == policy.YES:
        assert r.status_code == 200 and all(shown.values()), text[:300]
    else:  # a grid member: their own position only
        assert r.status_code == 200 and shown == {"inspector": False, "gridmember": True}, text[:300]


def _health(w: World, principal: str, cell: str):
    body = _get(principal, "/healthz").json()
    assert body["status"] == "ok" and body["database"]["ok"] is True
    assert ("postgis" in body["database"]) is (cell == policy.YES)
    assert ("edition" in body) is (cell == policy.YES)
    if cell != policy.YES:
        assert set(body) == {"status", "database"} and set(body["database"]) == {"ok"}


def test_health_details_with_an_admin_token(heyang_db):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=User.objects.get(username="admin"))
    body = Client().get("/healthz", HTTP_AUTHORIZATION=f"Token {token.key}").json()
    assert body["database"]["postgis"] and body["dataset_loaded"] is True
    body = Client().get("/healthz", HTTP_AUTHORIZATION="Token not-a-token").json()
    assert set(body["database"]) == {"ok"}


def test_unit_staff_without_a_unit_read_no_reports(heyang_db):
    w = World()
    own = w.own_report
    UnitMembership.objects.filter(user__username="unitstaff").delete()
    c = _client(roles.UNIT_STAFF, True)
    assert c.get("/api/v1/reports").json() == []
    assert c.get(f"/api/v1/reports/{own.pk}").status_code == 404


def test_assisting_unit_reads_the_report(heyang_db):
    """Unit staff read the reports their unit assists with, reporter included."""
    w = World()
    other = w.other_report
    cgj = UnitMembership.objects.get(user__username="unitstaff").unit
    other.assisting_units.add(cgj)
    r = _client(roles.UNIT_STAFF, True).get(f"/api/v1/reports/{other.pk}")
    assert r.status_code == 200 and r.json()["reporter"]["phone"] == OTHER_REPORTER[1]
    assert [x["id"] for x in _client(roles.UNIT_STAFF, True).get("/api/v1/reports").json()].count(other.pk) == 1

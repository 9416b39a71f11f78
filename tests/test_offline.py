"""Every page works with the network cut: a real browser opens every page, the API's browsable
views and every admin changelist, add form and change form with each request to a host other
than the loopback aborted, and fails on any such request, on a page script error and on a
missing static file. Forms with geometry fields must show their map (django-leaflet's widget
on the project's own Leaflet): Django's default geometry widget fetches OpenLayers from a CDN.

The admin's pages come from admin.site._registry, so a newly registered model is opened here
without anyone listing it; a model without a row gets one from `any_row()` (or the test names it).
"""

from __future__ import annotations

import io
import re
import time
from urllib.parse import urlencode, urlparse
from urllib.request import urlopen

import pytest
from django.contrib import admin
from django.contrib.gis.db import models as gis_models
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon
from django.core.management import call_command
from django.db import models
from django.test import Client, RequestFactory
from django.urls import URLPattern, reverse
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from gisgrid.web import urls as web_urls

TIMEOUT_MS = 30_000
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Within the county's urban grids: patrol fixes and reports land inside an active grid.
LON, LAT = 110.1449, 35.2385
# Pages whose script raises a flag once its map and first data are drawn.
READY_FLAG = {"/map/": "mapReady", "/planner/": "plannerReady", "/patrols/": "patrolsReady"}


class Browsing:
    """One browser context; every request off the loopback is aborted and recorded."""

    def __init__(self, browser, live_server, session_cookie: str | None):
        self.base = live_server.url
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(TIMEOUT_MS)
        if session_cookie:
            self.context.add_cookies([{"name": "sessionid", "value": session_cookie, "url": self.base}])
        self.blocked: list[tuple[str, str]] = []   # (page, url)
        self.failed: list[tuple[str, str, int]] = []  # (page, url, status) of our own files
        self.errors: list[tuple[str, str]] = []
        self.current = ""
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append((self.current, str(e))))
        self.page.on("response", self._response)

    def _route(self, route) -> None:
        host = urlparse(route.request.url).hostname
        if host in LOOPBACK:
            route.continue_()
        else:
            self.blocked.append((self.current, route.request.url))
            route.abort("internetdisconnected")

    def _response(self, response) -> None:
        # A vendored file missing from static/ would show up here rather than as a CDN request.
        if response.status >= 400 and urlparse(response.url).path.startswith("/static/"):
            self.failed.append((self.current, response.url, response.status))

    def open(self, path: str) -> int:
        self.current = path
        response = self.page.goto(self.base + path, wait_until="networkidle")
        assert response is not None, path
        flag = READY_FLAG.get(urlparse(self.page.url).path)  # after redirects (anonymous → login)
        if flag and response.status == 200:
            self.page.wait_for_function(f"document.documentElement.dataset.{flag} === '1'")
        return response.status

    def close(self) -> None:
        self.context.close()


def geometry_fields(model) -> list[str]:
    return [f.name for f in model._meta.fields if isinstance(f, gis_models.GeometryField)]


def sample_geometry(field) -> GEOSGeometry:
    """A value for a geometry column of any type, inside the county seat."""
    ring = Polygon.from_bbox((LON - 0.001, LAT - 0.001, LON + 0.001, LAT + 0.001))
    geom = {"POINT": Point(LON, LAT), "POLYGON": ring, "MULTIPOLYGON": MultiPolygon(ring)}.get(
        field.geom_type, Point(LON, LAT))
    geom.srid = field.srid
    return geom


def any_row(model):
    """A row for a model the scenario below did not fill: required columns get a plain value,
    foreign keys the first row of their model. Fails, naming the model, when that is not enough."""
    values = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.has_default() or f.null or getattr(f, "auto_now", False) \
                or getattr(f, "auto_now_add", False):
            continue
        if isinstance(f, models.ForeignKey):
            related = f.related_model.objects.order_by("pk").first()
            assert related is not None, f"{model._meta.label}.{f.name}: no {f.related_model._meta.label} row"
            values[f.name] = related
        elif isinstance(f, gis_models.GeometryField):
            values[f.name] = sample_geometry(f)
        elif f.choices:
            values[f.name] = f.choices[0][0]
        elif isinstance(f, models.BooleanField):
            values[f.name] = False
        elif isinstance(f, models.IntegerField | models.FloatField | models.DecimalField):
            values[f.name] = 1
        elif isinstance(f, models.DateTimeField):
            from django.utils import timezone

            values[f.name] = timezone.now()
        elif isinstance(f, models.DateField):
            from django.utils import timezone

            values[f.name] = timezone.localdate()
        elif isinstance(f, models.CharField | models.TextField):
            values[f.name] = "offline-test"[: f.max_length or None]
        elif isinstance(f, models.JSONField):
            values[f.name] = {}
        elif isinstance(f, models.FileField) and f.blank:
            values[f.name] = ""
        else:
            pytest.fail(f"{model._meta.label}: no row and no way to make one for {f.name} ({type(f).__name__}); "
                        "add one to seed_every_model() in tests/test_offline.py")
    return model.objects.create(**values)


def seed_every_model(live_server, admin_user) -> None:
    """A row behind every admin change form, made the way the system makes them where it can."""
    from rest_framework.authtoken.models import Token

    from gisgrid.boundaries.models import Person
    from gisgrid.incidents.models import Category
    from gisgrid.incidents.reports import create_report

    category = Category.objects.filter(active=True).order_by("code").first()
    create_report(user=admin_user, category=category, lon=LON, lat=LAT, crs="wgs84",
                  reporter_name="离线测试", reporter_phone="13800000000", description="断网检查")
    Token.objects.get_or_create(user=admin_user)

    # A phone through the OsmAnd protocol: three fixes make a session, a fourth with a 500 m
    # accuracy is rejected and kept in quarantine.
    person = Person.objects.filter(active=True).order_by("pk").first()
    out = io.StringIO()
    call_command("register_device", "offline-phone-01", "--person", str(person.pk), "--quiet", stdout=out)
    token = out.getvalue().strip()
    start = int(time.time()) - 3600
    for i, hdop in enumerate((5, 5, 5, 500)):
        query = urlencode({"id": "offline-phone-01", "token": token, "lat": LAT + i * 0.0002, "lon": LON,
                           "timestamp": start + 60 * i, "hdop": hdop})
        with urlopen(f"{live_server.url}/api/v1/track/osmand?{query}", timeout=30) as r:
            assert r.status == 200
    call_command("refresh_patrols", stdout=io.StringIO())

    for model in admin.site._registry:
        if not model._default_manager.exists():
            any_row(model)


def admin_pages(admin_user) -> list[tuple[str, str, type | None, object | None]]:
    """(path, kind, model, object) for the index and every registered model's changelist, add
    form (where adding is allowed) and the change form of its first row."""
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    pages = [("/admin/", "index", None, None)]
    for model, model_admin in admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append((reverse(f"{name}_changelist"), "changelist", model, None))
        if model_admin.has_add_permission(request):
            pages.append((reverse(f"{name}_add"), "add", model, None))
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"{model._meta.label}: no row to open its change form"
        pages.append((reverse(f"{name}_change", args=[obj.pk]), "change", model, obj))
    return pages


def editable_geometry_fields(model, obj, admin_user) -> list[str]:
    """The geometry fields a form shows as inputs (not read-only text): each needs a map."""
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    if obj is None and not model_admin.has_add_permission(request):
        return []
    if obj is not None and not model_admin.has_change_permission(request, obj):
        return []
    form = model_admin.get_form(request, obj, change=obj is not None)
    return [name for name in geometry_fields(model) if name in form.base_fields]


def site_pages() -> list[str]:
    """The site's own pages (every parameterless route of gisgrid.web and of the case loop's
    pages) and the shared ones."""
    from gisgrid.cases import urls as case_urls

    own = [f"/{p.pattern}" for p in web_urls.urlpatterns if isinstance(p, URLPattern) and "<" not in str(p.pattern)]
    own += [f"/{p.pattern}" for p in case_urls.urlpatterns
            if isinstance(p, URLPattern) and "<" not in str(p.pattern) and not str(p.pattern).startswith("api/")]
    return sorted(set(own) | {"/accounts/login/", "/api/docs/", "/api/v1/editions", "/api/v1/categories"})


@pytest.fixture
def admin_user(heyang_live, live_server):
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="offline-admin", defaults={"is_staff": True, "is_superuser": True})
    seed_every_model(live_server, user)
    return user


def session_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def report(b: Browsing) -> str:
    lines = [f"blocked {url} (from {page})" for page, url in b.blocked]
    lines += [f"static {status} {url} (from {page})" for page, url, status in b.failed]
    lines += [f"script error on {page}: {err}" for page, err in b.errors]
    return "\n".join(lines)


@pytest.mark.browser
def test_pages_ask_nothing_of_other_hosts(browser, live_server, admin_user):
    anonymous = Browsing(browser, live_server, None)
    signed_in = Browsing(browser, live_server, session_for(admin_user))
    try:
        opened = []
        for b in (anonymous, signed_in):
            for path in site_pages():
                status = b.open(path)
                assert status < 400, f"{path}: {status}"
                opened.append(path)
        # The pages that draw a map drew it from the vendored Leaflet.
        for path in READY_FLAG:
            signed_in.open(path)
            assert signed_in.page.locator(".leaflet-container").count() >= 1, path
        problems = report(anonymous) + report(signed_in)
        assert not problems, problems
    finally:
        anonymous.close()
        signed_in.close()
    assert {"/map/", "/planner/", "/patrols/", "/api/docs/", "/accounts/login/", "/cases/", "/cases/phone/"} <= set(opened)


@pytest.mark.browser
def test_every_admin_page_works_offline_with_its_maps(browser, live_server, admin_user):
    b = Browsing(browser, live_server, session_for(admin_user))
    maps_seen, missing_maps = 0, []
    try:
        pages = admin_pages(admin_user)
        for path, kind, model, obj in pages:
            status = b.open(path)
            assert status == 200, f"{path}: {status}"
            if kind not in ("add", "change"):
                continue
            for name in editable_geometry_fields(model, obj, admin_user):
                container = b.page.locator(f".field-{name} .leaflet-container")
                try:
                    container.first.wait_for(state="visible", timeout=5_000)
                except PlaywrightTimeout:
                    missing_maps.append(f"{path}: field {name} has no Leaflet map")
                    continue
                assert container.count() == 1, f"{path}: field {name} has {container.count()} maps"
                # The draw toolbar is django-leaflet's, served from our static files.
                assert b.page.locator(f".field-{name} .leaflet-draw").count() == 1, f"{path}: {name} cannot be drawn"
                maps_seen += 1
        problems = "\n".join([report(b), *missing_maps]).strip()
        assert not problems, problems
    finally:
        b.close()
    registered = {model for model in admin.site._registry}
    opened = {model for _path, kind, model, _obj in pages if kind == "change"}
    assert opened == registered
    # Grid (add), Place (point and area, add and change), Report (add and change) at least.
    assert maps_seen >= 6, maps_seen


@pytest.mark.django_db
def test_no_admin_form_names_an_outside_address():
    """Without a browser: each editable admin form's geometry widgets are Leaflet ones, and no
    form's media (scripts, style sheets) points at another host."""
    from django.contrib.auth.models import User
    from leaflet.forms.widgets import LeafletWidget

    request = RequestFactory().get("/admin/")
    request.user = User(username="media-check", is_active=True, is_staff=True, is_superuser=True)
    problems = []
    for model, model_admin in admin.site._registry.items():
        if not (model_admin.has_add_permission(request) or model_admin.has_change_permission(request)):
            continue  # view-only: every field is shown as text, no widget (the browser test checks the pages)
        form = model_admin.get_form(request, None)
        for name in geometry_fields(model):
            field = form.base_fields.get(name)
            if field is not None and not isinstance(field.widget, LeafletWidget):
                problems.append(f"{model._meta.label}.{name}: {type(field.widget).__name__}")
        media = str(model_admin.media + form().media)
        problems += [f"{model._meta.label}: {url}" for url in re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', media)]
    assert not problems, problems

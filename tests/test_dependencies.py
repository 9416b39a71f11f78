"""Dependencies earn their place, and the ones chosen for a job do it.

- Every runtime dependency in pyproject.toml is imported by gisgrid/, every test dependency by
  tests/, every npm package is vendored and loaded by a page; the few exceptions are listed with
  the reason and a check that the reason still holds (a stale exception fails too).
- DATABASE_URL goes through dj-database-url: the query string reaches libpq.
- The API's JSON is written by orjson (gisgrid/renderers.py) and reads back as the standard
  renderer's would, Chinese unescaped, NaN as null.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import math
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import OperationalError
from django.db.utils import ConnectionHandler
from rest_framework.renderers import JSONRenderer

from gisgrid import settings as gisgrid_settings
from gisgrid.renderers import OrjsonRenderer, dumps

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FRONTEND = ROOT / "frontend"
RUN_SCRIPT = (ROOT / "run").read_text()

# Declared but not (necessarily) imported, each with why and a check that the why still holds.
RUNTIME_NOT_IMPORTED: dict[str, tuple[str, Callable[[], bool]]] = {
    "gunicorn": ("the WSGI server `./run serve` starts as a program",
                 lambda: '"$VENV/bin/gunicorn" gisgrid.wsgi:application' in RUN_SCRIPT),
    "whitenoise": ("serves static files, named as a middleware string",
                   lambda: "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE),
    "drf-spectacular-sidecar": ("Swagger UI's files for /api/docs/, served as static files (no CDN)",
                                lambda: "drf_spectacular_sidecar" in settings.INSTALLED_APPS
                                and settings.SPECTACULAR_SETTINGS.get("SWAGGER_UI_DIST") == "SIDECAR"),
}
TEST_NOT_IMPORTED: dict[str, tuple[str, Callable[[], bool]]] = {
    "pytest-django": ("a pytest plugin, loaded by its entry point",
                      lambda: "DJANGO_SETTINGS_MODULE" in PYPROJECT["tool"]["pytest"]["ini_options"]),
    "ruff": ("the linter `./run test` runs as a program", lambda: "/bin/ruff\" check" in RUN_SCRIPT),
    "openapi-python-client": ("the standard OpenAPI generator tests/test_generated_client.py runs as a program",
                              lambda: '"openapi-python-client"' in (ROOT / "tests" / "test_generated_client.py").read_text()),
}
# npm packages vendored but not yet loaded by a page, with why.
NPM_NOT_LOADED: dict[str, str] = {}  # markercluster: loaded by /dispatch/ since issue 12


def dist_name(requirement: str) -> str:
    """`psycopg[binary]>=3.2` -> `psycopg` (PEP 503 normalised)."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def modules_of(dist: str) -> set[str]:
    """The top-level import names an installed distribution provides."""
    found = {m for m, dists in importlib.metadata.packages_distributions().items()
             if dist in {dist_name(d) for d in dists}}
    assert found, f"{dist} is declared but not installed (pip install -e '.[test]')"
    return found


def imported_modules(*dirs: Path) -> set[str]:
    """Top-level names of every absolute import in the Python files under `dirs`."""
    names: set[str] = set()
    for d in dirs:
        for path in d.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names


def check_used(declared: list[str], imported: set[str], exceptions: dict) -> list[str]:
    problems = []
    for requirement in declared:
        dist = dist_name(requirement)
        used = bool(modules_of(dist) & imported)
        if dist in exceptions:
            why, still_true = exceptions[dist]
            if not still_true():
                problems.append(f"{dist}: the reason it is kept no longer holds: {why}")
        elif not used:
            problems.append(f"{dist} is declared but never imported: use it for what it is for, or remove it")
    problems += [f"{d}: an exception for a dependency no longer declared" for d in exceptions
                 if d not in {dist_name(r) for r in declared}]
    return problems


def test_every_runtime_dependency_is_used_by_the_app():
    declared = PYPROJECT["project"]["dependencies"]
    problems = check_used(declared, imported_modules(ROOT / "gisgrid"), RUNTIME_NOT_IMPORTED)
    assert not problems, "\n".join(problems)


def test_every_test_dependency_is_used_by_the_tests():
    declared = PYPROJECT["project"]["optional-dependencies"]["test"]
    problems = check_used(declared, imported_modules(ROOT / "tests"), TEST_NOT_IMPORTED)
    assert not problems, "\n".join(problems)


def test_the_unused_dependency_check_catches_one():
    # The check itself must be able to fail: a declared package nothing imports.
    problems = check_used(["tqdm>=4", "orjson"], {"orjson"}, {})
    assert problems == ["tqdm is declared but never imported: use it for what it is for, or remove it"]


def test_installed_apps_are_declared():
    declared = set()
    for requirement in PYPROJECT["project"]["dependencies"]:
        declared |= modules_of(dist_name(requirement))
    undeclared = [app for app in settings.INSTALLED_APPS
                  if app.split(".")[0] not in declared | {"gisgrid"}]
    assert not undeclared, undeclared


def test_every_npm_package_is_pinned_vendored_and_loaded():
    wanted = json.loads((FRONTEND / "package.json").read_text())["dependencies"]
    lock = json.loads((FRONTEND / "package-lock.json").read_text())["packages"]
    vendor_sh = (FRONTEND / "vendor.sh").read_text()
    pages = "\n".join(p.read_text() for p in (FRONTEND / "templates").rglob("*.html"))
    problems = []
    for name, version in wanted.items():
        if lock.get(f"node_modules/{name}", {}).get("version") != version:
            problems.append(f"{name}: package.json says {version}, package-lock.json {lock.get(f'node_modules/{name}')}")
        if f"$nm/{name}/" not in vendor_sh:
            problems.append(f"{name}: not copied by vendor.sh")
        loaded = f"vendor/{name.split('/')[-1].removesuffix('-free')}/" in pages
        if loaded == (name in NPM_NOT_LOADED):
            problems.append(f"{name}: loaded by a page={loaded}, listed as not loaded={name in NPM_NOT_LOADED}")
    assert not problems, "\n".join(problems)


# DATABASE_URL (dj-database-url)

def test_database_url_keeps_the_defaults_and_the_query_string(monkeypatch):
    monkeypatch.setenv("GISGRID_DB_CONNECT_TIMEOUT_S", "5")
    monkeypatch.setenv("GISGRID_DB_STATEMENT_TIMEOUT_MS", "30000")
    monkeypatch.delenv("GISGRID_DB_IDLE_TX_TIMEOUT_MS", raising=False)
    monkeypatch.setenv("GISGRID_DB_RANDOM_PAGE_COST", "1.5")
    db = gisgrid_settings._database_from_url(
        "postgresql://gis%40county:p%2Fss%3Aword@db.county.gov.cn:6543/grid%20db"
        "?sslmode=require&connect_timeout=10&options=-c%20search_path%3Dgis")
    assert db["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "gis@county", "p/ss:word", "db.county.gov.cn", "6543", "grid db")
    assert db["CONN_MAX_AGE"] == 600 and db["CONN_HEALTH_CHECKS"] is True
    # The URL's options win over the defaults; server options from both are kept.
    assert db["OPTIONS"]["sslmode"] == "require"
    assert db["OPTIONS"]["connect_timeout"] == 10
    assert db["OPTIONS"]["options"] == "-c random_page_cost=1.5 -c statement_timeout=30000 -c search_path=gis"


def test_database_url_defaults_to_the_machines_postgresql(monkeypatch):
    monkeypatch.delenv("GISGRID_DB_STATEMENT_TIMEOUT_MS", raising=False)
    monkeypatch.delenv("GISGRID_DB_IDLE_TX_TIMEOUT_MS", raising=False)
    monkeypatch.delenv("GISGRID_DB_CONNECT_TIMEOUT_S", raising=False)
    monkeypatch.delenv("GISGRID_DB_RANDOM_PAGE_COST", raising=False)
    db = gisgrid_settings._database_from_url("postgresql://")
    assert (db["USER"], db["HOST"], db["PORT"], db["NAME"]) == ("postgres", "127.0.0.1", "5432", "gisgrid")
    assert db["OPTIONS"] == {"connect_timeout": 5, "options": "-c random_page_cost=1.1"}
    # Empty: the server's own planner setting.
    monkeypatch.setenv("GISGRID_DB_RANDOM_PAGE_COST", "")
    assert gisgrid_settings._database_from_url("postgresql://")["OPTIONS"] == {"connect_timeout": 5}
    socket = gisgrid_settings._database_from_url("postgres:///gisgrid?host=/var/run/postgresql")
    assert socket["HOST"] == "/var/run/postgresql" and "host" not in socket["OPTIONS"]
    assert gisgrid_settings._database_from_url("postgresql://%2Frun%2Fpg/x")["HOST"] == "/run/pg"


def test_database_url_refuses_another_database():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="postgresql://"):
        gisgrid_settings._database_from_url("sqlite:///var/db.sqlite3")


def _connect(url: str):
    """A Django connection made from `url` to this run's test database."""
    db = gisgrid_settings._database_from_url(url)
    db["NAME"] = settings.DATABASES["default"]["NAME"]
    return ConnectionHandler({"default": db})["default"]


@pytest.mark.django_db
def test_database_url_options_reach_libpq():
    real = settings.DATABASES["default"]
    base = f"postgresql://{real['USER']}@{real['HOST']}:{real['PORT']}/x"
    conn = _connect(base + "?application_name=gisgrid-url-test&sslmode=disable")
    try:
        with conn.cursor() as c:
            c.execute("SELECT current_setting('application_name'), "
                      "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())")
            assert c.fetchone() == ("gisgrid-url-test", False)
    finally:
        conn.close()
    # sslmode=require: an encrypted connection where the server offers TLS, else libpq refuses.
    conn = _connect(base + "?sslmode=require")
    try:
        with conn.cursor() as c:
            c.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert c.fetchone() == (True,)
    except OperationalError as exc:
        assert "SSL" in str(exc), exc
    finally:
        conn.close()


# orjson renderer

def _both(data, accepted: str | None = None) -> tuple[bytes, bytes]:
    return (JSONRenderer().render(data, accepted, {}), OrjsonRenderer().render(data, accepted, {}))


def test_renderer_writes_what_the_standard_one_writes():
    import datetime
    import decimal
    import uuid

    from django.utils.translation import gettext_lazy

    data = {"name": "合阳县城关街道", "level": 3, "share": 0.125, "ok": True, "none": None,
            "at": datetime.datetime(2026, 11, 27, 8, 0, 1, 500, tzinfo=datetime.UTC),
            "local": datetime.datetime(2026, 11, 27, 16, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))),
            "day": datetime.date(2026, 11, 27), "money": decimal.Decimal("2.50"), "id": uuid.UUID(int=7),
            "label": gettext_lazy("网格"), "nested": [{"a": [1, 2, [3.5]]}], "tuple": (1, 2),
            "codes": {1: "镇街", 2: "村社区"}, "sep": "a\u2028b\u2029c"}
    stock, ours = _both(data)
    assert json.loads(ours) == json.loads(stock)
    assert "合阳县城关街道".encode() in ours  # UTF-8 as is, no \\u escapes
    assert b"\\u2028" in ours and b"\\u2029" in ours  # still valid JavaScript
    assert json.loads(ours)["at"] == "2026-11-27T08:00:01.000500Z"


def test_renderer_writes_numpy_and_non_finite_numbers():
    data = {"lon": np.float64(110.15), "n": np.int32(7), "flag": np.bool_(True),
            "points": np.array([[110.1, 35.2], [np.nan, np.inf]]),
            "strided": np.arange(12.0).reshape(3, 4)[:, ::2], "objects": np.array([{"k": 1}], dtype=object),
            "distance_m": float("inf"), "share": float("nan")}
    out = json.loads(dumps(data))  # json.loads refuses NaN/Infinity tokens: the output is strict JSON
    assert out == {"lon": 110.15, "n": 7, "flag": True, "points": [[110.1, 35.2], [None, None]],
                   "strided": [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]], "objects": [{"k": 1}],
                   "distance_m": None, "share": None}
    # The standard renderer raises on the same data (strict JSON): a 500 where orjson answers.
    with pytest.raises(ValueError):
        JSONRenderer().render({"d": float("inf")})


def test_renderer_beyond_64_bits_and_unknown_types():
    out = dumps({"big": 10 ** 30, "nan": float("nan"), "name": "合阳"})
    assert json.loads(out) == {"big": 10 ** 30, "nan": None, "name": "合阳"}
    assert "合阳".encode() in out

    class Opaque:
        pass

    with pytest.raises(TypeError, match="Opaque"):
        dumps({"x": Opaque()})


def test_renderer_indents_on_request():
    stock, ours = _both({"a": [1, {"b": "中"}]}, "application/json; indent=4")
    assert json.loads(ours) == json.loads(stock)
    assert b"\n" in ours and b"\n" not in OrjsonRenderer().render({"a": 1}, "application/json", {})


@pytest.mark.django_db
def test_api_answers_are_orjson(anon_client):
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is OrjsonRenderer
    r = anon_client.get("/api/v1/grids", {"level": 1})
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    fc = json.loads(r.content)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 14
    names = [f["properties"]["name"] for f in fc["features"]]
    assert all(n.encode() in r.content for n in names)  # Chinese unescaped
    # Identical to what DRF's own renderer makes of the same data.
    assert json.loads(JSONRenderer().render(r.data)) == fc
    assert all(math.isfinite(x) for f in fc["features"][:1] for x in np.ravel(f["geometry"]["coordinates"][0][0]))


@pytest.mark.django_db
def test_grid_detail_geometry_is_drf_gis_geojson(anon_client):
    from gisgrid.boundaries.models import Grid

    grid = Grid.objects.filter(edition__status="active", level=3).order_by("code").first()
    r = anon_client.get(f"/api/v1/grids/{grid.code}")
    assert r.status_code == 200
    geometry = r.json()["geometry"]
    assert geometry["type"] == "MultiPolygon"
    assert geometry == json.loads(grid.geom.geojson)

"""Django settings for gisgrid. Everything a deployment changes comes from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# Production mode (docs/operations.md, "Production start"): served behind the TLS proxy of
# deploy/nginx-tls.conf.template; `./run serve` turns it on when it terminates TLS.
GISGRID_PRODUCTION = os.environ.get("GISGRID_PRODUCTION", "0") == "1"
GISGRID_SECRET_KEY_FILE = Path(os.environ.get("GISGRID_SECRET_KEY_FILE", "") or BASE_DIR / "var" / "secret_key")


def _secret_key() -> tuple[str, str]:
    """(key, where it came from: env, file or ephemeral). One key per installation, never in
    the repo: the environment's GISGRID_SECRET_KEY, else the file `./run` makes at first use (var/secret_key, mode 0600, or
    GISGRID_SECRET_KEY_FILE). With neither, as under plain pytest or `manage.py` outside `./run`,
    a random key for this process alone: nothing signed by it (sessions, CSRF and password-reset
    tokens) outlives the process, and `check_production` refuses to serve with it. Production
    mode with no key is an error rather than a key that changes at every restart."""
    key = os.environ.get("GISGRID_SECRET_KEY", "").strip()
    if key:
        return key, "env"
    path = GISGRID_SECRET_KEY_FILE
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    except PermissionError as exc:
        raise ImproperlyConfigured(f"密钥文件不可读 (cannot read the secret key file {path}): run as its owner") from exc
    if key:
        return key, "file"
    if GISGRID_PRODUCTION:
        raise ImproperlyConfigured(
            f"没有密钥 (no secret key): set GISGRID_SECRET_KEY or start with ./run serve, which makes {path}")
    return secrets.token_urlsafe(50), "ephemeral"


SECRET_KEY, GISGRID_SECRET_KEY_SOURCE = _secret_key()
DEBUG = os.environ.get("GISGRID_DEBUG", "0") == "1"
if GISGRID_PRODUCTION:
    # nginx sets X-Forwarded-Proto to its own $scheme on every request it passes (it never
    # forwards a client's), and gunicorn listens on a unix socket only nginx can reach, so the
    # header can be trusted to say whether the phone or browser used HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # A year, as `check --deploy` asks; browsers then refuse plain HTTP to this host (and its
    # subdomains) even when a link says http://. GISGRID_HSTS_SECONDS=300 for a first trial.
    SECURE_HSTS_SECONDS = int(os.environ.get("GISGRID_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
ALLOWED_HOSTS = os.environ.get("GISGRID_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")


def _connection_options() -> dict:
    """libpq options: a connect timeout and the planner's random page cost always; statement
    and idle-in-transaction timeouts only when the environment sets them, which `./run serve`
    does for the served app (30 s, 60 s) so
    one slow query or a transaction left open cannot hold a connection, while management
    commands (load, validate, bench) run as long as they need (docs/operations.md)."""
    options = {"connect_timeout": int(os.environ.get("GISGRID_DB_CONNECT_TIMEOUT_S", "5"))}
    server = []
    # A county's database fits in memory (or on an SSD): a random page costs about what a
    # sequential one does. With PostgreSQL's default of 4 the work-order queue's filters on the
    # case (clock, text) flipped, from one ANALYZE sample to the next, between looking up the
    # unit's open orders' cases (25 ms) and scanning every case or report (60-140 ms)
    # (docs/operations.md, "Database settings"). GISGRID_DB_RANDOM_PAGE_COST= (empty) leaves
    # the server's own setting.
    cost = os.environ.get("GISGRID_DB_RANDOM_PAGE_COST", "1.1").strip()
    if cost:
        server.append(f"-c random_page_cost={float(cost)}")
    for env, guc in (("GISGRID_DB_STATEMENT_TIMEOUT_MS", "statement_timeout"),
                     ("GISGRID_DB_IDLE_TX_TIMEOUT_MS", "idle_in_transaction_session_timeout")):
        value = os.environ.get(env, "").strip()
        if value:
            server.append(f"-c {guc}={int(value)}")
    if server:
        options["options"] = " ".join(server)
    return options


def _database_from_url(url: str) -> dict:
    """DATABASES["default"] from a libpq URL, parsed by dj-database-url. The query string becomes
    connection options (`?sslmode=require`, `?connect_timeout=10`), given precedence over the
    defaults of `_connection_options()`; server `options` (`-c name=value`) from both are kept.
    Missing parts default to the machine's PostgreSQL (postgres@127.0.0.1:5432/gisgrid); a socket
    directory is written percent-encoded as the host (`postgresql://%2Fvar%2Frun%2Fpostgresql/gisgrid`)."""
    scheme = url.partition("://")[0].lower()
    if scheme not in ("postgres", "postgresql", "postgis", "pgsql"):
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgresql:// URL (PostGIS), not {scheme}://")
    parsed = dj_database_url.parse(
        url,
        engine="django.contrib.gis.db.backends.postgis",
        # Keep connections open across requests: a new connection per lookup is what makes
        # MapIt's point lookups cost tens of milliseconds.
        conn_max_age=600,
        # A connection broken by a PostgreSQL restart is noticed at the next request's first
        # query and replaced, so the server recovers with no restart (tests/test_server_faults.py).
        conn_health_checks=True,
    )
    defaults, from_url = _connection_options(), parsed.get("OPTIONS", {})
    options = {**defaults, **from_url}
    server = " ".join(o for o in (defaults.get("options"), from_url.get("options")) if o)
    if server:
        options["options"] = server
    # Django lets HOST override an OPTIONS host, so `?host=/run/postgresql` becomes the HOST.
    host = options.pop("host", None)
    parsed["OPTIONS"] = options
    parsed["NAME"] = parsed["NAME"] or "gisgrid"
    parsed["USER"] = parsed["USER"] or "postgres"
    parsed["HOST"] = parsed["HOST"] or (str(host) if host else "127.0.0.1")
    parsed["PORT"] = str(parsed["PORT"] or 5432)
    return parsed


DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gisgrid")
DATABASES = {"default": _database_from_url(DATABASE_URL)}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "gisgrid.accounts",
    "gisgrid.audit",
    "gisgrid.push",
    "gisgrid.boundaries",
    "gisgrid.incidents",
    "gisgrid.patrols",
    "gisgrid.workdays",
    "gisgrid.cases",
    "gisgrid.assessment",
    "gisgrid.open311",
    "gisgrid.datasets",
    "gisgrid.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A database failure in a plain view (pages, /healthz, admin) is a 503 with Retry-After.
    "gisgrid.db_errors.DatabaseFailureMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gisgrid.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "gisgrid.wsgi.application"
ASGI_APPLICATION = "gisgrid.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Debian 12 ships GDAL 3.6, which cannot block network access from spatial references; the
# importer reads only local files, so the warning is noted here rather than printed each run.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Vendored front-end libraries (copied from npm at build time by ./run): never a CDN at run time.
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
# Django's ModelBackend, with a session's user read together with its roles (one query).
AUTHENTICATION_BACKENDS = ["gisgrid.accounts.authentication.ModelBackend"]
LOGIN_REDIRECT_URL = "/map/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "gisgrid.accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["gisgrid.accounts.policy.ReadOnlyUnlessSignedIn"],
    # orjson: several times faster on the big answers (all grids, batch locate); same JSON.
    # JSON only: the browsable HTML pages are not an API answer (docs/bad-input.md); a client
    # asking for HTML gets JSON (gisgrid.renderers.JsonUnlessAsked). /api/docs/ is the browser's.
    "DEFAULT_RENDERER_CLASSES": ["gisgrid.renderers.OrjsonRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "gisgrid.renderers.JsonUnlessAsked",
    # drf-spectacular's, with each operation's security read from the permission matrix.
    "DEFAULT_SCHEMA_CLASS": "gisgrid.api_schema.AutoSchema",
    # DRF's defaults, with a JSON body nested too deeply refused as a 400 (gisgrid/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "gisgrid.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "gisgrid.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "gisgrid API",
    "DESCRIPTION": "网格化管理平台 API: grids, locate (ticket routing by location), editions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Shared components (GeoJSON geometry, ApiError) and every operation's error answers.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "gisgrid.api_schema.postprocess"],
    "ENUM_NAME_OVERRIDES": {
        "FeatureTypeEnum": "gisgrid.api_schema.FEATURE",
        "FeatureCollectionTypeEnum": "gisgrid.api_schema.FEATURE_COLLECTION",
        "EditionStatusEnum": "gisgrid.api_schema.EDITION_STATUS",
        "LocateStatusEnum": "gisgrid.api_schema.LOCATE_STATUS",
        "CrsEnum": "gisgrid.boundaries.datums.CRS_CHOICES",
        "ReportStatusEnum": "gisgrid.incidents.schema.REPORT_STATUS",
    },
}

# Map: a basemap is optional (Tianditu needs a key; county networks are often closed).
# With none set, the map shows the grid polygons alone.
# Read raw here and checked by gisgrid/web/basemap.py (a system check at start; a malformed value
# means no basemap, never a crash). Datum: wgs84 | cgcs2000 (Tianditu) | gcj02 (AMap, Tencent).
GISGRID_BASEMAP_URL = os.environ.get("GISGRID_BASEMAP_URL", "")
GISGRID_BASEMAP_ATTRIBUTION = os.environ.get("GISGRID_BASEMAP_ATTRIBUTION", "")
GISGRID_BASEMAP_DATUM = os.environ.get("GISGRID_BASEMAP_DATUM", "")
GISGRID_BASEMAP_SUBDOMAINS = os.environ.get("GISGRID_BASEMAP_SUBDOMAINS", "")
GISGRID_BASEMAP_MAX_ZOOM = os.environ.get("GISGRID_BASEMAP_MAX_ZOOM", "")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (35.2385, 110.1449),
    "DEFAULT_ZOOM": 10,
    # django-leaflet's widgets (admin geometry fields) draw unshifted WGS-84: a GCJ-02 basemap
    # would put them hundreds of metres off, so they get it only when it is WGS-84/CGCS2000.
    "TILES": [("底图", GISGRID_BASEMAP_URL, {"attribution": GISGRID_BASEMAP_ATTRIBUTION,
                                           **({"subdomains": GISGRID_BASEMAP_SUBDOMAINS.split(",")
                                               if "," in GISGRID_BASEMAP_SUBDOMAINS
                                               else GISGRID_BASEMAP_SUBDOMAINS}
                                              if GISGRID_BASEMAP_SUBDOMAINS.strip() else {})})]
    if GISGRID_BASEMAP_URL and GISGRID_BASEMAP_DATUM.strip().lower() in ("", "wgs84", "cgcs2000")
    else [],
}

GISGRID_COUNTY_CODE = os.environ.get("GISGRID_COUNTY_CODE", "610524")
GISGRID_COUNTY_NAME = os.environ.get("GISGRID_COUNTY_NAME", "合阳县")
GISGRID_DATASET_DIR = Path(os.environ.get("GISGRID_DATASET_DIR", BASE_DIR / "geodata" / "heyang"))
# Metric CRS for areas and distances: CGCS2000 / 3-degree Gauss-Kruger CM 111E.
GISGRID_METRIC_SRID = int(os.environ.get("GISGRID_METRIC_SRID", "4546"))
GISGRID_LOCATE_MAX_POINTS = 100_000
GISGRID_NEAR_BOUNDARY_M = 20.0

# Patrols (docs/patrols.md). Filters follow Traccar's names; each threshold None = off.
GISGRID_PATROL_FILTERS = {
    # More than 5 min ahead of the server clock: phone clocks drift by seconds, while a fix hours
    # ahead is a time zone mistake that would show up live with a negative age.
    "future_s": float(os.environ.get("GISGRID_PATROL_FUTURE_S", "300")),
    "max_age_days": 30,       # older than this (phones do upload days late; a month is plenty)
    "max_accuracy_m": 100.0,  # reported accuracy (or hdop from OsmAnd) worse than this
    "min_period_s": 1.0,      # closer in time than this to the fix before it
    "max_speed_mps": 15.0,    # implied speed to its neighbours in time (walking, cycling, e-bike)
    "jitter_m": 20.0,         # GPS jitter forgiven before implied speed is judged
}
GISGRID_PATROL_SESSION_GAP_S = 600  # a pause longer than this ends a patrol session
GISGRID_PATROL_RADIUS_M = 30.0      # a grid's area within this distance of a track counts as seen
GISGRID_PATROL_IDLE = {"radius_m": 50.0, "min_s": 600}  # within 50 m for 10 min = idle stretch
# The inspectors' duty (DOMAIN): every urban level-3 grid visited at least once a week.
# Passes the periodic job (run_clocks) runs after the clock pass, as dotted paths.
GISGRID_PERIODIC_PASSES = ["gisgrid.assessment.schedule.periodic_pass"]
GISGRID_PATROL_SCHEDULE = {"role": "inspector", "level": 3, "urban_only": True, "every_days": 7, "min_visits": 1}
GISGRID_GPX_MAX_BYTES = 10 * 1024 * 1024
GISGRID_PATROL_COVERAGE_MAX_FIXES = 2_000_000  # per coverage request; beyond it a 400 asks for a shorter period

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GISGRID_LOG_LEVEL", "INFO")},
}

# Photos and signed documents of cases (originals are staff-only; docs/cases-api.md). Served by
# the app's own views with permission checks, never as static files.
MEDIA_ROOT = Path(os.environ.get("GISGRID_MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"

# A batch locate of 100,000 points is ~3 MB of JSON; bigger bodies get a 400 before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

# Each test run gets its own database, so several runs (developers, CI, helpers) never
# collide; GISGRID_TEST_DB pins a name.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("GISGRID_TEST_DB", f"test_gisgrid_{os.getpid()}")}

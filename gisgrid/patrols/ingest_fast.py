"""A lean WSGI door onto `GET /api/v1/track/osmand`, the phones' one-fix-per-request path.

Why a second door: phones send one fix per HTTP request, hundreds a second for one county, and
each such request is tiny (decode, a cached token check, a hand-off to the group committer).
Django's middleware stack and DRF's request/response machinery then cost more server time than
the fix itself (profiled under `./run bench load`: the request path, not the database, is what
bounds a 2-core box). This door answers exactly that request, GET with the fields in the query,
before Django's handler; everything else, POSTs to the same URL included, goes through the DRF
view (`ingest_api.OsmAndView`), which also documents the endpoint in the OpenAPI schema.

It is a door, not a second implementation: decoding (ingest/osmand.py), authentication, time
localisation, group commit and the pipeline (`ingest_api.ingest_request`), the answer
(`ingest_api.outcomes_body`), every error (`api_errors.error_answer`, the API's one mapping) and
the JSON writer (`api_errors.render`, the API renderer's) are the view's own functions. What
Django's stack would add and matters here is done here too: the host check (ALLOWED_HOSTS), the
request_started/request_finished signals (database connections are checked and recycled as for
any request), the language of error messages (LocaleMiddleware's choice: the language cookie,
then Accept-Language), and the security headers. tests/test_osmand_fast_path.py asserts that
both doors answer the same requests alike; tests/test_errors.py, that their errors are the same
bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from types import SimpleNamespace

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import get_str_from_wsgi
from django.http import QueryDict, parse_cookie
from django.http.request import split_domain_port, validate_host
from django.utils import timezone, translation

from gisgrid.errors import BadRequest, ServerError, Text

log = logging.getLogger(__name__)

OSMAND_PATH = "/api/v1/track/osmand"

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 413: "Payload Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}
# What SecurityMiddleware adds to every answer with the project's settings.
_SECURITY_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                     ("Cross-Origin-Opener-Policy", "same-origin")]


def with_osmand_fast_path(app: WSGIApp) -> WSGIApp:
    """`app` with OsmAnd GETs answered by this module first."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == OSMAND_PATH:
            return osmand_get(environ, start_response)
        return app(environ, start_response)

    return application


def osmand_get(environ: dict, start_response: Callable) -> list[bytes]:
    """Answer one OsmAnd GET as OsmAndView.get would."""
    signals.request_started.send(sender=__name__, environ=environ)
    try:
        status, body, headers = _answer(environ)
    finally:
        signals.request_finished.send(sender=__name__)
    from gisgrid.api_errors import render

    data = render(body)
    start_response(f"{status} {_REASONS.get(status, '')}".rstrip(), [
        ("Content-Type", "application/json"), ("Content-Length", str(len(data))),
        *headers.items(), *_SECURITY_HEADERS])
    return [data]


def _answer(environ: dict) -> tuple[int, dict, dict[str, str]]:
    # Imported here: this module is loaded by gisgrid.wsgi before Django's apps are ready.
    from .ingest import osmand
    from .ingest_api import header_token, ingest_request, outcomes_body

    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return _error(environ, BadRequest(Text(f"主机名不被允许：{host!r}", f"host not allowed: {host!r}"),
                                          field="Host", code="bad_host"))
    query = QueryDict(get_str_from_wsgi(environ, "QUERY_STRING", ""), encoding=settings.DEFAULT_CHARSET)
    params = {k: query.get(k, "") for k in query}
    now = timezone.now()
    try:
        decoded = osmand.decode(params, received_at=now)
        fallback = (params.get("token") or "").strip() or header_token(environ)
        result = ingest_request(decoded, fallback, now)
        return 200, outcomes_body(result, decoded.items), {}
    except Exception as exc:  # every exception becomes the API's JSON, as the view's handler does
        return _error(environ, exc)


def _error(environ: dict, exc: Exception) -> tuple[int, dict, dict[str, str]]:
    """The API's one mapping (api_errors.error_answer), in the language the request asks for."""
    from gisgrid.api_errors import error_answer

    with translation.override(_language(environ)):
        answer = error_answer(exc, {"request": SimpleNamespace(method="GET", path=OSMAND_PATH)})
        if answer is None:
            log.error("GET %s failed", OSMAND_PATH, exc_info=exc)
            answer = error_answer(ServerError())
    return answer.status, answer.body, answer.headers


def _language(environ: dict) -> str:
    """The language LocaleMiddleware would pick for this request: the language cookie, then
    Accept-Language, else the default (the project uses no language prefix in its URLs)."""
    request = SimpleNamespace(COOKIES=parse_cookie(environ.get("HTTP_COOKIE", "")), META=environ)
    return translation.get_language_from_request(request)

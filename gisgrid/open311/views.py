"""The GeoReport v2 endpoints at /open311/v2/ (plain Django views: the spec fixes their formats,
errors and authentication, none of which is the rest of the API's).

Every endpoint takes `jurisdiction_id` (optional: there is one, the county's code) and answers
in the format its extension names. Errors are the spec's list of {code, description}.
"""

from __future__ import annotations

import logging

from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from gisgrid.db_errors import database_failure
from gisgrid.errors import ServiceError, localize

from . import renderers, service

log = logging.getLogger(__name__)


def _describe(exc: ServiceError) -> str:
    reason = localize(exc.reason) or exc.code
    return f"{exc.field}: {reason}" if exc.field and not str(reason).startswith(exc.field) else str(reason)


def _answer(fmt: str, build) -> HttpResponse:
    """Run `build()` -> (root, data, status); family errors become the spec's error list."""
    try:
        root, data, status = build()
    except ServiceError as exc:
        return renderers.errors(fmt, exc.status, _describe(exc))
    except Exception as exc:
        failure = database_failure(exc)
        if failure is None:
            raise
        response = renderers.errors(fmt, 503, str(localize(failure.message)))
        response["Retry-After"] = str(failure.retry_after_s)
        return response
    return renderers.render(fmt, root, data, status)


@require_safe
def services(request: HttpRequest, format: str) -> HttpResponse:
    def build():
        service.check_jurisdiction(request.GET.get("jurisdiction_id"))
        return "services", service.services(), 200
    return _answer(format, build)


@require_safe
def service_definition(request: HttpRequest, code: str, format: str) -> HttpResponse:
    def build():
        service.check_jurisdiction(request.GET.get("jurisdiction_id"))
        return "service_definition", service.service_definition(code), 200
    return _answer(format, build)


@csrf_exempt  # clients authenticate with their api_key, not a browser session
@require_http_methods(["GET", "HEAD", "POST"])
def requests_(request: HttpRequest, format: str) -> HttpResponse:
    if request.method == "POST":
        def build():
            key = service.authenticate(request.POST.get("api_key"))
            case = service.submit(request.POST, request.FILES.getlist("media"), key=key)
            return "service_requests", [service.submitted(case)], 201
        return _answer(format, build)

    def build_list():
        service.check_jurisdiction(request.GET.get("jurisdiction_id"))
        cases = service.find_requests(request.GET)
        return "service_requests", [service.request_dict(c, request.build_absolute_uri) for c in cases], 200
    return _answer(format, build_list)


@require_safe
def request_detail(request: HttpRequest, id: str, format: str) -> HttpResponse:
    def build():
        service.check_jurisdiction(request.GET.get("jurisdiction_id"))
        return "service_requests", [service.request_dict(service.find_request(id), request.build_absolute_uri)], 200
    return _answer(format, build)


@require_safe
def media(request: HttpRequest, pk: int) -> HttpResponse:
    """`media_url` of a request: the EXIF-free copy of its first report photo."""
    try:
        f, content_type = service.media_file(pk)
        handle = f.open("rb")
    except ServiceError as exc:
        return renderers.errors("json", exc.status, _describe(exc))
    except OSError:
        return renderers.errors("json", 404, str(localize(service.NO_PHOTO)))
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def token(request: HttpRequest, token: str, format: str) -> HttpResponse:
    def build():
        service.check_jurisdiction(request.GET.get("jurisdiction_id"))
        case = service.find_token(token)
        return "service_requests", [{"service_request_id": case.number, "token": case.public_token}], 200
    return _answer(format, build)

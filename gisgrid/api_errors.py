"""The one place an exception becomes the API's JSON error: `error_answer`.

Every error under /api/ has one shape (gisgrid/errors.py, docs/errors.md):

    {"error": "<code>", "detail": "<message>", "fields": {"<field>": ["<reason>"]}, ...extra}

in the request's language. Services raise the error family (`ServiceError` and its kin); a
database failure worth retrying becomes its 503 (gisgrid/db_errors.py); DRF's own refusals
(validation, authentication, permissions, parsing, methods) are translated into the family
here. Three doors lead to this mapping and none has a handler of its own: DRF views
(`exception_handler`, the EXCEPTION_HANDLER setting), plain Django views and handler404/500
(`db_errors.error_response`), and the phones' lean WSGI door (`patrols/ingest_fast.py`), which
must answer byte for byte as the DRF view does (`render`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from gisgrid.db_errors import database_failure
from gisgrid.errors import INVALID_REQUEST, BadRequest, ServiceError, Text, TooLarge
from gisgrid.renderers import OrjsonRenderer, dumps

log = logging.getLogger(__name__)


class BadParameter(BadRequest):
    """400 naming one request parameter and why it is refused; raise from views and the thin
    parameter helpers (services raise `BadRequest(reason, field=...)` themselves)."""

    def __init__(self, field: str, reason: str | Text):
        super().__init__(reason, field=field, detail=INVALID_REQUEST)

    def body(self) -> dict:
        body = super().body()
        body["detail"] = str(INVALID_REQUEST)
        return body


# Codes for Django's own exceptions, which carry none of DRF's.
STATUS_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}
# Headers of DRF's answers that belong to the error (the rest is DRF's rendering business).
KEPT_HEADERS = ("www-authenticate", "retry-after", "allow")


@dataclass(frozen=True)
class Answer:
    """An error answer: status, the JSON body (already in the request's language), headers."""

    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(exc: BaseException, context: dict | None = None) -> Answer | None:
    """The API's answer to `exc`, in the active language; None for a bug (a 500, logged by
    Django with its traceback). `context` is DRF's (view, request) when there is one."""
    error = as_service_error(exc, context)
    if error is None:
        return None
    return Answer(error.status, error.body(), error.headers)


def as_service_error(exc: BaseException, context: dict | None = None) -> ServiceError | None:
    """`exc` as a member of the family, or None when it is a bug."""
    if isinstance(exc, ServiceError):
        return exc
    failure = database_failure(exc)
    if failure is not None:
        # PostgreSQL down or restarting, a statement timeout, a deadlock that escaped retries:
        # nothing was committed, so the client is told to retry (gisgrid/db_errors.py).
        request = (context or {}).get("request")
        log.warning("%s %s: %s (%s)", getattr(request, "method", "?"), getattr(request, "path", "?"), failure.code, exc)
        return failure.error()
    if isinstance(exc, RequestDataTooBig):
        # Django would answer with an HTML page; API clients get JSON naming the body.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return TooLarge(Text(f"请求体超过 {limit} MB", f"request body larger than {limit} MB"), field="body")
    if not context or "view" not in context:
        return None
    # DRF's own exceptions (and Django's Http404 / PermissionDenied, which DRF maps): DRF's
    # handler gives their status, headers and gettext-translated message, and rolls back.
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    headers = {k: v for k, v in response.items() if k.lower() in KEPT_HEADERS}
    data = response.data
    if isinstance(exc, ValidationError):
        return BadRequest(detail=INVALID_REQUEST, fields=data if isinstance(data, dict) else {"non_field_errors": data},
                          headers=headers)
    detail = data.get("detail", data) if isinstance(data, dict) else data
    code = getattr(exc, "default_code", None) or STATUS_CODES.get(response.status_code, "error")
    return ServiceError(detail=detail, code=code, status=response.status_code, headers=headers)


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every API view's errors, through `error_answer`."""
    answer = error_answer(exc, context)
    if answer is None:
        return None
    set_rollback()
    request = context.get("request")
    if request is not None:
        # An error is JSON whatever the client accepts (the browsable API's HTML, a CSV export).
        request.accepted_renderer, request.accepted_media_type = _JSON, _JSON.media_type
    return Response(answer.body, status=answer.status, headers=answer.headers or None)


_JSON = OrjsonRenderer()


def render(body: dict) -> bytes:
    """A JSON body as the API's renderer writes it (gisgrid/renderers.py), byte for byte."""
    return dumps(body)


def json_response(answer: Answer) -> HttpResponse:
    """`answer` for a plain Django view (no DRF Response to render it)."""
    response = HttpResponse(render(answer.body), status=answer.status, content_type="application/json")
    for name, value in answer.headers.items():
        response[name] = value
    return response


__all__ = ["Answer", "BadParameter", "as_service_error", "error_answer", "exception_handler", "json_response",
           "render", "status"]

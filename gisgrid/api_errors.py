"""Every API error is JSON naming the field and the reason; nothing escapes as a 500 page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from gisgrid.db_errors import database_failure, failure_body

log = logging.getLogger(__name__)


class BadParameter(ValidationError):
    """Raise with (field, reason) from any service layer wrapper to get a 400."""

    def __init__(self, field: str, reason: str):
        super().__init__({field: [reason]})


STATUS_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}


def exception_handler(exc, context):
    failure = database_failure(exc)
    if failure is not None:
        # PostgreSQL down or restarting, a statement timeout, a deadlock that escaped retries:
        # nothing was committed, so the client is told to retry (gisgrid/db_errors.py).
        request = context.get("request")
        log.warning("%s %s: %s (%s)", getattr(request, "method", "?"), getattr(request, "path", "?"), failure.code, exc)
        return Response(failure_body(failure), status=503, headers={"Retry-After": str(failure.retry_after_s)})
    if isinstance(exc, RequestDataTooBig):
        # Django would answer with an HTML page; API clients get JSON naming the body.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return Response({"error": "too_large", "detail": f"请求体超过 {limit} MB (request body larger than {limit} MB)",
                         "fields": {"body": [f"larger than {limit} MB"]}}, status=413)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, ValidationError):
        if isinstance(data, list):
            data = {"non_field_errors": data}
        body = {"error": "invalid", "detail": "请求参数有误 (invalid request)", "fields": data}
    else:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        # Django's Http404/PermissionDenied carry no DRF code: name them by status.
        code = getattr(exc, "default_code", None) or STATUS_CODES.get(response.status_code, "error")
        body = {"error": code, "detail": detail}
    return Response(body, status=response.status_code, headers=_headers(response))


def _headers(response) -> dict:
    return {k: v for k, v in response.items() if k.lower() in ("www-authenticate", "retry-after", "allow")}


__all__ = ["BadParameter", "exception_handler", "status"]

"""Failures a client should simply retry are answered 503 with Retry-After, never as an HTML 500.

PostgreSQL down or restarting, a statement cut off by `statement_timeout`, a deadlock that
escaped the pipeline's own retries: the request did not complete and nothing of it was
committed (each write runs in one transaction), so the answer tells phones and pages to come
back. The connection that failed is replaced at the next request (CONN_HEALTH_CHECKS), so the
server recovers by itself when the database does.

A failure is a member of the error family (`Unavailable`, gisgrid/errors.py) with its own code;
the API's one mapping (`api_errors.error_answer`) turns it into JSON. Three places meet it: the
DRF exception handler (gisgrid/api_errors.py) for API views, the middleware below for plain
Django views, and `server_error` (handler500) for whatever escapes elsewhere, e.g. a session
saved after the view answered; the last two answer JSON through the same mapping for /api/.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

import psycopg.errors as pg
from django.db import InterfaceError, InternalError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from gisgrid.errors import NotFound, ServerError, ServiceError, Text, Unavailable, localize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    code: str
    message: Text
    retry_after_s: int

    def error(self) -> Unavailable:
        """The failure as the family's 503, with Retry-After."""
        return Unavailable(self.message, code=self.code, headers={"Retry-After": str(self.retry_after_s)})


UNAVAILABLE = Failure("database_unavailable", Text("数据库暂不可用，请稍后重试", "database unavailable, retry later"), 5)
TIMEOUT = Failure("statement_timeout", Text("查询超时已取消，请缩小范围或稍后重试",
                                            "query took too long and was cancelled; narrow it or retry later"), 5)
BUSY = Failure("database_busy", Text("数据库繁忙，请重试", "database busy, retry"), 1)


def database_failure(exc: BaseException | None) -> Failure | None:
    """What to tell the client about `exc`, if it is a database failure worth retrying."""
    if not isinstance(exc, (OperationalError, InterfaceError, InternalError)):
        return None
    cause = exc.__cause__
    if isinstance(cause, pg.QueryCanceled):
        return TIMEOUT
    if isinstance(cause, (pg.DeadlockDetected, pg.SerializationFailure, pg.LockNotAvailable)):
        return BUSY
    if isinstance(exc, InternalError) and not isinstance(cause, pg.IdleInTransactionSessionTimeout):
        return None  # a genuine internal error is a bug, not something to retry
    return UNAVAILABLE


def failure_response(request: HttpRequest, failure: Failure) -> HttpResponse:
    return error_response(request, failure.error())


def error_response(request: HttpRequest, error: ServiceError) -> HttpResponse:
    """A plain Django view's answer to a family error: the API's JSON (through the one mapping,
    `api_errors`) for API clients, a small page for browsers."""
    if _wants_json(request):
        from gisgrid import api_errors  # api_errors imports this module

        return api_errors.json_response(api_errors.error_answer(error))
    response = HttpResponse(_page(str(localize(error.detail))), status=error.status,
                            content_type="text/html; charset=utf-8")
    for name, value in error.headers.items():
        response[name] = value
    return response


def _wants_json(request: HttpRequest) -> bool:
    path = request.path
    accept = request.headers.get("Accept", "")
    return path.startswith("/api/") or path == "/healthz" or ("json" in accept and "html" not in accept)


def _page(detail: str) -> str:
    lang = "en" if (translation.get_language() or "").startswith("en") else "zh-Hans"
    return (f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{detail}</title>'
            f"<p>{detail}</p></html>")


class DatabaseFailureMiddleware:
    """Plain Django views (pages, /healthz, the admin): a database failure becomes a 503."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        failure = database_failure(exc)
        if failure is None:
            return None
        log.warning("%s %s: %s (%s)", request.method, request.path, failure.code, exc)
        return failure_response(request, failure)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: JSON for the API, retryable database failures as 503; Django has already
    logged the traceback."""
    failure = database_failure(sys.exc_info()[1])
    return error_response(request, failure.error() if failure is not None else ServerError())


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: an unknown path or object under /api/ is JSON like every other API error;
    pages keep Django's page."""
    if _wants_json(request):
        return error_response(request, NotFound(Text("未找到", "not found")))
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)

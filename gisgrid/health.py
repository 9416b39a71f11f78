"""/healthz: is the service up. Everyone learns ok or not; admins also which PostgreSQL and
PostGIS, which edition is loaded and how many grids per level (docs/permissions.md).

The public learns nothing about the system's versions: a monitor needs only the status code and
`status`. A monitoring script that wants the details signs in as an admin with a token.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from rest_framework.exceptions import AuthenticationFailed

from gisgrid.accounts.authentication import TokenAuthentication
from gisgrid.accounts.roles import can_see_health_details

log = logging.getLogger(__name__)


def _caller(request):
    """The session's user, else a DRF token's, else anonymous (never an error: health answers)."""
    try:
        if request.user.is_authenticated:
            return request.user
        parts = request.META.get("HTTP_AUTHORIZATION", "").split()
        if len(parts) == 2 and parts[0].lower() == "token":
            return TokenAuthentication().authenticate_credentials(parts[1])[0]
    except (AuthenticationFailed, DatabaseError):
        pass
    return None


def _details_allowed(request) -> bool:
    user = _caller(request)
    try:
        return user is not None and can_see_health_details(user)
    except DatabaseError:
        return False


@never_cache
@require_safe
def healthz(request) -> JsonResponse:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT postgis_lib_version(), version()")
            postgis, pg = cur.fetchone()
            cur.execute(
                """
                SELECT e.id, e.name, g.level, count(g.id)
                FROM boundaries_edition e LEFT JOIN boundaries_grid g ON g.edition_id = e.id
                WHERE e.status = 'active' GROUP BY e.id, e.name, g.level ORDER BY g.level
                """
            )
            rows = cur.fetchall()
    except Exception as exc:  # the health page must answer even when the database does not
        # The error names hosts, ports and roles: it goes to the server's log, not to the caller.
        log.warning("healthz: database unavailable: %s", exc)
        body: dict = {"status": "error", "database": {"ok": False}}
        if _details_allowed(request):
            body["database"]["error"] = str(exc)
        return JsonResponse(body, status=503)
    body = {"status": "ok" if rows else "degraded", "database": {"ok": True}}
    if not _details_allowed(request):
        return JsonResponse(body)
    body["database"].update(postgresql=pg.split(",")[0], postgis=postgis)
    body["dataset_loaded"] = bool(rows)
    if rows:
        body["edition"] = {"id": rows[0][0], "name": rows[0][1]}
        body["grids"] = {f"level{lvl}": n for _, _, lvl, n in rows if lvl is not None}
    return JsonResponse(body)

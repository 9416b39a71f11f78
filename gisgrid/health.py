"""/healthz: is the database up, which PostGIS, is a dataset loaded, how many grids per level."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse


def healthz(request):
    body: dict = {"status": "ok"}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT postgis_lib_version(), version()")
            postgis, pg = cur.fetchone()
            body["database"] = {"ok": True, "postgresql": pg.split(",")[0], "postgis": postgis}
            cur.execute(
                """
                SELECT e.id, e.name, g.level, count(g.id)
                FROM boundaries_edition e LEFT JOIN boundaries_grid g ON g.edition_id = e.id
                WHERE e.status = 'active' GROUP BY e.id, e.name, g.level ORDER BY g.level
                """
            )
            rows = cur.fetchall()
    except Exception as exc:  # the health page must answer even when the database does not
        return JsonResponse({"status": "error", "database": {"ok": False, "error": str(exc)}}, status=503)
    body["dataset_loaded"] = bool(rows)
    if rows:
        body["edition"] = {"id": rows[0][0], "name": rows[0][1]}
        body["grids"] = {f"level{lvl}": n for _, _, lvl, n in rows if lvl is not None}
    else:
        body["status"] = "degraded"
    return JsonResponse(body, status=200)

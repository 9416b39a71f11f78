"""The assessment's part of the periodic job (run_clocks calls every GISGRID_PERIODIC_PASSES entry).

Once a day, after local midnight: recompute the running month (and the previous one during the
first days of a month, when late transitions still come in), then make the reports whose period
has just ended: yesterday's daily summary, last week's report on Mondays, last month's report on
the 1st. Each report is made once (kept, announced in the inbox); a missed day is caught up at
the next pass, as only existence is checked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from . import computing, reports
from .models import ReportFile
from .periods import period_of

# Recompute at most this often (the pass runs every minute).
EVERY = timedelta(hours=1)
_last: dict[str, datetime] = {}
REPORTS_LOCK = 0x6769_7367_7270_7473  # "gisgrptss"


def periodic_pass(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    done: dict = {}
    last = _last.get("recompute")
    if last is None or now - last >= EVERY:
        month = period_of("month", today)
        computing.recompute(month, now=now)
        if today.day <= 5:
            computing.recompute(period_of("month", month.start - timedelta(days=1)), now=now)
        _last["recompute"] = now
        done["assessment_recompute"] = 1
    made = 0
    with transaction.atomic():
        with connection.cursor() as cur:
            # Two servers running the job: one makes the reports, the other skips this tick.
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [REPORTS_LOCK])
            if not cur.fetchone()[0]:
                return done
        for kind in ("day", "week", "month"):
            period = period_of(kind, period_of(kind, today).start - timedelta(days=1))
            if not ReportFile.objects.filter(kind=kind, start=period.start, end=period.end, filters={}).exists():
                reports.generate(period, now=now)
                made += 1
    if made:
        done["assessment_reports"] = made
    return done

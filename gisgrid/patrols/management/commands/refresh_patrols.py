"""Patrol housekeeping: rebuild dirty sessions, create the coming months' partitions, retention."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from gisgrid import county_time
from gisgrid.patrols import partitions, sessions
from gisgrid.patrols.models import PatrolSession, RejectedPosition


class Command(BaseCommand):
    help = "Rebuild patrol sessions with new fixes; create partitions ahead; optionally drop old months."

    def add_arguments(self, parser):
        parser.add_argument("--keep-months", type=int, default=None,
                            help="drop position partitions older than this many whole months")

    def handle(self, *args, **o):
        created = partitions.ensure_ahead()
        n = sessions.refresh()
        self.stdout.write(f"sessions rebuilt for {n} device(s); partitions created: {', '.join(created) or 'none'}")
        if o["keep_months"] is not None:
            if o["keep_months"] < 1:
                raise CommandError("--keep-months must be at least 1")
            m = partitions.month_start(dt.datetime.now(dt.UTC))
            for _ in range(o["keep_months"] - 1):
                m = (m - dt.timedelta(days=1)).replace(day=1)
            dropped = partitions.drop_older_than(m)
            cutoff = county_time.midnight(dt.date(m.year, m.month, 1))
            quarantined, _ = RejectedPosition.objects.filter(received_at__lt=cutoff).delete()
            old_sessions, _ = PatrolSession.objects.filter(end__lt=cutoff).delete()
            self.stdout.write(f"dropped: {', '.join(dropped) or 'none'}; {quarantined} quarantined fixes and "
                              f"{old_sessions} sessions before {m}")

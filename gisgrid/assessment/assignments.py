"""Dated grid assignments: who served which grid on which day.

boundaries.GridAssignment says who serves a grid now, without dates. The assessment needs the
history (a grid member who moved mid-month is scored in each grid for their days there), so this
app keeps `AssignmentPeriod` rows: adding a GridAssignment (admin, dataset load) opens a period
(from EPOCH for a person's first, from that day for a change), removing one closes it the day before. `sync` opens a period from `since` for the
current assignments of every person who has no history at all (data loaded before this app
existed, or loaded in bulk without signals).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from gisgrid.boundaries.models import GridAssignment

from .models import AssignmentPeriod

# Assignments that existed before history was kept are taken as held since this day.
EPOCH = date(2000, 1, 1)


def _opened(sender, instance: GridAssignment, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created:
        return
    if not AssignmentPeriod.objects.filter(person_id=instance.person_id, grid_code=instance.grid_code,
                                           role=instance.role, end__isnull=True).exists():
        # A person's first assignment (a dataset load, a new hire) is taken as held since EPOCH:
        # the loaded staff list says who serves, not since when; the admin corrects the start.
        # A later one is a change made today.
        first = not AssignmentPeriod.objects.filter(person_id=instance.person_id).exists()
        AssignmentPeriod.objects.create(person_id=instance.person_id, grid_code=instance.grid_code,
                                        role=instance.role, start=EPOCH if first else timezone.localdate())


def _closed(sender, instance: GridAssignment, **kwargs) -> None:
    today = timezone.localdate()
    for p in AssignmentPeriod.objects.filter(person_id=instance.person_id, grid_code=instance.grid_code,
                                             role=instance.role, end__isnull=True):
        # Removed the day it was made: nothing served; otherwise served until yesterday.
        if p.start >= today:
            p.delete()
        else:
            p.end = today - timedelta(days=1)
            p.save(update_fields=["end"])


def connect() -> None:
    post_save.connect(_opened, sender=GridAssignment, dispatch_uid="assessment-assignment-open")
    post_delete.connect(_closed, sender=GridAssignment, dispatch_uid="assessment-assignment-close")


def sync(since: date = EPOCH) -> int:
    """Open a period from `since` for the current assignments of people without any history;
    returns how many were made. One INSERT ... SELECT."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO assessment_assignmentperiod (person_id, grid_code, role, start, \"end\")"
            " SELECT a.person_id, a.grid_code, a.role, %s, NULL FROM boundaries_gridassignment a"
            " WHERE NOT EXISTS (SELECT 1 FROM assessment_assignmentperiod p WHERE p.person_id = a.person_id)",
            [since])
        return cur.rowcount


def move(person_id: int, from_code: str, to_code: str, day: date, role: str = "grid_member") -> None:
    """Record that a person moved from one grid to another on `day` (served the new one from it)."""
    AssignmentPeriod.objects.filter(person_id=person_id, grid_code=from_code, role=role, end__isnull=True
                                    ).update(end=day - timedelta(days=1))
    AssignmentPeriod.objects.create(person_id=person_id, grid_code=to_code, role=role, start=day)

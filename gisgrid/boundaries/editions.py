"""Boundary editions: start a draft, publish it, retire the old one (MapIt's generations).

Exactly one edition is active (a partial unique index enforces it). Publishing validates, then
switches in one transaction; every server process notices the new active edition on its next
locate (see locate.py) so no request answers from a mix.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from gisgrid.audit.log import record

from .models import Edition, Grid

# Sent after a publish commits: incidents and patrols may re-route their open items.
# Boundaries never imports them (dependencies flow one way).
edition_published = Signal()  # kwargs: edition, previous, user, reroute


class EditionError(Exception):
    """A request an edition's state does not allow; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400, findings: list | None = None):
        super().__init__(message)
        self.status = status
        self.findings = findings or []


def active_edition() -> Edition | None:
    return Edition.objects.filter(status=Edition.Status.ACTIVE).first()


def create_draft(name: str, *, based_on: Edition | None = None, user=None) -> Edition:
    """A new draft: a copy of `based_on` (default: the active edition), or empty when none."""
    based_on = based_on or active_edition()
    with transaction.atomic():
        draft = Edition.objects.create(
            name=name,
            based_on=based_on,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            county_code=based_on.county_code if based_on else settings.GISGRID_COUNTY_CODE,
            county_name=based_on.county_name if based_on else settings.GISGRID_COUNTY_NAME,
            county_geom=based_on.county_geom if based_on else None,
        )
        if based_on is not None:
            copy_grids(based_on, draft)
        record(user, "edition.create_draft", draft, based_on=based_on.pk if based_on else None)
    return draft


def copy_grids(source: Edition, target: Edition) -> None:
    # One INSERT ... SELECT per level: copying 350 polygons through the ORM would move every
    # geometry through Python twice for nothing.
    with connection.cursor() as cur:
        for level in (1, 2, 3):
            cur.execute(
                """
                INSERT INTO boundaries_grid (edition_id, code, name, level, kind, parent_id, geom, area_m2, unit_id, urban)
                SELECT %s, g.code, g.name, g.level, g.kind, np.id, g.geom, g.area_m2, g.unit_id, g.urban
                FROM boundaries_grid g
                LEFT JOIN boundaries_grid op ON op.id = g.parent_id
                LEFT JOIN boundaries_grid np ON np.edition_id = %s AND np.code = op.code
                WHERE g.edition_id = %s AND g.level = %s
                """,
                [target.pk, target.pk, source.pk, level],
            )


def require_draft(edition: Edition, expected_version: int | None = None) -> None:
    if edition.status != Edition.Status.DRAFT:
        raise EditionError(
            f"版本 {edition.pk} 状态为 {edition.get_status_display()}，只能修改草稿 (only a draft can be edited)", 409
        )
    if expected_version is not None and int(expected_version) != edition.version:
        raise EditionError(
            f"草稿已被他人修改 (stale edit: you read version {expected_version}, it is now {edition.version})", 409
        )


def bump_version(edition: Edition) -> None:
    Edition.objects.filter(pk=edition.pk).update(version=edition.version + 1)
    edition.version += 1


def publish(edition: Edition, *, user=None, reroute: bool = False, force_warnings: bool = True) -> Edition:
    """Validate `edition`, then make it the active one in a single transaction."""
    from .edition_validation import validate_edition

    with transaction.atomic():
        edition = Edition.objects.select_for_update().get(pk=edition.pk)
        if edition.status != Edition.Status.DRAFT:
            raise EditionError(f"只能发布草稿 (edition {edition.pk} is {edition.status})", 409)
        if not edition.grids.exists():
            raise EditionError("草稿没有网格 (the draft has no grids)", 400)
        findings = validate_edition(edition)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise EditionError(f"校验发现 {len(errors)} 个错误，不能发布 (validation errors block publishing)", 400, errors)
        now = timezone.now()
        previous = Edition.objects.select_for_update().filter(status=Edition.Status.ACTIVE).first()
        if previous is not None:
            previous.status = Edition.Status.RETIRED
            previous.valid_to = now
            previous.save(update_fields=["status", "valid_to"])
        edition.status = Edition.Status.ACTIVE
        edition.valid_from = now
        edition.published_at = now
        edition.published_by = user if getattr(user, "is_authenticated", False) else None
        edition.save(update_fields=["status", "valid_from", "published_at", "published_by"])
        record(user, "edition.publish", edition, previous=previous.pk if previous else None,
               warnings=len(findings) - len(errors))
        with connection.cursor() as cur:
            cur.execute("SELECT pg_notify('gisgrid_edition', %s)", [str(edition.pk)])
        edition_published.send(sender=Edition, edition=edition, previous=previous, user=user, reroute=reroute)
    return edition


def grid_count_by_level(edition: Edition) -> dict[int, int]:
    from django.db.models import Count

    rows = Grid.objects.filter(edition=edition).values("level").annotate(n=Count("id"))
    return {r["level"]: r["n"] for r in rows}

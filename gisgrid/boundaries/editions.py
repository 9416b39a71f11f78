"""Boundary editions: start a draft, publish it, retire the old one (MapIt's generations).

Exactly one edition is active (a partial unique index enforces it). Publishing validates, then
switches in one transaction; every server process notices the new active edition on its next
locate (see locate.py) so no request answers from a mix.

Refusals are members of the error family (gisgrid/errors.py), each 409 with its own code:
`not_draft` (only a draft can be edited or published), `stale_version` (the draft changed
since the client read it; checked under the draft's row lock, with `current_version`).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone, translation

from gisgrid.audit.log import record
from gisgrid.errors import Conflict, ServiceError, StaleVersion, Text

from .models import Edition, Grid

# Sent after a publish commits: incidents and patrols may re-route their open items.
# Boundaries never imports them (dependencies flow one way).
edition_published = Signal()  # kwargs: edition, previous, user, reroute


class EditionError(ServiceError):
    """A request an edition's state or content does not allow.

    `status` picks the code when none is given (400 `invalid`, 404 `not_found`); a message
    written "field: reason" (as editing.py writes them) names that field. `findings` (the
    validation findings that block publishing, the invalid grids of a draft) go into the
    answer for the planner's map.
    """

    _CODES = {400: "invalid", 404: "not_found", 409: "conflict"}

    def __init__(self, message: str | Text, status: int | None = None, findings: list | None = None, *,
                 field: str | None = None, code: str | None = None, **extra):
        if field is None and isinstance(message, str):
            m = _FIELD_PREFIX.match(message)
            if m:
                field, message = m.group(1), m.group(2)
        super().__init__(message, field=field, status=status, code=code or self._CODES.get(status or 0), **extra)
        self.findings = list(findings or [])

    def body(self) -> dict:
        body = super().body()
        if self.findings:
            body["findings"] = [f.to_dict() for f in self.findings]
        return body


_FIELD_PREFIX = re.compile(r"^([a-z][a-z_]*): (.+)$", re.S)


class NotDraft(EditionError, Conflict):
    """409 `not_draft`: the edition is active or retired; only a draft can be changed."""

    code = "not_draft"

    def __init__(self, edition: Edition, doing: Text | None = None):
        doing = doing or Text("修改", "edited")
        super().__init__(Text(f"版本 {edition.pk} 状态为{_status_label(edition.status, 'zh-hans')}，只能{doing.zh}草稿",
                              f"edition {edition.pk} is {_status_label(edition.status, 'en')}; only a draft can be "
                              f"{doing.en}"), edition_status=edition.status)


class EditionStale(StaleVersion, EditionError):
    """409 `stale_version`: the draft changed since the client read `sent`; the answer carries
    `current_version`."""

    def __init__(self, edition: Edition, sent: int):
        super().__init__(edition.version, sent, what=Text("草稿", "the draft"))


def _status_label(status: str, language: str) -> str:
    with translation.override(language):
        label = str(Edition.Status(status).label)
    return label.lower() if language == "en" else label


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


def require_draft(edition: Edition, expected_version: int | None = None, doing: Text | None = None) -> None:
    """Refuse unless `edition` is a draft still at `expected_version` (when given). Call it on
    the row locked for the change (select_for_update), or the check proves nothing."""
    if edition.status != Edition.Status.DRAFT:
        raise NotDraft(edition, doing)
    if expected_version is not None and int(expected_version) != edition.version:
        raise EditionStale(edition, int(expected_version))


def bump_version(edition: Edition) -> None:
    Edition.objects.filter(pk=edition.pk).update(version=edition.version + 1)
    edition.version += 1


def publish(edition: Edition, *, user=None, reroute: bool = False, force_warnings: bool = True,
            expected_version: int | None = None) -> Edition:
    """Validate `edition`, then make it the active one in a single transaction. With
    `expected_version` (the version the planner reviewed), a draft changed since is refused."""
    from .edition_validation import validate_edition

    with transaction.atomic():
        edition = Edition.objects.select_for_update().get(pk=edition.pk)
        require_draft(edition, expected_version, Text("发布", "published"))
        if not edition.grids.exists():
            raise EditionError(Text("草稿没有网格", "the draft has no grids"), code="empty_draft")
        findings = validate_edition(edition)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise EditionError(Text(f"校验发现 {len(errors)} 个错误，不能发布",
                                    f"{len(errors)} validation error(s) block publishing"),
                               findings=errors, code="validation_failed")
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

"""Query parameters the patrol API shares: times (ISO-8601, naive = county time) and people."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gisgrid.api_errors import BadParameter
from gisgrid.boundaries.models import Person


def parse_time(value: str | None, field: str) -> dt.datetime:
    """An ISO-8601 date-time (or a date: its midnight); without a zone it is Asia/Shanghai."""
    if not value:
        raise BadParameter(field, "必填：ISO-8601 时间 (required: an ISO-8601 time, e.g. 2026-11-23T00:00:00+08:00)")
    value = value.strip().replace(" ", "T", 1) if "T" not in value and len(value) > 10 else value.strip()
    try:
        t = parse_datetime(value)
        if t is None:
            d = dt.date.fromisoformat(value)
            t = dt.datetime(d.year, d.month, d.day)
    except ValueError:
        t = None
    if t is None:
        raise BadParameter(field, f"不是 ISO-8601 时间 (not an ISO-8601 time): {value[:40]!r}")
    if timezone.is_naive(t):
        t = timezone.make_aware(t, timezone.get_default_timezone())
    return t


def parse_person(value: str | None, field: str = "person") -> Person | None:
    """A Person by id, or by the username of the account linked to them."""
    if not value:
        return None
    value = value.strip()
    person = None
    if value.isdigit():
        person = Person.objects.filter(pk=int(value)).first()
    if person is None:
        user = User.objects.filter(username=value).select_related("person").first()
        person = getattr(user, "person", None) if user else None
    if person is None:
        raise BadParameter(field, f"找不到人员 (no person with id or username {value[:40]!r})")
    return person

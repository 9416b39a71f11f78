"""Query parameters the patrol API shares: times, periods, choices and people, each bad value a
400 naming its field; and whose tracks a caller may see."""

from __future__ import annotations

import datetime as dt
import re

from django.contrib.auth import get_user_model
from rest_framework.exceptions import PermissionDenied

from gisgrid import county_time
from gisgrid.accounts import roles
from gisgrid.api_errors import BadParameter
from gisgrid.boundaries.models import Person

MAX_PERIOD = dt.timedelta(days=92)


def parse_time(field: str, raw: str | None, *, required: bool = True) -> dt.datetime | None:
    """ISO-8601 date or date-time; naive means the county's clock (county_time)."""
    if raw is None or not raw.strip():
        if required:
            raise BadParameter(field, "必填, ISO-8601 时间 (required: an ISO-8601 time, e.g. 2026-11-22T08:00)")
        return None
    text = raw.strip()
    # An unencoded "+08:00" in a query string arrives as " 08:00": put the plus sign back.
    text = re.sub(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$", r"\1+\2", text)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadParameter(field, f"不是 ISO-8601 时间 (not an ISO-8601 time: {raw!r})") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=county_time.zone())
    # Far-off years overflow when converted between zones; no patrol happened before 2000.
    if not 2000 <= value.year <= 2100:
        raise BadParameter(field, "年份应在 2000-2100 之间 (the year must be between 2000 and 2100)")
    return value


def parse_period(params, default: tuple[dt.datetime, dt.datetime] | None = None,
                 max_period: dt.timedelta = MAX_PERIOD) -> tuple[dt.datetime, dt.datetime]:
    start = parse_time("start", params.get("start"), required=default is None)
    end = parse_time("end", params.get("end"), required=default is None)
    if default is not None:
        start = start or default[0]
        end = end or (default[1] if default[1] > start else start + dt.timedelta(days=7))
    if end <= start:
        raise BadParameter("end", "必须晚于 start (must be later than start)")
    if end - start > max_period:
        raise BadParameter("end", f"时段最长 {max_period.days} 天 (the period may span at most {max_period.days} days)")
    return start, end


def parse_choice(params, field: str, choices: list, default=None, cast=str):
    raw = params.get(field)
    if raw is None or raw == "":
        return default
    try:
        value = cast(raw)
    except ValueError:
        value = None
    if value not in choices:
        raise BadParameter(field, f"取值 {', '.join(map(str, choices))} (one of {', '.join(map(str, choices))})")
    return value


def parse_bool(params, field: str) -> bool:
    raw = (params.get(field) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise BadParameter(field, "取值 1 或 0 (1 or 0)")


def parse_people(params) -> list[Person]:
    """`person`: Person ids or usernames, repeated or comma-separated."""
    return people_named([t for raw in params.getlist("person") for t in raw.split(",")])


def people_named(tokens: list[str]) -> list[Person]:
    """People by id or by the username of their account, in order, without repeats."""
    tokens = [t.strip() for t in tokens if t.strip()]
    found: dict[int, Person] = {}
    for token in tokens:
        if "\x00" in token or len(token) > 150:  # PostgreSQL refuses NUL in text: a 500, not a no-match
            raise BadParameter("person", "不是人员编号或用户名 (not a person id or username)")
        person = None
        if token.isascii() and token.isdigit() and int(token) < 2**63:  # beyond bigint: a 500, not a miss
            person = Person.objects.filter(pk=int(token)).first()
        user = None
        if person is None:  # a username, possibly made of digits
            user = get_user_model().objects.filter(username=token).first()
            person = getattr(user, "person", None) if user is not None else None
        if person is None:
            reason = (f"用户 {token!r} 没有关联人员 (user has no person linked)" if user is not None
                      else f"找不到人员 (no person with id or username {token!r})")
            raise BadParameter("person", reason)
        found[person.pk] = person
    return list(found.values())


def scoped_people(request, asked: list[Person]) -> list[Person] | None:
    """Whose tracks the caller may see: None = everybody's, else these people only."""
    scope = roles.patrol_scope(request.user)
    if scope is None:
        raise PermissionDenied("无权查看巡查轨迹 (you may not see patrol tracks)")
    if scope == "all":
        return asked or None
    if any(p.pk != scope.pk for p in asked):
        raise PermissionDenied("只能查看本人的巡查轨迹 (you may only see your own patrols)")
    return [scope]




def parse_person(value: str | None) -> Person | None:
    """One person by id or username (None when not given)."""
    people = people_named([value or ""])
    return people[0] if people else None

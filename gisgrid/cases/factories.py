"""Accounts and reports made from code: the demo data, the benchmark and the tests use them."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import Group, User

from gisgrid.accounts import roles
from gisgrid.accounts.models import UnitMembership
from gisgrid.boundaries.models import Unit
from gisgrid.incidents.models import Category
from gisgrid.incidents.reports import create_report

from .models import Case
from .workflow import as_of


def account(username: str, role: str, *, unit: Unit | str | None = None, password: str | None = None,
            first_name: str = "") -> User:
    """An account with one role (and, for unit staff, its unit); made or brought up to date."""
    user, _ = User.objects.get_or_create(username=username, defaults={"first_name": first_name or username})
    if password:
        user.set_password(password)
        user.save()
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    if unit is not None:
        unit = unit if isinstance(unit, Unit) else Unit.objects.get(code=unit)
        UnitMembership.objects.get_or_create(user=user, unit=unit)
    # Role and unit caches on a reused instance would be stale.
    for attr in ("_gisgrid_roles", "_gisgrid_units"):
        user.__dict__.pop(attr, None)
    return user


def unit_staff(unit: Unit | str, username: str | None = None) -> User:
    unit = unit if isinstance(unit, Unit) else Unit.objects.get(code=unit)
    return account(username or f"staff-{unit.code.lower()}", roles.UNIT_STAFF, unit=unit, first_name=unit.name)


def reported_case(category: Category | str, *, user=None, lon: float = 110.1449, lat: float = 35.2385,
                  crs: str = "wgs84", at: datetime | None = None, channel: str | None = None,
                  reporter_name: str = "张三", reporter_phone: str = "13800000000", description: str = "",
                  address: str = "") -> Case:
    """A report through the real routing, opened as a case (reported at `at` when given)."""
    category = category if isinstance(category, Category) else Category.objects.get(code=category)
    if at is None:
        report = create_report(user=user, category=category, lon=lon, lat=lat, crs=crs, reporter_name=reporter_name,
                               reporter_phone=reporter_phone, description=description, address=address,
                               channel=channel)
    else:
        with as_of(at):
            report = create_report(user=user, category=category, lon=lon, lat=lat, crs=crs,
                                   reporter_name=reporter_name, reporter_phone=reporter_phone,
                                   description=description, address=address, channel=channel)
    return Case.objects.get(report=report)

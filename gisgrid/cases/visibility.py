"""Who sees which cases (docs/cases.md, "Who sees what").

- the centre (admin, dispatcher), grid chiefs and inspectors: every case (chiefs supervise and
  inspectors verify across grids; they read all reports today too);
- a unit's staff: the cases with a work order of their unit, lead or assisting, of any round;
- grid members: the cases located in their own grids (an assignment at any level covers the
  grids below it) and the ones they reported themselves;
- the public: none by list; their own case by its token (`case_by_token`).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from gisgrid.accounts import roles
from gisgrid.boundaries.models import GridAssignment

from .models import Case, WorkOrder

ALL_CASES_ROLES = frozenset({roles.ADMIN, roles.DISPATCHER, roles.GRID_CHIEF, roles.INSPECTOR})


def grid_codes(user) -> list[str]:
    """The grid codes (any level) `user` serves as a grid person."""
    person = getattr(user, "person", None) if getattr(user, "is_authenticated", False) else None
    if person is None:
        return []
    return sorted(set(GridAssignment.objects.filter(person=person).values_list("grid_code", flat=True)))


def visibility_filter(user) -> Q | None:
    """A Q on Case for what `user` sees; None = everything. An impossible Q when nothing."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    user_roles = roles.user_roles(user)
    if user_roles & ALL_CASES_ROLES:
        return None
    parts = Q(pk__in=[])
    units = roles.report_units(user)
    if units:
        parts |= Q(pk__in=WorkOrder.objects.filter(unit_id__in=units).values("case_id"))
    if roles.GRID_MEMBER in user_roles:
        codes = grid_codes(user)
        if codes:
            parts |= (Q(report__level1_code__in=codes) | Q(report__level2_code__in=codes)
                      | Q(report__level3_code__in=codes))
        parts |= Q(reporter_user=user)
    return parts


def visible_cases(user, qs: QuerySet | None = None) -> QuerySet:
    """The part of `qs` (default: every case) that `user` may see."""
    qs = Case.objects.all() if qs is None else qs
    f = visibility_filter(user)
    return qs if f is None else qs.filter(f)


def can_see(user, case: Case) -> bool:
    return visible_cases(user, Case.objects.filter(pk=case.pk)).exists()


def case_by_token(token: str) -> Case | None:
    """The public's own case by the token they were given when reporting."""
    if not token or len(token) > 40:
        return None
    return Case.objects.filter(public_token=token).select_related("category", "report").first()

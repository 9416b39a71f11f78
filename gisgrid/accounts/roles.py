"""Roles, as Django groups, and the questions the API asks about them.

One place decides who may see personal data (names are public duty, phone numbers are not)
and who may change what, so views never test group names themselves.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ADMIN = "admin"
DISPATCHER = "dispatcher"
UNIT_STAFF = "unit_staff"
GRID_MEMBER = "grid_member"
INSPECTOR = "inspector"
GRID_CHIEF = "grid_chief"
PLANNER = "planner"

ROLE_LABELS = {
    ADMIN: _("系统管理员"),
    DISPATCHER: _("指挥中心调度员"),
    UNIT_STAFF: _("责任单位人员"),
    GRID_MEMBER: _("网格员"),
    INSPECTOR: _("专职巡查员"),
    GRID_CHIEF: _("网格长"),
    PLANNER: _("网格规划员"),
}
ALL_ROLES = tuple(ROLE_LABELS)

# Who needs phone numbers: the centre dispatching, the units phoning their own people, the
# chiefs managing members. Grid members, inspectors, planners and the public do not.
PERSONAL_DATA_ROLES = frozenset({ADMIN, DISPATCHER, UNIT_STAFF, GRID_CHIEF})
EDIT_BOUNDARY_ROLES = frozenset({ADMIN, PLANNER})
REPORT_ROLES = frozenset({ADMIN, DISPATCHER, GRID_MEMBER, INSPECTOR, GRID_CHIEF})
# Who reads reports: those who file them read them all; a unit's staff read only the reports
# routed to their unit (lead or assisting). Planners draw boundaries and handle no reports.
REPORT_READ_ROLES = REPORT_ROLES
REPORT_UNIT_ROLES = frozenset({UNIT_STAFF})
# Who sees a reporter's name and phone: the centre and the chiefs on every report they read,
# unit staff on their unit's reports (the only ones they read).
REPORTER_ROLES = frozenset({ADMIN, DISPATCHER, GRID_CHIEF})
# Versions of PostgreSQL/PostGIS and what is loaded: for whoever runs the installation.
HEALTH_DETAIL_ROLES = frozenset({ADMIN})
# Where people walked is personal data too. The centre and the chiefs supervise patrols; the
# inspectors check on grid members (DOMAIN: 督查), so they see the team as well. Grid members
# see only their own tracks; units and planners have no business with them.
PATROL_SUPERVISOR_ROLES = frozenset({ADMIN, DISPATCHER, GRID_CHIEF, INSPECTOR})
PATROL_SELF_ROLES = frozenset({GRID_MEMBER})


def user_roles(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_gisgrid_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached.add(ADMIN)
        user._gisgrid_roles = cached
    return cached


def has_any_role(user, roles) -> bool:
    return bool(user_roles(user) & set(roles))


def can_see_personal_data(user) -> bool:
    return has_any_role(user, PERSONAL_DATA_ROLES)


def can_edit_boundaries(user) -> bool:
    return has_any_role(user, EDIT_BOUNDARY_ROLES)


def can_report(user) -> bool:
    return has_any_role(user, REPORT_ROLES)


def can_read_all_reports(user) -> bool:
    return has_any_role(user, REPORT_READ_ROLES)


def report_units(user) -> set[int] | None:
    """Ids of the units whose reports `user` reads as unit staff; None when not unit staff."""
    if not has_any_role(user, REPORT_UNIT_ROLES):
        return None
    cached = getattr(user, "_gisgrid_units", None)
    if cached is None:
        cached = set(user.unit_memberships.values_list("unit_id", flat=True))
        user._gisgrid_units = cached
    return cached


def can_see_health_details(user) -> bool:
    return has_any_role(user, HEALTH_DETAIL_ROLES)


def can_supervise_patrols(user) -> bool:
    return has_any_role(user, PATROL_SUPERVISOR_ROLES)


def patrol_scope(user):
    """Which people's patrols `user` may see: "all", their own Person, or None (nobody)."""
    if can_supervise_patrols(user):
        return "all"
    if has_any_role(user, PATROL_SELF_ROLES):
        return getattr(user, "person", None)
    return None


def role_label(user) -> str:
    roles = sorted(user_roles(user))
    return "、".join(str(ROLE_LABELS[r]) for r in roles if r in ROLE_LABELS)

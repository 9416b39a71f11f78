"""Create one demo account per role and print the names and passwords."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from gisgrid.accounts import roles
from gisgrid.accounts.models import UnitMembership
from gisgrid.boundaries.models import Unit

DEMO_USERS = [
    ("admin", roles.ADMIN, "系统管理员"),
    ("dispatcher", roles.DISPATCHER, "指挥中心调度员"),
    ("unitstaff", roles.UNIT_STAFF, "县城市管理执法局 责任单位人员"),
    ("gridmember", roles.GRID_MEMBER, "泰山社区 网格员"),
    ("inspector", roles.INSPECTOR, "专职巡查员"),
    ("gridchief", roles.GRID_CHIEF, "城关街道 网格长"),
    ("planner", roles.PLANNER, "网格规划员"),
]
# The demo unit staff work for the urban management bureau (Heyang's unit code), which leads
# most street matters, so they have reports to read; in another county, link them in the admin.
DEMO_UNIT = {"unitstaff": "D-CGJ"}
# Published in the README: `check_production` refuses to serve while an account still has one.
DEMO_PASSWORDS = {username: f"{username}-demo" for username, _, _ in DEMO_USERS}


class Command(BaseCommand):
    help = "Create the role groups and one demo account per role (password = name + '-demo')."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true")

    @transaction.atomic
    def handle(self, *args, **opts):
        for role in roles.ALL_ROLES:
            Group.objects.get_or_create(name=role)
        rows = []
        for username, role, label in DEMO_USERS:
            password = DEMO_PASSWORDS[username]
            user, _ = User.objects.get_or_create(username=username, defaults={"first_name": label})
            user.set_password(password)
            user.is_staff = role in (roles.ADMIN, roles.PLANNER)
            user.is_superuser = role == roles.ADMIN
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            unit = Unit.objects.filter(code=DEMO_UNIT.get(username, "")).first()
            if unit is not None:
                UnitMembership.objects.get_or_create(user=user, unit=unit)
            rows.append((username, password, str(roles.ROLE_LABELS[role])))
        if not opts["quiet"]:
            self.stdout.write("演示账号 demo accounts (user / password / role):")
            for username, password, label in rows:
                self.stdout.write(f"  {username:<11} {password:<16} {label}")

"""Refuse to serve with published secrets: `./run serve` runs this before it starts anything.

Problems: a secret key that is missing (a random one per process), a published default, too
short, or in a file others may read; an active account that still has its demo password (the
README prints them); in production mode (GISGRID_PRODUCTION=1, behind the TLS proxy) any
warning of Django's security deployment checks (`check --deploy --tag security`).
"""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import User
from django.core import checks
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from gisgrid.accounts.management.commands.create_demo_users import DEMO_PASSWORDS

# Keys that were ever published with gisgrid (the settings' default before keys were made per
# installation); Django's own start-project keys begin with "django-insecure-".
PUBLISHED_KEYS = frozenset({"dev-only-insecure-key-change-me"})
MIN_KEY_LENGTH = 50  # Django's deployment check asks for 50 characters, 5 of them different
MIN_KEY_UNIQUE = 5


def key_problems() -> list[str]:
    """What is wrong with the secret key the app would sign sessions and CSRF tokens with."""
    key, source = settings.SECRET_KEY, settings.GISGRID_SECRET_KEY_SOURCE
    problems = []
    if source == "ephemeral":
        problems.append("没有本机密钥 (no secret key for this installation: a random one per process "
                        "would log everyone out at each restart and differ between workers); "
                        f"./run serve makes {settings.GISGRID_SECRET_KEY_FILE}, or set GISGRID_SECRET_KEY")
        return problems
    if key in PUBLISHED_KEYS or key.startswith("django-insecure-"):
        problems.append("密钥是公开的默认值 (the secret key is a published default): "
                        f"delete it and let ./run make {settings.GISGRID_SECRET_KEY_FILE}")
    elif len(key) < MIN_KEY_LENGTH or len(set(key)) < MIN_KEY_UNIQUE:
        problems.append(f"密钥太短 (secret key too weak: {len(key)} characters, {len(set(key))} different; "
                        f"at least {MIN_KEY_LENGTH} and {MIN_KEY_UNIQUE})")
    if source == "file":
        mode = stat.S_IMODE(os.stat(settings.GISGRID_SECRET_KEY_FILE).st_mode)
        if mode & 0o077:
            problems.append(f"密钥文件他人可读 (key file {settings.GISGRID_SECRET_KEY_FILE} has mode "
                            f"{mode:04o}): chmod 600 it")
    return problems


def demo_password_problems() -> list[str]:
    """Active accounts that still sign in with a published demo password: each demo account with
    its own, and every staff account (admin, planners) with any of them."""
    active = User.objects.filter(is_active=True)
    candidates = [(user, [DEMO_PASSWORDS[user.username]])
                  for user in active.filter(username__in=DEMO_PASSWORDS)]
    candidates += [(user, list(DEMO_PASSWORDS.values()))
                   for user in active.filter(Q(is_staff=True) | Q(is_superuser=True))
                   .exclude(username__in=DEMO_PASSWORDS)]
    tests = [(user, password) for user, passwords in candidates if user.has_usable_password()
             for password in passwords]
    # Each check costs a full password hash (~0.2 s of PBKDF2 here). hashlib releases the GIL,
    # so the checks share the cores. The module-level check_password never rehashes and saves,
    # so no thread touches the database.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        hits = list(pool.map(lambda t: check_password(t[1], t[0].password), tests))
    found = sorted({user.username for (user, _), hit in zip(tests, hits, strict=True) if hit})
    return [f"账号 {name} 仍使用公开的演示密码 (account {name} still has a published demo password): "
            f"./run manage changepassword {name}, or untick its 'active' box in /admin/" for name in found]


def deploy_problems() -> list[str]:
    """Django's security deployment checks at warning level and above, minus silenced ones.
    Only those: the others (drf-spectacular's schema check among them) say nothing about
    whether serving is safe, and `check --deploy` reports them anyway."""
    found = checks.run_checks(tags=[checks.Tags.security], include_deployment_checks=True)
    return [f"{m.id}: {m.msg}" for m in found if m.level >= checks.WARNING and not m.is_silenced()]


class Command(BaseCommand):
    help = "Refuse to serve with a default or missing secret key, demo passwords, or (production mode) deploy warnings."

    def add_arguments(self, parser):
        parser.add_argument("--allow-demo", action="store_true",
                            help="accept accounts with demo passwords (./run demo, local trials only)")

    def handle(self, *args, **opts):
        problems = key_problems()
        if not opts["allow_demo"]:
            problems += demo_password_problems()
        if settings.GISGRID_PRODUCTION:
            problems += deploy_problems()
        if problems:
            for problem in problems:
                self.stderr.write(f"  - {problem}")
            raise CommandError(f"不宜对外服务 (not fit to serve): {len(problems)} problem(s) above; "
                               "see docs/operations.md, \"Production start\"")
        mode = "production (HTTPS)" if settings.GISGRID_PRODUCTION else "plain HTTP"
        self.stdout.write(f"可以服务 (fit to serve): secret key from {settings.GISGRID_SECRET_KEY_SOURCE}, {mode}")

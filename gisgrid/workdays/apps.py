from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class WorkdaysConfig(AppConfig):
    name = "gisgrid.workdays"
    label = "workdays"
    verbose_name = _("工作日历")

    def ready(self):
        post_migrate.connect(seed_after_migrate, sender=self, dispatch_uid="gisgrid.workdays.seed")


def seed_after_migrate(sender, using="default", verbosity=1, **kwargs):
    """Every `migrate` (./run setup, demo, test, bench; a test database; a flush) leaves the
    calendar seeded from the packages, like Django's own content types: the clocks never run on
    an empty calendar by accident. Idempotent and cheap (one read when nothing changed)."""
    from django.db import connections

    from .models import CalendarDay, CalendarVersion, CalendarYear
    from .seeding import seed

    tables = set(connections[using].introspection.table_names())
    if not {CalendarDay._meta.db_table, CalendarYear._meta.db_table, CalendarVersion._meta.db_table} <= tables:
        return  # migrated backwards past 0001
    report = seed(using=using)
    if verbosity >= 2 or (verbosity >= 1 and report.changed):
        print(f"  workdays: calendar seeded ({report.created} days added, {report.updated} updated); "
              f"fallback years: {', '.join(map(str, report.fallback_years)) or 'none'}")

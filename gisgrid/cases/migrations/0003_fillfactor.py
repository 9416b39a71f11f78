"""Room on every page of the case and work-order tables for their updates.

The clock pass rewrites a case's deadline, colour and alert level, and an open work order's
deadline, many times in a case's life, none of them indexed columns: with free space on the
page PostgreSQL keeps the new row version there (a HOT update) and touches none of the case's
thirteen indexes. At the default fillfactor (100) a table filled by imports has no room, and
every update writes every index (measured: the pass after a calendar edit, 12,000 cases).
"""

from django.db import migrations

TABLES = ("cases_case", "cases_workorder")


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_clock_alert_level")]

    operations = [
        migrations.RunSQL(
            [f"ALTER TABLE {t} SET (fillfactor = 80)" for t in TABLES],
            [f"ALTER TABLE {t} RESET (fillfactor)" for t in TABLES],
        ),
    ]

"""Device.tz, and a repair of fix times that Python cannot read back.

Before ingest bounded fix times (ingest/times.py), a fix sent as `0001-01-01T00:00:00+14:00`
was quarantined with a time in 1 BC (or year 10000 for 9999-12-31T23:59:59-14:00): PostgreSQL
stores these, psycopg cannot load them, and every page listing such a row answered 500. The
lists now read such times defensively; this repair also clears them from the rows, keeping
PostgreSQL's text of the time in the quarantine payload (`stored_fix_time`).
"""

from django.db import migrations, models

import gisgrid.patrols.ingest.times

# The range Python reads back and can show in any zone (times.READABLE_FROM .. READABLE_UNTIL).
OUTSIDE = "({col} < '0001-01-02 00:00:00+00' OR {col} >= '9999-12-30 00:00:00+00')"

REPAIR = [
    f"""UPDATE patrols_rejectedposition
        SET payload = COALESCE(payload, '{{}}'::jsonb) || jsonb_build_object('stored_fix_time', fix_time::text),
            fix_time = NULL
        WHERE {OUTSIDE.format(col="fix_time")}""",
    # A device's last fix and dirty span come from accepted fixes; an unreadable one is dropped
    # (the next fix sets it again) rather than taking the device lists down.
    f"""UPDATE patrols_device SET last_fix_time = NULL WHERE {OUTSIDE.format(col="last_fix_time")}""",
    f"""UPDATE patrols_device SET dirty_start = NULL, dirty_end = NULL
        WHERE {OUTSIDE.format(col="dirty_start")} OR {OUTSIDE.format(col="dirty_end")}""",
    f"""DELETE FROM patrols_patrolsession WHERE {OUTSIDE.format(col='"start"')} OR {OUTSIDE.format(col='"end"')}""",
]


class Migration(migrations.Migration):

    dependencies = [
        ("patrols", "0002_patrol_ingest"),
    ]

    operations = [
        migrations.AddField(
            model_name="device",
            name="tz",
            field=models.CharField(
                blank=True, default="", max_length=64, verbose_name="时区",
                validators=[gisgrid.patrols.ingest.times.validate_time_zone],
                help_text="设备发送不带时差的时间按此 IANA 时区读取，如 Asia/Urumqi；留空为本县时区"),
        ),
        migrations.RunSQL(REPAIR, reverse_sql=migrations.RunSQL.noop),
    ]

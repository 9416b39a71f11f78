"""Events for the push service: one row per thing that changed, with who may receive it.

Rows are written by the domain code inside its own transaction (`publish`), so an event of a
change that is rolled back never exists. `seq` is the public event id: it is given at COMMIT by
a deferred trigger holding a transaction-level advisory lock (migration 0001), so seqs become
visible in increasing order and a reader that has seen seq N has seen every event up to N: a
client resuming from N misses nothing. The same trigger NOTIFYs the push service.
Rows older than `RETENTION` are pruned (docs/push.md).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class PushEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    # Given at commit (NULL until then); the id clients see.
    seq = models.BigIntegerField(_("序号"), null=True, unique=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("类型"), max_length=20)
    data = models.JSONField(_("内容"), default=dict)
    # The audience (gisgrid/push/audience.py): anyone matching any part receives it.
    everyone_signed_in = models.BooleanField(default=False)
    roles = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    user_ids = ArrayField(models.IntegerField(), default=list, blank=True)
    unit_ids = ArrayField(models.IntegerField(), default=list, blank=True)
    grid_codes = ArrayField(models.CharField(max_length=20), default=list, blank=True)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("推送事件")
        verbose_name_plural = _("推送事件")

    def __str__(self) -> str:
        return f"{self.seq} {self.kind}"

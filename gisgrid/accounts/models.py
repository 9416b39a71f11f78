"""Which unit a unit-staff account works for.

A unit's staff read the reports routed to their unit (as lead or assisting unit) and nothing
else, so the account has to name the unit. Grid people (chiefs, members, inspectors) are
`boundaries.Person` rows; unit staff are not on any grid, hence a row of their own here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unit_memberships",
                             verbose_name=_("账号"))
    unit = models.ForeignKey("boundaries.Unit", on_delete=models.CASCADE, related_name="memberships",
                             verbose_name=_("单位"))

    class Meta:
        verbose_name = _("单位人员")
        verbose_name_plural = _("单位人员")
        constraints = [models.UniqueConstraint(fields=["user", "unit"], name="unit_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit}"

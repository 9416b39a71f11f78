from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BoundariesConfig(AppConfig):
    name = "gisgrid.boundaries"
    label = "boundaries"
    verbose_name = _("网格边界")

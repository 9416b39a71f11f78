from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DatasetsConfig(AppConfig):
    name = "gisgrid.datasets"
    label = "datasets"
    verbose_name = _("县级数据集")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "gisgrid.assessment"
    verbose_name = _("考核与报表")

    def ready(self) -> None:
        # Grid assignments made or removed in the admin open and close dated periods here.
        from . import assignments

        assignments.connect()

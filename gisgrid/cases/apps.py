from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "gisgrid.cases"
    label = "cases"
    verbose_name = _("案件办理")

    def ready(self) -> None:
        # incidents announces stored reports; the case loop opens their cases (incidents never
        # imports cases).
        from gisgrid.incidents.reports import report_created

        from .workflow import on_report_created

        report_created.connect(on_report_created, dispatch_uid="cases-open-case")

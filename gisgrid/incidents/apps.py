from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "gisgrid.incidents"
    label = "incidents"
    verbose_name = _("事件与事项清单")

    def ready(self) -> None:
        # Boundaries announces publishes; incidents decides what to do with its own items.
        from gisgrid.boundaries import routed_items
        from gisgrid.boundaries.editions import edition_published

        from .reports import ReportSource, on_edition_published

        edition_published.connect(on_edition_published, dispatch_uid="incidents-reroute")
        routed_items.register(ReportSource())

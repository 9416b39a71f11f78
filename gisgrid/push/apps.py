from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PushConfig(AppConfig):
    name = "gisgrid.push"
    label = "push"
    verbose_name = _("实时推送")

    def ready(self) -> None:
        from gisgrid.boundaries.editions import edition_published

        from .editions import on_edition_published

        edition_published.connect(on_edition_published, dispatch_uid="push-edition")

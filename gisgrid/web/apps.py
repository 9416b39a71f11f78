from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "gisgrid.web"
    label = "web"
    verbose_name = "页面"

    def ready(self) -> None:
        from . import basemap  # noqa: F401  registers the basemap system check

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "gisgrid.web"
    label = "web"
    verbose_name = "页面"

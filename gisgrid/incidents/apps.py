from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "gisgrid.incidents"
    label = "incidents"
    verbose_name = "事件与事项清单"

from django.apps import AppConfig


class PatrolsConfig(AppConfig):
    name = "gisgrid.patrols"
    label = "patrols"
    verbose_name = "巡查轨迹"

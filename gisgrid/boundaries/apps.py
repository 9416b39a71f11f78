from django.apps import AppConfig


class BoundariesConfig(AppConfig):
    name = "gisgrid.boundaries"
    label = "boundaries"
    verbose_name = "网格边界"

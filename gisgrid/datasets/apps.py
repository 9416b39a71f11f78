from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "gisgrid.datasets"
    label = "datasets"
    verbose_name = "县级数据集"

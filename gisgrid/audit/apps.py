from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "gisgrid.audit"
    label = "audit"
    verbose_name = "审计"

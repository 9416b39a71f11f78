"""The assessment's API (/api/v1/assessment/…) and pages (/assessment/…), included once at the root."""

from django.urls import path

from . import api, pages

API = "api/v1/assessment/"

urlpatterns = [
    path(API + "scores", api.ScoresView.as_view(), name="assessment-scores"),
    path(API + "entries", api.EntriesView.as_view(), name="assessment-entries"),
    path(API + "quota", api.QuotaView.as_view(), name="assessment-quota"),
    path(API + "rules", api.RulesView.as_view(), name="assessment-rules"),
    path(API + "rules/<str:code>", api.RuleView.as_view(), name="assessment-rule"),
    path(API + "recompute", api.RecomputeView.as_view(), name="assessment-recompute"),
    path(API + "bulletins", api.BulletinsView.as_view(), name="assessment-bulletins"),
    path(API + "bulletins/<int:pk>", api.BulletinView.as_view(), name="assessment-bulletin"),
    path(API + "bulletins/<int:pk>/download", api.BulletinDownloadView.as_view(), name="assessment-bulletin-download"),
    path(API + "reports", api.ReportsView.as_view(), name="assessment-reports"),
    path(API + "reports/<int:pk>", api.ReportView.as_view(), name="assessment-report"),
    path(API + "reports/<int:pk>/download", api.ReportDownloadView.as_view(), name="assessment-report-download"),
    path("assessment/", pages.index_page, name="assessment"),
    path("assessment/bulletins/<int:pk>/", pages.bulletin_page, name="assessment-bulletin-page"),
    path("assessment/reports/", pages.reports_page, name="assessment-reports-page"),
]

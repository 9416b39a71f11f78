from django.urls import path

from . import api, report_api

urlpatterns = [
    path("categories", api.CategoryListView.as_view(), name="category-list"),
    path("route", api.RouteView.as_view(), name="route"),
    path("reports", report_api.ReportsView.as_view(), name="report-list"),
    path("reports/<int:pk>", report_api.ReportDetailView.as_view(), name="report-detail"),
]

from django.urls import path

from . import api

urlpatterns = [
    path("categories", api.CategoryListView.as_view(), name="category-list"),
    path("route", api.RouteView.as_view(), name="route"),
]

from django.urls import path

from . import views

urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("planner/", views.planner_page, name="planner"),
    path("", views.index, name="index"),
]

from django.urls import path

from . import views

urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("planner/", views.planner_page, name="planner"),
    path("patrols/", views.patrols_page, name="patrols"),
    path("", views.index, name="index"),
]

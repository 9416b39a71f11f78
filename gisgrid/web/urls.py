from django.urls import path

from . import dashboard_views, dispatch_views, views

urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("planner/", views.planner_page, name="planner"),
    path("patrols/", views.patrols_page, name="patrols"),
    path("dispatch/", dispatch_views.dispatch_page, name="dispatch"),
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("", views.index, name="index"),
]

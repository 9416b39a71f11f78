from django.urls import path

from . import api

urlpatterns = [
    path("events", api.StreamView.as_view(), name="events"),
    path("events/changes", api.ChangesView.as_view(), name="events-changes"),
]

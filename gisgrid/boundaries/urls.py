from django.urls import path

from . import api

urlpatterns = [
    path("grids", api.GridListView.as_view(), name="grid-list"),
    path("grids/<str:code>", api.GridDetailView.as_view(), name="grid-detail"),
    path("county", api.CountyView.as_view(), name="county"),
    path("editions", api.EditionListView.as_view(), name="edition-list"),
]

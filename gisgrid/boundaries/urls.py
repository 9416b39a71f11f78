from django.urls import path

from . import api, editions_api, geocode_api, locate_api

urlpatterns = [
    path("grids", api.GridListView.as_view(), name="grid-list"),
    path("grids/<str:code>", api.GridDetailView.as_view(), name="grid-detail"),
    path("county", api.CountyView.as_view(), name="county"),
    path("locate", locate_api.LocateView.as_view(), name="locate"),
    path("geocode", geocode_api.GeocodeView.as_view(), name="geocode"),
    path("blind-spots", editions_api.BlindSpotsView.as_view(), name="blind-spots"),
    path("editions", editions_api.EditionsView.as_view(), name="edition-list"),
    path("editions/<int:pk>", editions_api.EditionDetailView.as_view(), name="edition-detail"),
    path("editions/<int:pk>/validation", editions_api.ValidationView.as_view(), name="edition-validation"),
    path("editions/<int:pk>/publish", editions_api.PublishView.as_view(), name="edition-publish"),
    path("editions/<int:pk>/diff", editions_api.DiffView.as_view(), name="edition-diff"),
    path("editions/<int:pk>/diff.geojson", editions_api.DiffView.as_view(geojson_only=True), name="edition-diff-geojson"),
    path("editions/<int:pk>/changes", editions_api.ChangesView.as_view(), name="edition-changes"),
    path("editions/<int:pk>/import", editions_api.ImportLayerView.as_view(), name="edition-import"),
    path("editions/<int:pk>/<str:op>", editions_api.EditView.as_view(), name="edition-edit"),
]

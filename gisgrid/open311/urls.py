"""GeoReport v2 routes, included at /open311/v2/; every resource ends in .json or .xml."""

from django.urls import path, register_converter

from . import views


class FormatConverter:
    regex = "json|xml"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FormatConverter, "open311fmt")

urlpatterns = [
    path("services.<open311fmt:format>", views.services, name="open311-services"),
    path("services/<str:code>.<open311fmt:format>", views.service_definition, name="open311-service"),
    path("requests.<open311fmt:format>", views.requests_, name="open311-requests"),
    path("requests/<str:id>.<open311fmt:format>", views.request_detail, name="open311-request"),
    path("tokens/<str:token>.<open311fmt:format>", views.token, name="open311-token"),
    path("media/<int:pk>", views.media, name="open311-media"),
]

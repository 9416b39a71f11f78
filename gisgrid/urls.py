from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from gisgrid import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="/map/"), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health.healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("gisgrid.boundaries.urls")),
    path("api/v1/", include("gisgrid.incidents.urls")),
    path("api/v1/", include("gisgrid.patrols.urls")),
    path("api/v1/", include("gisgrid.push.urls")),  # events: the stream's schema, polling (docs/push.md)
    path("open311/v2/", include("gisgrid.open311.urls")),  # GeoReport v2 (docs/open311.md)
    path("", include("gisgrid.cases.urls")),  # the case loop: api/v1/cases…, pages under /cases/
    path("", include("gisgrid.assessment.urls")),  # scores, bulletins, reports: api/v1/assessment/…, /assessment/
    path("", include("gisgrid.web.urls")),
]

# JSON for the API, 503 + Retry-After for database failures (gisgrid/db_errors.py).
handler500 = "gisgrid.db_errors.server_error"
handler404 = "gisgrid.db_errors.not_found"

admin.site.site_header = "gisgrid 网格化管理平台"
admin.site.site_title = "gisgrid"

"""The case loop's API (under /api/v1/) and pages (under /cases/), included once at the root.

Literal segments come before `<number>`: /api/v1/cases/hotline is the intake, never a case.
"""

from django.urls import path

from . import api, pages, stats_api

API = "api/v1/"

urlpatterns = [
    path(API + "cases", api.CasesView.as_view(), name="case-list"),
    path(API + "cases/hotline", api.HotlineView.as_view(), name="case-hotline"),
    path(API + "cases/stats", stats_api.CaseStatsView.as_view(), name="case-stats"),
    path(API + "cases/points", stats_api.CasePointsView.as_view(), name="case-points"),
    path(API + "cases/public/<str:token>", api.PublicCaseView.as_view(), name="case-public"),
    path(API + "cases/public/<str:token>/photos/<int:pk>/<str:variant>", api.PublicPhotoView.as_view(),
         name="case-public-photo"),
    path(API + "cases/<str:number>", api.CaseDetailView.as_view(), name="case-detail"),
    *[path(f"{API}cases/<str:number>/{action}", api.transition_view(action), name=name)
      for action, (name, *_rest) in api.TRANSITIONS.items()],
    path(API + "cases/<str:number>/extensions/<int:pk>/decide", api.ExtensionDecideView.as_view(),
         name="case-extension-decide"),
    path(API + "cases/<str:number>/duplicates", api.DuplicatesView.as_view(), name="case-duplicates"),
    path(API + "cases/<str:number>/photos/<int:pk>/<str:variant>", api.PhotoView.as_view(), name="case-photo"),
    path(API + "workorders", api.WorkOrdersView.as_view(), name="workorder-list"),
    path(API + "workorders/<int:pk>/document", api.WorkOrderDocumentView.as_view(), name="workorder-document"),
    path(API + "inbox", api.InboxView.as_view(), name="inbox"),
    path(API + "inbox/read", api.InboxReadView.as_view(), name="inbox-read"),
    # pages
    path("cases/", pages.queue_page, name="case-queue"),
    path("cases/unit/", pages.unit_page, name="unit-queue"),
    path("cases/phone/", pages.phone_page, name="phone"),
    path("cases/inbox/", pages.inbox_page, name="inbox-page"),
    path("cases/<str:number>/", pages.case_page, name="case-page"),
]

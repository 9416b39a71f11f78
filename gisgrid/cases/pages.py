"""The case loop's pages: the centre's queue, a unit's work orders, the phone page, one case, the inbox.

Each page is a shell; its script (the ES modules of frontend/static/gisgrid/cases/, entry main.js,
on the shared front-end core) reads the case API, so a page shows exactly what the API gives the
caller and acts through the same transition endpoints (reacting to error codes, never to message
text). Who may open which page is the permission matrix; anonymous callers are sent to the login
page, other roles get the 403 page.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from gisgrid.accounts import policy, roles
from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.gazetteer import SURE
from gisgrid.incidents.models import Category
from gisgrid.web.views import user_display

from . import photos, workflow
from .models import Case, Photo, WorkOrder
from .visibility import visible_cases


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


def _nav(user) -> list[dict]:
    """Links to the case pages this user may open (the current one included)."""
    items = [("case-queue", "queue"), ("unit-queue", "unit"), ("phone", "phone"), ("inbox-page", "inbox")]
    return [{"key": key, "url": reverse(name)} for name, key in items if policy.allows(user, name)]


def _config(request, page: str, **extra) -> dict:
    return {
        "page": page,
        "api": {
            "cases": reverse("case-list"), "workorders": reverse("workorder-list"), "inbox": reverse("inbox"),
            "inboxRead": reverse("inbox-read"), "categories": reverse("category-list"),
            "hotline": reverse("case-hotline"),
        },
        "casePage": reverse("case-page", args=["NUMBER"]),
        "states": _labels(Case.State.choices),
        "clocks": _labels(Case.Clock.choices),
        "stages": _labels(Case.Stage.choices),
        "channels": _labels(Case.Channel.choices),
        "severities": _labels(Category.Severity.choices),
        "workStates": _labels(WorkOrder.State.choices),
        "photoStages": _labels(Photo.Stage.choices),
        "maxPhotos": photos.MAX_PHOTOS,
        "maxPhotoBytes": photos.MAX_BYTES,
        "exifFlagM": photos.EXIF_FLAG_M,
        "isCentre": workflow.is_centre(request.user),
        **extra,
    }


def _guard(request, name: str, template: str):
    """None when the user may open page `name`; else the login redirect or the 403 page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.allows(request.user, name):
        return render(request, template, {"forbidden": True, "user_display": user_display(request.user),
                                          "nav": _nav(request.user)}, status=403)
    return None


def _render(request, template: str, page: str, **extra):
    return render(request, template, {"config": _config(request, page, **extra),
                                      "user_display": user_display(request.user), "nav": _nav(request.user),
                                      "page": page})


@require_safe
@ensure_csrf_cookie
def queue_page(request):
    """指挥中心案件队列: every open case, most urgent clock first; filters; the hotline desk."""
    refused = _guard(request, "case-queue", "cases/queue.html")
    if refused:
        return refused
    # The hotline form's place lookup; `sure` is the gazetteer's own threshold, so the page and
    # the geocoder agree on which answers are sure.
    return _render(request, "cases/queue.html", "queue", crs=list(CRS_CHOICES),
                   canHotline=policy.allows(request.user, "case-hotline", "POST"),
                   geocode={"url": reverse("geocode"), "limit": 5, "sure": SURE})


@require_safe
@ensure_csrf_cookie
def unit_page(request):
    """责任单位工单: the unit's work orders (the centre may pick any unit)."""
    refused = _guard(request, "unit-queue", "cases/unit.html")
    if refused:
        return refused
    units = sorted(roles.report_units(request.user) or ())
    return _render(request, "cases/unit.html", "unit", units=units)


@require_safe
@ensure_csrf_cookie
def phone_page(request):
    """手机上报: report with the phone's position and camera; my tasks; my grids' open cases."""
    refused = _guard(request, "phone", "cases/phone.html")
    if refused:
        return refused
    return _render(request, "cases/phone.html", "phone")


@require_safe
@ensure_csrf_cookie
def inbox_page(request):
    refused = _guard(request, "inbox-page", "cases/inbox.html")
    if refused:
        return refused
    return _render(request, "cases/inbox.html", "inbox")


@require_safe
@ensure_csrf_cookie
def case_page(request, number: str):
    """One case: its timeline, photos, clocks and the actions the viewer may take."""
    refused = _guard(request, "case-page", "cases/case.html")
    if refused:
        return refused
    if len(number) > 20 or "\x00" in number or not visible_cases(request.user).filter(number=number).exists():
        raise Http404("no such case")
    return _render(request, "cases/case.html", "case", number=number,
                   caseApi=reverse("case-detail", args=[number]),
                   duplicatesApi=reverse("case-duplicates", args=[number]),
                   canDuplicates=policy.allows(request.user, "case-duplicates"))

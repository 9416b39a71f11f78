"""The assessment pages: /assessment/ (rankings and drill-down for the centre and leaders; a grid
member's own score, evidence and quota this week), a bulletin, the reports list.

Each page is a shell; its script (frontend/static/gisgrid/assessment/main.js) reads the API, so a page
shows exactly what the API gives the caller. Anonymous callers go to the login page, roles the
permission matrix refuses get the 403 page.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from gisgrid.accounts import policy
from gisgrid.web.views import user_display

from .api import sees_all
from .models import Bulletin
from .periods import previous


def _guard(request, name: str):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.allows(request.user, name):
        return render(request, "assessment/page.html", {"forbidden": True, "user_display": user_display(request.user)},
                      status=403)
    return None


def _config(request, page: str, **extra) -> dict:
    last = previous("month")
    person = getattr(request.user, "person", None)
    return {
        "page": page, "leader": sees_all(request.user),
        "person": {"id": person.pk, "name": person.name} if person else None,
        "api": {"scores": reverse("assessment-scores"), "entries": reverse("assessment-entries"),
                "quota": reverse("assessment-quota"), "bulletins": reverse("assessment-bulletins"),
                "reports": reverse("assessment-reports"), "recompute": reverse("assessment-recompute")},
        "bulletinPage": reverse("assessment-bulletin-page", args=[0]).replace("/0/", "/ID/"),
        "casePage": reverse("case-page", args=["NUMBER"]),
        "defaultStart": last.start.isoformat(),
        **extra,
    }


def _render(request, page: str, **extra):
    return render(request, "assessment/page.html", {"config": _config(request, page, **extra), "page": page,
                                                    "user_display": user_display(request.user)})


@require_safe
@ensure_csrf_cookie
def index_page(request):
    return _guard(request, "assessment") or _render(request, "index")


@require_safe
@ensure_csrf_cookie
def bulletin_page(request, pk: int):
    denied = _guard(request, "assessment-bulletin-page")
    if denied:
        return denied
    b = Bulletin.objects.filter(pk=pk).first()
    if b is None:
        from django.http import Http404

        raise Http404("no such bulletin")
    return _render(request, "bulletin", bulletin={
        "id": b.pk, "title": b.title, "api": reverse("assessment-bulletin", args=[b.pk]),
        "download": reverse("assessment-bulletin-download", args=[b.pk])})


@require_safe
@ensure_csrf_cookie
def reports_page(request):
    return _guard(request, "assessment-reports-page") or _render(request, "reports")

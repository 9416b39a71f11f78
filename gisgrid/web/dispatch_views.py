"""/dispatch/: the dispatcher's workbench (cases, people and grids on one map, pushed live).

The page is a shell: its ES modules (frontend/static/gisgrid/dispatch/) read the case, patrol
and grid APIs and the push stream (/api/v1/events, docs/push), so the page shows exactly what
those give the caller. Everything the script needs that the APIs do not name (labels, the
matter list, units, grid names, people's usernames for the `position` events) is one JSON blob.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from gisgrid.accounts import policy, roles
from gisgrid.boundaries.models import Grid, Person, Unit
from gisgrid.cases import workflow
from gisgrid.cases.models import Case
from gisgrid.incidents.models import Category

from .views import page_config, user_display

EVENTS_URL = "/api/v1/events"  # the push service's (docs/push-contract), served beside the API
TRAIL_MINUTES = 30
HEAT_DAYS = 30


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


def refuse(request, name: str, template: str):
    """None when the user may open page `name`; else the login redirect or the 403 page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.allows(request.user, name):
        return render(request, template, {"forbidden": True, "user_display": user_display(request.user)},
                      status=403)
    return None


def case_labels() -> dict:
    return {
        "states": _labels(Case.State.choices),
        "clocks": _labels(Case.Clock.choices),
        "stages": _labels(Case.Stage.choices),
        "categories": dict(Category.objects.order_by("code").values_list("code", "name")),
        "units": [{"id": u[0], "code": u[1], "name": u[2]}
                  for u in Unit.objects.order_by("code").values_list("id", "code", "name")],
        "gridNames": dict(Grid.objects.filter(edition__status="active").values_list("code", "name")),
    }


@require_safe
@ensure_csrf_cookie
def dispatch_page(request):
    refused = refuse(request, "dispatch", "web/dispatch.html")
    if refused:
        return refused
    config = page_config(
        points=reverse("case-points"), cases=reverse("case-list"), case=reverse("case-detail", args=["NUMBER"]),
        casePage=reverse("case-page", args=["NUMBER"]), live=reverse("patrols-live"),
        track=reverse("patrols-track"), coverage=reverse("patrol-coverage"), geocode=reverse("geocode"),
        grid=reverse("grid-detail", args=["CODE"]), blindSpots=reverse("blind-spots"), events=EVENTS_URL)
    config.update(case_labels())
    config.update(
        canAct=workflow.is_centre(request.user),
        # `position` events name people by username; the live API by Person id.
        people={str(pid): username for pid, username in
                Person.objects.filter(user__isnull=False).values_list("id", "user__username")},
        trailMinutes=TRAIL_MINUTES,
        heatDays=HEAT_DAYS,
        supervisor=roles.can_supervise_patrols(request.user),
    )
    states = [(v, label) for v, label in Case.State.choices if v not in Case.CLOSED_STATES]
    return render(request, "web/dispatch.html", {"config": config, "user_display": user_display(request.user),
                                                  "states": states})

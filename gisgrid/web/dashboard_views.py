"""/dashboard/: the leaders' dashboard (cases by state, category and town, on-time rate,
overdue list, a choropleth by grid), live on `case` events. The figures are GET /api/v1/cases/stats.
"""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from .dispatch_views import EVENTS_URL, case_labels, refuse
from .views import page_config, user_display

# Recount at most this often while `case` events arrive (a burst of changes is one recount).
RECOUNT_DEBOUNCE_MS = 1500
PERIOD_DAYS = 30


@require_safe
@ensure_csrf_cookie
def dashboard_page(request):
    refused = refuse(request, "dashboard", "web/dashboard.html")
    if refused:
        return refused
    config = page_config(stats=reverse("case-stats"), casePage=reverse("case-page", args=["NUMBER"]),
                         events=EVENTS_URL)
    labels = case_labels()
    config.update(states=labels["states"], stages=labels["stages"], gridNames=labels["gridNames"],
                  debounceMs=RECOUNT_DEBOUNCE_MS, periodDays=PERIOD_DAYS)
    return render(request, "web/dashboard.html", {"config": config, "user_display": user_display(request.user)})

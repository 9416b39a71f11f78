"""The map page. Anyone may look (the grid API is public read-only); it shows who is signed in.

Everything the browser script needs (API addresses, basemap, labels of grid kinds) goes into one
JSON blob rendered with ``json_script``; UI strings live in the template as {% translate %}.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from gisgrid.accounts.roles import can_edit_boundaries, patrol_scope, role_label
from gisgrid.boundaries.models import Grid
from gisgrid.patrols.live_api import MAX_TRACK_DAYS

from .basemap import basemap_config

# Where the map opens before it fits the county outline (settings.LEAFLET_CONFIG, per county).
MAP_CENTER = tuple(settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (35.2385, 110.1449)))
MAP_ZOOM = settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 10)
# Display simplification per level, metres (the API simplifies each level as a coverage).
SIMPLIFY_M = {1: 10, 2: 5, 3: 1}
# Zoom at which labels of a level appear; level 3 is fetched from this zoom on (or on toggle).
LABEL_MIN_ZOOM = {1: 0, 2: 12, 3: 16}
LEVEL3_LOAD_ZOOM = 13


def user_display(user) -> dict:
    if not getattr(user, "is_authenticated", False):
        return {"authenticated": False, "name": _("访客"), "role": _("只读"), "text": _("访客（只读）")}
    name = user.get_username()
    role = role_label(user) or _("无角色")
    return {
        "authenticated": True,
        "name": name,
        "full_name": user.get_full_name().strip(),
        "role": role,
        "text": f"{name}（{role}）",
    }


def page_config(**api: str) -> dict:
    """What every map page's script needs: API addresses, basemap, display settings."""
    return {
        "api": {"county": reverse("county"), "grids": reverse("grid-list"), **api},
        "center": list(MAP_CENTER),
        "zoom": MAP_ZOOM,
        "basemap": basemap_config(),
        "simplify": SIMPLIFY_M,
        "kinds": {value: str(label) for value, label in Grid.Kind.choices},
    }


@require_safe
def map_page(request):
    config = page_config()
    config.update(labelMinZoom=LABEL_MIN_ZOOM, level3LoadZoom=LEVEL3_LOAD_ZOOM)
    context = {
        "config": config,
        "basemap_url": config["basemap"]["url"],
        "basemap_attribution": config["basemap"]["attribution"],
        "user_display": user_display(request.user),
        "can_plan": can_edit_boundaries(request.user),
        "can_patrol": patrol_scope(request.user) is not None,
        "language": translation.get_language(),
    }
    return render(request, "web/map.html", context)


@require_safe
def planner_page(request):
    """网格规划: planners and admins edit draft editions through the planner API."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_edit_boundaries(request.user):
        return render(request, "web/planner.html", {"forbidden": True, "user_display": user_display(request.user)},
                      status=403)
    config = page_config(editions=reverse("edition-list"), blindSpots=reverse("blind-spots"))
    config["mapUrl"] = reverse("map")
    return render(request, "web/planner.html", {"config": config, "user_display": user_display(request.user)})


# 巡查覆盖: the last positions refresh this often; a grid counts as well covered from this share.
LIVE_REFRESH_S = 30
SHARE_GOOD = 0.8


@require_safe
def patrols_page(request):
    """巡查覆盖: who patrolled which grid, which grids nobody visited, where everyone is, replay.

    Roles that may see no tracks at all (units, planners) get the page's 403 message; a grid
    member sees their own patrols only (the API scopes every answer, the page just shows it).
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    scope = patrol_scope(request.user)
    if scope is None:
        return render(request, "web/patrols.html", {"forbidden": True, "user_display": user_display(request.user)},
                      status=403)
    config = page_config(coverage=reverse("patrol-coverage"), schedule=reverse("patrol-schedule"),
                         live=reverse("patrols-live"), track=reverse("patrols-track"))
    offset = timezone.localtime(timezone=timezone.get_default_timezone()).utcoffset()  # Asia/Shanghai
    config.update(
        mapUrl=reverse("map"),
        # Periods are county time (Monday 00:00 starts the week) whatever the browser's zone.
        utcOffsetMin=int(offset.total_seconds() // 60) if offset is not None else 0,
        liveRefreshS=LIVE_REFRESH_S,
        trackMaxDays=MAX_TRACK_DAYS,
        shareGood=SHARE_GOOD,
        radiusM=settings.GISGRID_PATROL_RADIUS_M,
        idle={"radiusM": settings.GISGRID_PATROL_IDLE["radius_m"], "minutes": settings.GISGRID_PATROL_IDLE["min_s"] // 60},
        scope="all" if scope == "all" else "self",
    )
    return render(request, "web/patrols.html", {"config": config, "user_display": user_display(request.user)})


@require_safe
def index(request):
    return redirect("map")

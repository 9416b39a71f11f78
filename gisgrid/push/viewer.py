"""Who is asking: the signed-in user of a session cookie or an API token, as a `Viewer`.

Loaded once per connection (the stream) or request (polling). The rules mirror the cases'
visibility (gisgrid/cases/visibility.py) and the patrols' scope (accounts.roles): units count
for unit staff only, grid codes for grid members only.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest
from rest_framework.exceptions import AuthenticationFailed

from gisgrid.accounts import roles
from gisgrid.accounts.authentication import TokenAuthentication
from gisgrid.boundaries.models import GridAssignment

from .audience import Viewer


def viewer_of(user) -> Viewer | None:
    """The viewer of a signed-in `user`; None when not signed in."""
    if not getattr(user, "is_authenticated", False):
        return None
    user_roles = frozenset(roles.user_roles(user))
    units = frozenset(roles.report_units(user) or ())
    codes: frozenset[str] = frozenset()
    if roles.GRID_MEMBER in user_roles:
        person = getattr(user, "person", None)
        if person is not None:
            codes = frozenset(GridAssignment.objects.filter(person=person).values_list("grid_code", flat=True))
    return Viewer(user.pk, user_roles, units, codes)


def user_from_credentials(session_key: str | None, token: str | None):
    """The active user of an API token (`Authorization: Token <key>`) or of a session cookie,
    checked as Django's own middleware checks them (the session's auth hash, is_active); None
    when neither checks out."""
    if token:
        try:
            return TokenAuthentication().authenticate_credentials(token)[0]
        except AuthenticationFailed:
            return None
    if session_key:
        from importlib import import_module

        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        request = HttpRequest()
        request.session = store
        user = get_user(request)
        return user if getattr(user, "is_authenticated", False) else None
    return None

"""Who is asking, with their roles, in one query: API tokens (DRF) and signed-in sessions.

DRF's TokenAuthentication reads the token and user, and Django's ModelBackend the session's
user; the first permission check then reads the user's groups (roles.user_roles): a second
round trip to PostgreSQL before any work. Under a county's busy hour each round trip is a wait
for a database backend to be scheduled, and the lookups' slowest 1 % is made of such waits
(docs/operations.md, "Database round trips"), so the roles come with the user, aggregated in
the same query.
"""

from __future__ import annotations

from django.contrib.auth import backends, get_user_model
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q
from rest_framework import authentication

from .roles import ADMIN


def _with_roles(user, names) -> None:
    roles = set(names)
    if user.is_superuser:
        roles.add(ADMIN)
    user._gisgrid_roles = roles  # what roles.user_roles would read with a query of its own


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, with `user._gisgrid_roles` filled in."""

    def authenticate_credentials(self, key: str):
        model = self.get_model()
        try:
            token = (model.objects.select_related("user")
                     .annotate(role_names=ArrayAgg("user__groups__name", filter=Q(user__groups__isnull=False),
                                                   default=[]))
                     .get(key=key))
        except model.DoesNotExist:
            token = None
        if token is None or not token.user.is_active:
            # Refused as DRF refuses, in DRF's own words and translations (one more query, on
            # the refusal only).
            return super().authenticate_credentials(key)
        user = token.user
        _with_roles(user, token.role_names)
        return (user, token)


class ModelBackend(backends.ModelBackend):
    """Django's backend (password sign-in unchanged); a session's user comes with its roles."""

    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = (model._default_manager
                    .annotate(role_names=ArrayAgg("groups__name", filter=Q(groups__isnull=False), default=[]))
                    .get(pk=user_id))
        except model.DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        _with_roles(user, user.role_names)
        return user

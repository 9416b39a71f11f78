"""Who is asking, with their roles, in one query (gisgrid/accounts/authentication.py): API tokens
and signed-in sessions; refusals as DRF's own."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from gisgrid.accounts import roles
from gisgrid.accounts.authentication import ModelBackend, TokenAuthentication

pytestmark = pytest.mark.django_db


def _user(name: str, *role_names: str, **kw) -> User:
    user = User.objects.create_user(name, password="pw-123456", **kw)
    for r in role_names:
        user.groups.add(Group.objects.get_or_create(name=r)[0])
    return user


def test_a_token_brings_its_user_and_every_role_in_one_query():
    user = _user("twohats", roles.DISPATCHER, roles.INSPECTOR)
    key = Token.objects.create(user=user).key
    with CaptureQueriesContext(connection) as q:
        found, token = TokenAuthentication().authenticate_credentials(key)
        got = roles.user_roles(found)
    assert len(q.captured_queries) == 1
    assert found.pk == user.pk and token.key == key
    assert got == {roles.DISPATCHER, roles.INSPECTOR}


def test_a_user_without_roles_and_a_superuser():
    plain = _user("noroles")
    boss = _user("boss", is_superuser=True)
    auth = TokenAuthentication()
    assert roles.user_roles(auth.authenticate_credentials(Token.objects.create(user=plain).key)[0]) == set()
    assert roles.user_roles(auth.authenticate_credentials(Token.objects.create(user=boss).key)[0]) == {roles.ADMIN}


def test_unknown_tokens_and_inactive_users_are_refused():
    gone = _user("gone", roles.DISPATCHER, is_active=False)
    key = Token.objects.create(user=gone).key
    with translation.override("en"):
        with pytest.raises(AuthenticationFailed, match="inactive"):
            TokenAuthentication().authenticate_credentials(key)
        with pytest.raises(AuthenticationFailed, match="Invalid token"):
            TokenAuthentication().authenticate_credentials("0" * 40)


def test_a_sessions_user_comes_with_its_roles_in_one_query():
    user = _user("chief", roles.GRID_CHIEF)
    backend = ModelBackend()
    with CaptureQueriesContext(connection) as q:
        found = backend.get_user(user.pk)
        got = roles.user_roles(found)
    assert len(q.captured_queries) == 1
    assert got == {roles.GRID_CHIEF}
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert backend.get_user(user.pk) is None
    assert backend.get_user(10**9) is None


def test_the_api_answers_by_the_tokens_roles(client):
    # A dispatcher's token reads the case queue; a unit-less account with no role is refused.
    dispatcher = _user("desk", roles.DISPATCHER)
    nobody = _user("nobody")
    ok = client.get("/api/v1/cases", HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=dispatcher).key}")
    refused = client.get("/api/v1/cases", HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=nobody).key}")
    assert ok.status_code == 200, ok.content
    assert refused.status_code == 403, refused.content

"""Shared fixtures: the Heyang dataset in the test database, and API clients per role."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
HEYANG = ROOT / "geodata" / "heyang"


def _ensure_heyang() -> None:
    from gisgrid.boundaries.models import Edition
    from gisgrid.datasets.loader import load_dataset

    if not Edition.objects.filter(status="active").exists():
        load_dataset(settings.GISGRID_DATASET_DIR)
        call_command("create_demo_users", quiet=True)


@pytest.fixture(scope="session")
def heyang_loaded(django_db_setup, django_db_blocker):
    """Load Heyang once per session, committed, outside any test transaction."""
    with django_db_blocker.unblock():
        _ensure_heyang()


@pytest.fixture(scope="session", autouse=True)
def stop_group_committer(django_db_setup):
    """A test that sent a single fix outside a transaction (live_server, transactional_db)
    started this process's group committer, which keeps a connection to the test database:
    stop it before the database is dropped."""
    yield
    from gisgrid.patrols.ingest import group_commit

    group_commit.shutdown()


@pytest.fixture
def fresh_partitions():
    """Partitions made in a test roll back with it; the process-wide cache of known partitions
    must not outlive them. Modules that store fixes use it with `pytestmark`."""
    from gisgrid.patrols import partitions

    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def heyang_db(heyang_loaded, django_db_blocker, db):
    # A transactional test elsewhere may have flushed the tables: load again when gone.
    with django_db_blocker.unblock():
        _ensure_heyang()


@pytest.fixture
def heyang_live(heyang_loaded, transactional_db, django_db_blocker):
    """For live_server/browser tests: committed data visible to the server thread."""
    _ensure_heyang()


def _client_for(username: str | None):
    from rest_framework.test import APIClient

    client = APIClient()
    if username:
        from django.contrib.auth.models import User

        client.force_authenticate(User.objects.get(username=username))
    return client


@pytest.fixture
def anon_client(heyang_db):
    return _client_for(None)


@pytest.fixture
def client_as(heyang_db):
    return _client_for


# Browser tests (test_map_page, test_planner_page) share one chromium per session: Playwright's
# sync API cannot run twice at once in one thread.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    from playwright import sync_api
    # Playwright's sync API keeps an asyncio loop running in this thread; Django then refuses
    # ORM calls here (fixtures, flushes) as if they came from async code. They do not.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield b
            b.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved

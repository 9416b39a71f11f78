"""A client generated from /api/schema/ by a standard OpenAPI generator works with typed answers.

openapi-python-client (a test dependency) builds a Python package from the schema the server
publishes, exactly as an outside team would (the 12345 hotline, the county's case platform);
the test then calls locate, route and coverage against the live server through it and checks
that the answers arrive as the generated model classes, with their fields filled, not as
untyped dictionaries. A schema that stops describing an answer, or describes it wrongly, makes
the generator emit a warning or the parsing fail here.
"""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

SEAT = (110.1496, 35.2377)  # the county town, WGS-84


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("client")
    schema = out / "schema.yaml"
    call_command("spectacular", "--file", str(schema))
    (out / "config.yaml").write_text("post_hooks: []\npackage_name_override: gisgrid_client\n"
                                     "project_name_override: gisgrid-client\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run([str(generator), "generate", "--path", str(schema), "--config", "config.yaml",
                           "--meta", "none", "--overwrite"], cwd=out, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # The generator prints warnings for any part of the schema it could not turn into code.
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(out))
    yield out
    sys.path.remove(str(out))
    for name in [m for m in sys.modules if m == "gisgrid_client" or m.startswith("gisgrid_client.")]:
        del sys.modules[name]


@pytest.fixture
def client(generated, live_server, heyang_live):
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=User.objects.get(username="dispatcher"))
    package = importlib.import_module("gisgrid_client")
    with package.AuthenticatedClient(base_url=live_server.url, token=token.key, prefix="Token") as c:
        yield c


def test_locate_answers_with_typed_grid_chain(client):
    from gisgrid_client.api.v1 import locate_point
    from gisgrid_client.models import LocateAnswer

    answer = locate_point.sync(client=client, lon=SEAT[0], lat=SEAT[1])
    assert isinstance(answer, LocateAnswer), answer
    fields = answer.to_dict()
    assert fields["status"] == "inside"
    levels = [g["level"] for g in fields["grids"]]
    assert levels[0] == 1 and levels == sorted(levels)
    assert all(g["code"].startswith("610524") for g in fields["grids"])


def test_locate_error_is_the_typed_error_model(client):
    from gisgrid_client.api.v1 import locate_point
    from gisgrid_client.models import ApiError

    answer = locate_point.sync(client=client, lon=SEAT[1], lat=200.0)
    assert isinstance(answer, ApiError), answer
    assert answer.error == "invalid" and "lat" in answer.to_dict().get("fields", {})


def test_route_answers_with_units(client):
    from gisgrid_client.api.v1 import route
    from gisgrid_client.models import RouteAnswer

    answer = route.sync(client=client, category="E0501", lon=SEAT[0], lat=SEAT[1])
    assert isinstance(answer, RouteAnswer), answer
    body = answer.to_dict()
    assert body["lead_unit"]["name"]
    assert body["category"]["code"] == "E0501"


def test_coverage_answers_typed_rows(client):
    from gisgrid_client.api.v1 import patrols_coverage
    from gisgrid_client.models import CoverageAnswer

    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(hour=0, minute=0, second=0, microsecond=0)
    answer = patrols_coverage.sync(client=client, start=today.isoformat(), end=(today + dt.timedelta(days=1)).isoformat())
    assert isinstance(answer, CoverageAnswer), answer
    # Typed all the way down: nested models with their attributes, not dictionaries.
    assert answer.summary.grids == len(answer.grids) > 0
    assert answer.summary.unvisited == len(answer.unvisited)
    assert all(0.0 <= row.share <= 1.0 and row.code.startswith("610524") for row in answer.grids)
    assert answer.edition.id > 0

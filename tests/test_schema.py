"""The OpenAPI schema at /api/schema/ is valid, typed and says who may call what.

A client generated from it (issue 10) must get typed answers, the shared error shape, the device
token on the track endpoints and unique operation ids; drf-spectacular's own validation must
pass with no warning, since each warning is a place where the schema guesses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from gisgrid.accounts import policy

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _free_form(schema: dict, node: dict) -> bool:
    """An object the schema says nothing about: what untyped answers looked like before."""
    node = _resolve(schema, node)
    if node.get("type") == "array":
        return _free_form(schema, node.get("items", {}))
    if "oneOf" in node or "allOf" in node or "anyOf" in node:
        return False
    return node.get("type") in ("object", None) and not node.get("properties")


def test_spectacular_validates_without_errors_or_warnings(tmp_path: Path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn raises on any error or warning drf-spectacular emits while generating.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    written = yaml.safe_load(out.read_text())
    assert written["openapi"].startswith("3.")
    assert len(list(_operations(written))) >= 33


def test_every_answer_is_typed(schema: dict):
    untyped = []
    for path, method, op in _operations(schema):
        ok = [code for code in op["responses"] if code.startswith("2")]
        assert ok, f"{method} {path} declares no success answer"
        for code in ok:
            content = op["responses"][code].get("content", {})
            assert "application/json" in content or "text/event-stream" in content, f"{method} {path} {code}"
            for media, body in content.items():
                if media == "text/csv":
                    assert body["schema"]["type"] == "string"
                elif _free_form(schema, body["schema"]):
                    untyped.append(f"{method.upper()} {path} {code}")
    assert untyped == []


def test_every_write_declares_its_body(schema: dict):
    missing = [f"{m.upper()} {p}" for p, m, op in _operations(schema)
               if m != "get" and not op.get("requestBody", {}).get("content")]
    assert missing == []


def test_errors_share_one_component(schema: dict):
    error = schema["components"]["schemas"]["ApiError"]
    assert error["required"] == ["error"]
    assert {"error", "detail", "fields", "findings"} <= set(error["properties"])
    for path, method, op in _operations(schema):
        for code in ("400", "401", "403", "404", "503"):
            body = op["responses"][code]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ApiError"}, (method, path, code)


def test_geojson_is_typed(schema: dict):
    geometry = schema["components"]["schemas"]["GeoJSONGeometry"]
    kinds = {_resolve(schema, v)["properties"]["type"]["enum"][0] for v in geometry["oneOf"]}
    assert kinds == {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                     "GeometryCollection"}
    # The grid detail's outline is the model column, typed by DRF-GIS as a MultiPolygon.
    detail = schema["components"]["schemas"]["GridDetail"]["properties"]["geometry"]
    assert detail["properties"]["type"]["enum"] == ["MultiPolygon"]
    features = _resolve(schema, schema["components"]["schemas"]["GridFeatureCollection"]["properties"]["features"]
                        ["items"])
    assert _resolve(schema, features["properties"]["geometry"]) == geometry or \
        features["properties"]["geometry"]["allOf"] == [{"$ref": "#/components/schemas/GeoJSONGeometry"}]


def test_operation_ids_are_unique(schema: dict):
    ids = [op["operationId"] for _, _, op in _operations(schema)]
    assert len(ids) == len(set(ids))
    assert not [i for i in ids if i[-1].isdigit()], "drf-spectacular resolved a collision with a numeral"


def test_device_endpoints_declare_the_device_token(schema: dict):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["deviceTokenQuery"] == {**schemes["deviceTokenQuery"], "type": "apiKey", "in": "query",
                                           "name": "token"}
    assert schemes["deviceBearer"]["scheme"] == "bearer"
    assert schemes["deviceTokenHeader"]["name"] == "X-Device-Token"
    assert "tokenAuth" in schemes  # DRF's `Authorization: Token` for users
    for path, method in (("/api/v1/track/osmand", "get"), ("/api/v1/track/osmand", "post"),
                         ("/api/v1/track/positions", "post")):
        security = schema["paths"][path][method]["security"]
        assert {} not in security, f"{method} {path} declared open"
        assert {k for s in security for k in s} == {"deviceTokenQuery", "deviceBearer", "deviceTokenHeader"}


def test_anonymous_access_follows_the_permission_matrix(schema: dict):
    for path, method, op in _operations(schema):
        rule = next(r for r in policy.RULES if r.route == path and r.method == method.upper())
        open_to_anonymous = rule.cells[policy.ANONYMOUS] in policy.ALLOWED
        assert ({} in op["security"]) == open_to_anonymous, (method, path)

"""Shared pieces of the OpenAPI schema (/api/schema/): GeoJSON, the one error shape, findings.

Documentation only: nothing here parses or renders a request. The serializers describe what the
views answer so clients generated from the schema get typed data, and `postprocess` gives every
operation the error answers every API view can give (docs/api.md, "Errors"), so a new endpoint
is documented with them without anyone adding them by hand.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gisgrid.accounts import policy
from gisgrid.boundaries.models import Edition

# Named choice sets (SPECTACULAR_SETTINGS ENUM_NAME_OVERRIDES) so components share one enum each.
FEATURE = ["Feature"]
FEATURE_COLLECTION = ["FeatureCollection"]
EDITION_STATUS = Edition.Status.choices
LOCATE_STATUS = ["inside", "blind_spot", "outside"]

POSITION = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3,
            "description": "[lon, lat] (WGS-84)"}


def _geometry(kind: str, coordinates: dict) -> dict:
    return {"type": "object", "required": ["type", "coordinates"],
            "properties": {"type": {"type": "string", "enum": [kind]}, "coordinates": coordinates}}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


LINE = _array(POSITION)
POLYGON = _array(LINE)
GEOMETRY_TYPES = {
    "Point": POSITION,
    "MultiPoint": LINE,
    "LineString": LINE,
    "MultiLineString": POLYGON,
    "Polygon": POLYGON,
    "MultiPolygon": _array(POLYGON),
}
GEOMETRY_REF = {"$ref": "#/components/schemas/GeoJSONGeometry"}
# Each simple geometry is a named component and the unions refer to them: client generators
# (openapi-python-client, tests/test_generated_client.py) cannot build a class from an unnamed
# object inside a union nested in an array.
SIMPLE_REFS = [{"$ref": f"#/components/schemas/GeoJSON{kind}"} for kind in GEOMETRY_TYPES]
# A GeometryCollection holds simple geometries only (RFC 7946 §3.1.8 advises against nesting).
COMPONENTS: dict[str, dict[str, Any]] = {
    **{f"GeoJSON{kind}": _geometry(kind, c) for kind, c in GEOMETRY_TYPES.items()},
    "GeoJSONGeometryCollection": {
        "type": "object", "required": ["type", "geometries"],
        "properties": {"type": {"type": "string", "enum": ["GeometryCollection"]},
                       "geometries": _array({"oneOf": SIMPLE_REFS})}},
    "GeoJSONGeometry": {
        "description": "GeoJSON geometry (RFC 7946), coordinates [lon, lat] in WGS-84",
        "oneOf": [*SIMPLE_REFS, {"$ref": "#/components/schemas/GeoJSONGeometryCollection"}],
    },
}


@extend_schema_field(GEOMETRY_REF)
class GeoJSONGeometryField(serializers.JSONField):
    """A GeoJSON geometry built by the service (shapely's mapping), not read from a model column;
    model columns use DRF-GIS's GeometryField, typed from the column."""


def geojson_geometry(**kwargs: Any) -> GeoJSONGeometryField:
    return GeoJSONGeometryField(**kwargs)


class Finding(serializers.Serializer):
    """One validation finding (gisgrid/boundaries/validation.py, Finding.to_dict)."""

    kind = serializers.ChoiceField(["gap", "overlap", "outside_parent", "invalid", "sliver", "multipart",
                                    "edge_mismatch", "blind_spot", "repaired"])
    severity = serializers.ChoiceField(["error", "warning", "info"])
    level = serializers.IntegerField(allow_null=True)
    codes = serializers.ListField(child=serializers.CharField())
    area_m2 = serializers.FloatField()
    message = serializers.CharField()
    details = serializers.DictField(help_text="kind-specific: location, reason, repair, …")
    geometry = geojson_geometry(allow_null=True)


class ApiError(serializers.Serializer):
    """Every error answer under /api/ (gisgrid/api_errors.py)."""

    error = serializers.CharField(help_text="the stable machine code clients switch on: invalid, not_authenticated, "
                                            "permission_denied, not_found, stale_version, not_draft, wrong_state, "
                                            "too_large, database_unavailable, … (docs/errors.md lists them all)")
    detail = serializers.CharField(required=False,
                                   help_text="the message in the request's language (Accept-Language: zh-hans "
                                             "by default, en)")
    fields = serializers.DictField(required=False, child=serializers.JSONField(),
                                   help_text="per offending field or parameter, a list of reasons")
    findings = Finding(many=True, required=False,
                       help_text="editions: the findings that block publishing, or the invalid polygons of an import")
    current_version = serializers.IntegerField(required=False, help_text="stale_version: the version now stored")
    edition_status = serializers.CharField(required=False, help_text="not_draft: the edition's status now")


class EditionRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class EditionState(EditionRef):
    status = serializers.ChoiceField(EDITION_STATUS)


class GridRef(serializers.Serializer):
    level = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class PersonRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()


class Period(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class AutoSchema(openapi.AutoSchema):
    """Security from the permission matrix (gisgrid/accounts/policy.py): an operation is open
    to anonymous callers (`{}` among its requirements) exactly when the matrix lets them call it.
    drf-spectacular alone would guess from DRF's permission classes, which FromMatrix hides."""

    def get_auth(self) -> list[dict]:
        found = [requirement for requirement in super().get_auth() if requirement]
        rule = next((r for r in policy.RULES if r.route == self.path and r.method == self.method), None)
        if rule is None:  # no rule: FromMatrix refuses everyone; a new view's own classes decide
            return super().get_auth()
        return found + [{}] if rule.cells[policy.ANONYMOUS] in policy.ALLOWED else found


# Statuses any API view can answer, besides its own. 401/403: the permission matrix
# (gisgrid/accounts/policy.py); 404: an unknown id or edition; 503: the database did not answer.
COMMON_ERRORS = {
    "400": "参数有误 (invalid request): `fields` names each offending parameter",
    "401": "未登录或凭据无效 (not authenticated)",
    "403": "无权限 (permission denied)",
    "404": "不存在或不可见 (not found)",
    "503": "数据库暂不可用，请按 Retry-After 重试 (database unavailable or busy; retry)",
}
BODY_ERRORS = {
    "409": "草稿已变或不是草稿 (conflict: stale version, not a draft)",
    "413": "请求体过大 (request body too large)",
    "415": "不支持的内容类型 (unsupported media type)",
}


def postprocess(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular POSTPROCESSING_HOOKS: the shared components, and the shared error answers
    on every operation that does not declare its own."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in COMPONENTS.items():
        schemas.setdefault(name, component)
    error = {"$ref": "#/components/schemas/ApiError"}
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = {**COMMON_ERRORS, **(BODY_ERRORS if method != "get" else {})}
            responses = operation.setdefault("responses", {})
            for code, description in codes.items():
                responses.setdefault(code, {"description": description,
                                            "content": {"application/json": {"schema": error}}})
    return result

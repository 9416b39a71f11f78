"""Planner API: drafts, edits, validation, publish, diff, blind spots. Thin over the services.

The services refuse with the error family (editions.EditionError, NotDraft, EditionStale,
importing.GridImportError); gisgrid/api_errors.py answers them like every other error.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import shapely
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.permissions import CanEditBoundaries, IsPlanner
from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.errors import Text, TooLarge
from gisgrid.parsers import JSONParser

from . import diff, editing, editions, importing, routed_items
from .api import edition_for, refuse_nul, resolve_edition, visible_editions
from .edition_validation import validate_edition
from .models import Edition, EditionChange
from .schema import (
    BlindSpotCollection,
    Change,
    DiffSchema,
    EditAnswer,
    EditionDetail,
    EditRequest,
    ImportAnswer,
    ImportRequest,
    PublishRequest,
    ValidationAnswer,
)
from .serializers import EditionSerializer

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def geometry_field(data: dict, field: str) -> shapely.Geometry:
    raw = data.get(field)
    if raw is None:
        raise BadParameter(field, Text("必填：GeoJSON 几何", "required: a GeoJSON geometry"))
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            raise BadParameter(field, Text("不是合法的 GeoJSON", "not valid GeoJSON")) from None
    if isinstance(raw, dict) and raw.get("type") == "Feature":
        raw = raw.get("geometry")
    try:
        geom = shapely.geometry.shape(raw)
    except Exception:  # shapely raises several types for malformed GeoJSON; all mean "bad input"
        raise BadParameter(field, Text("不是合法的 GeoJSON 几何", "not a GeoJSON geometry")) from None
    if geom.is_empty:
        raise BadParameter(field, Text("图形为空", "empty geometry"))
    return geom


def version_field(data: dict, required: bool = False) -> int | None:
    raw = data.get("version")
    if raw in (None, ""):
        if required:
            # Without the version it read, an editor could silently overwrite another's work.
            raise BadParameter("version", Text("必填：读取草稿时的版本号", "required: the draft version you edited"))
        return None
    try:
        return int(raw)
    except (TypeError, ValueError, OverflowError):
        raise BadParameter("version", Text("必须是整数", "must be an integer")) from None


class CreateDraft(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    based_on = serializers.IntegerField(required=False, min_value=1)
    note = serializers.CharField(required=False, allow_blank=True)


class EditionsView(APIView):
    permission_classes = [CanEditBoundaries]

    @extend_schema(operation_id="editions_list", responses=EditionSerializer(many=True))
    def get(self, request):
        return Response(EditionSerializer(visible_editions(request.user), many=True).data)

    @extend_schema(operation_id="editions_create", request=CreateDraft, responses={201: EditionSerializer})
    def post(self, request):
        s = CreateDraft(data=request.data)
        s.is_valid(raise_exception=True)
        based_on = edition_for(request, s.validated_data["based_on"]) if s.validated_data.get("based_on") else None
        draft = editions.create_draft(s.validated_data["name"], based_on=based_on, user=request.user)
        if s.validated_data.get("note"):
            Edition.objects.filter(pk=draft.pk).update(note=s.validated_data["note"])
            draft.refresh_from_db()
        return Response(EditionSerializer(draft).data, status=201)


class EditionDetailView(APIView):
    @extend_schema(operation_id="editions_retrieve", responses=EditionDetail)
    def get(self, request, pk: int):
        edition = edition_for(request, pk)
        data = EditionSerializer(edition).data
        data["grids"] = editions.grid_count_by_level(edition)
        return Response(data)


class ValidationView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(operation_id="editions_validation", responses=ValidationAnswer)
    def get(self, request, pk: int):
        edition = edition_for(request, pk)
        findings = validate_edition(edition)
        return Response({
            "edition": {"id": edition.pk, "version": edition.version, "status": edition.status},
            "errors": sum(f.severity == "error" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
            "findings": [f.to_dict() for f in findings],
        })


def _edit_response(edition: Edition, result: dict, reported: list | None = None) -> Response:
    """The edit's result and the draft's validation; `reported` findings (repairs) come first."""
    findings = validate_edition(edition)
    return Response({**result, "version": edition.version,
                     "errors": sum(f.severity == "error" for f in findings),
                     "findings": [f.to_dict() for f in (reported or []) + findings]})


class EditView(APIView):
    """POST /editions/{id}/{op}: assign, reshape, split, merge, undo, redo."""

    permission_classes = [IsPlanner]
    parser_classes = [JSONParser]

    @extend_schema(operation_id="editions_edit", request=EditRequest, responses=EditAnswer,
                   parameters=[OpenApiParameter("op", str, OpenApiParameter.PATH,
                                                enum=["assign", "reshape", "split", "merge", "undo", "redo"])])
    def post(self, request, pk: int, op: str):
        edition = edition_for(request, pk)
        data = request.data if isinstance(request.data, dict) else {}
        version = version_field(data, required=True)
        if op == "assign":
            result = editing.assign_piece(edition, _code(data, "code"), geometry_field(data, "geometry"),
                                          version=version, user=request.user)
        elif op == "reshape":
            result = editing.set_geometry(edition, _code(data, "code"), geometry_field(data, "geometry"),
                                          version=version, user=request.user)
        elif op == "split":
            result = editing.split(edition, _code(data, "code"), geometry_field(data, "line"), version=version,
                                   user=request.user, new_name=data.get("name") or None)
        elif op == "merge":
            result = editing.merge(edition, _code(data, "keep"), _code(data, "other"), version=version,
                                   user=request.user)
        elif op == "undo":
            result = editing.undo(edition, version=version, user=request.user)
        elif op == "redo":
            result = editing.redo(edition, version=version, user=request.user)
        else:
            raise BadParameter("op", Text(f"未知操作 {op!r}", f"unknown operation {op!r}"))
        edition.refresh_from_db()
        return _edit_response(edition, result)


def _code(data: dict, field: str) -> str:
    value = str(data.get(field) or "").strip()
    if not value:
        raise BadParameter(field, Text("必填：网格编码", "required: a grid code"))
    return refuse_nul(field, value)


class ImportLayerView(APIView):
    """Replace grids of a draft from an uploaded redrawn layer (GeoJSON, GeoPackage, zipped Shapefile)."""

    permission_classes = [IsPlanner]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="editions_import", request={"multipart/form-data": ImportRequest}, responses=ImportAnswer)
    def post(self, request, pk: int):
        edition = edition_for(request, pk)
        upload = request.FILES.get("file")
        if upload is None:
            raise BadParameter("file", Text("必填：图层文件", "required: the layer file"))
        if upload.size == 0:
            raise BadParameter("file", Text("文件为空", "the file is empty"))
        if upload.size > MAX_UPLOAD_BYTES:
            mb = MAX_UPLOAD_BYTES // 1024 // 1024
            raise TooLarge(Text(f"文件超过 {mb} MB", f"larger than {mb} MB"), field="file")
        suffix = Path(upload.name).suffix.lower()
        if suffix not in (".geojson", ".json", ".gpkg", ".zip"):
            raise BadParameter("file", Text("只支持 .geojson .gpkg .zip（Shapefile）",
                                            "unsupported file type: .geojson, .gpkg or .zip (Shapefile)"))
        level = request.data.get("level")
        if level not in (None, "", "1", "2", "3"):
            raise BadParameter("level", Text("必须是 1、2 或 3", "must be 1, 2 or 3"))
        repair = str(request.data.get("repair", "")).lower() in ("1", "true", "on", "yes")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"layer{suffix}"
            with path.open("wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            read = importing.read_grid_file(
                path, importing.FieldMap.parse(request.data.get("map", "")),
                level=int(level) if level else None, gcj02=request.data.get("gcj02") in ("1", "true", "on"),
                repair=repair, name=Path(upload.name).name,
            )
        result = editing.replace_from_layer(edition, read, version=version_field(request.data, required=True),
                                            user=request.user)
        edition.refresh_from_db()
        return _edit_response(edition, {**result, "warnings": read.warnings,
                                        "repairs": [r.to_dict() for r in read.repairs]},
                              [r.finding() for r in read.repairs])


class PublishView(APIView):
    permission_classes = [IsPlanner]

    @extend_schema(operation_id="editions_publish", request=PublishRequest, responses=EditionSerializer)
    def post(self, request, pk: int):
        edition = edition_for(request, pk)
        data = request.data if isinstance(request.data, dict) else {}
        reroute = str(data.get("reroute", "")).lower() in ("1", "true", "yes")
        # The version the planner reviewed is checked by the service, under the draft's row lock.
        published = editions.publish(edition, user=request.user, reroute=reroute, expected_version=version_field(data))
        return Response(EditionSerializer(published).data)


class DiffView(APIView):
    """The diff as JSON, or (diff.geojson) only the gained/lost pieces as a FeatureCollection."""

    geojson_only = False
    permission_classes = [FromMatrix]
    schema = DiffSchema()

    @extend_schema(parameters=[OpenApiParameter("against", int, description="比较的版本, 默认 based_on 或现行")])
    def get(self, request, pk: int):
        new = edition_for(request, pk)
        against = request.query_params.get("against")
        if against:
            try:
                old = edition_for(request, int(against))
            except ValueError:
                raise BadParameter("against", Text("必须是版本编号", "must be an edition id")) from None
        else:
            old = new.based_on or editions.active_edition()
        if old is None or old.pk == new.pk:
            raise BadParameter("against", Text("没有可比较的版本", "no edition to compare with"))
        result = diff.diff_editions(old, new)
        if self.geojson_only:
            return Response(result["geojson"])
        # Reports a redraw moves are listed only to who may read them (docs/permissions.md).
        result["items_affected"] = routed_items.visible_to(request.user, result["items_affected"])
        return Response(result)


class ChangesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="editions_changes", responses=Change(many=True))
    def get(self, request, pk: int):
        edition = edition_for(request, pk)
        rows = EditionChange.objects.filter(edition=edition).select_related("by").order_by("seq")
        return Response([{"seq": c.seq, "op": c.op, "params": c.params, "undone": c.undone, "at": c.at,
                          "by": c.by.get_username() if c.by else None, "codes": sorted(c.after)} for c in rows])


class BlindSpotsView(APIView):
    """Blind spots of an edition (default active): area, responsible community, and the reports
    inside that the caller may read (the areas are public: the map draws them for everyone)."""

    permission_classes = [FromMatrix]

    @extend_schema(operation_id="blind_spots", responses=BlindSpotCollection,
                   parameters=[OpenApiParameter("edition", int, description="版本编号, 默认现行")])
    def get(self, request):
        edition = resolve_edition(request)
        features = []
        for b in diff.blind_spots(edition):
            features.append({"type": "Feature", "geometry": shapely.geometry.mapping(b["geometry"]),
                             "properties": {"area_m2": round(b["area_m2"], 1), "community_code": b["community_code"],
                                            "community_name": b["community_name"],
                                            "items": routed_items.visible_to(request.user, b["items"])}})
        return Response({"type": "FeatureCollection", "edition": {"id": edition.pk, "name": edition.name},
                         "features": features})

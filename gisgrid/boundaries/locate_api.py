"""HTTP face of locate and the gazetteer: parse, call the service, render.

locate.locate_points answers with typed `PointAnswer`s holding every fact, phones included;
`answer_json` here is the one place they become the API's JSON (schema.LocateAnswer), and the
place where the caller's role decides whether phone numbers go out.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from django.utils import translation
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.roles import can_see_personal_data
from gisgrid.api_errors import BadParameter
from gisgrid.errors import BadRequest, Text

from . import locate
from .api import edition_for
from .datums import CRS_CHOICES
from .locate import Candidate, GridRef, NearestGrid, PointAnswer, Snapshot, StaffEntry, UnitInfo
from .models import GridAssignment
from .schema import LocateAnswer, LocateBatchAnswer, LocateBatchRequest


class LocateQuery(serializers.Serializer):
    # Range checks happen in locate.check_coordinates, which can tell a swapped lon/lat.
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    tolerance_m = serializers.FloatField(min_value=0, max_value=500, default=20.0)
    edition = serializers.IntegerField(min_value=1, required=False)


class LocateBatch(serializers.Serializer):
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    points = serializers.ListField(allow_empty=False)
    tolerance_m = serializers.FloatField(min_value=0, max_value=500, default=20.0)
    details = serializers.BooleanField(default=True)
    edition = serializers.IntegerField(min_value=1, required=False)


def parse_points(raw: list, limit: int) -> np.ndarray:
    if len(raw) > limit:
        raise BadRequest(Text(f"最多 {limit} 个点（收到 {len(raw)} 个）", f"at most {limit} points, got {len(raw)}"),
                         field="points")
    # numpy would read true/false as 1/0 and "110.1" as a number: accept real numbers only.
    for i, p in enumerate(raw):
        if not isinstance(p, list | tuple) or any(isinstance(v, bool) or not isinstance(v, int | float) for v in p):
            raise BadRequest(Text(f"第 {i} 个点必须是 [lon, lat] 数值对", f"point at index {i} must be [lon, lat] numbers"),
                             field="points")
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond any float
        raise BadRequest(Text("每个点必须是 [lon, lat] 数值对", "each point must be [lon, lat] numbers"),
                         field="points") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise BadRequest(Text("每个点必须是 [lon, lat]", "each point must be a pair [lon, lat]"), field="points")
    return arr


def run_locate(request, lons, lats, crs: str, tolerance: float, edition: int | None, details: bool = True,
               field: str = "points") -> tuple[Snapshot, list[PointAnswer]]:
    """locate_points() for an HTTP request: a draft edition only for those who may see it; bad
    coordinates raise LocateInputError (a 400 naming the field), a missing edition a 400 too."""
    if edition is not None:
        edition_for(request, edition)  # a draft is not for anonymous eyes (404 as if absent)
    try:
        return locate.locate_points(lons, lats, crs, tolerance_m=tolerance, edition_id=edition, details=details,
                                    field=field)
    except LookupError:
        raise BadRequest(Text("尚无现行版本，请先导入网格", "no active edition; load a dataset first") if edition is None
                         else Text(f"没有版本 {edition}", f"no edition {edition}"), field="edition") from None


# --- rendering: the JSON form of an answer ---------------------------------------------------


def grids_json(grids: list[GridRef]) -> list[dict]:
    return [{"level": g.level, "code": g.code, "name": g.name} for g in grids]


def unit_json(unit: UnitInfo | None, *, show_phones: bool) -> dict | None:
    if unit is None:
        return None
    out = {"code": unit.code, "name": unit.name, "kind": unit.kind}
    if show_phones:
        out["phone"] = unit.phone
    return out


@lru_cache(maxsize=8)
def _role_labels(language: str | None) -> dict[str, str]:
    with translation.override(language):
        return {value: str(label) for value, label in GridAssignment.Role.choices}


def staff_json(staff: list[StaffEntry], *, show_phones: bool, labels: dict[str, str] | None = None) -> list[dict]:
    # Labels in the request's language (snapshots are shared by requests in every language),
    # looked up once per language: translating per entry was a third of a 100,000-point batch.
    labels = labels if labels is not None else _role_labels(translation.get_language())
    out = []
    for s in staff:
        d = {"role": s.role, "role_label": labels.get(s.role, s.role), "name": s.name, "unit": s.unit}
        if show_phones:
            d["phone"] = s.phone
        out.append(d)
    return out


def answer_json(a: PointAnswer, *, show_phones: bool) -> dict:
    """One answer as the API gives it (schema.LocateAnswer, docs/api.md); phone numbers of the
    unit and the staff only with `show_phones` (roles that may see personal data)."""
    return answers_json([a], show_phones=show_phones)[0]


def answers_json(answers: list[PointAnswer], *, show_phones: bool) -> list[dict]:
    """`answer_json` of each answer, in order."""
    labels = _role_labels(translation.get_language())
    return [_answer_json(a, show_phones, labels) for a in answers]


def _answer_json(a: PointAnswer, show_phones: bool, labels: dict[str, str]) -> dict:
    out: dict = {
        "status": a.status,
        "input": {"lon": a.lon, "lat": a.lat, "crs": a.crs},
        "wgs84": list(a.wgs84),
        "edition": {"id": a.edition_id, "name": a.edition_name},
        "grids": grids_json(a.grids),
    }
    if not a.details:
        return out
    if a.status == "outside":
        nearest = a.nearest
        out.update({
            "unit": None, "staff": [], "near_boundary": False, "candidates": [],
            "nearest": {"code": nearest.code, "name": nearest.name, "distance_m": nearest.distance_m},
            "swapped_inside": a.swapped_inside,
        })
        return out
    out["unit"] = unit_json(a.unit, show_phones=show_phones)
    out["staff"] = staff_json(a.staff, show_phones=show_phones, labels=labels)
    if a.blind_spot_of is not None:
        out["blind_spot_of"] = {"code": a.blind_spot_of.code, "name": a.blind_spot_of.name}
    out["near_boundary"] = a.near_boundary
    out["candidates"] = [{"code": c.code, "name": c.name, "level": c.level, "distance_m": c.distance_m}
                         for c in a.candidates]
    return out


def answer_from_json(d: Mapping) -> PointAnswer:
    """The typed answer back from its JSON form (phone numbers the form left out are empty)."""
    details = "unit" in d
    inp = d["input"]
    a = PointAnswer(d["status"], inp["lon"], inp["lat"], inp["crs"], tuple(d["wgs84"]), d["edition"]["id"],
                    d["edition"]["name"], [GridRef(g["level"], g["code"], g["name"]) for g in d["grids"]], details)
    if not details:
        return a
    u = d.get("unit")
    a.unit = UnitInfo(u["code"], u["name"], u["kind"], u.get("phone", "")) if u else None
    a.staff = [StaffEntry(s["role"], s["name"], s.get("phone", ""), s.get("unit")) for s in d.get("staff", [])]
    a.near_boundary = bool(d.get("near_boundary"))
    a.candidates = [Candidate(c["code"], c["name"], c["level"], c["distance_m"]) for c in d.get("candidates", [])]
    if d.get("blind_spot_of"):
        a.blind_spot_of = a.grids[-1]  # a blind spot belongs to the chain's deepest grid (locate.py)
    n = d.get("nearest")
    if n:
        a.nearest = NearestGrid(n["code"], n["name"], n["distance_m"])
        a.swapped_inside = bool(d.get("swapped_inside"))
    return a


class LocateView(APIView):
    """Which grids own a point: grid chain, responsible unit, staff, near-boundary candidates."""

    @extend_schema(
        parameters=[
            OpenApiParameter("lon", float, required=True, description="经度 longitude"),
            OpenApiParameter("lat", float, required=True, description="纬度 latitude"),
            OpenApiParameter("crs", str, enum=list(CRS_CHOICES), description="坐标系, 默认 wgs84"),
            OpenApiParameter("tolerance_m", float, description="临界距离(米), 默认 20"),
            OpenApiParameter("edition", int, description="版本编号, 默认现行"),
        ],
        operation_id="locate_point",
        responses=LocateAnswer,
    )
    def get(self, request):
        q = LocateQuery(data=request.query_params)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        _, answers = run_locate(request, [d["lon"]], [d["lat"]], d["crs"], d["tolerance_m"], d.get("edition"),
                                field="lonlat")
        return Response(answer_json(answers[0], show_phones=can_see_personal_data(request.user)))

    @extend_schema(
        operation_id="locate_batch",
        request=LocateBatchRequest,
        responses=LocateBatchAnswer,
        examples=[OpenApiExample("GCJ-02", value={"crs": "gcj02", "points": [[110.1504, 35.2381]]})],
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            raise BadParameter("body", "需要 JSON 对象 (a JSON object is expected)")
        q = LocateBatch(data=request.data)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        from django.conf import settings

        pts = parse_points(d["points"], settings.GISGRID_LOCATE_MAX_POINTS)
        snap, answers = run_locate(request, pts[:, 0], pts[:, 1], d["crs"], d["tolerance_m"], d.get("edition"),
                                   d["details"])
        return Response({"edition": {"id": snap.edition_id, "name": snap.edition_name}, "count": len(answers),
                         "results": answers_json(answers, show_phones=can_see_personal_data(request.user))})

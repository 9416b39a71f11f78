"""GET /api/v1/geocode: what a caller says -> ranked places with grid chain, unit and staff.

Thin: parse the parameters, call gazetteer.geocode, locate the answers, render. Phone numbers
of units and staff only for roles that may see personal data (accounts.roles).
"""

from __future__ import annotations

import numpy as np
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.roles import can_see_personal_data
from gisgrid.api_errors import BadParameter

from . import gazetteer
from .api import refuse_nul
from .datums import CRS_CHOICES, from_wgs84
from .geocode_schema import GeocodeResponse
from .locate_api import answers_json, run_locate


def geocode_answer(request, q: str, limit: int, crs: str) -> dict:
    """The answer for one query (the view's body; the hotline form and tests call it too)."""
    result = gazetteer.geocode(q, limit)
    places = result.places
    if places:
        pts = np.array([p["point"] for p in places])
        _, answers = run_locate(request, pts[:, 0], pts[:, 1], "wgs84", 20.0, None, details=True)
        located = answers_json(answers, show_phones=can_see_personal_data(request.user))
        xs, ys = from_wgs84(pts[:, 0], pts[:, 1], crs)
        for p, a, x, y in zip(places, located, xs.tolist(), ys.tolist(), strict=True):
            p["point_crs"] = [round(x, 7), round(y, 7)]
            p["status"] = a["status"]
            p["grids"] = a["grids"]
            p["unit"] = a.get("unit")
            p["staff"] = a.get("staff", [])
    return {
        "query": q, "crs": crs, "count": len(places), "results": places,
        "parsed": result.parsed.parts() if result.parsed else None, "did_you_mean": result.did_you_mean,
        "outside": result.outside, "note": str(result.note),
    }


class GeocodeView(APIView):
    """Find compounds, streets, villages, communities and landmarks the way callers say them."""

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True,
                                     description="地址或地名，如 泰山社区、县医院对面、东风街与书院街交叉口、fhjy"),
                    OpenApiParameter("limit", int, description="最多返回条数 1-50, 默认 10"),
                    OpenApiParameter("crs", str, enum=list(CRS_CHOICES),
                                     description="point_crs 的坐标系 (datum of point_crs), 默认 wgs84")],
        operation_id="geocode",
        responses=GeocodeResponse,
        examples=[OpenApiExample("hotline", value={"q": "合阳县城关街道泰山社区中央御府3号楼2单元"})],
    )
    def get(self, request):
        q = refuse_nul("q", (request.query_params.get("q") or "").strip())
        if not q:
            raise BadParameter("q", "查询词不能为空 (the query must not be empty)")
        if len(q) > gazetteer.MAX_QUERY_LENGTH:
            raise BadParameter("q", f"查询词过长 (at most {gazetteer.MAX_QUERY_LENGTH} characters)")
        try:
            limit = int(request.query_params.get("limit", 10))
        except ValueError:
            raise BadParameter("limit", "必须是整数 (must be an integer)") from None
        if not 1 <= limit <= 50:
            raise BadParameter("limit", "取值 1-50 (between 1 and 50)")
        crs = (request.query_params.get("crs") or "wgs84").lower()
        if crs not in CRS_CHOICES:
            raise BadParameter("crs", f"未知坐标系 (one of {', '.join(CRS_CHOICES)})")
        try:
            return Response(geocode_answer(request, q, limit, crs))
        except ValueError:  # only control characters: nothing left to search for
            raise BadParameter("q", "查询词不能为空 (the query must not be empty)") from None

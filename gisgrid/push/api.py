"""The event endpoints of the API (docs/push.md).

- `GET /api/v1/events/changes?after=N`: the events after N the caller may see, as JSON, for
  clients that cannot hold a stream (and the push bench's polling baseline).
- `GET /api/v1/events`: the stream. nginx sends it to the push service (gisgrid/push/asgi.py);
  this view answers it only when the API is reached without that proxy (the test client, a
  bare gunicorn): the same events as a stream that ends at once after them, with `retry:`, so a
  browser's EventSource simply asks again (a slow poll rather than a 503), and the schema and the
  permission matrix describe the endpoint where they describe every other.
"""

from __future__ import annotations

import orjson
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.errors import Text

from . import store
from .audience import TOPICS, parse_topics
from .hub import frame
from .schema import ChangesAnswer, StreamEvent
from .viewer import viewer_of

MAX_LIMIT = 2000
FALLBACK_RETRY_MS = 3000
TOPICS_PARAM = OpenApiParameter("topics", str, description=f"comma-separated, of: {', '.join(TOPICS)} (default all)")


def _event_id(name: str, raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 18:
        raise BadParameter(name, Text("须为事件编号（非负整数）", "must be an event id (a whole number >= 0)"))
    return int(raw)


def _topics(raw: str | None) -> frozenset[str] | None:
    try:
        return parse_topics(raw)
    except ValueError as exc:
        raise BadParameter("topics", Text(f"未知主题：{exc}", f"unknown topic(s): {exc}; known: {', '.join(TOPICS)}")
                           ) from None


class ChangesView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(
        summary="推送事件（轮询） push events by polling",
        description="The events after `after` that the caller may see, oldest first (docs/push.md). Without "
                    "`after`: no events, and `last` to start from.",
        parameters=[OpenApiParameter("after", int, description="the last event id the client has"),
                    TOPICS_PARAM, OpenApiParameter("limit", int, description=f"1-{MAX_LIMIT}, default 500")],
        operation_id="events_changes", responses=ChangesAnswer)
    def get(self, request):
        q = request.query_params
        after = _event_id("after", q.get("after"))
        topics = _topics(q.get("topics"))
        raw_limit = (q.get("limit") or "500").strip()
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise BadParameter("limit", Text(f"须为 1 到 {MAX_LIMIT} 的整数", f"a whole number 1 to {MAX_LIMIT}"))
        if after is None:
            return Response({"reset": False, "last": store.latest(), "events": []})
        reset, last, events = store.changes(viewer_of(request.user), after, topics, int(raw_limit))
        return Response({"reset": reset, "last": last,
                         "events": [{"id": e.seq, "event": e.kind, "data": orjson.loads(e.data)} for e in events]})


class StreamView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(
        summary="推送事件流 event stream (Server-Sent Events)",
        description="Served by the push service behind nginx: `text/event-stream`, each message `id:`, "
                    "`event:` (case, position, edition, notice, reset) and `data:` (one line of JSON), a "
                    "`: ping` every 15 s. Resume with the `Last-Event-ID` header or `last_event_id`. "
                    "docs/push.md has the kinds, their data and who receives what.",
        parameters=[OpenApiParameter("last_event_id", int, description="resume after this event id"),
                    OpenApiParameter("Last-Event-ID", int, OpenApiParameter.HEADER,
                                     description="resume after this id (a browser's reconnect)"), TOPICS_PARAM],
        operation_id="events_stream",
        responses={(200, "text/event-stream"): OpenApiResponse(StreamEvent, description="the stream: one schema "
                                                                                      "per message")})
    def get(self, request):
        after = _event_id("Last-Event-ID", request.headers.get("Last-Event-ID"))
        if after is None:
            after = _event_id("last_event_id", request.query_params.get("last_event_id"))
        topics = _topics(request.query_params.get("topics"))
        parts = [f"retry: {FALLBACK_RETRY_MS}\n".encode()]
        if after is None:
            parts.append(f"id: {store.latest()}\n\n".encode())
        else:
            reset, last, events = store.changes(viewer_of(request.user), after, topics, MAX_LIMIT)
            if reset:
                parts.append(b"event: reset\ndata: {}\n\n")
            else:
                parts += [frame(e.seq, e.kind, e.data) for e in events]
                if last > after:
                    parts.append(f"id: {last}\n\n".encode())
        response = HttpResponse(b"".join(parts), content_type="text/event-stream; charset=utf-8")
        response["Cache-Control"] = "no-cache, no-store"
        return response

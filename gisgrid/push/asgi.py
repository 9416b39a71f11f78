"""The push service: `GET /api/v1/events` as Server-Sent Events (docs/push.md).

An ASGI app of its own under uvicorn (`python -m gisgrid.push.server`, started by `./run serve`
on a unix socket behind the same nginx), so the long-lived streams tie up none of the API's
gunicorn threads: each stream is a coroutine and a queue. Django is set up in the process for
its settings, the session and token tables and the roles; the ORM is used once per connection
(who is asking, and the events to replay), in a worker thread, never per event.
"""

from __future__ import annotations

import asyncio
import logging
import os
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisgrid.settings")
django.setup()

import orjson  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import close_old_connections, connections  # noqa: E402
from django.http.request import split_domain_port, validate_host  # noqa: E402
from django.utils import translation  # noqa: E402

from gisgrid.errors import BadRequest, NotAuthenticated, ServiceError, Text, Unavailable  # noqa: E402

from . import store  # noqa: E402
from .audience import Viewer, parse_topics  # noqa: E402
from .hub import Hub, Stream, frame  # noqa: E402
from .viewer import user_from_credentials, viewer_of  # noqa: E402

log = logging.getLogger("gisgrid.push")

PATH = "/api/v1/events"
RETRY_MS = 2000
# The least time between two writes to one stream (docs/push.md, "Writes are paced").
COALESCE_S = float(os.environ.get("GISGRID_PUSH_COALESCE_MS", "150")) / 1000
REPLAY_BATCH = 2000
RESET_FRAME = b"event: reset\ndata: {}\n\n"


def _conninfo() -> dict:
    params = connections["default"].get_connection_params()
    return {k: v for k, v in params.items() if isinstance(v, str | int) and k != "prepare_threshold"}


hub = Hub(_conninfo(), queue_size=int(os.environ.get("GISGRID_PUSH_QUEUE", "1000")))


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _english(headers: dict[str, str]) -> bool:
    lang = headers.get("accept-language", "").strip().lower()
    return lang.startswith("en")


def _after(headers: dict[str, str], query: dict[str, list[str]]) -> int | None:
    """The id to resume after: the Last-Event-ID header (a reconnect) wins over ?last_event_id
    (a page's first connection after loading its snapshot)."""
    raw, field = headers.get("last-event-id"), "Last-Event-ID"
    if raw is None or not raw.strip():
        values = query.get("last_event_id")
        raw, field = (values[-1] if values else None), "last_event_id"
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(Text("须为事件编号（非负整数）", "must be an event id (a whole number >= 0)"), field=field)
    return int(raw)


def _credentials(headers: dict[str, str]) -> tuple[str | None, str | None]:
    token = None
    auth = headers.get("authorization", "")
    if auth:
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "token" or not key.strip():
            raise NotAuthenticated(Text("认证头格式错误", "malformed Authorization header"),
                                   code="authentication_failed")
        token = key.strip()
    session = None
    if "cookie" in headers:
        try:
            morsel = SimpleCookie(headers["cookie"]).get(settings.SESSION_COOKIE_NAME)
        except CookieError:
            morsel = None
        session = morsel.value if morsel is not None else None
    return session, token


def _viewer(session: str | None, token: str | None) -> Viewer | None:
    close_old_connections()
    try:
        return viewer_of(user_from_credentials(session, token))
    finally:
        close_old_connections()


def _replay(viewer: Viewer, after: int, upto: int, topics) -> tuple[bool, list[bytes]]:
    """The stored events after `after` up to `upto` this viewer may see, as SSE frames; (True,
    []) when `after` is older than what is kept."""
    close_old_connections()
    out: list[bytes] = []
    try:
        while True:
            reset, cursor, events = store.changes(viewer, after, topics, REPLAY_BATCH, upto=upto)
            if reset:
                return True, []
            out += [frame(e.seq, e.kind, e.data) for e in events]
            if cursor <= after or cursor >= upto:
                return False, out
            after = cursor
    finally:
        close_old_connections()


async def _answer(send, error: ServiceError, english: bool) -> None:
    with translation.override("en" if english else "zh-hans"):
        body = orjson.dumps(error.body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), str(v).encode()) for k, v in error.headers.items()]
    if error.status == 401:
        headers.append((b"www-authenticate", b'Token realm="api"'))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _wait_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _pump(send, stream: Stream) -> None:
    """Write what the stream holds, at most one write per COALESCE_S.

    A message to a stream that has been quiet for COALESCE_S goes out at once; one that follows
    a write sooner waits for the rest of that interval and goes out with whatever else came
    meanwhile (a burst of half the stream's limit goes out at once). Each write costs a system call here and two in nginx whatever its size, so a busy
    stream (a dispatcher's, at tens of events a second) pays for a few writes a second instead of
    one per event, and a quiet one (the usual case) gets no added delay at all."""
    loop = asyncio.get_running_loop()
    last = -COALESCE_S
    while True:
        chunks = await stream.take(last + COALESCE_S)
        stream.writing = True
        await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
        stream.writing = False
        last = loop.time()


async def events(scope, receive, send) -> None:
    headers = _headers(scope)
    english = _english(headers)
    try:
        if scope["method"] not in ("GET", "HEAD"):
            raise ServiceError(Text("只支持 GET", "only GET"), status=405, code="method_not_allowed",
                               headers={"Allow": "GET"})
        domain, _port = split_domain_port(headers.get("host", ""))
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            raise BadRequest(Text("主机名不在允许列表中", "the Host header is not allowed"), field="Host",
                             code="bad_host")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        session, token = _credentials(headers)
        try:
            viewer = await sync_to_async(_viewer, thread_sensitive=False)(session, token)
        except Exception as exc:
            log.warning("push: reading who is asking failed (%s)", exc)
            raise Unavailable(Text("暂时无法验证身份，请稍后重试", "cannot check who is asking now; retry"),
                              headers={"Retry-After": "2"}) from None
        if viewer is None:
            if token:
                raise NotAuthenticated(Text("令牌无效", "invalid token"), code="authentication_failed")
            raise NotAuthenticated(Text("请先登录", "sign in first (or send Authorization: Token …)"))
        after = _after(headers, query)
        try:
            topics = parse_topics((query.get("topics") or [None])[-1])
        except ValueError as exc:
            raise BadRequest(Text(f"未知主题：{exc}", f"unknown topic(s): {exc}; known: case, position, edition,"
                                  " notice"), field="topics") from None
        if not hub.ready.is_set():
            try:
                await asyncio.wait_for(hub.ready.wait(), 10)
            except TimeoutError:
                raise Unavailable(Text("推送服务尚未就绪", "the push service is not ready"),
                                  headers={"Retry-After": "2"}) from None
    except ServiceError as error:
        await _answer(send, error, english)
        return

    stream, upto = hub.open(viewer, topics)
    try:
        start = [f"retry: {RETRY_MS}\n".encode()]
        if after is None:
            start.append(f"id: {upto}\n\n".encode())  # sets the browser's Last-Event-ID, dispatches nothing
        else:
            try:
                reset, replayed = await sync_to_async(_replay, thread_sensitive=False)(viewer, after, upto, topics)
            except Exception as exc:  # the database is gone for a moment: the client retries
                log.warning("push: replay failed (%s)", exc)
                await _answer(send, Unavailable(Text("暂时无法读取事件，请稍后重试", "events cannot be read now; retry"),
                                                headers={"Retry-After": "2"}), english)
                return
            start += [RESET_FRAME] if reset else replayed
            start.append(b"\n")
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache, no-store"),
            (b"x-accel-buffering", b"no")]})
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.body", "body": b"".join(start), "more_body": True})
        stream.task = asyncio.current_task().get_loop().create_task(_pump(send, stream))
        gone = asyncio.ensure_future(_wait_disconnect(receive))
        await asyncio.wait({stream.task, gone}, return_when=asyncio.FIRST_COMPLETED)
        for t in (stream.task, gone):
            t.cancel()
        await asyncio.gather(stream.task, gone, return_exceptions=True)
    finally:
        hub.close(stream)


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            hub.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await hub.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["path"].rstrip("/") == PATH:
        await events(scope, receive, send)
    elif scope["path"] == "/_push/health":
        body = orjson.dumps({"streams": len(hub.streams), "last": hub.last, "delivered": hub.delivered,
                             "dropped": hub.dropped, "ready": hub.ready.is_set(), "pid": os.getpid()})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
    else:
        await _answer(send, ServiceError(Text("推送服务只提供 /api/v1/events", "the push service serves /api/v1/events only"),
                                         status=404, code="not_found"), _english(_headers(scope)))

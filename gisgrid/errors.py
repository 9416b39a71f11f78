"""The one family of errors that services raise and the API answers.

A service (a plain function: editions, ingest, routing, the case loop) raises a `ServiceError`
naming the HTTP status, a stable machine code, the field and the reason; `api_errors` turns it
into the API's one JSON shape in one place (`api_errors.error_answer`):

    {"error": "<code>", "detail": "<message>", "fields": {"<field>": ["<reason>"]}, ...extra}

Clients and pages react to `error` (a contract: docs/errors.md lists the codes), never to the
message text. Every 409 has a code of its own (`stale_version`, `not_draft`, `wrong_state`, ...).

Messages follow the request's language (Accept-Language, or the UI's language switch): zh-hans
by default, English on request. A message is either a `Text(zh, en)` pair or, as much of the
code base writes them, one string "中文 (English)"; `localize` picks the half that was asked
for. `str()` of an error is language-independent ("中文 (English)"), for logs and the command
line; only the API's answer is in one language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils import translation


@dataclass(frozen=True)
class Text:
    """A message in both languages."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.en if _english() else self.zh

    def both(self) -> str:
        """"中文 (English)": the form `localize` splits again, for logs and the command line."""
        return f"{self.zh} ({self.en})" if self.en and self.en != self.zh else self.zh


# "中文说明 (English explanation)" with the English in the last parentheses; CJK before them.
_BILINGUAL = re.compile(r"^(?P<zh>.*[\u3400-\u9fff\uff08\uff09\u3000-\u303f].*?)\s*\((?P<en>[^()\u3400-\u9fff]*(?:\([^()]*\)[^()\u3400-\u9fff]*)*)\)\s*$",
                        re.S)
_CJK = re.compile(r"[\u3400-\u9fff]")


def _english() -> bool:
    return (translation.get_language() or "zh-hans").lower().startswith("en")


def localize(message: Any) -> Any:
    """The message in the active language: `Text` by its halves; "中文 (English)" split at its
    last parentheses; anything else unchanged (codes, numbers, plain one-language text)."""
    if isinstance(message, Text):
        return str(message)
    if not isinstance(message, str):
        return message
    m = _BILINGUAL.match(message)
    if not m:
        return message
    return m.group("en").strip() if _english() else m.group("zh").strip()


def bilingual(message: Any) -> str:
    """`message` as one language-independent string ("中文 (English)" for a `Text`)."""
    if isinstance(message, Text):
        return message.both()
    return "" if message is None else str(message)


def prefixed(prefix: str, message: str | Text) -> str | Text:
    """`message` led by "prefix: " in each language ("body: 不是 JSON (body: not JSON)")."""
    if isinstance(message, Text):
        return Text(f"{prefix}: {message.zh}", f"{prefix}: {message.en}")
    m = _BILINGUAL.match(message or "")
    if m:
        return Text(f"{prefix}: {m.group('zh').strip()}", f"{prefix}: {m.group('en').strip()}")
    return f"{prefix}: {message}"


def _localize_list(value: Any) -> Any:
    if isinstance(value, list):
        return [_localize_list(v) for v in value]
    if isinstance(value, dict):
        return {k: _localize_list(v) for k, v in value.items()}
    return localize(value)


class ServiceError(Exception):
    """A request the rules refuse. Subclasses fix the status; `code` is the stable name.

    `reason` explains what is wrong with `field` (or with the request as a whole when no field
    is named); `fields` names several at once ({field: [reason, ...]}); `detail` is the summary
    (default: the reason); `extra` adds keys to the body (findings for the planner's map, the
    current version for a stale edit, allowed actions); `headers` go with the answer
    (Retry-After, WWW-Authenticate).
    """

    status = 400
    code = "invalid"

    def __init__(self, reason: str | Text = "", *, field: str | None = None, code: str | None = None,
                 status: int | None = None, detail: str | Text | None = None, headers: dict | None = None,
                 fields: dict[str, Any] | None = None, **extra: Any):
        # str(): "field: reason" when a field is named, else the summary; both languages.
        summary = bilingual(reason) or bilingual(detail) or (code or self.code)
        super().__init__(f"{field}: {summary}" if field and reason else summary)
        self.reason = reason
        self.field = field
        if code:
            self.code = code
        if status:
            self.status = status
        self.detail = detail if detail is not None else reason
        self.headers = dict(headers or {})
        self.fields = dict(fields or {})
        self.extra = extra

    def body(self) -> dict:
        """The JSON answer in the active language (call once: the messages are final)."""
        body: dict[str, Any] = {"error": self.code, "detail": localize(self.detail) or self.code}
        fields = {k: _localize_list(v if isinstance(v, list | dict) else [v]) for k, v in self.fields.items()}
        if self.field:
            fields[self.field] = [localize(self.reason or self.detail) or self.code]
        if fields:
            body["fields"] = fields
        for key, value in self.extra.items():
            body[key] = str(value) if isinstance(value, Text) else value
        return body


# The summary of a 400 that names its fields (DRF's validation errors answer with it too).
INVALID_REQUEST = Text("请求参数有误", "invalid request")


class BadRequest(ServiceError):
    status, code = 400, "invalid"


class NotAuthenticated(ServiceError):
    status, code = 401, "not_authenticated"


class Forbidden(ServiceError):
    status, code = 403, "permission_denied"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    """409: the request is sound but the object's state does not allow it now. Always raised
    with a code of its own: clients decide what to do (reload, show, retry) by it."""

    status, code = 409, "conflict"


class StaleVersion(Conflict):
    """The client edited what it read at `version` `sent`; someone changed it since: the body
    carries `current_version` so the client can reload and show what changed."""

    code = "stale_version"

    def __init__(self, current: int, sent: int | None = None, what: str | Text = "", **extra: Any):
        zh_what, en_what = _halves(what)
        read = f"you read version {sent}, " if sent is not None else ""
        super().__init__(
            Text(f"{zh_what or ''}已被他人修改（当前版本 {current}），请刷新后重试",
                 f"{en_what or 'it'} changed since you read it ({read}it is now version {current}); reload and retry"),
            field="version", current_version=current, **extra)
        self.current = current
        self.sent = sent


def _halves(what: str | Text) -> tuple[str, str]:
    """(zh, en) of a noun given as Text, "中文 (English)", or one word (Chinese goes in zh only)."""
    if isinstance(what, Text):
        return what.zh, what.en
    m = _BILINGUAL.match(what or "")
    if m:
        return m.group("zh").strip(), m.group("en").strip()
    return (what, "") if _CJK.search(what or "") else (what, what)


class TooLarge(ServiceError):
    status, code = 413, "too_large"


class Unavailable(ServiceError):
    """503: try again later (Retry-After says when); nothing of the request was kept."""

    status, code = 503, "unavailable"


class ServerError(ServiceError):
    """500: a bug, logged with its traceback; the client learns nothing more than this."""

    status, code = 500, "server_error"

    def __init__(self) -> None:
        super().__init__(Text("服务器内部错误", "internal server error"))


__all__ = ["Text", "localize", "bilingual", "prefixed", "ServiceError", "BadRequest",
           "NotAuthenticated", "Forbidden", "NotFound", "Conflict", "StaleVersion", "TooLarge", "Unavailable", "ServerError",
           "INVALID_REQUEST"]

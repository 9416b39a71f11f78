"""The API's JSON renderer: orjson instead of the standard library's encoder.

All grids as GeoJSON or a 100,000-point locate answer are several megabytes of JSON, and
`json.dumps` with DRF's encoder spends most of such a request's time writing them; orjson writes
the same document several times faster (docs/operations.md, "Dependencies"). The output keeps
what DRF's JSONRenderer promises: UTF-8 with Chinese as is (no \\u escapes), compact separators,
`indent` honoured from `Accept: application/json; indent=N` or the browsable API, datetimes in UTC
ending in `Z`, U+2028/U+2029 escaped so the text is also valid JavaScript.

Differences, on purpose:
- NaN and ±infinity are written as `null` (orjson's rule). The stock renderer raises on them,
  which turned a far-away point's infinite distance into a 500; `null` is valid JSON and reads as
  "no value" in every client.
- NumPy arrays and scalars are written natively (OPT_SERIALIZE_NUMPY); other NumPy values go
  through `.tolist()`. Anything else without a JSON form is refused with a TypeError naming its
  type, as the stock renderer does.
- An integer beyond 64 bits (orjson's limit) falls back to the standard library for that answer.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from django.db.models.query import QuerySet
from django.utils.encoding import force_str
from django.utils.functional import Promise
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.utils import encoders

OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_UTC_Z


def _default(obj: Any) -> Any:
    """Types orjson does not write itself, mapped as DRF's encoder maps them."""
    if isinstance(obj, Promise):
        return force_str(obj)
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    if isinstance(obj, datetime.timedelta):
        return str(obj.total_seconds())
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.decode()
    if isinstance(obj, QuerySet | set | frozenset):
        return list(obj)
    if hasattr(obj, "tolist"):  # NumPy arrays orjson does not take (non-contiguous, object dtype)
        return obj.tolist()
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"{type(obj).__module__}.{type(obj).__qualname__} is not JSON serializable")


def _finite(obj: Any) -> Any:
    """For the standard-library fallback: non-finite floats as None, as orjson writes them."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, int):
        return _finite(obj.tolist())
    return obj


def dumps(data: Any, *, indent: bool = False) -> bytes:
    """`data` as UTF-8 JSON bytes with the API's conventions (see the module's docstring)."""
    try:
        out = orjson.dumps(data, default=_default, option=OPTIONS | (orjson.OPT_INDENT_2 if indent else 0))
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise TypeError(f"JSON 编码失败 (cannot encode as JSON): {exc}") from exc
        out = json.dumps(_finite(data), cls=encoders.JSONEncoder, ensure_ascii=False, allow_nan=False,
                         separators=(",", ":"), indent=2 if indent else None).encode()
    # Legal in JSON but line terminators in JavaScript: escaped as DRF's renderer does.
    if b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out:
        out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return out


class OrjsonRenderer(JSONRenderer):
    """DRF's JSONRenderer with orjson underneath (same media type, format and indent rules)."""

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type, renderer_context or {})
        return dumps(data, indent=bool(indent))


class JsonUnlessAsked(DefaultContentNegotiation):
    """DRF's negotiation, but a client that accepts none of a view's formats (a browser's
    `Accept: text/html`) gets the view's first one, JSON, instead of a 406: every answer under
    /api/ is JSON unless the client asked for another format the view offers (CSV, XML)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            if format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE):
                raise  # an explicit ?format= the view does not offer stays a 404/406
            return renderers[0], renderers[0].media_type

"""Who is sending: a device proves itself with its identifier and secret token.

Tokens are compared as SHA-256 digests in constant time. Every device of a request must check
out before anything is stored, so a batch with one stranger in it stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

from ..models import Device


class DeviceAuthError(Exception):
    """401 when credentials are missing, 403 when they are wrong; nothing is stored."""

    def __init__(self, status: int, code: str, detail: str, field: str):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def set_token(device: Device) -> str:
    """Give `device` a fresh token (the old one stops working) and return it; caller saves."""
    token = new_token()
    device.token_hash = hash_token(token)
    return token


def authenticate(identifiers: Iterable[str], token: str | None,
                 tokens: Mapping[str, str] | None = None) -> dict[str, Device]:
    """The devices named in a request, each checked against its token.

    `token` applies to every device unless `tokens` gives one per device identifier.
    """
    ids = sorted({i for i in identifiers if i})
    if not ids:
        raise DeviceAuthError(401, "missing_device", "缺少设备号 (missing device id: id, deviceid or device_id)", "id")
    # An identifier no device can have (too long, or with a NUL PostgreSQL would refuse) is
    # simply unknown: asking the database would only turn it into an error.
    askable = [i for i in ids if len(i) <= 64 and "\x00" not in i]
    found = {d.identifier: d for d in Device.objects.filter(identifier__in=askable).select_related("person")}
    for ident in ids:
        tok = (tokens or {}).get(ident) or token
        if not tok:
            raise DeviceAuthError(401, "missing_token", f"设备 {ident} 缺少令牌 (missing token)", "token")
        dev = found.get(ident)
        if dev is None:
            raise DeviceAuthError(403, "unknown_device",
                                  f"未登记的设备 {ident} (unknown device; register it with register_device)", "id")
        if not dev.token_hash or not hmac.compare_digest(dev.token_hash, hash_token(tok)):
            raise DeviceAuthError(403, "bad_token", f"设备 {ident} 的令牌不正确 (wrong token)", "token")
        if not dev.active:
            raise DeviceAuthError(403, "device_disabled", f"设备 {ident} 已停用 (device disabled)", "id")
    return found

"""Who is sending: a device proves itself with its identifier and secret token.

Tokens are compared as SHA-256 digests in constant time. Every device of a request must check
out before anything is stored, so a batch with one stranger in it stores nothing.

Phones send a fix every few seconds, so the group-commit path (group_commit.py) keeps the
device rows it authenticated against in a small per-process cache (`DeviceCache`) instead of
asking the database on every request. The cache only ever speeds up a yes: a token that does not
match the cached row, an inactive device or an unknown one is always looked up afresh before
the request is refused, so a newly issued token works at once. A yes from the cache is checked
again where it matters: the pipeline compares the token's digest and `active` with the device
row it has locked, in the transaction that stores the fix (pipeline.Submission.credentials),
so a revoked token or a disabled device stores nothing once that change is committed. What the
cache can hold stale for up to `DeviceCache.ttl_s` (60 s) in another process is only the
device's datum, speed unit and time zone (a save in this process drops the entry at once).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Iterable, Mapping

from django.db.models.base import ModelState
from django.db.models.signals import post_delete, post_save

from gisgrid.errors import ServiceError, Text

from ..models import Device


class DeviceAuthError(ServiceError):
    """401 when credentials are missing, 403 when they are wrong; nothing is stored. Phones
    (OsmAnd, Traccar Client) look only at the status; `code` tells people and scripts why."""

    def __init__(self, status: int, code: str, detail: str | Text, field: str):
        headers = {"WWW-Authenticate": DEVICE_CHALLENGE} if status == 401 else None
        super().__init__(detail, field=field, code=code, status=status, headers=headers)


# The challenge of a 401: a device proves itself with a bearer token (or `token` in the URL).
DEVICE_CHALLENGE = 'Bearer realm="gisgrid devices"'


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def set_token(device: Device) -> str:
    """Give `device` a fresh token (the old one stops working) and return it; caller saves."""
    token = new_token()
    device.token_hash = hash_token(token)
    return token


log = logging.getLogger(__name__)


def _refused(reason: str, ident: str) -> DeviceAuthError:
    """An unknown device and a wrong token answer alike: telling them apart would let anyone
    list the registered device ids. The server's log keeps which it was."""
    log.warning("device refused: %s (device %r)", reason, ident[:64])
    return DeviceAuthError(403, "bad_token", Text("设备号或令牌不正确", "unknown device or wrong token"), "token")


def authenticate(identifiers: Iterable[str], token: str | None,
                 tokens: Mapping[str, str] | None = None, *, cache: DeviceCache | None = None) -> dict[str, Device]:
    """The devices named in a request, each checked against its token.

    `token` applies to every device unless `tokens` gives one per device identifier. With
    `cache`, devices that check out against their cached rows are not read again (see the
    module docstring for what that leaves to the pipeline).
    """
    ids = sorted({i for i in identifiers if i})
    if not ids:
        raise DeviceAuthError(401, "missing_device", Text("缺少设备号（id、deviceid 或 device_id）",
                                                          "missing device id: id, deviceid or device_id"), "id")
    digests = {}
    for ident in ids:
        tok = (tokens or {}).get(ident) or token
        if not tok:
            raise DeviceAuthError(401, "missing_token", Text(f"设备 {ident} 缺少令牌", f"device {ident}: missing token"),
                                  "token")
        digests[ident] = hash_token(tok)
    found = cache.get_checked(digests) if cache is not None else {}
    missing = [i for i in ids if i not in found]
    if missing:
        fresh = _load(missing, related=cache is None)
        if cache is not None:
            cache.put(fresh.values())
        found.update(fresh)
    for ident in ids:
        dev = found.get(ident)
        if dev is None:
            raise _refused("unknown_device", ident)
        check(dev, digests[ident])
    return found


def check(dev: Device | None, digest: str, ident: str = "", active: bool | None = None,
          token_hash: str | None = None) -> None:
    """Refuse `dev` unless its token digest is `digest` and it is active (`token_hash` and
    `active`, when given, are the values just read under the device row's lock)."""
    ident = ident or (dev.identifier if dev is not None else "")
    if dev is None:
        raise _refused("unknown_device", ident)
    stored = dev.token_hash if token_hash is None else token_hash
    if not stored or not hmac.compare_digest(stored, digest):
        raise _refused("bad_token", ident)
    if not (dev.active if active is None else active):
        raise DeviceAuthError(403, "device_disabled", Text(f"设备 {ident} 已停用", f"device {ident} is disabled"), "id")


def credentials(identifiers: Iterable[str], token: str | None,
                tokens: Mapping[str, str] | None = None) -> dict[str, str]:
    """Per device identifier, the digest of the token the request presented for it."""
    out = {}
    for ident in {i for i in identifiers if i}:
        tok = (tokens or {}).get(ident) or token
        if tok:
            out[ident] = hash_token(tok)
    return out


def _load(ids: list[str], related: bool = True) -> dict[str, Device]:
    # An identifier no device can have (too long, or with a NUL PostgreSQL would refuse) is
    # simply unknown: asking the database would only turn it into an error.
    askable = [i for i in ids if len(i) <= 64 and "\x00" not in i]
    if not askable:
        return {}
    qs = Device.objects.filter(identifier__in=askable)
    # The cache keeps plain rows (see _detached): no person to join, no point to parse.
    qs = qs.select_related("person") if related else qs.defer("last_point")
    return {d.identifier: d for d in qs}


class DeviceCache:
    """Device rows by identifier, per process, each kept for `ttl_s` seconds after it was read.

    Shared by the request threads of a process: entries are replaced whole under a lock and
    every caller gets its own shallow copy of a row, so no thread sees another's changes.
    """

    def __init__(self, ttl_s: float = 60.0, size: int = 20_000):
        self.ttl_s = ttl_s
        self.size = size
        self._rows: dict[str, tuple[float, Device]] = {}
        self._lock = threading.Lock()

    def get_checked(self, digests: Mapping[str, str]) -> dict[str, Device]:
        """The cached rows that are fresh, active and match the presented digest."""
        now = time.monotonic()
        out = {}
        with self._lock:
            for ident, digest in digests.items():
                hit = self._rows.get(ident)
                if hit is None or now - hit[0] > self.ttl_s:
                    continue
                dev = hit[1]
                if dev.active and dev.token_hash and hmac.compare_digest(dev.token_hash, digest):
                    out[ident] = _detached(dev)
        return out

    def put(self, devices: Iterable[Device]) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._rows) >= self.size:
                self._rows.clear()  # a flood of identifiers: start over rather than grow
            for d in devices:
                self._rows[d.identifier] = (now, _detached(d))

    def forget(self, identifier: str | None = None) -> None:
        with self._lock:
            if identifier is None:
                self._rows.clear()
            else:
                self._rows.pop(identifier, None)


def _detached(d: Device) -> Device:
    """A copy of the row that shares nothing mutable with `d`: no related objects, and no GEOS
    geometry (never shared between threads); either is read afresh if a caller asks for it.
    Built by hand: copy.copy() of a model goes through pickling's __reduce__ and cost more than
    the rest of authentication."""
    c = Device.__new__(Device)
    c.__dict__.update(d.__dict__)
    c.__dict__.pop("last_point", None)
    c._state = ModelState()
    c._state.db, c._state.adding = d._state.db, False
    return c


#: The request threads' cache (group-commit path).
devices_cache = DeviceCache()


def _forget_device(sender, instance: Device, **kwargs) -> None:
    devices_cache.forget(instance.identifier)


# A device saved or deleted in this process (admin, register_device) is read afresh at once;
# other processes follow within DeviceCache.ttl_s, and the stored fix is checked under lock.
post_save.connect(_forget_device, sender=Device, dispatch_uid="gisgrid.ingest.auth.forget")
post_delete.connect(_forget_device, sender=Device, dispatch_uid="gisgrid.ingest.auth.forget_deleted")

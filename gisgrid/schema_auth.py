"""How devices authenticate, declared to the OpenAPI schema.

A phone is not a user: the device endpoints (`track/osmand`, `track/positions`) check each
item's device id and token in the ingest layer (gisgrid/patrols/ingest/auth.py), before anything
is stored, and the token may come four ways: in the body (`token`, per item or per request), the
`token` query parameter, `Authorization: Bearer`, or `X-Device-Token`. The class below does no
checking itself; it is what those views list as their authentication so that the schema says
they need a device token instead of calling them open (drf-spectacular reads the views'
authentication classes). DRF's own `Authorization: Token` for users is described by
drf-spectacular's built-in extension (`tokenAuth`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework.authentication import BaseAuthentication

DEVICE_REALM = 'Bearer realm="gisgrid devices"'


class DeviceTokenAuthentication(BaseAuthentication):
    """Declares the device token; the ingest layer checks it per item (see the module's doc)."""

    def authenticate(self, request: Any) -> None:
        # No user comes of a device token: request.user stays anonymous, the devices are
        # authenticated with the items they sent (ingest.auth.authenticate).
        return None

    def authenticate_header(self, request: Any) -> str:
        return DEVICE_REALM


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "gisgrid.schema_auth.DeviceTokenAuthentication"
    name = ["deviceTokenQuery", "deviceBearer", "deviceTokenHeader"]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict]:
        return [
            {"type": "apiKey", "in": "query", "name": "token",
             "description": "设备令牌 (device token) with the device id in `id`/`deviceid` or the body; "
                            "a token in the JSON body (`token`, per request or per item) works as well"},
            {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <device token>"},
            {"type": "apiKey", "in": "header", "name": "X-Device-Token", "description": "设备令牌 (device token)"},
        ]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict]:
        # Any one of the three (OR), never all together.
        return [{name: []} for name in self.name]

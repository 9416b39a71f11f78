"""GeoReport v2 answers in JSON and XML, shaped as the spec's examples.

JSON: the bare list (or, for a service definition, the bare object). XML: a root element named
for the answer (`services`, `service_requests`, `service_definition`, `errors`) holding one
element per item (`service`, `request`, `error`); nested lists are named the same way
(`attributes`/`attribute`, `values`/`value`). null is an empty element, booleans are `true` /
`false`, as clients such as xmltodict-based libraries expect.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpResponse

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
# The element name of one item of each list, by the list's name.
ITEM_NAMES = {"services": "service", "service_requests": "request", "errors": "error",
              "attributes": "attribute", "values": "value"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, value: Any, name: str) -> None:
    if isinstance(value, dict):
        for key, v in value.items():
            _fill(ET.SubElement(parent, key), v, key)
    elif isinstance(value, list):
        item = ITEM_NAMES.get(name, "item")
        for v in value:
            _fill(ET.SubElement(parent, item), v, item)
    else:
        parent.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, data, root)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def render(fmt: str, root: str, data: Any, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        return HttpResponse(to_xml(root, data), status=status, content_type=XML_TYPE)
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body.encode("utf-8"), status=status, content_type=JSON_TYPE)


def errors(fmt: str, status: int, *descriptions: str) -> HttpResponse:
    """The spec's error answer: a list of {code, description}, the HTTP status as code."""
    return render(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status=status)

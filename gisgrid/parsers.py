"""The API's JSON parser: DRF's, with a body nested too deeply for Python refused as bad input.

`json.loads` recurses once per nesting level, so `[[[[…]]]]` a hundred thousand deep (a few
hundred kilobytes, well under the upload limit) raised RecursionError, which DRF does not treat
as a parse error: a 500, even before authentication. It is the client's malformed body: 400
`parse_error`, as for any other JSON that does not parse.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON 嵌套过深 (JSON nested too deeply)") from None

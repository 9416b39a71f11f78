"""The basemap every map page draws under the grids, configured by environment (docs/map.md).

    GISGRID_BASEMAP_URL          tile URL template with {x} {y} {z} (and {s} for subdomains);
                                 a Tianditu URL with its `tk=` key works as it is
    GISGRID_BASEMAP_DATUM        wgs84 | cgcs2000 | gcj02 (default wgs84). Tianditu is CGCS2000,
                                 which is WGS-84 at map scale; AMap and Tencent tiles are GCJ-02,
                                 and the pages then shift every overlay onto them (core/mapbase.js)
    GISGRID_BASEMAP_SUBDOMAINS   "01234567" (one character each) or "a,b,c"
    GISGRID_BASEMAP_ATTRIBUTION  text shown in the map's corner
    GISGRID_BASEMAP_MAX_ZOOM     the source's deepest zoom (default 18); the map zooms further by
                                 scaling those tiles

A malformed setting must never stop the service: `basemap_config()` then answers "no basemap"
(the pages draw the polygons alone, as offline) and the system check below prints why at start
(`./run serve` runs `manage.py check --deploy`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

DATUMS = ("wgs84", "cgcs2000", "gcj02")
DEFAULT_MAX_ZOOM = 18
# Leaflet's TileLayer fills these; any other {name} makes it throw on every tile.
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_KNOWN = {"s", "x", "y", "-y", "z", "r"}
# Tile hosts known to serve GCJ-02: a URL of theirs declared (or defaulted) as WGS-84 is a mistake.
_GCJ02_HOSTS = ("autonavi.com", "amap.com", "gtimg.com", "map.qq.com", "tencent.com")


def _setting(name: str) -> str:
    return str(getattr(settings, name, "") or "").strip()


def parse_basemap(url: str, datum: str = "", subdomains: str = "", attribution: str = "",
                  max_zoom: str = "") -> tuple[dict, list[str], list[str]]:
    """(config, errors, warnings) for raw settings. With an error the config has no URL."""
    errors: list[str] = []
    warnings: list[str] = []
    url = (url or "").strip()
    datum_in = (datum or "").strip().lower()
    config = {"url": "", "datum": "wgs84", "subdomains": [], "attribution": (attribution or "").strip(),
              "maxZoom": DEFAULT_MAX_ZOOM}
    if not url:
        return config, errors, warnings

    if datum_in and datum_in not in DATUMS:
        hint = " (BD-09/Baidu tiles use a projection of their own and are not supported)" if datum_in in (
            "bd09", "bd-09", "baidu") else ""
        errors.append(f"GISGRID_BASEMAP_DATUM={datum!r} is not one of {', '.join(DATUMS)}{hint}")
    names = set(_PLACEHOLDER.findall(url))
    unknown = sorted(names - _KNOWN)
    if unknown:
        errors.append("GISGRID_BASEMAP_URL has placeholders Leaflet cannot fill: "
                      + ", ".join("{" + n + "}" for n in unknown) + " (write the key into the URL itself)")
    if not ({"x", "z"} <= names and names & {"y", "-y"}):
        errors.append(f"GISGRID_BASEMAP_URL={url!r} lacks {{x}}, {{y}} and {{z}}; it must be a tile URL template")
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    if not (parts.scheme in ("http", "https") and parts.netloc) and not url.startswith("/"):
        errors.append(f"GISGRID_BASEMAP_URL={url!r} is neither an http(s) address nor a path on this site")

    zoom = DEFAULT_MAX_ZOOM
    if (max_zoom or "").strip():
        try:
            zoom = int(str(max_zoom).strip())
        except ValueError:
            zoom = -1
        if not 1 <= zoom <= 22:
            errors.append(f"GISGRID_BASEMAP_MAX_ZOOM={max_zoom!r} is not a whole number from 1 to 22")
            zoom = DEFAULT_MAX_ZOOM

    subs = (subdomains or "").strip()
    sub_list = [s.strip() for s in subs.split(",") if s.strip()] if "," in subs else list(subs)
    if "s" in names and not sub_list:
        sub_list = ["a", "b", "c"]  # Leaflet's default
    if sub_list and "s" not in names:
        warnings.append("GISGRID_BASEMAP_SUBDOMAINS is set but the URL has no {s}: it is not used")

    host = parts.netloc.lower()
    if datum_in in ("", "wgs84", "cgcs2000") and any(h in host for h in _GCJ02_HOSTS):
        warnings.append(f"the basemap at {host} is GCJ-02 (AMap/Tencent): set GISGRID_BASEMAP_DATUM=gcj02, "
                        "or the grids are drawn some hundred metres off the streets")

    if errors:
        return config, errors, warnings
    config.update(url=url, datum=datum_in or "wgs84", subdomains=sub_list, maxZoom=zoom)
    return config, errors, warnings


def _from_settings() -> tuple[dict, list[str], list[str]]:
    return parse_basemap(_setting("GISGRID_BASEMAP_URL"), _setting("GISGRID_BASEMAP_DATUM"),
                         _setting("GISGRID_BASEMAP_SUBDOMAINS"), _setting("GISGRID_BASEMAP_ATTRIBUTION"),
                         _setting("GISGRID_BASEMAP_MAX_ZOOM"))


def basemap_config() -> dict:
    """What a page's script gets: {url, datum, subdomains, attribution, maxZoom}; url "" = none."""
    return _from_settings()[0]


@checks.register()
def check_basemap(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A malformed basemap setting, told at start; the pages then run without a basemap."""
    config, errors, warnings = _from_settings()
    out = [checks.Warning(f"{e}; the map pages run without a basemap", id="gisgrid.W101",
                          hint="see docs/map.md for Tianditu and AMap examples") for e in errors]
    out += [checks.Warning(w, id="gisgrid.W102", hint="see docs/map.md") for w in warnings]
    return out

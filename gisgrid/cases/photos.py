"""Photos of a case: checked by their content, stored three ways, compared with the reported point.

An upload is accepted when Pillow reads it as JPEG, PNG or WebP, whatever its file name or the
Content-Type the client sent (a script named photo.jpg is refused as "not an image"). Each photo
is stored as:

* ``original``: the bytes as uploaded, EXIF and all. Staff only (the EXIF position and the
  phone's model and time are evidence for the centre, and personal data for anyone else);
* ``public``: the same image with every metadata block removed (EXIF, XMP, IPTC, comments,
  text chunks; for JPEG also the trailing multi-picture data some phones append). JPEG and PNG
  are rewritten losslessly at the byte level, so the pixels are the original's; a JPEG keeps a
  minimal EXIF block holding only its orientation, so it still shows upright;
* ``thumbnail``: a small JPEG made from the pixels (orientation applied), no metadata at all.

The EXIF GPS position (WGS-84: what phones write) is compared with the reported point; more than
`EXIF_FLAG_M` apart and the photo is flagged, with the distance shown to staff.

Everything is decoded and checked before anything is written (`prepare`), and files written in a
transaction that then fails are deleted again (`cleanup_on_failure`), so a bad ninth photo
leaves neither a case nor eight orphan files behind.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import struct
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import ExifTags, Image, ImageOps

from gisgrid.errors import BadRequest, Text, TooLarge

from .models import Case, Photo

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
MAX_PHOTOS = 9  # per case and stage (report, completion, verification)
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 12 MP phone photo is 12 million; beyond this it is a decompression bomb
THUMB_PX = 320
THUMB_QUALITY = 80
EXIF_FLAG_M = 200.0
EARTH_RADIUS_M = 6_371_008.8

_GPS_IFD = ExifTags.IFD.GPSInfo
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Prepared:
    """One checked upload, ready to store."""

    content_type: str
    ext: str
    original: bytes
    public: bytes
    thumbnail: bytes
    width: int
    height: int
    exif_lon: float | None
    exif_lat: float | None

    @property
    def size(self) -> int:
        return len(self.original)


# -- checks and conversions ----------------------------------------------------------------------

def _bad(field: str, zh: str, en: str) -> BadRequest:
    return BadRequest(Text(zh, en), field=field, code="invalid_photo")


def prepare(data: bytes, field: str = "photos") -> Prepared:
    """Check one upload by its content and make its public copy and thumbnail."""
    if len(data) > MAX_BYTES:
        raise TooLarge(Text(f"照片超过 {MAX_BYTES // (1024 * 1024)} MB", f"photo larger than {MAX_BYTES // (1024 * 1024)} MB"),
                       field=field)
    if not data:
        raise _bad(field, "照片是空文件", "the photo file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            if fmt not in FORMATS:
                raise _bad(field, "只接受 JPEG、PNG 或 WebP 照片（按文件内容判断）",
                           "only JPEG, PNG or WebP photos are accepted (judged by content, not name)")
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise TooLarge(Text("照片像素过多", f"photo has more than {MAX_PIXELS} pixels"), field=field)
            exif = img.getexif()
            orientation = int(exif.get(_ORIENTATION, 1) or 1)
            lon, lat = _gps(exif)
            thumb = _thumbnail(img)
    except (BadRequest, TooLarge):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(Text("照片像素过多", f"photo has more than {MAX_PIXELS} pixels"), field=field) from None
    except Exception:  # noqa: BLE001 - whatever Pillow raises on a broken file, it is not an image
        raise _bad(field, "不是可读取的 JPEG、PNG 或 WebP 图片（按文件内容判断）",
                   "not a readable JPEG, PNG or WebP image (judged by content, not name)") from None
    content_type, ext = FORMATS[fmt]
    try:
        public = {"JPEG": _strip_jpeg, "PNG": _strip_png, "WEBP": _strip_webp}[fmt](data, orientation)
    except (ValueError, IndexError, struct.error):
        raise _bad(field, "图片文件结构损坏", "the image file is malformed") from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return Prepared(content_type, ext, data, public, thumb, width, height, lon, lat)


def _rational(v) -> float:
    return float(v[0]) / float(v[1]) if isinstance(v, tuple) and len(v) == 2 else float(v)


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    """The EXIF GPS position as WGS-84 decimal degrees, or (None, None) when absent or absurd."""
    try:
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001 - a damaged GPS block is no position, not a broken photo
        return None, None
    if not gps or 2 not in gps or 4 not in gps:
        return None, None
    try:
        lat = sum(_rational(x) / 60 ** i for i, x in enumerate(gps[2]))
        lon = sum(_rational(x) / 60 ** i for i, x in enumerate(gps[4]))
    except (TypeError, ValueError, ZeroDivisionError):
        return None, None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        lon = -lon
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None, None
    return round(lon, 7), round(lat, 7)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine; ample for a 200 m threshold)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _thumbnail(img: Image.Image) -> bytes:
    if img.format == "JPEG":
        # Decode at the smallest of 1/2..1/8 scale still at least THUMB_PX: a 12 MP photo then
        # costs a fraction of a full decode.
        img.draft("RGB", (THUMB_PX, THUMB_PX))
    img.load()
    ImageOps.exif_transpose(img, in_place=True)
    img.thumbnail((THUMB_PX, THUMB_PX))
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    elif img.mode != "RGB":
        img = img.convert("RGB")
    img.info = {}  # Pillow would carry the source's comment (and ICC, EXIF) into the thumbnail
    out = io.BytesIO()
    img.save(out, "JPEG", quality=THUMB_QUALITY)
    return out.getvalue()


# JPEG segments kept in the public copy: frame and table segments, JFIF (APP0), ICC profiles
# (APP2 "ICC_PROFILE") and Adobe's colour transform (APP14). Dropped: EXIF and XMP (APP1), IPTC
# (APP13), other APPn (maker data, MPF), comments (COM), and whatever follows the image's EOI.
_KEEP_APP = {0xE0, 0xEE}
# In entropy-coded data 0xFF is followed by 0x00 (a stuffed byte), a restart marker (D0-D7) or
# more fill bytes; anything else is the next segment's marker.
_NEXT_MARKER = re.compile(rb"\xff(?![\x00\xd0-\xd7\xff])", re.S)


def _strip_jpeg(data: bytes, orientation: int) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ValueError("no SOI")
    out = bytearray(b"\xff\xd8")
    if orientation != 1:
        exif = Image.Exif()
        exif[_ORIENTATION] = orientation
        payload = exif.tobytes()
        out += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    i, n = 2, len(data)
    while i < n:
        if data[i] != 0xFF:
            raise ValueError("marker expected")
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI: the image ends; trailers (MPF pictures, maker data) are dropped
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += bytes((0xFF, marker))
            continue
        (length,) = struct.unpack(">H", data[i:i + 2])
        segment = data[i - 2:i + length]
        if len(segment) != length + 2:
            raise ValueError("truncated segment")
        i += length
        if 0xE0 <= marker <= 0xEF:
            if marker in _KEEP_APP or (marker == 0xE2 and segment[4:16] == b"ICC_PROFILE\x00"):
                out += segment
        elif marker != 0xFE:
            out += segment
        if marker == 0xDA:  # start of scan: copy the entropy-coded data up to the next real marker
            found = _NEXT_MARKER.search(data, i)
            if found is None:
                raise ValueError("no marker after the scan")
            out += data[i:found.start()]
            i = found.start()
    raise ValueError("no EOI")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _strip_png(data: bytes, orientation: int) -> bytes:
    if data[:8] != _PNG_SIGNATURE:
        raise ValueError("no PNG signature")
    out = bytearray(_PNG_SIGNATURE)
    i = 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i:i + 4])
        kind = data[i + 4:i + 8]
        chunk = data[i:i + 12 + length]
        if len(chunk) != 12 + length:
            raise ValueError("truncated chunk")
        i += 12 + length
        if kind not in _PNG_DROP:
            out += chunk
        if kind == b"IEND":
            return bytes(out)
    raise ValueError("no IEND")


def _strip_webp(data: bytes, orientation: int) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("no RIFF/WEBP header")
    body = bytearray()
    i, end = 12, min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    while i + 8 <= end:
        kind = data[i:i + 4]
        (size,) = struct.unpack("<I", data[i + 4:i + 8])
        chunk = bytearray(data[i:i + 8 + size + (size & 1)])
        if len(chunk) < 8 + size:
            raise ValueError("truncated chunk")
        i += 8 + size + (size & 1)
        if kind in (b"EXIF", b"XMP "):
            continue
        if kind == b"VP8X":
            chunk[8] &= ~0x0C & 0xFF  # no EXIF (0x08), no XMP (0x04) any more
        body += chunk
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + bytes(body)


# -- uploads -------------------------------------------------------------------------------------

def read_uploads(files: Sequence, *, field: str = "photos", already: int = 0) -> list[Prepared]:
    """Check a request's uploaded files (Django UploadedFile objects), before anything is stored."""
    if already + len(files) > MAX_PHOTOS:
        raise BadRequest(Text(f"每个环节最多 {MAX_PHOTOS} 张照片", f"at most {MAX_PHOTOS} photos per stage"),
                         field=field, code="too_many_photos")
    out = []
    for f in files:
        size = getattr(f, "size", None)
        if size is not None and size > MAX_BYTES:
            raise TooLarge(Text(f"照片超过 {MAX_BYTES // (1024 * 1024)} MB",
                                f"photo larger than {MAX_BYTES // (1024 * 1024)} MB"), field=field)
        f.seek(0)
        out.append(prepare(f.read(MAX_BYTES + 1), field))
    return out


@contextlib.contextmanager
def cleanup_on_failure() -> Iterator[list[str]]:
    """Collects the names of files written inside the block; deletes them if the block fails
    (the rows that named them were rolled back with it)."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for name in written:
            with contextlib.suppress(OSError):
                default_storage.delete(name)
        raise


def store(case: Case, prepared: Sequence[Prepared], *, stage: str, user, written: list[str] | None = None) -> list[Photo]:
    """Save checked photos of `case` (call inside the transaction that changes the case)."""
    point = case.report.point
    out = []
    for p in prepared:
        photo = Photo(case=case, stage=stage, content_type=p.content_type, size=p.size, width=p.width,
                      height=p.height, exif_lon=p.exif_lon, exif_lat=p.exif_lat,
                      uploaded_by=user if getattr(user, "is_authenticated", False) else None)
        if p.exif_lon is not None and point is not None:
            photo.exif_distance_m = round(distance_m(p.exif_lon, p.exif_lat, point.x, point.y), 1)
        base = f"{case.number}-{uuid.uuid4().hex[:12]}"
        photo.original.save(f"{base}.{p.ext}", ContentFile(p.original), save=False)
        if written is not None:
            written.append(photo.original.name)
        photo.public.save(f"{base}.{p.ext}", ContentFile(p.public), save=False)
        if written is not None:
            written.append(photo.public.name)
        photo.thumbnail.save(f"{base}.jpg", ContentFile(p.thumbnail), save=False)
        if written is not None:
            written.append(photo.thumbnail.name)
        photo.save()
        out.append(photo)
    return out


def flagged(photo: Photo) -> bool:
    return photo.exif_distance_m is not None and photo.exif_distance_m > EXIF_FLAG_M


VARIANTS = ("thumbnail", "public", "original")


def variant_file(photo: Photo, variant: str):
    """The stored file of one variant; its content type (thumbnails are always JPEG)."""
    f = getattr(photo, variant)
    return f, ("image/jpeg" if variant == "thumbnail" else photo.content_type)

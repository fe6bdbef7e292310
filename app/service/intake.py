"""What a client sends, read and checked before anything is decoded: the body within its
size limit (Content-Length first, then counted while reading), forms parsed in memory
(nothing spooled to disk), and an image's kind and pixel count taken from its header only."""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from PIL import Image, UnidentifiedImageError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from app.engine.imaging import images as _images  # noqa: F401  (registers the HEIC/AVIF opener, Pillow's limits)
from app.service.errors import ApiError, bad_request

MAX_PARTS = 32
# The kinds `load_photo` reads, by their first bytes; the extension the upload is saved with.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", ".jpg"), (0, b"\x89PNG\r\n\x1a\n", ".png"), (0, b"BM", ".bmp"),
    (0, b"II*\x00", ".tif"), (0, b"MM\x00*", ".tif"))
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


@dataclass
class Upload:
    """One file part of a form (or a raw body): its bytes and the name the client gave."""

    data: bytes
    filename: str = "image"
    content_type: str = ""


@dataclass
class Form:
    """A request's fields (text) and files, by name; the last of a repeated name wins."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or ApiError 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise bad_request("Content-Length is not a number")
        if int(declared) > limit:
            raise too_large(limit)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise bad_request("the client went away before sending the whole body", "client_disconnected") from None
    return b"".join(chunks)


def too_large(limit: int) -> ApiError:
    return ApiError(413, "file_too_large", f"the request body is larger than {limit / 1048576:g} MB")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_form(request: Request, body: bytes) -> Form:
    """The fields and files of a multipart, urlencoded or JSON body (415 for another kind)."""
    kind = media_type(request)
    if kind == "multipart/form-data":
        return _multipart(request.headers.get("content-type", ""), body)
    if kind == "application/x-www-form-urlencoded":
        try:
            return Form(dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True)))
        except ValueError:
            raise bad_request("the form body cannot be read") from None
    if kind == "application/json":
        try:
            data = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise bad_request("the JSON body cannot be read") from None
        if not isinstance(data, dict):
            raise bad_request("the JSON body must be an object")
        return Form({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()})
    raise unsupported(f"a body of type {kind or '(none)'} (send multipart/form-data)")


def _multipart(content_type: str, body: bytes) -> Form:
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise bad_request("multipart/form-data without a boundary")
    form, parts = Form(), []
    state: dict = {}

    def on_part_begin() -> None:
        state.update(headers={}, data=[], field=b"", value=b"")
        if len(parts) >= MAX_PARTS:
            raise bad_request(f"more than {MAX_PARTS} parts in the form")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].decode("latin-1").lower()] = state["value"].decode("latin-1")
        state["field"], state["value"] = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["data"].append(data[start:end])

    def on_part_end() -> None:
        parts.append((dict(state["headers"]), b"".join(state["data"])))

    parser = MultipartParser(boundary, {"on_part_begin": on_part_begin, "on_header_field": on_header_field,
                                        "on_header_value": on_header_value, "on_header_end": on_header_end,
                                        "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        parser.write(body)
        parser.finalize()
    except ApiError:
        raise
    except Exception:  # python-multipart's own errors: a malformed body
        raise bad_request("the multipart body cannot be read") from None
    for headers, data in parts:
        _, disposition = parse_options_header(headers.get("content-disposition", ""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disposition:
            filename = disposition[b"filename"].decode("utf-8", "replace")
            form.files[name] = Upload(data, filename, headers.get("content-type", ""))
        else:
            form.fields[name] = data.decode("utf-8", "replace")
    return form


def unsupported(what: str) -> ApiError:
    return ApiError(415, "unsupported_media_type", f"unsupported: {what}")


def image_kind(data: bytes) -> str | None:
    """The extension for an image of a kind `load_photo` reads (by its first bytes), else None."""
    for offset, magic, ext in _MAGIC:
        if data[offset:offset + len(magic)] == magic:
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return ".avif" if data[8:12] in (b"avif", b"avis") else ".heic"
    return None


def check_image(data: bytes, name: str, max_pixels: int) -> str:
    """The extension to save `data` with. ApiError 415 when it is no image kind read here,
    413 when its header declares more than `max_pixels` (nothing is decoded), 400 with the
    command line's reason when its header cannot be read."""
    if not data:
        raise bad_request(f"{name}: empty file", "missing_image")
    ext = image_kind(data)
    if ext is None:
        raise unsupported(f"{name} is not a JPEG, PNG, WebP, BMP, TIFF, HEIC/HEIF or AVIF image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:  # reads the header only
                w, h = im.size
    except Image.DecompressionBombError:
        raise pixels_error(name, None, max_pixels) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise bad_request(f"{name}: not a readable image (corrupt or unsupported format)", "invalid_image") from None
    if w * h > max_pixels:
        raise pixels_error(name, (w, h), max_pixels)
    return ext


def pixels_error(name: str, size: tuple[int, int] | None, max_pixels: int) -> ApiError:
    shown = f" ({size[0]}x{size[1]})" if size else ""
    return ApiError(413, "image_too_large", f"{name}{shown} has more than {max_pixels} pixels")


def safe_name(filename: str) -> str:
    """The client's file name for messages: its last path part, printable ASCII, short."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if 32 <= ord(c) < 127 and c not in "\"'")[:80].strip()
    return cleaned or "image"

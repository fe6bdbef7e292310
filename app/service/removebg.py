"""remove.bg's `/v1.0/removebg` parameters as a `WorkOrder`, so that its clients work by
changing the base URL. Supported: image_file, image_file_b64, size (mapped to a largest
result size), type, format, bg_color, bg_image_file, crop, crop_margin (percent), channels,
add_shadow. Accepted and ignored: type_level, semitransparency (edges are always
semi-transparent), and roi, scale, position at their defaults. Refused with 400:
image_url and bg_image_url (this server opens no URL or path a client gives), format=zip,
and roi, scale, position other than their defaults."""

from __future__ import annotations

import base64
import binascii
import re

from app.engine.backgrounds.base import parse_colour
from app.service.errors import ApiError, bad_request
from app.service.intake import Form, Upload
from app.service.options import UPLOADED_BACKGROUND, WorkOrder, choice, flag, make_layout, number

# remove.bg's sizes as the most pixels of the result (None: the picture's own size)
SIZES: dict[str, int | None] = {"auto": None, "full": None, "50mp": None, "4k": 10_000_000, "hd": 4_000_000,
                                "medium": 1_500_000, "regular": 250_000, "small": 250_000, "preview": 250_000}
TYPES = {"auto": "auto", "person": "person", "product": "object", "car": "object", "animal": "object",
         "graphic": "object", "transportation": "object"}
KNOWN = ("image_file", "image_file_b64", "image_url", "size", "type", "type_level", "format", "roi", "crop",
         "crop_margin", "scale", "position", "channels", "add_shadow", "semitransparency", "bg_color",
         "bg_image_url", "bg_image_file")
DEFAULT_ROI = "0% 0% 100% 100%"


def refuse_urls(form: Form) -> None:
    """400 in remove.bg's shape for image_url and bg_image_url: nothing is fetched."""
    for name in ("image_url", "bg_image_url"):
        if form.fields.get(name, "").strip():
            raise ApiError(400, "unsupported_parameter",
                           f"{name} is not supported: this server never opens URLs or paths given by a client; "
                           f"upload the file ({name.replace('url', 'file')})")


def image_of(form: Form) -> Upload:
    """The picture: the image_file upload, or image_file_b64 decoded."""
    if "image_file" in form.files:
        return form.files["image_file"]
    text = form.fields.get("image_file_b64", "").strip()
    if text:
        if "," in text[:100] and text.startswith("data:"):
            text = text.split(",", 1)[1]  # a data: URL's payload
        try:
            return Upload(base64.b64decode(re.sub(r"\s+", "", text), validate=True), "image_file_b64")
        except (binascii.Error, ValueError):
            raise bad_request("image_file_b64 is not valid base64", "invalid_image") from None
    raise bad_request("no image given: send image_file (a file) or image_file_b64", "missing_image")


def bg_colour(text: str) -> str:
    """remove.bg's bg_color (hex with or without #, 3 or 6 digits, an alpha digit pair
    ignored, or a colour name) as a SPEC."""
    value = text.strip().lstrip("#").lower()
    if re.fullmatch(r"[0-9a-f]{3}", value):
        value = "".join(c * 2 for c in value)
    if re.fullmatch(r"[0-9a-f]{8}", value):
        value = value[:6]
    spec = f"#{value}" if re.fullmatch(r"[0-9a-f]{6}", value) else text.strip()
    if parse_colour(spec) is None:
        raise bad_request(f"bg_color {text!r} is not a colour (hex like 81d4fa, or a name like white)")
    return spec


def removebg_order(form: Form) -> WorkOrder:
    """The WorkOrder for remove.bg's parameters (see the module's docstring)."""
    unknown = sorted((set(form.fields) | set(form.files)) - set(KNOWN))
    if unknown:
        raise bad_request(f"unknown parameter {unknown[0]!r}")
    get = form.fields.get
    size = choice("size", get("size", "auto"), list(SIZES))
    subject = TYPES[choice("type", get("type", "auto"), list(TYPES))]
    fmt = choice("format", get("format", "auto"), ["auto", "png", "jpg", "webp", "zip"])
    if fmt == "zip":
        raise bad_request("format zip is not supported here: use png, or channels=alpha for the matte alone")
    channels = choice("channels", get("channels", "rgba"), ["rgba", "alpha"])
    for name, default in (("roi", DEFAULT_ROI), ("scale", "original"), ("position", "original")):
        value = get(name, "").strip().lower()
        if value and value != default.lower() and not (name == "position" and value == "center"):
            raise bad_request(f"{name}={get(name)!r} is not supported here (only {default!r})")
    background = "transparent"
    if "bg_image_file" in form.files:
        background = UPLOADED_BACKGROUND
    elif get("bg_color", "").strip():
        background = bg_colour(get("bg_color", ""))
    if fmt == "auto":
        fmt = "png" if background == "transparent" or channels == "alpha" else "jpg"
    if fmt == "jpg" and background == "transparent":
        background = "white"  # a JPEG holds no transparency: remove.bg gives white
    if channels == "alpha":
        background, fmt = "transparent", "png"
    crop = flag("crop", get("crop", "false"))
    margin = _crop_margin(get("crop_margin", "0")) if crop else 0.0
    shadow = flag("add_shadow", get("add_shadow", "false"))
    if background == UPLOADED_BACKGROUND and (crop or shadow):
        raise bad_request("crop and add_shadow work on a transparent or colour background, not on bg_image_file")
    layout = make_layout(None, margin, "center", crop, shadow and channels == "rgba")
    return WorkOrder(subject, background, f".{fmt}", layout, channels=channels, max_result_pixels=SIZES[size])


def _crop_margin(text: str) -> float:
    value = text.strip().lower()
    if value in ("", "0", "0px", "0%"):
        return 0.0
    if value.endswith("%"):
        return number("crop_margin", value[:-1], 0, 45)
    raise bad_request(f"crop_margin {text!r}: only a percentage (e.g. 10%) is supported here")


def foreground_type(subject: str) -> str:
    """remove.bg's X-Type for our subject."""
    return "person" if subject == "person" else "product"

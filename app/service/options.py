"""From a request's options to a `WorkOrder`: the options of `backdrop remove` for
`/v1/remove`, remove.bg's parameters for `/v1.0/removebg`. Every value is checked here, and
nothing a client names is opened: a background is a colour, a blur, transparent or an
installed background's name, never a path; a model is a known model's name, never a path."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from app.engine.backgrounds import library
from app.engine.backgrounds.base import parse_colour
from app.engine.backgrounds.kinds import SHADER_EXTENSIONS, VIDEO_EXTENSIONS
from app.engine.core.errors import SettingsError
from app.engine.files.layout import ALIGNS, DEFAULT_JPEG_QUALITY, Layout
from app.engine.imaging.images import IMAGE_EXTENSIONS
from app.engine.matting.models.mediapipe import BUNDLED_MODELS
from app.engine.matting.models.registry import manifests
from app.service.errors import bad_request

SUBJECTS = ("auto", "person", "object")
EDGES = ("fast", "matting")
FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp"}
UPLOADED_BACKGROUND = "@bg_image_file"  # stands for the request's own background upload
REMOVE_OPTIONS = ("subject", "background", "format", "canvas", "margin", "align", "trim", "shadow", "edges",
                  "model", "jpeg_quality")
_TRUE, _FALSE = {"", "1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_PATHLIKE = re.compile(r"[/\\~]|^\.|%")


@dataclass(frozen=True)
class WorkOrder:
    """One cut-out's settings, as a worker process runs them (picklable)."""

    subject: str = "auto"
    background: str = "transparent"  # a SPEC for parse_still_background, or UPLOADED_BACKGROUND
    suffix: str = ".png"  # the result's format
    layout: Layout = field(default_factory=Layout)
    edges: str = "matting"
    model: str | None = None
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    channels: str = "rgba"  # "alpha": the matte alone, a greyscale PNG
    max_result_pixels: int | None = None  # the result scaled down to fit (remove.bg's `size`)


def flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise bad_request(f"{name} must be true or false, got {text!r}")


def number(name: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise bad_request(f"{name} must be a number from {low:g} to {high:g}, got {text!r}")
    return value


def choice(name: str, text: str, allowed: tuple[str, ...] | list[str]) -> str:
    value = text.strip().lower()
    if value not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}, got {text!r}")
    return value


def canvas_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*", text)
    if not m or not all(16 <= int(v) <= 20000 for v in m.groups()):
        raise bad_request(f"canvas must look like 1200x1200, each side 16..20000, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def model_names() -> list[str]:
    """The models a client may name: the bundled MediaPipe ones and those with a manifest."""
    return sorted({*BUNDLED_MODELS, *(m.name for m in manifests())})


def client_background(text: str) -> str:
    """A background SPEC a client may give: transparent, a colour, blur[:N] or an installed
    background's name; a path (or anything that looks like one) is refused."""
    spec = text.strip()
    head = spec.partition(":")[0].lower()
    if spec.lower() in ("transparent", "none") or head == "blur" or parse_colour(spec) is not None:
        return spec
    suffix = ("." + spec.rsplit(".", 1)[-1].lower()) if "." in spec else ""
    if _PATHLIKE.search(spec) or suffix in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS | SHADER_EXTENSIONS:
        raise bad_request(f"background {spec!r}: this server opens no paths; give a colour (white, #RRGGBB), "
                          "blur[:N], transparent or an installed background's name")
    if library.scan().find(spec) is None:
        raise bad_request(f"background {spec!r}: not a colour (white, #RRGGBB), 'blur[:N]', 'transparent' "
                          "or an installed background (GET /v1/models lists the models; `backdrop backgrounds` "
                          "the backgrounds)")
    return spec


def make_layout(canvas: tuple[int, int] | None, margin: float, align: str, trim: bool, shadow: bool) -> Layout:
    try:
        return Layout(canvas, margin, align, trim, shadow)
    except SettingsError as exc:
        raise bad_request(str(exc).replace("--", "")) from None


def remove_order(options: dict[str, str]) -> WorkOrder:
    """The WorkOrder for `/v1/remove`'s options (query and form fields together)."""
    unknown = sorted(set(options) - set(REMOVE_OPTIONS))
    if unknown:
        raise bad_request(f"unknown option {unknown[0]!r} (options: {', '.join(REMOVE_OPTIONS)})")
    get = options.get
    fmt = choice("format", get("format", "png"), list(FORMATS))
    background = client_background(get("background", "transparent"))
    canvas = canvas_size(get("canvas", "")) if get("canvas", "").strip() else None
    layout = make_layout(canvas, number("margin", get("margin", "0"), 0, 45),
                         choice("align", get("align", "center"), ALIGNS),
                         flag("trim", get("trim", "false")), flag("shadow", get("shadow", "false")))
    model = get("model", "").strip().lower() or None
    if model is not None and model not in model_names():
        raise bad_request(f"model {model!r} is not known (one of {', '.join(model_names())}); "
                          "this server opens no model paths")
    order = WorkOrder(choice("subject", get("subject", "auto"), SUBJECTS), background, FORMATS[fmt], layout,
                      choice("edges", get("edges", "matting"), EDGES), model,
                      int(number("jpeg_quality", get("jpeg_quality", str(DEFAULT_JPEG_QUALITY)), 1, 100)))
    check_order(order)
    return order


def check_order(order: WorkOrder) -> None:
    """The combinations `backdrop remove` refuses, refused the same way (400)."""
    plain = order.background.lower() in ("transparent", "none") or parse_colour(order.background) is not None
    if order.suffix == ".jpg" and order.background.lower() in ("transparent", "none") and order.channels == "rgba":
        raise bad_request("format jpg cannot hold transparency; pass background=white (or a colour)")
    if not order.layout.changes_nothing and not plain:
        raise bad_request("canvas, trim and shadow lay the subject out on a transparent or colour background, "
                          f"not on {order.background!r}")

"""How `/docs` describes the two cut-out endpoints (their bodies are read by hand, within
the limits, so FastAPI cannot derive them from the handlers' signatures)."""

from __future__ import annotations

from app.service.options import EDGES, FORMATS, SUBJECTS
from app.service.removebg import SIZES, TYPES

_IMAGE = {"type": "string", "format": "binary"}


def _text(description: str, enum: list[str] | None = None) -> dict:
    return {"type": "string", "description": description, **({"enum": enum} if enum else {})}


_REMOVE_FIELDS = {
    "subject": _text("what to cut out", list(SUBJECTS)),
    "background": _text("transparent, a colour (white, #RRGGBB), blur[:N] or an installed background's name"),
    "format": _text("the result's format", list(FORMATS)),
    "canvas": _text("WxH: the result's size, the subject fitted inside less the margin"),
    "margin": _text("percent of the canvas's shorter side, 0..45"),
    "align": _text("where the subject sits", ["center", "bottom"]),
    "trim": _text("crop to the subject: true or false"),
    "shadow": _text("a soft contact shadow: true or false"),
    "edges": _text("fast, or matting (the edge band solved, no fringe)", list(EDGES)),
    "model": _text("a model's name from GET /v1/models"),
    "jpeg_quality": _text("1..100, for jpg and webp"),
}
_IMAGE_ANSWER = {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}},
                 "description": "the cut-out; headers X-Subject, X-Confidence, X-Review-Flag, X-Review-Reason"}

REMOVE = {
    "parameters": [{"name": name, "in": "query", "required": False, "schema": schema}
                   for name, schema in _REMOVE_FIELDS.items()],
    "requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["image"],
                                           "properties": {"image": _IMAGE, **_REMOVE_FIELDS}}},
        "image/*": {"schema": _IMAGE}, "application/octet-stream": {"schema": _IMAGE}}},
    "responses": {"200": _IMAGE_ANSWER},
}

_REMOVEBG_FIELDS = {
    "image_file": _IMAGE,
    "image_file_b64": _text("the image as base64"),
    "image_url": _text("refused: this server opens no URL a client gives"),
    "size": _text("the result's largest size", list(SIZES)),
    "type": _text("person, or an object (product ...), or auto", list(TYPES)),
    "format": _text("auto: png with transparency, else jpg", ["auto", "png", "jpg", "webp"]),
    "channels": _text("rgba, or alpha: the matte as a greyscale PNG", ["rgba", "alpha"]),
    "bg_color": _text("hex (81d4fa) or a colour name"),
    "bg_image_file": _IMAGE,
    "crop": _text("crop to the subject: true or false"),
    "crop_margin": _text("a percentage, e.g. 10%"),
    "add_shadow": _text("a soft contact shadow: true or false"),
}

REMOVEBG = {
    "parameters": [{"name": "X-Api-Key", "in": "header", "required": False, "schema": {"type": "string"}}],
    "requestBody": {"required": True, "content": {
        kind: {"schema": {"type": "object", "properties": _REMOVEBG_FIELDS}}
        for kind in ("multipart/form-data", "application/x-www-form-urlencoded", "application/json")}},
    "responses": {"200": _IMAGE_ANSWER},
}

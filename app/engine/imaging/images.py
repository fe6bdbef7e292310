"""Image helpers shared by backgrounds, sources and outputs: loading, fitting, writing."""

from __future__ import annotations

import errno
import functools
import io
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from app.engine.core.errors import InputError, OutputError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
MAX_DECODE_PIXELS = 1 << 30  # OpenCV's own limit; Pillow's (89 Mpx) would warn on big photos
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_SIDE = 3840  # larger background photos are scaled down once, on load
FITS = ("cover", "contain", "stretch")


def fit_geometry(source: tuple[int, int], size: tuple[int, int], fit: str) -> tuple[int, int, int, int]:
    """Where a `source` (w, h) picture goes in a frame of `size` (w, h): its scaled size
    (sw, sh) and the frame position (x, y) of its top-left corner (negative when cover
    crops it)."""
    w, h = size
    iw, ih = source
    if fit == "stretch":
        return w, h, 0, 0
    scale = max(w / iw, h / ih) if fit == "cover" else min(w / iw, h / ih)
    sw, sh = max(1, round(iw * scale)), max(1, round(ih * scale))
    if fit == "cover":
        return sw, sh, -((sw - w) // 2), -((sh - h) // 2)
    return sw, sh, (w - sw) // 2, (h - sh) // 2


def fit_image(image: np.ndarray, size: tuple[int, int], fit: str) -> np.ndarray:
    """Scale an RGB image to `size` (w, h): cover crops, contain letterboxes in black,
    stretch ignores the aspect ratio."""
    w, h = size
    ih, iw = image.shape[:2]
    if fit == "stretch":
        return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    sw, sh, x, y = fit_geometry((iw, ih), size, fit)
    interp = cv2.INTER_AREA if sw < iw or sh < ih else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (sw, sh), interpolation=interp)
    if fit == "cover":
        return np.ascontiguousarray(scaled[-y:-y + h, -x:-x + w])
    canvas = np.zeros((h, w, 3), np.uint8)
    canvas[y:y + sh, x:x + sw] = scaled
    return canvas


pillow_heif.register_heif_opener()
Image.MAX_IMAGE_PIXELS = MAX_DECODE_PIXELS
_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


@dataclass(frozen=True)
class Photo:
    """A decoded picture: `rgb` uint8 HxWx3 in sRGB, upright; `alpha` uint8 HxW, or None
    when the file has no transparency (or is opaque everywhere)."""

    rgb: np.ndarray
    alpha: np.ndarray | None


def load_image_rgb(path: Path, max_side: int | None = None) -> np.ndarray:
    """An image file as RGB uint8 (EXIF orientation applied, colour profile converted to
    sRGB), scaled so no side exceeds `max_side` (if given); raises InputError naming the
    file if it cannot be read. Transparency is dropped (`load_photo` keeps it)."""
    return load_photo(path, max_side).rgb


def load_photo(path: Path, max_side: int | None = None) -> Photo:
    """An image file (JPEG, PNG, WebP, BMP, TIFF, HEIC/HEIF, AVIF) as a `Photo`: upright (EXIF
    orientation applied), its embedded ICC profile converted to sRGB (none, or one that
    cannot be read, counts as sRGB), its own alpha kept, scaled so no side exceeds
    `max_side` (if given; a JPEG is then decoded at a reduced size). Raises InputError
    naming the file if it cannot be read."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                photo = _decode(path, im, max_side)
    except UnidentifiedImageError:
        photo = _decode_with_opencv(path)  # the formats OpenCV reads and Pillow does not
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise InputError(f"{path}: not a readable image (corrupt or unsupported format)") from None
    return _scaled(photo, max_side)


def _decode(path: Path, im: Image.Image, max_side: int | None) -> Photo:
    w, h = im.size
    if w * h > MAX_DECODE_PIXELS:
        raise InputError(f"{path}: too large to read ({w}x{h} pixels)")
    if max_side is not None and max(w, h) > max_side and im.format == "JPEG":
        s = max_side / max(w, h)
        im.draft(None, (max(1, int(w * s)), max(1, int(h * s))))  # DCT scaling: 1/2, 1/4, 1/8
    im.load()
    im = ImageOps.exif_transpose(im)  # (HEIC: pillow_heif has applied the rotation already)
    profile = im.info.get("icc_profile")
    alpha = None
    if im.has_transparency_data:
        if "A" not in im.getbands():  # a palette or colour key: as RGBA (Pillow warns otherwise)
            im = im.convert("LA" if im.mode in _GREY_MODES else "RGBA")
        alpha = np.array(im.getchannel("A"))
        if int(alpha.min()) == 255:
            alpha = None
    return Photo(_as_srgb(im, profile), alpha)


def _as_srgb(im: Image.Image, profile: bytes | None) -> np.ndarray:
    """The colour of `im` (whose embedded ICC profile is `profile`) as sRGB uint8 HxWx3."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey: Pillow would clip
        im = Image.fromarray((np.asarray(im).astype(np.uint32) // 257).clip(0, 255).astype(np.uint8), "L")
    base = "L" if im.mode in _GREY_MODES else "CMYK" if im.mode == "CMYK" else "RGB"
    colour = im if im.mode == base else im.convert(base)
    transform = _to_srgb(profile, base) if profile else None
    if transform is not None:
        try:
            if base == "RGB":  # (`colour` is this call's own picture: changed in place)
                ImageCms.applyTransform(colour, transform, inPlace=True)
            else:
                colour = ImageCms.applyTransform(colour, transform)
        except (ImageCms.PyCMSError, ValueError, OSError):
            pass  # a profile littleCMS cannot apply: taken as sRGB
    if colour.mode != "RGB":
        colour = colour.convert("RGB")
    return np.array(colour)


@functools.lru_cache(maxsize=16)
def _to_srgb(profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform from an embedded ICC `profile` of a `mode` picture to sRGB; None when
    it is sRGB already, cannot be read, or does not fit the picture's colour space."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return None
        space = source.profile.xcolor_space.strip()
        if {"RGB": "RGB", "CMYK": "CMYK", "L": "GRAY"}[mode] != space:
            return None
        return ImageCms.buildTransform(source, _SRGB, mode, "RGB", ImageCms.Intent.PERCEPTUAL)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, KeyError):
        return None


_SRGB = ImageCms.createProfile("sRGB")


def _decode_with_opencv(path: Path) -> Photo:
    data = without_iccp(np.fromfile(str(path), dtype=np.uint8))
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise InputError(f"{path}: not a readable image (corrupt or unsupported format)")
    return Photo(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), None)


def _scaled(photo: Photo, max_side: int | None) -> Photo:
    h, w = photo.rgb.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return photo
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    alpha = None if photo.alpha is None else cv2.resize(photo.alpha, size, interpolation=cv2.INTER_AREA)
    return Photo(cv2.resize(photo.rgb, size, interpolation=cv2.INTER_AREA), alpha)


def without_iccp(data: np.ndarray) -> np.ndarray:
    """A PNG's bytes without its iCCP (ICC profile) chunks, so that libpng does not print
    warnings about odd profiles ("iCCP: known incorrect sRGB profile") to the terminal; the
    pixels decode the same (OpenCV applies no profile). Anything else is returned as it is."""
    raw = memoryview(data).cast("B") if data[:8].tobytes() == PNG_SIGNATURE else memoryview(b"")
    pos, kept, cut = 8, [], False
    while pos + 8 <= len(raw):
        length, kind = struct.unpack(">I4s", raw[pos:pos + 8])  # then the data and its CRC
        end = pos + 12 + length
        if kind == b"iCCP":
            cut = True
        else:
            kept.append(raw[pos:end])
        pos = end
        if kind == b"IDAT":  # profiles come before the picture data: keep the rest as it is
            kept.append(raw[pos:])
            break
    if not cut:
        return data
    return np.frombuffer(PNG_SIGNATURE + b"".join(kept), np.uint8)


def write_reason(exc: BaseException) -> str:
    """Why a write failed, in the user's words: "the disk is full", or the OS's reason
    ("Permission denied", "Read-only file system"), never a bare errno."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC:
        return "the disk is full"
    if code == errno.EDQUOT:
        return "the disk quota is used up"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def write_file(path: Path, data: bytes | np.ndarray, name: Path | None = None) -> None:
    """Write `data` (bytes, or an encoded image from `cv2.imencode`) to `path`, replacing it.
    Raises OutputError naming `name` (default `path`) and the reason; a disk that fills up
    says how much got written ("the disk is full (only 200704 of 703693 bytes written)")."""
    view = memoryview(np.ascontiguousarray(data) if isinstance(data, np.ndarray) else data).cast("B")
    name, done = name or path, 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    except OSError as exc:
        raise OutputError(f"{name}: cannot be written ({write_reason(exc)})") from None
    try:
        try:
            while done < len(view):
                written = os.write(fd, view[done:])
                if written == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                done += written
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise OutputError(f"{name}: {write_reason(exc)} (only {done} of {len(view)} bytes written)") from None
        raise OutputError(f"{name}: cannot be written ({write_reason(exc)})") from None

"""Photo inputs: HEIC/HEIF read upright, a PNG's own transparency kept, embedded colour
profiles converted to sRGB, and every file of a folder that is not read named with a reason."""

from __future__ import annotations

import struct

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from app.engine.imaging.images import IMAGE_EXTENSIONS, load_image_rgb, load_photo
from app.engine.sources.images import list_images, scan_folder

pillow_heif.register_heif_opener()


def _marked(h: int = 64, w: int = 96) -> np.ndarray:
    """Grey picture with a red block in its top-left corner (survives lossy coding)."""
    rgb = np.full((h, w, 3), 128, np.uint8)
    rgb[: h // 3, : w // 3] = (230, 20, 20)
    return rgb


def _is_red(pixel: np.ndarray) -> bool:
    r, g, b = (int(v) for v in pixel)
    return r > 180 and g < 80 and b < 80


@pytest.mark.parametrize("suffix", [".heic", ".heif"])
def test_a_heic_photo_is_read_upright(tmp_path, suffix):
    """Stored landscape with EXIF orientation 6 (turn 90 degrees clockwise to show it): read as
    the portrait it shows, the red corner now top right."""
    assert suffix in IMAGE_EXTENSIONS
    path = tmp_path / f"phone{suffix}"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_marked()).save(path, format="HEIF", exif=exif.tobytes(), quality=90)
    photo = load_photo(path)
    assert photo.rgb.shape == (96, 64, 3) and photo.rgb.dtype == np.uint8
    assert photo.alpha is None
    assert _is_red(photo.rgb[5, -5]) and not _is_red(photo.rgb[5, 5]) and not _is_red(photo.rgb[-5, -5])
    assert load_image_rgb(path).shape == (96, 64, 3)


def test_a_png_keeps_its_transparency(tmp_path):
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[..., :3] = (10, 200, 30)  # colour under the transparent part too
    rgba[10:30, 15:45, 3] = 255
    rgba[10:30, 45:50, 3] = 100  # a soft edge
    path = tmp_path / "product.png"
    Image.fromarray(rgba, "RGBA").save(path)
    photo = load_photo(path)
    assert photo.alpha is not None and photo.alpha.shape == (40, 60)
    assert np.array_equal(photo.alpha, rgba[..., 3])  # alpha 0 stays exactly 0
    assert np.array_equal(photo.rgb, rgba[..., :3])


def test_a_palette_png_with_a_transparent_colour_keeps_it(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[5:15, 5:15] = (200, 50, 50, 255)
    path = tmp_path / "palette.png"
    Image.fromarray(rgba, "RGBA").quantize(4).save(path)
    photo = load_photo(path)
    assert photo.alpha is not None
    assert photo.alpha[0, 0] == 0 and photo.alpha[10, 10] == 255


def test_an_opaque_png_has_no_alpha_and_scales(tmp_path):
    rgba = np.full((40, 80, 4), 255, np.uint8)
    path = tmp_path / "opaque.png"
    Image.fromarray(rgba, "RGBA").save(path)
    photo = load_photo(path, max_side=20)
    assert photo.alpha is None and photo.rgb.shape == (10, 20, 3)


def _linear_rgb_profile() -> bytes:
    """An ICC v2 display profile: sRGB's primaries (D50-adapted) with a linear tone curve
    (gamma 1.0), so a stored 128 means linear light 0.502, which sRGB writes as 188."""
    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    text = b"Linear RGB test"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text) + 1) + text + b"\0" + b"\0" * 8 + b"\0" * 3 + b"\0" * 67
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 0x0100) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)), (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
            (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12
              + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249)
              + b"\0" * 48)
    assert len(header) == 128
    return header + table + data


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_an_embedded_colour_profile_is_converted_to_srgb(tmp_path, fmt):
    rgb = np.full((16, 16, 3), 128, np.uint8)
    rgb[:, 8:] = (255, 255, 255)
    path = tmp_path / f"linear.{fmt.lower()}"
    Image.fromarray(rgb).save(path, format=fmt, icc_profile=_linear_rgb_profile(), quality=100)
    plain = tmp_path / f"plain.{fmt.lower()}"
    Image.fromarray(rgb).save(plain, format=fmt, quality=100)
    converted = load_photo(path).rgb
    expected = round(255 * (1.055 * (128 / 255) ** (1 / 2.4) - 0.055))  # 188
    assert abs(int(np.median(converted[:, :8])) - expected) <= 2, converted[0, 0]
    assert int(np.median(converted[:, 8:])) >= 253  # white stays white
    assert abs(int(np.median(load_photo(plain).rgb[:, :8])) - 128) <= 1  # no profile: taken as sRGB


def test_a_folder_lists_every_file_it_does_not_read(tmp_path):
    Image.fromarray(_marked()).save(tmp_path / "shoe.jpg")
    Image.fromarray(_marked()).save(tmp_path / "bag.heic", format="HEIF")
    Image.fromarray(_marked()).save(tmp_path / "spin.gif")
    (tmp_path / "notes.txt").write_text("prices")
    (tmp_path / "data.xyz").write_bytes(b"\0\1\2")
    (tmp_path / "old").mkdir()
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    images, skipped = scan_folder(tmp_path)
    assert [p.name for p in images] == ["bag.heic", "shoe.jpg"]
    by_name = {line.split(": ", 1)[0].rsplit("/", 1)[-1]: line.split(": ", 1)[1] for line in skipped}
    assert set(by_name) == {"spin.gif", "notes.txt", "data.xyz", "old"}, skipped
    assert all(line.startswith(str(tmp_path)) for line in skipped)
    assert "GIF" in by_name["spin.gif"]
    assert by_name["notes.txt"].startswith("not an image") and by_name["data.xyz"].startswith("not an image")
    assert "not searched" in by_name["old"]
    assert [p.name for p in list_images(tmp_path)] == ["bag.heic", "shoe.jpg"]  # the old call agrees
    assert all(load_photo(p).rgb.shape == (64, 96, 3) for p in images)


def test_a_folder_without_images_says_so_last(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing")
    images, skipped = scan_folder(tmp_path)
    assert images == [] and len(skipped) == 2
    assert skipped[-1].startswith(f"{tmp_path}: folder has no images")


def test_a_broken_photo_is_one_error_naming_it(tmp_path):
    from app.engine.core.errors import InputError

    path = tmp_path / "broken.heic"
    path.write_bytes(b"not really a photo" * 10)
    with pytest.raises(InputError) as info:
        load_photo(path)
    assert str(info.value) == f"{path}: not a readable image (corrupt or unsupported format)"

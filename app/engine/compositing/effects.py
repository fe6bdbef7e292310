"""The compositing effects on the CPU (spill, colour match, light wrap, alpha blend), in
uint8 with OpenCV: the reference the GLSL versions in shaders/effects/ are tested against.
Both paths share the plan (reduced sizes, blur kernels). The formulas: docs/compositing.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.engine.core.errors import SettingsError
from app.engine.imaging.blur import blur, halve_to, plan_level, scaled, upsample

GAIN_LIMITS = (0.7, 1.4)  # colour match never scales a channel beyond these


@dataclass
class CompositeSettings:
    """How the person is put over the background. Lengths are pixels at 1080p (they scale
    with the frame), strengths are 0..1 (0 = off).

    light_wrap: background light spilling onto the subject's edge.
    wrap_radius: how far the light wrap (and the edge colour estimate for spill) reaches.
    feather: extra softening of the matte edge, on top of the matte's own.
    colour_match: pull the subject's brightness and white balance toward the background.
    spill: replace the old room's colour in the partly transparent edge with the subject's own.
    """

    light_wrap: float = 0.0
    wrap_radius: float = 24.0
    feather: float = 0.0
    colour_match: float = 0.0
    spill: float = 0.0

    def __post_init__(self) -> None:
        for name in ("light_wrap", "colour_match", "spill"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SettingsError(f"{name} must be within 0..1, got {value}")
        if self.wrap_radius <= 0:
            raise SettingsError(f"wrap_radius must be > 0, got {self.wrap_radius}")
        if self.feather < 0:
            raise SettingsError(f"feather must be >= 0, got {self.feather}")

    @classmethod
    def natural(cls) -> "CompositeSettings":
        """The look the panel starts with: a little light wrap, spill suppression and
        colour matching."""
        return cls(light_wrap=0.35, colour_match=0.3, spill=0.8)

    @property
    def needs_edge(self) -> bool:
        return self.spill > 0 or self.light_wrap > 0


def colour_gain(fg_sums: np.ndarray, alpha_sum: float, bg_mean: np.ndarray, strength: float) -> np.ndarray:
    """Per-channel gain (RGB, ~1) that moves the subject's mean colour toward the
    background's by `strength`. `fg_sums` are sums of colour * matte (0..1 units)."""
    if alpha_sum < 1.0 or strength <= 0:
        return np.ones(3, np.float64)
    fg_mean = np.asarray(fg_sums, np.float64) / alpha_sum
    ratio = (np.asarray(bg_mean, np.float64) + 0.05) / (fg_mean + 0.05)
    return 1.0 + strength * (np.clip(ratio, *GAIN_LIMITS) - 1.0)


def level_stats(frame_small: np.ndarray, alpha_small: np.ndarray,
                bg_small: np.ndarray | None) -> tuple[np.ndarray, float, np.ndarray]:
    """(sum of colour * matte, sum of matte, mean background colour), 0..1 units, at the
    reduced size (small images: float here is cheap)."""
    a = alpha_small.astype(np.float32) / 255.0
    fg = frame_small.astype(np.float32) / 255.0
    fg_sums = (fg * a[..., None]).reshape(-1, 3).sum(axis=0, dtype=np.float64)
    bg_mean = (bg_small.reshape(-1, 3).mean(axis=0, dtype=np.float64) / 255.0) if bg_small is not None else np.zeros(3)
    return fg_sums, float(a.sum(dtype=np.float64)), bg_mean


def apply_gain(image: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """round(image * gain) per channel, saturated, through a lookup table (what
    cv2.multiply by a scalar gives, several times faster on uint8)."""
    levels = np.arange(256, dtype=np.float64)[:, None] * np.asarray(gain, np.float64)[None, :]
    table = np.clip(np.rint(levels), 0, 255).astype(np.uint8).reshape(256, 1, 3)
    return cv2.LUT(image, table)


def mix(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """a * (1 - w) + b * w per pixel, uint8, `weight` HxW uint8 (255 = all b)."""
    w3 = cv2.merge((weight, weight, weight))
    return cv2.add(cv2.multiply(b, w3, scale=1.0 / 255.0), cv2.multiply(a, cv2.bitwise_not(w3), scale=1.0 / 255.0))


def scaled_inverse(alpha: np.ndarray, strength: float) -> np.ndarray:
    """min(255, round((255 - alpha) * strength)), uint8."""
    return cv2.convertScaleAbs(cv2.bitwise_not(alpha), alpha=strength)


class EdgeMaps:
    """The reduced-size maps the effects need for one frame, upsampled to the frame."""

    def __init__(self, frame: np.ndarray, alpha: np.ndarray, background: np.ndarray | None,
                 settings: CompositeSettings) -> None:
        h, w = frame.shape[:2]
        self.level = level = plan_level((w, h), scaled(settings.wrap_radius, h))
        # only what the enabled effects use is made (light wrap alone needs no frame copy)
        wrap = settings.light_wrap > 0 and background is not None
        match = settings.colour_match > 0 and background is not None
        frame_small = halve_to(frame, level) if settings.spill > 0 or match else None
        alpha_small = halve_to(alpha, level)
        bg_small = halve_to(background, level) if wrap or match else None
        self.subject: np.ndarray | None = None
        self.matte_blurred: np.ndarray | None = None
        self.light: np.ndarray | None = None
        self.gain: np.ndarray | None = None
        if settings.needs_edge:
            a = alpha_small.astype(np.float32) / 255.0
            a_b = blur(a, level.sigma)
            if frame_small is not None and settings.spill > 0:
                pre_b = blur(frame_small.astype(np.float32) * a[..., None], level.sigma)
                subject = pre_b / np.maximum(a_b, 1.0 / 255.0)[..., None]
                self.subject = upsample(np.clip(subject + 0.5, 0, 255).astype(np.uint8), (w, h))
            self.matte_blurred = upsample(np.clip(a_b * 255.0 + 0.5, 0, 255).astype(np.uint8), (w, h))
        if wrap and bg_small is not None:
            self.light = upsample(blur(bg_small, level.sigma), (w, h))
        if match and frame_small is not None and bg_small is not None:
            fg_sums, alpha_sum, bg_mean = level_stats(frame_small, alpha_small, bg_small)
            self.gain = colour_gain(fg_sums, alpha_sum, bg_mean, settings.colour_match)


def apply_effects(frame: np.ndarray, alpha: np.ndarray, background: np.ndarray | None,
                  settings: CompositeSettings) -> np.ndarray:
    """The subject's colours after spill suppression, colour match and light wrap (RGB uint8,
    full size), ready to be blended over `background` with `alpha`."""
    maps = EdgeMaps(frame, alpha, background, settings)
    f = frame
    if settings.spill > 0 and maps.subject is not None:
        f = mix(f, maps.subject, scaled_inverse(alpha, 2.0 * settings.spill))
    if maps.gain is not None:
        f = apply_gain(f, maps.gain)
    if maps.light is not None and maps.matte_blurred is not None:
        f = mix(f, maps.light, scaled_inverse(maps.matte_blurred, settings.light_wrap))
    return f

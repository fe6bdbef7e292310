"""Everything a user sets for live mode, declared once (see `fields`): the settings file, the
session and the panel all read these declarations."""

from __future__ import annotations

from app.engine.compositing.choose import KINDS as COMPOSITORS
from app.engine.compositing.effects import CompositeSettings
from app.engine.imaging.images import FITS
from app.engine.live.fields import (
    BoolSetting,
    FloatSetting,
    OptionalTextSetting,
    SettingsModel,
    SizeSetting,
    TextSetting,
)
from app.engine.matting.presets import AUTO, PRESET_NAMES, MatteSettings

MODELS = ("auto", "general", "landscape", "rvm")  # "auto": the matte preset's choice for the camera's shape
_M, _E = MatteSettings, CompositeSettings  # the engine's own defaults


class LiveSettings(SettingsModel):
    """Everything a user sets for live mode. `camera`: an index, /dev/videoN, `demo`, or a
    video file (played in a loop). `mic`: "none", "default" or a device (see `backdrop
    devices`); its sound goes to the virtual microphone (`virtual_mic`), delayed by the video
    latency plus `av_offset_ms`, and into recordings and streams. Fields of group "matte" and
    "effects" are the fields of MatteSettings and CompositeSettings (`matte`, `effects`)."""

    # the source and the processing: a change restarts the pipeline
    camera = TextSetting("0", applies="restart")
    size = SizeSetting((1280, 720), 16, 7680, applies="restart")
    fps = FloatSetting(30.0, 1, 120, applies="restart")
    model = TextSetting("auto", MODELS, applies="restart")
    compositor = TextSetting("auto", COMPOSITORS, applies="restart")
    # the background: from the next frame once loaded
    background = TextSetting("blur", group="background")
    fit = TextSetting("cover", FITS, group="background")
    # the matte: from the next frame (a preset that runs another model restarts)
    preset = TextSetting(AUTO, PRESET_NAMES, group="matte")
    threshold = FloatSetting(_M.threshold, 0, 1, group="matte")
    softness = FloatSetting(_M.softness, 0, 1, group="matte")
    smoothing = FloatSetting(_M.smoothing, 0, 1, group="matte")
    grow = FloatSetting(_M.grow, -50, 50, group="matte")
    feather = FloatSetting(_M.feather, 0, 50, group="matte")
    invert = BoolSetting(_M.invert, group="matte")
    # the effects: from the next frame
    light_wrap = FloatSetting(_E.light_wrap, 0, 1, group="effects")
    colour_match = FloatSetting(_E.colour_match, 0, 1, group="effects")
    # outputs: a change reopens them
    virtual_camera = BoolSetting(True, applies="restart")
    vcam_device = OptionalTextSetting(None, applies="restart")
    vcam_backend = OptionalTextSetting(None, applies="restart", persist=False)
    keep_camera_on = BoolSetting(False, applies="restart")
    # audio
    mic = TextSetting("default", applies="restart")
    virtual_mic = BoolSetting(True, applies="restart")
    av_offset_ms = FloatSetting(0.0, -1000, 1000, group="audio")

    @property
    def matte(self) -> MatteSettings:
        """The matte settings the refiner and segmenter take."""
        return MatteSettings(**self.values("matte"))

    @property
    def effects(self) -> CompositeSettings:
        """The effect settings the compositor takes."""
        return CompositeSettings(**self.values("effects"))

    @property
    def model_override(self) -> str | None:
        """The model to run whatever the preset says, or None to let the preset choose."""
        return None if self.model == "auto" else self.model

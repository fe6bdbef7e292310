"""The live settings model: one declaration per field (default, type, range or choices, live
or restart), validation on every change and on loading, and change events."""

from __future__ import annotations

import math

import pytest

from app.engine.compositing.effects import CompositeSettings
from app.engine.core.errors import SettingsError
from app.engine.live.fields import FieldChanged, FloatSetting, SizeSetting
from app.engine.live.settings import LiveSettings
from app.engine.live.status import StatusBoard, StatusChanged
from app.engine.matting.presets import MatteSettings


def test_defaults_are_the_engines_own():
    s = LiveSettings()
    assert s.matte == MatteSettings(preset="auto")  # live mode's own default: measured at start
    assert s.effects == CompositeSettings()
    assert s.size == (1280, 720) and s.fps == 30.0 and s.compositor == "auto" and s.model == "auto"


def test_each_field_declares_its_range_and_whether_it_applies_live():
    fields = LiveSettings.fields
    assert isinstance(fields["grow"], FloatSetting) and (fields["grow"].lo, fields["grow"].hi) == (-50, 50)
    assert (fields["feather"].lo, fields["feather"].hi) == (0, 50)
    assert (fields["fps"].lo, fields["fps"].hi) == (1, 120)
    assert isinstance(fields["size"], SizeSetting) and (fields["size"].lo, fields["size"].hi) == (16, 7680)
    for name in ("threshold", "softness", "smoothing", "light_wrap", "colour_match"):
        assert (fields[name].lo, fields[name].hi) == (0, 1), name
    assert fields["compositor"].choices == ("auto", "gl", "cpu")
    restart = {n for n, f in fields.items() if f.applies == "restart"}
    assert {"camera", "size", "fps", "model", "compositor", "mic", "virtual_camera"} <= restart
    live = {n for n, f in fields.items() if f.applies == "live"}
    assert {"threshold", "grow", "invert", "preset", "light_wrap", "background", "av_offset_ms"} <= live
    assert {n for n, f in fields.items() if f.group == "matte"} == set(MatteSettings.__dataclass_fields__)


@pytest.mark.parametrize("name, value", [
    ("threshold", 1.5), ("threshold", -0.1), ("smoothing", math.nan), ("grow", 1e18), ("grow", math.inf),
    ("fps", "fast"), ("fps", 0), ("fps", True), ("size", 1280), ("size", "1280x"), ("size", "8000x720"),
    ("size", [1280, 7.5]), ("invert", 1), ("preset", "best"), ("compositor", "metal"), ("camera", 0),
])
def test_a_bad_value_is_refused_naming_the_field_and_the_value(name, value):
    s = LiveSettings()
    events: list[FieldChanged] = []
    s.subscribe(events.append)
    before = getattr(s, name)
    with pytest.raises(SettingsError, match=name) as caught:
        setattr(s, name, value)
    assert repr(value) in str(caught.value)
    assert getattr(s, name) == before and events == []
    with pytest.raises(SettingsError):
        LiveSettings(**{name: value})


def test_good_values_are_taken_in_the_fields_own_type():
    s = LiveSettings(size="640x360", fps=25, grow=-50, feather=50)
    assert s.size == (640, 360) and s.fps == 25.0 and isinstance(s.fps, float)
    s.size = [320, 240]
    assert s.size == (320, 240)
    assert s.matte.grow == -50 and s.matte.feather == 50


def test_a_change_is_told_once_with_whether_it_applies_live():
    s = LiveSettings()
    events: list[FieldChanged] = []
    unsubscribe = s.subscribe(events.append)
    s.threshold = 0.6
    s.threshold = 0.6  # the same value: nothing to tell
    s.set("size", (640, 360), origin="test")
    assert [(e.name, e.old, e.new, e.applies, e.group, e.origin) for e in events] == [
        ("threshold", 0.5, 0.6, "live", "matte", None), ("size", (1280, 720), (640, 360), "restart", None, "test")]
    assert events[0].model is s and s.matte.threshold == 0.6
    unsubscribe()
    s.threshold = 0.7
    assert len(events) == 2


def test_update_checks_every_field_before_storing_any():
    s = LiveSettings()
    with pytest.raises(SettingsError, match="softness"):
        s.update({"threshold": 0.3, "softness": 2.0})
    assert s.threshold == 0.5
    s.update({"threshold": 0.3, "softness": 0.2})
    assert (s.threshold, s.softness) == (0.3, 0.2)


def test_loading_keeps_good_fields_and_puts_each_bad_one_to_its_default():
    data = {"threshold": 1.5, "smoothing": math.nan, "size": 1280, "fps": "fast", "grow": 1e18,
            "invert": True, "camera": "demo", "light_wrap": 0.4, "view": "matte"}  # view: the panel's
    s, problems = LiveSettings.from_dict(data)
    assert (s.threshold, s.size, s.fps, s.grow) == (0.5, (1280, 720), 30.0, 0.0)
    assert s.smoothing == MatteSettings.smoothing
    assert s.invert is True and s.camera == "demo" and s.light_wrap == 0.4
    assert set(problems) == {"threshold", "smoothing", "size", "fps", "grow"}
    assert "1.5" in problems["threshold"] and "default 0.5" in problems["threshold"]


def test_the_file_form_round_trips_and_leaves_out_run_time_choices():
    s = LiveSettings(size=(640, 360), threshold=0.3, vcam_backend="null")
    data = s.to_dict()
    assert data["size"] == "640x360" and "vcam_backend" not in data
    again, problems = LiveSettings.from_dict(data)
    assert problems == {} and again.to_dict() == data and again.vcam_backend is None


def test_the_status_board_tells_each_update_even_a_repeated_warning():
    board = StatusBoard()
    events: list[StatusChanged] = []
    board.subscribe(events.append)
    board.update(running=True, source="demo", compositor="cpu")
    board.warn("camera busy")
    board.warn("camera busy")
    board.fail("camera x.mp4: cannot be decoded")
    assert [e.changed for e in events] == [("running", "source", "compositor"), ("warning",), ("warning",),
                                           ("error", "running")]
    assert board.status.error == "camera x.mp4: cannot be decoded" and board.status.running is False
    assert board.status.source == "demo" and board.status.warning == "camera busy"

"""Person tracking: the model segments the crop around the person, not the whole frame.

The planner is checked on hand-made maps; the segmenter with the real model on the demo
portrait pasted small into a wide, plain frame (a person standing back from the camera)."""

from __future__ import annotations

from support import media
import numpy as np
import pytest

from app.engine.matting.segmenter import Segmenter
from app.engine.matting.tracking import (
    ENTER_AREA,
    REFRESH_FRAMES,
    TRACK_MARGIN,
    PersonTracker,
    fit_box,
    person_bounds,
)

FRAME = (1280, 720)
LANDSCAPE_INPUT = (256, 144)


def blob_map(box: tuple[int, int, int, int], size: tuple[int, int] = (256, 144)) -> np.ndarray:
    """A confidence map of the whole frame with a person exactly in `box` (map pixels)."""
    conf = np.zeros(size[::-1], np.float32)
    x0, y0, x1, y1 = box
    conf[y0:y1, x0:x1] = 1.0
    return conf


def test_a_small_person_is_cropped_with_a_margin_at_the_models_shape():
    tracker = PersonTracker({"landscape": LANDSCAPE_INPUT})
    assert tracker.plan().whole and tracker.plan().box is None  # nothing known yet
    tracker.update(blob_map((100, 40, 130, 100)), FRAME)  # 30x60 map px = 150x300 frame px
    plan = tracker.plan()
    assert not plan.whole and plan.box is not None
    x0, y0, x1, y1 = plan.box
    person = (500, 200, 650, 500)
    assert x0 < person[0] and y0 < person[1] and x1 > person[2] and y1 > person[3]
    assert y0 <= person[1] - TRACK_MARGIN * 300 + 1 and y1 >= person[3] + TRACK_MARGIN * 300 - 1
    assert abs((x1 - x0) / (y1 - y0) - 256 / 144) < 0.02  # the landscape model's shape


def test_with_both_models_a_standing_person_gets_the_general_model_with_hysteresis():
    tracker = PersonTracker({"general": (256, 256), "landscape": LANDSCAPE_INPUT})
    tracker.update(blob_map((100, 40, 130, 100)), FRAME)  # tall
    plan = tracker.plan()
    assert plan.model == "general" and abs((plan.box[2] - plan.box[0]) - (plan.box[3] - plan.box[1])) <= 2
    tracker.update(blob_map((100, 40, 140, 70)), FRAME)  # 40x30 map px = 200x150 frame px: 4:3
    assert tracker.plan().model == "general"  # inside the hysteresis band: kept
    tracker.update(blob_map((90, 40, 150, 70)), FRAME)  # 300x150: clearly wide
    assert tracker.plan().model == "landscape"


def test_a_person_filling_the_frame_is_segmented_whole_with_hysteresis():
    tracker = PersonTracker({"landscape": LANDSCAPE_INPUT})
    tracker.update(blob_map((40, 10, 216, 144)), FRAME)  # most of the frame
    assert tracker.plan().whole and tracker.plan().box is None
    tracker.update(blob_map((100, 40, 140, 110)), FRAME)  # steps back: tracked
    box = tracker.plan().box
    assert box is not None
    share = (box[2] - box[0]) * (box[3] - box[1]) / (FRAME[0] * FRAME[1])
    assert share < ENTER_AREA
    # between the two limits the tracker keeps what it does
    tracker.update(blob_map((88, 28, 152, 122)), FRAME)
    grown = tracker.plan().box
    assert grown is not None
    assert ENTER_AREA < (grown[2] - grown[0]) * (grown[3] - grown[1]) / (FRAME[0] * FRAME[1])


def test_a_person_reaching_the_crops_edge_gets_a_whole_frame_pass_next():
    tracker = PersonTracker({"landscape": LANDSCAPE_INPUT})
    tracker.update(blob_map((100, 40, 130, 100)), FRAME)
    box = tracker.plan().box
    # this frame's map: the crop's right edge (in map pixels) reached by an arm
    conf = blob_map((100, 40, 130, 100))
    conf[60:64, 130:int(np.ceil(box[2] * 256 / FRAME[0]))] = 1.0
    tracker.update(conf, FRAME)
    assert tracker.plan().whole and tracker.plan().box is not None


def test_the_whole_frame_is_segmented_again_every_refresh_period():
    tracker = PersonTracker({"landscape": LANDSCAPE_INPUT})
    wholes = []
    for _ in range(3 * REFRESH_FRAMES):
        plan = tracker.plan()
        wholes.append(plan.whole)
        tracker.update(blob_map((100, 40, 130, 100)), FRAME)
    gaps = np.diff(np.flatnonzero(wholes))
    assert len(gaps) >= 2 and np.all(gaps == REFRESH_FRAMES)
    tracker.reset()
    assert tracker.plan().whole and tracker.plan().box is None


def test_person_bounds_and_fit_box_stay_in_the_frame():
    assert person_bounds(np.zeros((144, 256), np.float32), FRAME, 0.1) is None
    bounds = person_bounds(blob_map((0, 0, 20, 144)), FRAME, 0.5)  # at the left edge, full height
    assert bounds[0] == 0.0 and bounds[1] == 0.0 and bounds[3] == FRAME[1]
    box = fit_box(bounds, LANDSCAPE_INPUT, FRAME)
    assert box is None or (box[0] >= 0 and box[2] <= FRAME[0] and box[3] <= FRAME[1])


def small_person(offset_x: int, frame: np.ndarray | None = None) -> np.ndarray:
    """The demo portrait at 400x300 at the bottom of a plain grey 1280x720 frame, its left
    edge at offset_x (the person is about a fifth of the frame wide)."""
    if frame is None:
        frame = np.full((FRAME[1], FRAME[0], 3), 118, np.uint8)
    frame[420:720, offset_x:offset_x + 400] = media.portrait((400, 300))
    return frame


def person_share(conf: np.ndarray, x0: int, x1: int) -> float:
    """Mean confidence over the map's columns of frame x0..x1, rows of the person's body."""
    h, w = conf.shape
    sx, sy = w / FRAME[0], h / FRAME[1]
    return float(conf[int(540 * sy):int(700 * sy), int(x0 * sx):int(x1 * sx)].mean())


def test_the_segmenter_follows_a_small_person_with_one_pass_a_frame():
    with Segmenter("landscape", video=True) as seg:
        passes = []
        segment = seg._segment
        seg._segment = lambda image, ts, model=None: passes.append(image.shape) or segment(image, ts, model)
        for i in range(12):
            x = 200 + 20 * i  # walking right
            conf = seg.confidence(small_person(x))
            assert conf.shape == (144, 256)  # the same map as untracked
            assert person_share(conf, x + 140, x + 260) > 0.6, i
            assert person_share(conf, 0, 150) < 0.05 and person_share(conf, 1100, 1280) < 0.05, i
        plan = seg._tracker.plan()
        assert plan.box is not None and plan.box[0] < x + 100 and plan.box[2] > x + 300  # followed
        # frame 1 whole, then one pass a frame on the crop
        assert len(passes) == 12 and passes[0][:2] == (144, 256)


def test_someone_entering_outside_the_crop_is_found_within_the_refresh_period():
    with Segmenter("landscape", video=True) as seg:
        for _ in range(3):
            seg.confidence(small_person(100))
        assert seg._tracker.plan().box is not None
        frame = small_person(850, small_person(100))  # a second person, far right
        found = None
        for i in range(REFRESH_FRAMES + 1):
            conf = seg.confidence(frame)
            if person_share(conf, 990, 1110) > 0.6:
                found = i
                break
        assert found is not None, "the second person never appeared in the map"
        # once seen, both stay in the map (the crop now holds both)
        for _ in range(3):
            conf = seg.confidence(frame)
            assert person_share(conf, 990, 1110) > 0.6 and person_share(conf, 240, 360) > 0.6


def test_crop_model_auto_segments_a_standing_persons_crop_with_the_general_model():
    from app.engine.matting.presets import MatteSettings

    with Segmenter("landscape", video=True, crop_model="auto") as seg:
        assert seg.spec.input_size == LANDSCAPE_INPUT  # a 16:9 stream
        for i in range(4):
            conf = seg.confidence(small_person(300))
        assert set(seg._other_models) == {"general"} and seg._tracker.plan().model == "general"
        assert conf.shape == (256, 455)  # fine enough for the general model's crops
        assert person_share(conf, 440, 560) > 0.6 and person_share(conf, 0, 150) < 0.05
    with Segmenter.for_video(MatteSettings(), FRAME) as seg:  # balanced: the stream's model
        for i in range(4):
            conf = seg.confidence(small_person(300))
        assert not seg._other_models and conf.shape == (144, 256)


def test_untracked_segmenter_runs_the_whole_frame():
    with Segmenter("landscape", video=True, track=False) as seg:
        assert seg._tracker is None
        conf = seg.confidence(small_person(300))
        assert conf.shape == (144, 256)


@pytest.mark.parametrize("size", [(320, 240), (960, 540)])
def test_a_source_of_another_size_starts_tracking_afresh(size):
    frame = media.portrait(size)  # a new source, the person filling it
    with Segmenter("landscape", video=True) as seg, Segmenter("landscape", video=True, track=False) as plain:
        for _ in range(2):
            seg.confidence(small_person(300))
        assert seg._tracker.plan().box is not None
        conf = seg.confidence(frame)  # segmented whole, as without tracking
        assert np.allclose(conf, plain.confidence(frame), atol=1e-4)


def test_a_cut_to_a_person_elsewhere_loses_no_frame():
    with Segmenter("landscape", video=True) as seg:
        for _ in range(3):
            seg.confidence(small_person(100))
        assert seg._tracker.plan().box[2] < 800  # tracking the person on the left
        conf = seg.confidence(small_person(850))  # the next frame: a person on the right only
        assert person_share(conf, 990, 1110) > 0.6, "found in the same frame"

"""Person or object: decided per photo from the person model's own confidence map (the map
`Segmenter(photo model, video=False).confidence(image)` returns).

A person photo has a large, firmly decided person; on object photos the selfie models find
nothing, or a faint, undecided blob. Calibration (data and figures): `docs/stills.md`.
"""

from __future__ import annotations

import numpy as np

from app.engine.matting.stills.confidence import map_features

FIRM = 0.9  # confidence above which a pixel is firmly person
# A person when at least MIN_FIRM_SHARE of the picture is firmly person and the undecided
# pixels are at most MAX_UNDECIDED per person pixel: the best pair on a grid over
# ../shared/eval/portraits (66) vs ../shared/eval/objects (79): 63 + 74 of 145 right; the
# neighbouring grid points (0.08..0.12, 0.5..0.8) score 135..136.
MIN_FIRM_SHARE = 0.10
MAX_UNDECIDED = 0.8


def choose_subject(person_soft: np.ndarray) -> tuple[str, str]:
    """("person" or "object", a short reason) for the photo whose person-model confidence
    map (float 0..1, any size) is `person_soft`."""
    firm = float(np.mean(np.asarray(person_soft) > FIRM)) if person_soft.size else 0.0
    undecided = map_features(person_soft).undecided_per_object if person_soft.size else 1.0
    if firm < MIN_FIRM_SHARE:
        return "object", f"no clear person ({firm:.0%} of the picture firmly person)"
    if undecided > MAX_UNDECIDED:
        return "object", f"the person model is unsure ({undecided:.0%} undecided per person pixel)"
    return "person", f"a clear person ({firm:.0%} of the picture)"

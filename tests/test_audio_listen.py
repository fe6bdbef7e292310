"""The player's listener finds its own samples in what the sink played (`listen.find_lag`):
exactly for sound that has one place to match, never for a steady tone, which matches its
own copy a whole period off as well (it once moved the clock by 2-14 periods of a 440 Hz
tone and the delay line re-took the wrong delay)."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.audio.listen import find_lag

RATE = 48000


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise shaped like speech: energy mostly under 1 kHz, syllables of ~150 ms."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    noise = rng.standard_normal(n)
    kernel = np.hanning(48)  # a low-pass: ~1 kHz
    voiced = np.convolve(noise, kernel / kernel.sum(), mode="same")
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(n) / (0.15 * RATE)) ** 2
    return (0.3 * voiced * syllables).astype(np.float32)


@pytest.mark.parametrize("offset", [1.37, 12.0, 173.0, 1234.5, 3000.0])
def test_sound_with_one_place_to_match_is_found_to_a_tenth_of_a_sample(offset):
    y = speech_like(0.5)
    n = int(0.4 * RATE)
    whole = int(offset)
    frac = offset - whole
    positions = whole + frac + np.arange(n)
    x = np.interp(positions, np.arange(len(y)), y).astype(np.float32)  # a fractional delay
    lag = find_lag(x, y[: n + 3840])
    assert lag is not None
    assert lag == pytest.approx(offset, abs=0.1)


@pytest.mark.parametrize("freq", [50.0, 440.0, 1000.0])
def test_a_steady_tone_is_not_matched(freq):
    t = np.arange(int(0.5 * RATE)) / RATE
    y = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    n = int(0.4 * RATE)
    assert find_lag(y[1000:1000 + n], y[: n + 3840]) is None


def test_a_beep_is_matched_at_its_own_place_not_a_period_off():
    """A beep's envelope makes its own place the best match (the A/V clips' 120 ms, 1 kHz)."""
    y = np.zeros(int(0.5 * RATE), np.float32)
    start, n_beep = 9000, int(0.12 * RATE)
    y[start:start + n_beep] = 0.5 * np.sin(2 * np.pi * 1000.0 * np.arange(n_beep) / RATE)
    n = int(0.4 * RATE)
    assert find_lag(y[1500:1500 + n], y[: n + 3840]) == pytest.approx(1500, abs=0.1)


def test_a_tone_under_speech_is_still_matched():
    t = np.arange(int(0.5 * RATE)) / RATE
    y = speech_like(0.5, seed=3) + (0.05 * np.sin(2 * np.pi * 50.0 * t)).astype(np.float32)  # mains hum
    n = int(0.4 * RATE)
    assert find_lag(y[2000:2000 + n], y[: n + 3840]) == pytest.approx(2000, abs=0.1)


def test_unrelated_sound_is_not_matched():
    y = speech_like(0.5, seed=1)
    x = speech_like(0.4, seed=2)
    assert find_lag(x, y) is None

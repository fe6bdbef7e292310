"""Live audio: the microphone, held back by the video's latency, out to a virtual microphone
and into recordings and streams, all on the frames' clock."""

from app.engine.audio.capture import AudioCapture
from app.engine.audio.clock import AudioBlock
from app.engine.audio.delay_line import DelayLine
from app.engine.audio.player import AudioPlayer

__all__ = ["AudioBlock", "AudioCapture", "AudioPlayer", "DelayLine"]

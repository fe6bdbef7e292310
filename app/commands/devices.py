"""`backdrop devices`: cameras, audio inputs and outputs, and the virtual camera."""

from __future__ import annotations

import argparse

from app.engine import devices as device_info
from app.engine.matting.models.onnx import (
    available_providers,
    choose_providers,
    short_name,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list cameras, audio devices and the virtual camera")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    videos = device_info.video_devices()
    cameras = [d for d in videos if not d.loopback]
    loopbacks = [d for d in videos if d.loopback]
    print("Cameras:")
    for d in cameras:
        print(f"  {d.path}  {d.name}")
    if not cameras:
        print("  none found")
    print("Microphones (what --mic takes: the name, or part of the description):")
    mics = device_info.microphones()
    for spec, label in mics:
        print(f"  {spec}  {label}")
    if not mics:
        print("  none found")
    audio, reason = device_info.audio_devices()
    for title, channels in (("Audio inputs", "inputs"), ("Audio outputs", "outputs")):
        print(f"{title} (PortAudio):")
        listed = [d for d in audio if getattr(d, channels)]
        for d in listed:
            print(f"  [{d.index}] {d.name} ({getattr(d, channels)} ch, {d.default_rate:.0f} Hz)")
        if not listed:
            print(f"  {reason or 'none found'}")
    print("Virtual camera:")
    for d in loopbacks:
        print(f"  {d.path}  {d.name}")
    if not loopbacks:
        print(f"  none found; {device_info.virtual_camera_hint()}")
    providers = [short_name(p) for p in choose_providers()]
    print("Inference (ONNX Runtime):")
    print(f"  models run on {providers[0]}" + (f" (then {', '.join(providers[1:])})" if providers[1:] else "")
          + f"; this build offers {', '.join(short_name(p) for p in available_providers())}")
    print("  MediaPipe models (general, landscape) run on the CPU; `backdrop models` lists them all")
    return 0

"""`backdrop devices` on a machine without cameras or a virtual camera."""

from __future__ import annotations

from pathlib import Path

from support.media import run_cli

from app.engine import devices


def test_devices_prints_how_to_create_a_virtual_camera():
    assert not [d for d in devices.video_devices() if d.loopback], "this test expects no v4l2loopback device"
    result = run_cli("devices")
    assert result.rc == 0, result.stderr
    out = result.stdout
    for heading in ("Cameras:", "Microphones", "Audio inputs (PortAudio):", "Audio outputs (PortAudio):", "Virtual camera:"):
        assert heading in out
    assert devices.MODPROBE_COMMAND in out
    assert "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=Backdrop" in out
    assert "Traceback" not in result.stderr


def test_video_devices_marks_loopback_devices(tmp_path):
    """A fake sysfs: one real camera and one v4l2loopback device."""
    sysfs = tmp_path / "video4linux"
    for name, label in (("video0", "Integrated Camera"), ("video10", "Backdrop")):
        (sysfs / name).mkdir(parents=True)
        (sysfs / name / "name").write_text(label + "\n")
    found = devices.video_devices(sysfs)
    assert [(d.path, d.name, d.loopback) for d in found] == [
        ("/dev/video0", "Integrated Camera", False), ("/dev/video10", "Backdrop", True)]


def test_video_devices_without_sysfs(tmp_path):
    assert devices.video_devices(Path(tmp_path / "absent")) == []


def test_devices_lists_the_microphones_that_mic_accepts_by_name(pa):
    name = pa.name("devmic")
    pa.load("module-null-source", f"source_name={name}")
    result = run_cli("devices")
    assert result.rc == 0, result.stderr
    section = result.stdout.split("Microphones", 1)[1].split("Audio inputs", 1)[0]
    assert f"  {name}  " in section, result.stdout
    assert "monitor" not in section.lower(), "monitors of outputs are not microphones"

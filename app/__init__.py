"""Backdrop: replace the background behind a person in live video, video files and photos."""

__version__ = "0.1.0"

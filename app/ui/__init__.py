"""The PySide6 control panel. It drives the engine only through LiveSession and its
settings, and receives engine callbacks on the GUI thread through `EngineBridge`."""

import os

import cv2  # noqa: F401  (imported first: it points Qt at its own plugins on import)

# opencv-contrib-python's wheel bundles Qt 5 plugins and sets QT_QPA_PLATFORM_PLUGIN_PATH to
# them when cv2 is imported; PySide6 (Qt 6) must use its own, or no platform plugin loads.
if "cv2" in os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", ""):
    del os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"]

"""The GL runtime: one GL thread with one context (`runtime`, `egl`), the process-wide
accessors (`context`), owned GL objects, shaders from files, procedural scenes.

Nothing here imports OpenGL at import time (docs/gl.md says why).
"""

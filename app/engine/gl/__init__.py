"""The GL compositor and what it stands on: contexts, owned GL objects, shaders from files.

Nothing here imports OpenGL at import time; see `context` for why.
"""

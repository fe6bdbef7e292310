"""The Backdrop engine: sources, segmentation, matte, compositing, outputs. Imports no Qt."""

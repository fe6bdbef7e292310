"""Model runtimes behind one small protocol (`base.SegmentationModel`): MediaPipe Tasks for
`.tflite` segmenters today; ONNX Runtime models go here beside it."""

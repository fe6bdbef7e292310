"""Training a specialist model on the user's own annotated photos (`backdrop train`).

Needs the `train` extra (PyTorch and onnx); nothing in the engine imports it."""

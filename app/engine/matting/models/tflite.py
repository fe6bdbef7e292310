"""Reading a `.tflite` file's input and output tensor shapes straight from its flatbuffer,
so that a file that is not an image segmenter is refused before MediaPipe loads it (some
crash the process)."""

from __future__ import annotations

import struct
from pathlib import Path

from app.engine.core.errors import InputError


class _Buffer:
    """The few flatbuffer reads a TFLite model's header needs."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def u32(self, pos: int) -> int:
        return struct.unpack_from("<I", self.data, pos)[0]

    def field(self, table: int, index: int) -> int | None:
        """Where field `index` of the table at `table` is, or None when absent."""
        vtable = table - struct.unpack_from("<i", self.data, table)[0]
        size = struct.unpack_from("<H", self.data, vtable)[0]
        if 4 + 2 * index >= size:
            return None
        offset = struct.unpack_from("<H", self.data, vtable + 4 + 2 * index)[0]
        return table + offset if offset else None

    def vector(self, table: int, index: int) -> tuple[int, int]:
        """(start, length) of a vector field; (0, 0) when absent."""
        pos = self.field(table, index)
        if pos is None:
            return 0, 0
        start = pos + self.u32(pos)
        return start + 4, self.u32(start)

    def tables(self, table: int, index: int) -> list[int]:
        start, n = self.vector(table, index)
        return [start + 4 * i + self.u32(start + 4 * i) for i in range(n)]

    def ints(self, table: int, index: int) -> list[int]:
        start, n = self.vector(table, index)
        return list(struct.unpack_from(f"<{n}i", self.data, start)) if n else []


def tensor_shapes(path: Path) -> tuple[list[list[int]], list[list[int]]]:
    """The shapes of the first subgraph's inputs and outputs; InputError when `path` is not
    a TFLite model."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise InputError(f"{path}: not a TFLite model")
    buf = _Buffer(data)
    try:
        model = buf.u32(0)
        subgraph = buf.tables(model, 2)[0]
        tensors = buf.tables(subgraph, 0)
        shapes = [buf.ints(t, 0) for t in tensors]
        return [shapes[i] for i in buf.ints(subgraph, 1)], [shapes[i] for i in buf.ints(subgraph, 2)]
    except (struct.error, IndexError):
        raise InputError(f"{path}: not a readable TFLite model") from None


def check_segmenter(path: Path) -> tuple[int, int]:
    """The input size (w, h) of the segmenter at `path`; InputError naming it unless it takes
    one RGB image [1, H, W, 3] and gives only masks [1, H', W', C], at least 16 px a side."""
    inputs, outputs = tensor_shapes(path)
    image_in = len(inputs) == 1 and len(inputs[0]) == 4 and inputs[0][3] == 3
    masks_out = bool(outputs) and all(len(s) == 4 and s[1] >= 16 and s[2] >= 16 for s in outputs)
    if not (image_in and masks_out):
        raise InputError(f"{path}: not an image segmentation model (inputs {inputs}, outputs {outputs}; "
                         "it needs one [1,H,W,3] image in and a [1,H,W,C] mask out)")
    return inputs[0][2], inputs[0][1]

"""U²-Net (Qin et al. 2020, Apache-2.0) written in PyTorch for fine-tuning, and its weights read
back from an ONNX file such as the shipped `u2netp.onnx`.

The ONNX files we ship and fetch have BatchNorm folded into their 119 convolutions, so the
network here is plain conv (with bias) + ReLU: every parameter is a conv weight or bias. The
architecture is fixed (six encoder stages RSU-7, RSU-6, RSU-5, RSU-4, RSU-4F, RSU-4F; five
decoder stages RSU-4F, RSU-4, RSU-5, RSU-6, RSU-7; six side convs and a fused 1x1 conv); only
the channel widths vary, and `from_onnx` reads them from the file's weight shapes. Max pooling
rounds up (ceil_mode), and every upsampling is bilinear to the skip's size with
align_corners=False: what the graph's Resize nodes do (mode linear, pytorch_half_pixel)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import Tensor, nn

from app.engine.core.errors import InputError


class Stage(NamedTuple):
    """One RSU block: `height` 7..4 (RSU-7..RSU-4), `dilated` for RSU-4F (no pooling, growing
    dilation instead), and its input, middle and output channels."""
    height: int
    dilated: bool
    in_ch: int
    mid: int
    out: int


Table = tuple[Stage, ...]  # 11 stages: stage1..stage6, then stage5d..stage1d

LAYOUT = ((7, False), (6, False), (5, False), (4, False), (4, True), (4, True),  # encoder
          (4, True), (4, False), (5, False), (6, False), (7, False))  # decoder, deepest first


def _table(widths: list[tuple[int, int, int]]) -> Table:
    return tuple(Stage(h, d, *w) for (h, d), w in zip(LAYOUT, widths))


TABLES: dict[str, Table] = {
    # U²-Netp: every middle width 16, every output 64
    "u2netp": _table([(3, 16, 64), (64, 16, 64), (64, 16, 64), (64, 16, 64), (64, 16, 64), (64, 16, 64),
                      (128, 16, 64), (128, 16, 64), (128, 16, 64), (128, 16, 64), (128, 16, 64)]),
    # U²-Net: the paper's Table 1 (and its code: stage1d's middle width is 16)
    "u2net": _table([(3, 32, 64), (64, 32, 128), (128, 64, 256), (256, 128, 512), (512, 256, 512),
                     (512, 256, 512), (1024, 256, 512), (1024, 128, 256), (512, 64, 128), (256, 32, 64),
                     (128, 16, 64)]),
}
BASES = tuple(TABLES)  # the base models `backdrop train` knows


def base_of(table: Table) -> str | None:
    """The name of the known base with this channel table, or None."""
    return next((name for name, known in TABLES.items() if known == tuple(table)), None)


def _conv(in_ch: int, out_ch: int, dilation: int = 1) -> nn.Sequential:
    """REBNCONV with its BatchNorm folded in: 3x3 conv (dilated, same size) and ReLU."""
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=dilation, dilation=dilation), nn.ReLU(inplace=True))


def _up(x: Tensor, like: Tensor) -> Tensor:
    return F.interpolate(x, size=like.shape[2:], mode="bilinear", align_corners=False)


def _pool(x: Tensor) -> Tensor:
    return F.max_pool2d(x, 2, stride=2, ceil_mode=True)


class RSU(nn.Module):
    """A residual U-block: conv_in, an encoder of height-1 convs (pooled between, or dilated
    1, 2, 4 for RSU-4F), a bottom conv (dilation 2, or 8), a decoder of height-1 convs on the
    concatenated skips (upsampled between), and conv_in's output added back."""

    def __init__(self, stage: Stage) -> None:
        super().__init__()
        n, mid = stage.height - 1, stage.mid
        self.dilated = stage.dilated
        enc_dil = [2 ** i for i in range(n)] if stage.dilated else [1] * n
        self.conv_in = _conv(stage.in_ch, stage.out)
        self.enc = nn.ModuleList(_conv(stage.out if i == 0 else mid, mid, d) for i, d in enumerate(enc_dil))
        self.bottom = _conv(mid, mid, 2 ** n if stage.dilated else 2)
        self.dec = nn.ModuleList(_conv(2 * mid, stage.out if i == n - 1 else mid, d)
                                 for i, d in enumerate(reversed(enc_dil)))

    def convs(self) -> list[nn.Conv2d]:
        """Its convolutions in the order they run."""
        return [block[0] for block in (self.conv_in, *self.enc, self.bottom, *self.dec)]

    def forward(self, x: Tensor) -> Tensor:
        hxin = self.conv_in(x)
        h, skips = hxin, []
        for i, conv in enumerate(self.enc):
            h = conv(h if i == 0 or self.dilated else _pool(h))
            skips.append(h)
        h = self.bottom(h)
        for i, (conv, skip) in enumerate(zip(self.dec, reversed(skips))):
            h = conv(torch.cat((h if i == 0 or self.dilated else _up(h, skip), skip), 1))
        return h + hxin


class U2Net(nn.Module):
    """U²-Net with a channel table (`TABLES`): `forward` gives the 7 probability maps [N,1,H,W]
    in the ONNX output order, fused first (d0, then the sides d1..d6 at the input's size);
    `logits` the same before the sigmoid. Any H, W works; multiples of 32 pool evenly."""

    def __init__(self, table: Table | str = "u2netp") -> None:
        super().__init__()
        table = TABLES[table] if isinstance(table, str) else tuple(Stage(*s) for s in table)
        _check_table(table)
        self.table: Table = table
        self.encoder = nn.ModuleList(RSU(s) for s in table[:6])
        self.decoder = nn.ModuleList(RSU(s) for s in table[6:])
        side_in = [table[10].out, table[9].out, table[8].out, table[7].out, table[6].out, table[5].out]
        self.sides = nn.ModuleList(nn.Conv2d(c, 1, 3, padding=1) for c in side_in)
        self.outconv = nn.Conv2d(6, 1, 1)

    @property
    def base(self) -> str | None:
        return base_of(self.table)

    def convs(self) -> list[nn.Conv2d]:
        """All 119 convolutions in the order they run (the order of the ONNX graph's Conv nodes)."""
        return [c for stage in (*self.encoder, *self.decoder) for c in stage.convs()] + [*self.sides, self.outconv]

    def logits(self, x: Tensor) -> tuple[Tensor, ...]:
        feats, h = [], x
        for i, stage in enumerate(self.encoder):
            h = stage(h if i == 0 else _pool(h))
            feats.append(h)  # hx1..hx6
        decoded = []
        for stage, skip in zip(self.decoder, reversed(feats[:-1])):
            h = stage(torch.cat((_up(h, skip), skip), 1))
            decoded.append(h)  # hx5d..hx1d
        side_inputs = [*reversed(decoded), feats[-1]]  # hx1d, hx2d, .., hx5d, hx6
        d1 = self.sides[0](side_inputs[0])
        sides = [d1] + [_up(conv(f), d1) for conv, f in zip(self.sides[1:], side_inputs[1:])]
        return (self.outconv(torch.cat(sides, 1)), *sides)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        return tuple(torch.sigmoid(d) for d in self.logits(x))


def _check_table(table: Table) -> None:
    """ValueError unless the table has U²-Net's layout and its channels chain up."""
    if [(s.height, s.dilated) for s in table] != [tuple(x) for x in LAYOUT]:
        raise ValueError(f"not U²-Net's stage layout: {[(s.height, s.dilated) for s in table]}")
    for i, s in enumerate(table):
        want = 3 if i == 0 else table[i - 1].out if i < 6 else table[i - 1].out + table[10 - i].out
        if s.in_ch != want:
            raise ValueError(f"stage {i + 1} takes {s.in_ch} channels, its inputs give {want}")


def from_onnx(path: Path | str) -> U2Net:
    """The U²-Net in the ONNX file at `path` with its weights, ready to train. Its channel
    table is read from the conv weights' shapes, so both u2netp and u2net load. The graph's
    Conv nodes, in file order, are taken as `U2Net.convs()` (the order they run), as torch's
    exporters write them; each one's weight and bias shapes, dilation, stride and pads are
    checked. InputError with one line naming the file when it is unreadable or not a U²-Net
    this code knows."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:  # onnx raises DecodeError, OSError, ... on a bad file
        raise InputError(f"{path}: not a readable ONNX model ({type(exc).__name__})") from None
    arrays = {t.name: t for t in graph.initializer}
    for node in graph.node:  # weights may also come as Constant nodes
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            arrays[node.output[0]] = node.attribute[0].t
    convs = []
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        names = list(node.input[1:3])
        if len(names) != 2 or any(n not in arrays for n in names):
            raise InputError(f"{path}: not a U²-Net (conv {node.name or len(convs) + 1} has no constant weight and bias)")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        convs.append((*(numpy_helper.to_array(arrays[n]).astype(np.float32) for n in names), attrs))
    layout = [2 * h for h, _ in LAYOUT]  # convs per stage
    if len(convs) != sum(layout) + 7:
        raise InputError(f"{path}: not a U²-Net (has {len(convs)} convolutions, U²-Net has {sum(layout) + 7})")
    try:
        table, start = [], 0
        for (height, dilated), n in zip(LAYOUT, layout):
            conv_in, first = convs[start][0], convs[start + 1][0]
            table.append(Stage(height, dilated, conv_in.shape[1], first.shape[0], conv_in.shape[0]))
            start += n
        with torch.device("meta"):
            model = U2Net(tuple(table))
    except (ValueError, IndexError) as exc:
        raise InputError(f"{path}: not a U²-Net ({exc})") from None
    for i, (conv, (weight, bias, attrs)) in enumerate(zip(model.convs(), convs)):
        want = (tuple(conv.weight.shape), tuple(conv.bias.shape), list(conv.dilation), list(conv.stride),
                [*conv.padding, *conv.padding], conv.groups)
        got = (weight.shape, bias.shape, list(attrs.get("dilations", [1, 1])), list(attrs.get("strides", [1, 1])),
               list(attrs.get("pads", [0, 0, 0, 0])), attrs.get("group", 1))
        if want != got:
            raise InputError(f"{path}: not a U²-Net (conv {i + 1}: weight {got[0]}, bias {got[1]}, dilation {got[2]}, "
                             f"stride {got[3]}, pads {got[4]}; U²-Net's is {want[:5]})")
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for conv, (weight, bias, _) in zip(model.convs(), convs):
            conv.weight.copy_(torch.from_numpy(weight))
            conv.bias.copy_(torch.from_numpy(bias))
    return model

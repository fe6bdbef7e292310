"""The training loop: Adam with warm-up and cosine decay, binary cross-entropy over the seven
side outputs plus an IoU term, validation IoU after each epoch, early stopping on it, a
checkpoint each epoch (`resume` goes on from the last), and a time limit that ends the run
with the best weights so far. CUDA when asked or present, else every usable CPU core."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from app.engine.core.errors import InputError
from app.engine.matting.models.manifest import InputSpec
from app.engine.matting.models.onnx import usable_cores
from app.progress import format_duration
from app.training.augment import Augment, sample, squash
from app.training.network import U2Net

CHECKPOINT = "checkpoint.pt"  # the last epoch's state, for --resume
BEST = "best.pt"  # the weights of the best validation IoU so far
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TrainConfig:
    """How long and how to train. An epoch is `samples_per_epoch` augmented samples."""

    epochs: int = 6
    samples_per_epoch: int = 100
    batch: int = 4
    lr: float = 2e-4
    warmup_share: float = 0.05
    patience: int = 3  # epochs without a better validation IoU before stopping
    size: int = 320
    seed: int = 0
    device: str = "auto"
    time_limit: float | None = None  # seconds for this training run
    augment: Augment = field(default_factory=Augment)


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    samples: int  # seen so far
    loss: float  # mean training loss over the epoch
    val_iou: float
    seconds: float  # since the run started (resumed runs count on)


@dataclass
class Outcome:
    """What a run left: the best weights loaded into the model, and the history."""

    history: list[EpochRecord]
    best_epoch: int
    best_iou: float
    stopped: str  # "epochs", "early stop", "time limit"
    seconds: float
    samples: int


Progress = Callable[[str], None]


def pick_device(name: str) -> torch.device:
    """cuda when asked or (auto) present; InputError when cuda is asked and absent."""
    if name not in DEVICES:
        raise InputError(f"--device {name!r}: one of {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: this PyTorch sees no CUDA device (a CPU build, or no GPU)")
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    torch.set_num_threads(usable_cores())
    return torch.device("cpu")


def to_tensor(images: list[np.ndarray], spec: InputSpec, device: torch.device) -> torch.Tensor:
    """uint8 RGB images to the model's normalised NCHW float batch."""
    x = torch.from_numpy(np.stack(images)).to(device).permute(0, 3, 1, 2).float()
    lo, hi = spec.range
    mean = torch.tensor(spec.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, device=device).view(1, 3, 1, 1)
    return (x * ((hi - lo) / 255.0) + lo - mean) / std


def loss_of(logits: tuple[torch.Tensor, ...], target: torch.Tensor) -> torch.Tensor:
    """BCE over every side output, plus 1 - soft IoU of the fused one."""
    bce = sum(F.binary_cross_entropy_with_logits(side, target) for side in logits)
    p = torch.sigmoid(logits[0])
    inter = (p * target).sum(dim=(1, 2, 3))
    union = (p + target - p * target).sum(dim=(1, 2, 3))
    return bce + (1.0 - (inter + 1.0) / (union + 1.0)).mean()


def learning_rate(step: int, total: int, config: TrainConfig) -> float:
    warm = max(1, int(total * config.warmup_share))
    if step < warm:
        return config.lr * (step + 1) / warm
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))


class Trainer:
    """Trains `net` on (photo, mask) pairs kept in memory (RGB uint8, mask 0/255), checking
    on the validation pairs; writes its checkpoints into `run_dir`."""

    def __init__(self, net: U2Net, train: list[tuple[np.ndarray, np.ndarray]],
                 validation: list[tuple[np.ndarray, np.ndarray]], spec: InputSpec, config: TrainConfig,
                 run_dir: Path, backgrounds: list[np.ndarray] | None = None) -> None:
        if not train:
            raise InputError("no photos to train on")
        self.net, self.train, self.spec, self.config, self.run_dir = net, train, spec, config, run_dir
        self.validation = [squash(rgb, mask, config.size) for rgb, mask in validation]
        self.backgrounds = backgrounds or []
        self.device = pick_device(config.device)
        self.net.to(self.device)
        self.optimiser = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.steps_per_epoch = max(1, config.samples_per_epoch // config.batch)
        self.history: list[EpochRecord] = []
        self.rng = np.random.default_rng(config.seed)
        self._spent = 0.0  # seconds of earlier (resumed) runs

    def validate(self) -> float:
        """Mean IoU of the model's fused map (> 0.5) on the validation photos at the model's size."""
        if not self.validation:
            return float("nan")
        self.net.eval()
        scores = []
        with torch.no_grad():
            for rgb, mask in self.validation:
                p = self.net(to_tensor([rgb], self.spec, self.device))[0][0, 0].cpu().numpy() > 0.5
                gt = mask > 127
                union = np.count_nonzero(p | gt)
                scores.append(1.0 if union == 0 else np.count_nonzero(p & gt) / union)
        return float(np.mean(scores))

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks = [], []
        for i in self.rng.integers(len(self.train), size=self.config.batch):
            rgb, mask = self.train[int(i)]
            image, target = sample(rgb, mask, self.config.size, self.config.augment, self.rng, self.backgrounds)
            images.append(image)
            masks.append(target)
        target = torch.from_numpy(np.stack(masks)).to(self.device).float().div_(255.0).unsqueeze(1)
        return to_tensor(images, self.spec, self.device), target

    def run(self, progress: Progress | None = None, resume: bool = False) -> Outcome:
        """Train until the epochs are done, validation stops improving for `patience` epochs,
        or the time limit passes; load the best weights and return the outcome."""
        config, say = self.config, progress or (lambda _line: None)
        if resume:
            self._load_checkpoint()
        total_steps = config.epochs * self.steps_per_epoch
        start, stopped = time.monotonic(), "epochs"
        best = max(self.history, key=lambda r: r.val_iou, default=None)
        steps_run = 0
        for epoch in range(len(self.history) + 1, config.epochs + 1):
            self.net.train()
            losses = []
            for step in range(self.steps_per_epoch):
                global_step = (epoch - 1) * self.steps_per_epoch + step
                for group in self.optimiser.param_groups:
                    group["lr"] = learning_rate(global_step, total_steps, config)
                x, target = self._batch()
                loss = loss_of(self.net.logits(x), target)
                self.optimiser.zero_grad(set_to_none=True)
                loss.backward()
                self.optimiser.step()
                losses.append(float(loss.detach()))
                steps_run += 1
                elapsed = time.monotonic() - start
                left = elapsed / steps_run * (total_steps - global_step - 1)
                if config.time_limit is not None:
                    left = min(left, max(0.0, config.time_limit - elapsed))
                say(_line(epoch, config.epochs, step + 1, self.steps_per_epoch, np.mean(losses), best, left))
                if config.time_limit is not None and elapsed >= config.time_limit:
                    stopped = "time limit"
                    break
            record = EpochRecord(epoch, (len(self.history) + 1) * self.steps_per_epoch * config.batch,
                                 float(np.mean(losses)), self.validate(),
                                 self._spent + time.monotonic() - start)
            self.history.append(record)
            say(f"  epoch {epoch}: loss {record.loss:.3f}, validation IoU {iou_text(record.val_iou)}, "
                f"{record.samples} samples, {format_duration(record.seconds)}")
            if best is None or not record.val_iou <= best.val_iou:  # (NaN without validation photos: keep the last)
                best = record
                self._save(self.run_dir / BEST, weights_only=True)
            self._save(self.run_dir / CHECKPOINT)
            if stopped == "time limit":
                break
            if epoch - best.epoch >= config.patience:
                stopped = "early stop"
                break
        self.net.load_state_dict(torch.load(self.run_dir / BEST, map_location=self.device, weights_only=True))
        self.net.eval()
        return Outcome(self.history, best.epoch, best.val_iou, stopped, self.history[-1].seconds,
                       self.history[-1].samples)

    def _save(self, path: Path, weights_only: bool = False) -> None:
        state = self.net.state_dict() if weights_only else {
            "model": self.net.state_dict(), "optimiser": self.optimiser.state_dict(),
            "history": [asdict(r) for r in self.history], "rng": self.rng.bit_generator.state,
            "config": _config_key(self.config)}
        partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
        torch.save(state, partial)
        os.replace(partial, path)

    def _load_checkpoint(self) -> None:
        path = self.run_dir / CHECKPOINT
        if not path.is_file():
            raise InputError(f"--resume: {path} does not exist (no run to resume there)")
        state = torch.load(path, map_location=self.device, weights_only=False)
        if state.get("config") != _config_key(self.config):
            raise InputError(f"--resume: {path} was made with other settings ({state.get('config')})")
        self.net.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.history = [EpochRecord(**r) for r in state["history"]]
        self.rng.bit_generator.state = state["rng"]
        self._spent = self.history[-1].seconds if self.history else 0.0


def iou_text(value: float) -> str:
    """A validation IoU for people: "-" when nothing was validated."""
    return "-" if not np.isfinite(value) else f"{value:.3f}"


def _config_key(config: TrainConfig) -> dict:
    """The settings a resumed run must share (not the epochs, device or time limit)."""
    return {"samples_per_epoch": config.samples_per_epoch, "batch": config.batch, "lr": config.lr,
            "size": config.size, "seed": config.seed}


def _line(epoch: int, epochs: int, step: int, steps: int, loss: float, best: EpochRecord | None,
          left: float) -> str:
    best_text = f"best val IoU {iou_text(best.val_iou)} (epoch {best.epoch})" if best else "val IoU -"
    return (f"epoch {epoch}/{epochs} step {step}/{steps} loss {loss:.3f}, {best_text}, "
            f"{format_duration(left)} left")

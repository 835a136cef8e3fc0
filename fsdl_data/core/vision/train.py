"""Training the photo classifier on the human-labeled seed set."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fsdl_data.core.vision.data import to_tensor
from fsdl_data.core.vision.model import Classifier, PhotoNet
from fsdl_data.core.vision.style import vividness

CODE_VERSION = "photonet-1"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60
    batch_size: int = 32
    lr: float = 3e-3
    val_share: float = 0.2
    seed: int = 0


@dataclass(frozen=True)
class TrainReport:
    n_train: int
    n_val: int
    val_accuracy: float | None
    style_mae: float | None


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    if torch.rand(1, generator=g).item() < 0.5:
        x = x.flip(2)
    pad = nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    i, j = torch.randint(0, 9, (2,), generator=g).tolist()
    return pad[:, i : i + x.shape[1], j : j + x.shape[2]]


def model_version(label_digest: str, config: TrainConfig) -> str:
    return hashlib.sha256(f"{CODE_VERSION}|{config}|{label_digest}".encode()).hexdigest()[:12]


def train_classifier(
    images: Sequence[np.ndarray],
    labels: Sequence[str],
    classes: tuple[str, ...],
    version: str,
    config: TrainConfig,
) -> tuple[Classifier, TrainReport]:
    """Deterministic for a seed: the same labels and config give the same weights."""
    if len(images) < 2:
        raise ValueError(
            f"need at least 2 labeled photos to train, got {len(images)}: label more photos first"
        )
    torch.manual_seed(config.seed)
    g = torch.Generator().manual_seed(config.seed)
    x = torch.stack([to_tensor(p) for p in images])
    y = torch.tensor([classes.index(label) for label in labels])
    s = torch.tensor([vividness(p) for p in images], dtype=torch.float32)
    order = torch.randperm(len(x), generator=g)
    n_val = int(len(x) * config.val_share) if len(x) >= 10 else 0
    val, tr = order[:n_val], order[n_val:]
    net = PhotoNet(len(classes))
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    ce, l1 = nn.CrossEntropyLoss(), nn.L1Loss()
    for _ in range(config.epochs):
        net.train()
        perm = tr[torch.randperm(len(tr), generator=g)]
        for i in range(0, len(perm), config.batch_size):
            b = perm[i : i + config.batch_size]
            if len(b) < 2:
                continue
            xb = torch.stack([_augment(x[k], g) for k in b])
            logits, style = net(xb)
            loss = ce(logits, y[b]) + l1(style, s[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    acc = mae = None
    if n_val:
        with torch.no_grad():
            logits, style = net(x[val])
        acc = float((logits.argmax(1) == y[val]).float().mean())
        mae = float((style - s[val]).abs().mean())
    return Classifier(net, classes, version), TrainReport(len(tr), n_val, acc, mae)

"""The photo classifier: a small CNN with a content-class head and a style head."""

from __future__ import annotations

import io
from dataclasses import dataclass

import torch
from torch import nn


class PhotoNet(nn.Module):
    def __init__(self, n_classes: int) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)
            )

        self.features = nn.Sequential(
            block(3, 16), block(16, 32), block(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.content = nn.Linear(64, n_classes)
        self.style = nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.content(h), torch.sigmoid(self.style(h)).squeeze(1)


@dataclass
class Classifier:
    """A trained PhotoNet with what is needed to use it again."""

    net: PhotoNet
    classes: tuple[str, ...]
    version: str

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        state = {k: v.cpu() for k, v in self.net.state_dict().items()}
        torch.save(
            {"state_dict": state, "classes": list(self.classes), "version": self.version}, buf
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, device: str = "cpu") -> Classifier:
        """Loads with weights_only=True: a checkpoint can carry tensors and plain values, never code."""
        obj = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
        net = PhotoNet(len(obj["classes"]))
        net.load_state_dict(obj["state_dict"])
        return cls(net.to(device).eval(), tuple(obj["classes"]), obj["version"])


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"

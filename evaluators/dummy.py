"""A tiny deterministic model for smoke tests: ``load_model("dummy")`` or ``--model dummy``.

Like lm-eval's ``DummyLM``: no weights file, no training, the same scores for the same pixels on
every machine. Its scores are a fixed, seeded linear map of six features of the 64x64 input
(the three channel means and the three mean absolute neighbour differences), so they move
when a degradation blurs, recompresses or shifts the image, which is what a smoke test of
``generate -> evaluate -> report`` needs to see. It means nothing about any dataset.
"""

from __future__ import annotations

import torch

__all__ = ["DummyModel", "build", "INPUT_CONFIG"]

# 64x64 centre crops of RGB in [0, 1]; classes follow the manifest's labels (sorted).
INPUT_CONFIG = {"input_size": [64, 64], "fit": "center_crop", "output": "logits"}


class DummyModel(torch.nn.Module):
    """Scores ``[N, num_classes]`` from six image statistics through a fixed seeded matrix."""

    def __init__(self, num_classes: int = 2, seed: int = 0):
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes: must be an integer >= 1, got {num_classes!r}")
        self.seed = int(seed)
        self.register_buffer("weight", torch.empty(0, 6))
        self.register_buffer("bias", torch.empty(0))
        self.configure_classes(num_classes)

    def configure_classes(self, n: int) -> None:
        """Resize the output to ``n`` classes (evaluate calls this with the manifest's label
        count); the matrix depends only on (seed, n), so scores stay deterministic."""
        gen = torch.Generator().manual_seed(self.seed)
        self.num_classes = int(n)
        self.weight = torch.randn(self.num_classes, 6, generator=gen)
        self.bias = torch.randn(self.num_classes, generator=gen) * 0.1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: float ``[N, 3, H, W]``. Returns logits ``[N, num_classes]``."""
        mean = x.mean(dim=(2, 3))
        dy = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean(dim=(2, 3))
        dx = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean(dim=(2, 3))
        features = torch.cat([mean - 0.5, 5.0 * (dx + dy) - 0.5], dim=1)  # roughly centred
        return features @ self.weight.T + self.bias


def build(num_classes: int = 2, seed: int = 0) -> tuple[DummyModel, dict]:
    """The dummy model and its input config (the factory behind the built-in name ``dummy``)."""
    return DummyModel(num_classes, seed).eval(), dict(INPUT_CONFIG)

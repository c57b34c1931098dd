"""The reference camera-model classifier: a compact forensic CNN that learns in-camera traces.

The first layer is a constrained convolution (Bayar & Stamm, IH&MMSec 2016 / IEEE TIFS 2018):
each kernel predicts the centre pixel from its neighbours and outputs the prediction error, so
the network sees the residual traces (CFA interpolation, noise, JPEG) rather than the content.
A stride-2 convolution and two 2x2 max-pools then make the features depend on the 2x2 CFA phase
and on the 8x8 JPEG grid: shifting the image by a few pixels is meant to hurt it.

The model classifies patches; an image's score is the mean of the patch logits over tiles
(``fit: "tile"`` in its input config). Its input config is a JSON dict with exactly the keys of
``CONFIG_KEYS``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from degradebench.generators.core.errors import ConfigError
from torch import nn

from ._fit import normalise, tile_origins
from ._input_config import resolve_input_config

__all__ = [
    "ConstrainedConv2d",
    "CameraModelNet",
    "build_reference_model",
    "load_reference",
    "tile_batch",
    "predict_image",
    "CONFIG_KEYS",
    "DEFAULT_WEIGHTS",
    "DEFAULT_CONFIG",
]

DEFAULT_WEIGHTS = Path(__file__).with_name("reference_weights.pt")
DEFAULT_CONFIG = Path(__file__).with_name("reference_config.json")
CONFIG_NAME = "reference_config.json"
CONFIG_KEYS = (
    "input_size",
    "fit",
    "tile_stride",
    "max_tiles",
    "channel_order",
    "value_range",
    "mean",
    "std",
    "output",
    "classes",
)


class ConstrainedConv2d(nn.Conv2d):
    """Prediction-error filters: per (output, input) kernel, centre = -1, the rest sums to 1.

    ``project()`` restores the constraint; the trainer calls it after every optimizer step.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            padding_mode="reflect",  # mirrors without repeating the edge: keeps the CFA parity
            bias=False,
        )
        self.project()

    @torch.no_grad()
    def project(self) -> None:
        """Restore the constraint (centre -1, the other weights summing to 1) in place."""
        w = self.weight
        c = self.kernel_size[0] // 2
        w[:, :, c, c] = 0
        total = w.sum(dim=(2, 3), keepdim=True)
        # A kernel whose off-centre weights cancel out cannot be normalised; reset it to a mean.
        total = torch.where(total.abs() < 1e-6, torch.ones_like(total), total)
        w.div_(total)
        w[:, :, c, c] = -1


def _block(cin: int, cout: int, stride: int = 1, pool: bool = False) -> list[nn.Module]:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return layers


class CameraModelNet(nn.Module):
    """Constrained residual layer, four conv blocks (total stride 8), global average pooling.

    The first block has stride 2, so the 2x2 CFA phase is seen from the start (and full-resolution
    feature maps stay thin: CPU training is memory-bound), then two 2x2 max-pools.
    """

    def __init__(self, num_classes: int, width: int = 32):
        super().__init__()
        w = width
        self.constrained = ConstrainedConv2d(3, 12, 5)
        self.features = nn.Sequential(
            *_block(12, w, stride=2),
            *_block(w, w * 2, pool=True),
            *_block(w * 2, w * 2, pool=True),
            *_block(w * 2, w * 4),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(w * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, classes]`` for normalised patches ``[N, 3, H, W]``."""
        x = self.features(self.constrained(x))
        return self.classifier(torch.flatten(self.pool(x), 1))


def build_reference_model(num_classes: int) -> nn.Module:
    """A fresh (untrained) reference network with ``num_classes`` outputs (logits)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes: must be an integer >= 2, got {num_classes!r}")
    return CameraModelNet(num_classes)


def _read_config(path: Path) -> dict:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: input config not found (written beside the weights)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(config, dict) or sorted(config) != sorted(CONFIG_KEYS):
        got = sorted(config) if isinstance(config, dict) else type(config).__name__
        raise ConfigError(f"{path}: input config keys must be {', '.join(CONFIG_KEYS)}; got {got}")
    return config


def load_reference(weights: Path | None = None) -> tuple[nn.Module, dict]:
    """The trained reference model (eval mode, CPU) and its input config.

    Args:
        weights: a state dict written by ``train_reference`` (its ``reference_config.json`` lies
            beside it); default: the weights shipped with degradebench.
    """
    weights = DEFAULT_WEIGHTS if weights is None else Path(weights).expanduser()
    config_path = DEFAULT_CONFIG if weights == DEFAULT_WEIGHTS else weights.with_name(CONFIG_NAME)
    config = _read_config(config_path)
    if not weights.is_file():
        raise ConfigError(f"{weights}: reference weights not found")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses pickled code; torn or foreign files fail too
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = (
            f"{weights}: not a plain state dict of tensors; refused without running it "
            f"(torch.load weights_only=True: {reason})"
        )
        raise ConfigError(msg) from None
    model = build_reference_model(len(config["classes"]))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ConfigError(f"{weights}: does not match the reference architecture: {exc}") from None
    model.eval()
    return model, config


def tile_batch(image: np.ndarray, config: dict) -> torch.Tensor:
    """Cut an HxWx3 uint8 RGB image into the model's normalised input tiles (``fit: tile``).

    Tiles start at the top-left corner and step by ``tile_stride``; a remainder narrower than a
    tile is dropped; ``max_tiles`` keeps the first tiles in row-major order. Scaling and
    mean/std are the evaluators' :func:`~degradebench.evaluators._fit.normalise` (one function).
    """
    cfg = resolve_input_config(config)
    ph, pw = cfg.input_size
    h, w = image.shape[:2]
    if h < ph or w < pw:
        raise ValueError(f"image {h}x{w} is smaller than the model's {ph}x{pw} input")
    tiles = [image[y : y + ph, x : x + pw] for y, x in tile_origins(h, w, cfg)]
    return normalise(torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2), cfg)


@torch.no_grad()
def predict_image(model: nn.Module, config: dict, images: Sequence[np.ndarray]) -> np.ndarray:
    """Image-level logits (mean over tiles), one row per image, columns = ``config["classes"]``."""
    out = []
    for img in images:
        out.append(model(tile_batch(img, config)).mean(dim=0).numpy())
    return np.stack(out) if out else np.zeros((0, len(config["classes"])), np.float32)

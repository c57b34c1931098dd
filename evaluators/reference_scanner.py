"""The reference scanner-model classifier and its tile-inconsistency localizer, for documents.

Scanner traces are fine texture: the optics' blur on ink edges (MTF), sensor noise and the
per-device row/column pattern, the scanner's JPEG tables — and coarse ones: its colour response
and illumination falloff. The network is the camera reference's recipe
(:class:`~.reference.CameraModelNet`: a constrained prediction-error first layer, four conv
blocks, global average pooling) with the normalised pixels themselves concatenated beside the
12 residual channels (``raw`` colour branch): the constrained layer is blind to a flat paper
colour by construction, and a scanner's colour response is a trace of its own. Tiles of 64 px
cut at multiples of 16 px (the JPEG MCU), an image's score is the mean of the tile logits
(``fit: tile``), exactly as the camera reference.

Built-in names: ``reference-scanner`` (the classifier, weights shipped beside this module) and
``reference-scanner-localizer`` (:class:`~.reference_localizer.ReferenceLocalizer` on these
weights: a region pasted from another scanner's page, or re-rendered digitally, reads as
another class tile by tile).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from degradebench.generators.core.errors import ConfigError
from torch import nn

from .reference import CONFIG_KEYS, ConstrainedConv2d, _block, _read_config
from .reference_localizer import DEFAULT_CONFIG as LOCALIZER_CONFIG
from .reference_localizer import NORMALISATION_KEYS, ReferenceLocalizer

__all__ = [
    "ScannerNet",
    "build_scanner_model",
    "load_reference_scanner",
    "load_reference_scanner_localizer",
    "CONFIG_KEYS",
    "CONFIG_NAME",
    "DEFAULT_WEIGHTS",
    "DEFAULT_CONFIG",
]

DEFAULT_WEIGHTS = Path(__file__).with_name("reference_scanner_weights.pt")
DEFAULT_CONFIG = Path(__file__).with_name("reference_scanner_config.json")
CONFIG_NAME = "reference_scanner_config.json"
RESIDUALS = 12  # constrained prediction-error channels


class ScannerNet(nn.Module):
    """Constrained residuals (and, with ``raw``, the pixels) -> four conv blocks -> logits.

    The first block has stride 2 and two 2x2 max-pools follow (total stride 8), as in the
    camera reference; ``width`` sets the channel count (w, 2w, 2w, 4w).
    """

    def __init__(self, num_classes: int, width: int = 32, raw: bool = True):
        super().__init__()
        w = width
        self.raw = bool(raw)
        self.constrained = ConstrainedConv2d(3, RESIDUALS, 5)
        cin = RESIDUALS + (3 if self.raw else 0)
        self.features = nn.Sequential(
            *_block(cin, w, stride=2),
            *_block(w, w * 2, pool=True),
            *_block(w * 2, w * 2, pool=True),
            *_block(w * 2, w * 4),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(w * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, classes]`` for normalised patches ``[N, 3, H, W]``."""
        r = self.constrained(x)
        if self.raw:
            r = torch.cat([r, x], dim=1)
        x = self.features(r)
        return self.classifier(torch.flatten(self.pool(x), 1))


def build_scanner_model(num_classes: int, *, width: int = 32, raw: bool = True) -> nn.Module:
    """A fresh (untrained) scanner network with ``num_classes`` outputs (logits)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes: must be an integer >= 2, got {num_classes!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width: must be an integer >= 1, got {width!r}")
    return ScannerNet(num_classes, width=width, raw=raw)


def _architecture(state: dict, path: Path) -> dict:
    """``width`` and ``raw`` read off a state dict's shapes (the file holds tensors only)."""
    first = state.get("features.0.weight")
    if not isinstance(first, torch.Tensor) or first.dim() != 4:
        raise ConfigError(
            f"{path}: not reference-scanner weights (no 'features.0.weight' conv tensor); "
            "train them with 'degradebench train-reference --task scanner'"
        )
    cin = int(first.shape[1])
    if cin not in (RESIDUALS, RESIDUALS + 3):
        raise ConfigError(
            f"{path}: first block takes {cin} channels; a reference-scanner takes "
            f"{RESIDUALS} (residuals) or {RESIDUALS + 3} (residuals and pixels)"
        )
    return {"width": int(first.shape[0]), "raw": cin == RESIDUALS + 3}


def load_reference_scanner(weights: Path | None = None) -> tuple[nn.Module, dict]:
    """The trained scanner classifier (eval mode, CPU) and its input config.

    Args:
        weights: a state dict written by ``train_reference_scanner`` (its
            ``reference_scanner_config.json`` lies beside it); default: the shipped weights.

    Raises:
        ConfigError: missing files, a file that is not a plain state dict of tensors (refused by
            ``torch.load(weights_only=True)`` without running it), or foreign weights.
    """
    weights = DEFAULT_WEIGHTS if weights is None else Path(weights).expanduser()
    config_path = DEFAULT_CONFIG if weights == DEFAULT_WEIGHTS else weights.with_name(CONFIG_NAME)
    config = _read_config(config_path)
    if not weights.is_file():
        raise ConfigError(
            f"{weights}: reference-scanner weights not found; train them with "
            "'degradebench train-reference --task scanner'"
        )
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses pickled code; torn or foreign files fail too
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = (
            f"{weights}: not a plain state dict of tensors; refused without running it "
            f"(torch.load weights_only=True: {reason})"
        )
        raise ConfigError(msg) from None
    if not isinstance(state, dict):
        raise ConfigError(f"{weights}: holds a {type(state).__name__}, not a state dict")
    model = build_scanner_model(len(config["classes"]), **_architecture(state, weights))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ConfigError(f"{weights}: does not match the scanner architecture: {exc}") from None
    model.eval()
    return model, config


def load_reference_scanner_localizer(
    weights: Path | None = None,
) -> tuple[ReferenceLocalizer, dict]:
    """The tile-inconsistency localizer on the scanner weights (default: the shipped ones) and
    its input config (the factory behind ``reference-scanner-localizer``): the camera
    localizer's settings (tiles of the classifier's input size every 32 px, ``1 - p(dominant scanner)`` per tile) with
    the normalisation of the scanner weights' own config."""
    net, ref_config = load_reference_scanner(weights)
    config = json.loads(LOCALIZER_CONFIG.read_text(encoding="utf-8"))
    config.update({k: ref_config[k] for k in NORMALISATION_KEYS})
    return ReferenceLocalizer(net, tile=int(ref_config["input_size"][0])).eval(), config

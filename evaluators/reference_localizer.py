"""The reference splice localizer: the shipped camera-model CNN, asked tile by tile.

Built on :mod:`.reference` with no new weights (Bondi et al., CVPR-W 2017, did this with
camera-model features): every 64 px tile of the image gets the reference's class probabilities;
the image's dominant camera model is the argmax of the mean tile probabilities, and a tile's
inconsistency is ``1 - p(dominant)``. A region pasted from another camera model reads as another
class, so its tiles light up. Steps, on a normalised full image ``[N, 3, H, W]``
(``fit: full``; the evaluator applies :func:`~degradebench.evaluators._fit.normalise`):

1. tiles of 64 px every ``stride`` px from the top-left corner (multiples of 16 keep the JPEG
   MCU grid where the reference was trained; a remainder narrower than the stride is not cut);
2. per-tile softmax, dominant class, inconsistency ``u = 1 - p(dominant)``;
3. optional smoothing over the tile grid with the separable kernel ``[a, 1, a]``
   (``a = smooth``, normalised; edge tiles repeated). Off by default: at stride 32 the tiles
   overlap by half and step 5 interpolates, which is smoothing enough; measured, ``a = 0.15``
   cost 0.02 clean pixel F1 and 0.015-0.065 image AUC under JPEG, crop and resize, and the
   3x3 binomial (``a = 0.5``) cost 0.08 clean pixel F1;
4. calibration: a monotone piecewise-linear map sending ``u = threshold`` to 0.5 (0 to 0, 1 to
   1), so the evaluator's fixed 0.5 threshold means ``u >= threshold``; monotone, so it changes
   no ranking (pixel AUC, image AUC) and saturates nothing. Default 0.5 (the identity: a tile
   is flagged when the dominant model has less than half its probability); lower thresholds
   gained at most 0.015 clean pixel F1 and lost 0.03-0.05 after the odd crop and the resize;
5. the tile grid brought to ``H x W`` bilinearly between tile centres; pixels outside the
   centres' span (the border and the uncut remainder) take the nearest tile's value;
6. image score = mean of the ``top_k`` highest calibrated tiles.

An image side shorter than a tile is cut as one tile of the image's own side (the CNN pools
globally, so it takes any size from :data:`MIN_SIDE` up); an image of one tile has nothing to
compare with, so its map is flat (its own ``1 - max p``). Sides under :data:`MIN_SIDE` raise.
The settings were chosen by ``python -m degradebench.measure_localizer`` on spliced virtual
cameras (numbers in its docstring).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ReferenceLocalizer",
    "load_reference_localizer",
    "interpolation_matrix",
    "DEFAULT_CONFIG",
    "NORMALISATION_KEYS",
    "TILE",
    "STRIDE",
    "SMOOTH",
    "THRESHOLD",
    "TOP_K",
    "MIN_SIDE",
]

DEFAULT_CONFIG = Path(__file__).with_name("reference_localizer_config.json")
TILE = 64
STRIDE = 32
SMOOTH = 0.0
THRESHOLD = 0.5
TOP_K = 2
MIN_SIDE = 16  # the CNN's stride-2 conv and two 2x2 pools need a few pixels to pool
CHUNK = 256  # tiles per forward pass: bounds the activation memory on large images


def _tile_chunks(view: torch.Tensor) -> Iterator[torch.Tensor]:
    """Tiles ``[T, 3, th, tw]`` of a ``[N, ny, nx, 3, th, tw]`` view in row-major order, about
    :data:`CHUNK` at a time (whole tile rows), so a large image is never copied whole."""
    n, ny, nx = view.shape[:3]
    rows = max(1, CHUNK // nx)
    buf: list[torch.Tensor] = []
    size = 0
    for b in range(n):
        for r in range(0, ny, rows):
            buf.append(view[b, r : r + rows].reshape(-1, *view.shape[3:]))
            size += buf[-1].shape[0]
            if size >= CHUNK:
                yield torch.cat(buf)
                buf, size = [], 0
    if buf:
        yield torch.cat(buf)


def interpolation_matrix(size: int, n: int, tile: int, stride: int, like: torch.Tensor):
    """``[size, n]`` weights that carry ``n`` tile-centre values to ``size`` pixels linearly;
    pixels before the first centre or after the last take that centre's value."""
    centre = (torch.arange(size, dtype=torch.float64) + 0.5 - tile / 2) / stride
    pos = centre.clamp(0, n - 1)
    lo = pos.floor().long().clamp(max=n - 1)
    hi = (lo + 1).clamp(max=n - 1)
    frac = pos - lo
    m = torch.zeros(size, n, dtype=torch.float64)
    rows = torch.arange(size)
    m[rows, lo] += 1 - frac
    m[rows, hi] += frac
    return m.to(device=like.device, dtype=like.dtype)


class ReferenceLocalizer(nn.Module):
    """Map of camera-model inconsistency and an image score (see the module docstring).

    Args:
        net: the reference CameraModelNet (eval mode), logits per tile.
        tile, stride: tile side and step in pixels.
        smooth: neighbour weight ``a`` of the ``[a, 1, a]`` smoothing kernel, 0 to 1 (0: off).
        threshold: the inconsistency the calibrated map puts at 0.5, strictly between 0 and 1.
        top_k: how many tiles the image score averages.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        tile: int = TILE,
        stride: int = STRIDE,
        smooth: float = SMOOTH,
        threshold: float = THRESHOLD,
        top_k: int = TOP_K,
    ):
        super().__init__()
        for name, v in (("tile", tile), ("stride", stride), ("top_k", top_k)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"ReferenceLocalizer {name}: must be an integer >= 1, got {v!r}")
        if not 0 <= smooth <= 1:
            raise ValueError(f"ReferenceLocalizer smooth: must be from 0 to 1, got {smooth!r}")
        if not 0 < threshold < 1:
            msg = f"ReferenceLocalizer threshold: must be between 0 and 1 (exclusive), got {threshold!r}"
            raise ValueError(msg)
        self.net = net
        self.tile, self.stride, self.top_k = tile, stride, top_k
        self.smooth, self.threshold = float(smooth), float(threshold)

    def tile_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities per tile, ``[N, classes, ny, nx]``."""
        if x.dim() != 4 or x.shape[1] != 3:
            msg = f"reference-localizer: expects a float batch [N, 3, H, W], got {tuple(x.shape)}"
            raise ValueError(msg)
        n, _, h, w = x.shape
        if h < MIN_SIDE or w < MIN_SIDE:
            msg = (
                f"reference-localizer: image {h}x{w} is smaller than {MIN_SIDE}x{MIN_SIDE} px; "
                "the camera-model CNN cannot pool it (use images of at least that size)"
            )
            raise ValueError(msg)
        th, tw = min(self.tile, h), min(self.tile, w)
        view = x.unfold(2, th, self.stride).unfold(3, tw, self.stride)  # N,3,ny,nx,th,tw
        view = view.permute(0, 2, 3, 1, 4, 5)  # still a view: tiles are copied chunk by chunk
        ny, nx = view.shape[1], view.shape[2]
        logits = torch.cat([self.net(c) for c in _tile_chunks(view)])
        probs = torch.softmax(logits.float(), dim=1)
        return probs.reshape(n, ny, nx, -1).permute(0, 3, 1, 2)

    def tile_map(self, probs: torch.Tensor) -> torch.Tensor:
        """Calibrated inconsistency per tile ``[N, 1, ny, nx]`` in [0, 1] from tile probs."""
        dominant = probs.mean(dim=(2, 3)).argmax(dim=1)  # [N]
        idx = dominant.view(-1, 1, 1, 1).expand(-1, 1, *probs.shape[2:])
        u = 1.0 - probs.gather(1, idx)
        if self.smooth > 0:
            k = torch.tensor([self.smooth, 1.0, self.smooth], dtype=u.dtype, device=u.device)
            k = (k[:, None] * k[None, :] / k.sum() ** 2).view(1, 1, 3, 3)
            u = F.conv2d(F.pad(u, (1, 1, 1, 1), mode="replicate"), k)
        t = self.threshold
        calibrated = torch.where(u < t, 0.5 * u / t, 0.5 + 0.5 * (u - t) / (1 - t))
        return calibrated.clamp(0.0, 1.0)

    def to_image(self, grid: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """The tile grid ``[N, 1, ny, nx]`` as an ``[N, 1, h, w]`` map (see the docstring)."""
        th, tw = min(self.tile, h), min(self.tile, w)
        my = interpolation_matrix(h, grid.shape[2], th, self.stride, grid)
        mx = interpolation_matrix(w, grid.shape[3], tw, self.stride, grid)
        return (my @ grid @ mx.T).clamp(0.0, 1.0)

    def score(self, grid: torch.Tensor) -> torch.Tensor:
        """Mean of the ``top_k`` highest tiles per image, ``[N]``."""
        flat = grid.flatten(1)
        return flat.topk(min(self.top_k, flat.shape[1]), dim=1).values.mean(dim=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"score": [N], "map": [N, 1, H, W]}``, both float32 probabilities in [0, 1] (also
        under autocast, which would run the resampling matmuls in half precision)."""
        grid = self.tile_map(self.tile_probs(x))
        image_map = self.to_image(grid, x.shape[2], x.shape[3])
        return {"score": self.score(grid).float(), "map": image_map.float()}


NORMALISATION_KEYS = ("channel_order", "value_range", "mean", "std")


def load_reference_localizer(weights: Path | None = None) -> tuple[ReferenceLocalizer, dict]:
    """The localizer on the reference weights (default: the shipped ones) and its input config
    (the factory behind the built-in name ``reference-localizer``): the keys of
    ``reference_localizer_config.json`` with the normalisation of the weights' own config."""
    from .reference import load_reference

    net, ref_config = load_reference(weights)
    config = json.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    config.update({k: ref_config[k] for k in NORMALISATION_KEYS})
    return ReferenceLocalizer(net).eval(), config

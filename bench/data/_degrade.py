"""``Degrade``: on-the-fly degradation for training pipelines, drawn from a policy and applied by
the generators' own chain engine, so a chain gives the pixels ``generate`` would write.

    degrade = Degrade("jpeg+grid", seed=0)
    image, chain = degrade(image, index=i, epoch=e)          # chain: the concrete steps
    image, mask, chain = degrade(image, mask=m, index=i, epoch=e)

The draws for (seed, epoch, index) come from ``np.random.default_rng(derive_seed(seed,
f"epoch={epoch}", f"index={index}"))``: no hidden state, so the result never depends on the
DataLoader's worker count or order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from degradebench.evaluators._loader import decode_rgb
from degradebench.generators.config import Config, load_config
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.messages import short_repr
from degradebench.generators.core.provenance import derive_seed
from degradebench.generators.execute import ChainRunner
from degradebench.generators.ops import ImageState, Step
from degradebench.generators.ops.jpeg import decode_pillow
from degradebench.generators.ops.masks import as_mask
from degradebench.generators.policies import Policy, parse_policy

from ._images import from_pixels, mask_like, mask_to_array, to_pixels

__all__ = ["Degrade", "policy_rng"]


def policy_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator one (seed, epoch, index) draws from."""
    return np.random.default_rng(
        derive_seed(int(seed), f"epoch={int(epoch)}", f"index={int(index)}")
    )


def _check_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        if name == "seed":
            raise ConfigError(f"Degrade: seed must be a non-negative int, got "
                              f"{short_repr(value)}; pass e.g. seed=0")  # fmt: skip
        raise ConfigError(
            f"Degrade: {name} must be an integer >= 0, got {short_repr(value)}; pass "
            f"{name}=<the sample's "
            f"{'position in the dataset' if name == 'index' else 'epoch number'}>"
        )
    return int(value)


def _resolve(policy: Any, config: str | Path | Config | None) -> Policy:
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, str):
        cfg = config if isinstance(config, Config) else load_config(config)
        return cfg.policy(policy)
    if isinstance(policy, (Mapping, Sequence)):
        cfg = config if isinstance(config, Config) else load_config(config)
        return parse_policy("<mapping>", policy, "policy", cfg.presets)
    raise ConfigError(
        f"Degrade: policy must be a name from the config's policies: map, a policy mapping or a "
        f"list of choices, got {type(policy).__name__} {short_repr(policy)}; e.g. "
        "Degrade('jpeg+grid') or Degrade([{'jpeg': {'quality': [60, 100]}}])"
    )


def _final_pixels(final: ImageState, rgb: bool) -> np.ndarray:
    """The image a chain made: its pixels, or its file decoded the way the evaluators decode
    (``decode_rgb``; a gray image stays gray through the same decoder)."""
    if final.pixels is not None:
        return final.pixels
    return decode_rgb(final.data) if rgb else decode_pillow(final.data)


class Degrade:
    """A callable that degrades an image with a chain drawn from ``policy``.

    Args:
        policy: a name from the config's ``policies:`` map (``clean``, ``jpeg``, ``grid``,
            ``jpeg+grid``, ``social`` ship), a policy as data (a list of choices, or
            ``{description, choices}``), or a parsed ``Policy``.
        seed: the run's seed; with ``epoch`` and ``index`` it fixes every draw.
        config: a datasets.yaml path or a loaded ``Config`` (None: the default config); it
            names the policies and the platform-like presets the ``social`` template uses.

    Calling it with a numpy array (uint8 HxWx3 or HxW), a PIL image (RGB or L; other modes
    are converted to RGB) or a uint8 tensor (CxHxW, torchvision's layout, or HxW) returns the
    same kind. A chain that ends with an encoder (jpeg, png, a preset) is decoded the way the
    evaluators decode the files ``generate`` writes, so the pixels equal those of the file
    ``generate`` would write for the same chain. Picklable: safe in DataLoader workers.
    """

    def __init__(
        self, policy: Any, seed: int = 0, config: str | Path | Config | None = None
    ) -> None:
        self.seed = _check_int(seed, "seed")
        self.policy = _resolve(policy, config)

    def __repr__(self) -> str:
        return f"Degrade({self.policy.name!r}, seed={self.seed})"

    def steps(self, *, index: int, epoch: int = 0) -> tuple[Step, ...]:
        """The concrete steps drawn for (seed, epoch, index), without touching pixels."""
        rng = policy_rng(self.seed, _check_int(epoch, "epoch"), _check_int(index, "index"))
        return self.policy.draw(rng)

    def chain(self, *, index: int, epoch: int = 0) -> list[dict]:
        """The drawn chain in the manifest's step format (``{op, backend, params[, preset]}``);
        the steps after the manifest's ``load`` step, since the image is given in memory."""
        return [s.to_json() for s in self.steps(index=index, epoch=epoch)]

    def __call__(
        self, image: Any, *, index: int, epoch: int = 0, mask: Any = None
    ) -> tuple[Any, list[dict]] | tuple[Any, Any, list[dict]]:
        """``(image, chain)``, or ``(image, mask, chain)`` when ``mask`` (bool/uint8 HxW, a
        1xHxW or HxW tensor) is given: the mask follows geometric steps (crops, resizes) as in
        ``generate``. ``chain`` marks steps a skip rule let through with ``"skipped": true``."""
        steps = self.steps(index=index, epoch=epoch)
        kind, pixels = to_pixels(image)
        start = ImageState(pixels=np.ascontiguousarray(pixels), meta={"keep": ()})
        mask_tensor = False
        if mask is not None:
            mask_tensor, m = mask_to_array(mask)
            start = start.replace(mask=as_mask(m, pixels.shape, "Degrade: mask"))
        flags: tuple[bool, ...] = ()
        final = start.replace(pixels=start.pixels.copy())  # never hand back the caller's array
        if steps:
            _, final, flags = ChainRunner(start).run(steps)
        chain = [
            {**s.to_json(), "skipped": True} if skip else s.to_json()
            for s, skip in zip(steps, flags)
        ]
        out = from_pixels(kind, _final_pixels(final, pixels.ndim == 3))
        if mask is None:
            return out, chain
        return out, mask_like(mask_tensor, final.mask), chain

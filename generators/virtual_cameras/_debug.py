"""Look inside one shot: the raw mosaic and the other stages behind a dataset image."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._build import render_pool_scene
from ._cameras import design_cameras
from ._params import VirtualCamerasParams
from ._pipeline import SCENE_MARGIN, develop, encode_jpeg, noise_rng, plan_shot, prnu_pattern

__all__ = ["debug_capture"]


def debug_capture(
    params: VirtualCamerasParams,
    model: int,
    device: int,
    image: int,
    scene: np.ndarray | None = None,
) -> dict[str, Any]:
    """Re-run the pipeline for image ``image`` of device ``device`` of model ``model`` (0-based).

    Args:
        scene: a linear-RGB float image of at least ``size + 8`` pixels a side to photograph
            instead of the pool scene (e.g. a flat colour, to read the CFA off the raw mosaic).

    Returns:
        ``camera``, ``device``, ``shot`` (the records), ``prnu`` (the device's gain pattern),
        ``radiance``, ``raw`` (the noisy mosaic, one value per pixel), ``linear``, ``image``
        (uint8 before the JPEG) and ``jpeg`` (the bytes; identical to the dataset file when
        ``scene`` is None).
    """
    cameras = design_cameras(params)
    if not 0 <= model < len(cameras):
        raise ValueError(f"model: must be 0..{len(cameras) - 1}, got {model}")
    cam, devices = cameras[model]
    if not 0 <= device < len(devices):
        raise ValueError(f"device: must be 0..{len(devices) - 1}, got {device}")
    if not 0 <= image < params.images_per_device:
        raise ValueError(f"image: must be 0..{params.images_per_device - 1}, got {image}")
    dev = devices[device]
    if scene is None:
        scene, _ = render_pool_scene(params, image)
    else:
        scene = np.asarray(scene, np.float32)
        side = params.size + SCENE_MARGIN
        if scene.ndim != 3 or scene.shape[2] != 3 or min(scene.shape[:2]) < side:
            raise ValueError(f"scene: must be HxWx3 with H, W >= {side}, got {scene.shape}")
    shot = plan_shot(params, model, device, image)
    prnu = prnu_pattern(params.seed, model, device, params.size, dev.prnu_strength)
    stages = develop(scene, cam, dev, shot, prnu, noise_rng(params, shot))
    return {
        "camera": cam,
        "device": dev,
        "shot": shot,
        "prnu": prnu,
        **stages,
        "jpeg": encode_jpeg(stages["image"], cam),
    }

"""Build a virtual-cameras dataset on disk: atomically, deterministically, in parallel.

One task per scene: the scene is rendered once and photographed by every device, so the work
splits evenly and each worker writes its own files. The tree is built in a temporary sibling
folder and renamed into place with a completion marker that holds the params hash: a rerun with
the same params is a no-op and a killed build never leaves a half dataset behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError
from ..core.files import build_dataset_once
from ..core.provenance import library_version
from ..core.records import to_plain
from ._cameras import TAG_SCENE, CameraModel, Device, design_cameras, rng_for
from ._params import PIPELINE_VERSION, VirtualCamerasParams, params_hash
from ._pipeline import SCENE_MARGIN, develop, encode_jpeg, noise_rng, plan_shot, prnu_pattern
from ._scenes import render_scene

__all__ = ["build_virtual_cameras", "MARKER", "image_name", "scene_group", "render_pool_scene"]

MARKER = ".complete"


def image_name(device: Device, image: int) -> str:
    return f"{device.model}/{device.name}-{image:04d}.jpg"


def scene_group(image: int) -> str:
    return f"scene-{image:04d}"


def render_pool_scene(params: VirtualCamerasParams, scene: int) -> tuple[np.ndarray, dict]:
    """Scene ``scene`` of the shared pool (every device's image ``scene`` shows it)."""
    rng = rng_for(params.seed, TAG_SCENE, scene)
    return render_scene(rng, params.size + SCENE_MARGIN, params.photo_fraction)


def _shoot_scene(
    params: VirtualCamerasParams,
    cameras: list[tuple[CameraModel, list[Device]]],
    scene_id: int,
    out_dir: str,
    single_thread: bool,
) -> tuple[dict, list[dict]]:
    if single_thread:  # inside a worker process: one core each, no oversubscription
        import cv2

        cv2.setNumThreads(1)
    scene, scene_info = render_pool_scene(params, scene_id)
    shots = []
    for model, devices in cameras:
        for device in devices:
            shot = plan_shot(params, model.index, device.index, scene_id)
            prnu = prnu_pattern(
                params.seed, model.index, device.index, params.size, device.prnu_strength
            )
            stages = develop(scene, model, device, shot, prnu, noise_rng(params, shot))
            data = encode_jpeg(stages["image"], model)
            rel = image_name(device, scene_id)
            with open(os.path.join(out_dir, rel), "wb") as fh:
                fh.write(data)
            shots.append({"path": rel, **shot.to_dict()})
    return {"scene": scene_id, "group": scene_group(scene_id), **scene_info}, shots


def _versions() -> dict:
    """What the completion marker records (read through the kernel's one version reader)."""
    return {
        "degradebench": library_version("degradebench"),
        "numpy": library_version("numpy"),
        "pillow": library_version("pillow"),
        "libjpeg_turbo": library_version("pillow_libjpeg_turbo"),
        "opencv": library_version("opencv"),
        "scikit-image": library_version("skimage"),
    }


def _write_tree(params: VirtualCamerasParams, tmp: Path, jobs: int, progress: bool) -> None:
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    cameras = design_cameras(params)
    for model, _ in cameras:
        (tmp / model.name).mkdir()
    n = params.images_per_device
    if jobs == 1:
        results = (_shoot_scene(params, cameras, i, str(tmp), False) for i in range(n))
    else:
        results = Parallel(n_jobs=jobs, return_as="generator")(
            delayed(_shoot_scene)(params, cameras, i, str(tmp), True) for i in range(n)
        )
    scenes, shots = [], []
    bar = tqdm(total=n, desc="virtual-cameras", unit="scene", disable=not progress)
    with bar:
        for scene_info, scene_shots in results:
            scenes.append(scene_info)
            shots.extend(scene_shots)
            bar.update(1)
    shots.sort(key=lambda s: (s["model"], s["device"], s["image"]))
    names = [model.name for model, _ in cameras]

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "label", "group"])
    for s in shots:
        writer.writerow([s["path"], names[s["model"]], scene_group(s["image"])])
    (tmp / "list.csv").write_text(buf.getvalue(), encoding="utf-8")

    meta = {
        "kind": "virtual-cameras",
        "pipeline_version": PIPELINE_VERSION,
        "params": to_plain(params),
        "params_hash": params_hash(params),
        "classes": names,
        "label": "camera model (folder name); group = scene shared by every device",
        "cameras": [
            {**model.to_dict(), "devices": [d.to_dict() for d in devices]}
            for model, devices in cameras
        ],
        "scenes": scenes,
        "shots": shots,
        "versions": _versions(),
    }
    (tmp / "metadata.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    (tmp / MARKER).write_text(params_hash(params) + "\n", encoding="utf-8")


def build_virtual_cameras(
    params: VirtualCamerasParams, root: Path, jobs: int = 1, progress: bool = True
) -> Path:
    """Write the dataset to ``root`` (``root/<model>/<image>.jpg``, ``list.csv``, ``metadata.json``).

    Deterministic from ``params.seed`` and independent of ``jobs``. A no-op when ``root`` already
    holds the dataset of these params.

    Returns:
        ``root/list.csv`` (columns ``path,label,group``, paths relative to ``root``): what
        ``degradebench.generators.datasets.list_table`` reads; its folder is the dataset root.

    Raises:
        ConfigError: ``root`` exists and is not this dataset (other params, or other files).
    """
    root = Path(root).expanduser().absolute()

    def fill(tmp: Path) -> None:  # only when the dataset is not there yet
        if jobs is None or jobs == 0 or jobs < -1:
            raise ConfigError(f"jobs: must be a positive integer or -1 (all cores), got {jobs!r}")
        _write_tree(params, tmp, jobs, progress)

    build_dataset_once(root, "virtual-cameras", params_hash(params), MARKER, fill)
    return root / "list.csv"

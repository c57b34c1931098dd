"""Camera designs: what makes each virtual camera model (and each device of it) distinct.

The planner draws every value once, from generators seeded by ``(seed, tag, model, device)``,
and the records hold concrete numbers (written to metadata.json); the pipeline only applies them.
A model's design does not depend on how many models are asked for, so growing a dataset keeps
the existing cameras as they were.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

from ._demosaic import CFA_PATTERNS, DEMOSAIC
from ._params import VirtualCamerasParams

__all__ = ["CameraModel", "Device", "design_cameras", "rng_for", "SUBSAMPLING"]

# Pillow's `subsampling=` codes.
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}

# Tags that keep the random streams of the different draws apart.
TAG_MODELS, TAG_MODEL, TAG_DEVICE, TAG_SCENE, TAG_SHOT, TAG_NOISE, TAG_PRNU = range(1, 8)


def rng_for(seed: int, tag: int, *ids: int) -> np.random.Generator:
    """The generator for one draw: independent of every other draw and of the worker order."""
    return np.random.default_rng([seed, tag, *ids])


@dataclass(frozen=True)
class CameraModel:
    """One virtual camera model: its in-camera pipeline, fixed for all its devices."""

    name: str
    index: int
    cfa: str
    demosaic: str
    sensor_matrix: tuple[tuple[float, ...], ...]  # scene RGB -> raw RGB (spectral cross-talk)
    saturation: float  # colour correction: 1 = the inverse of sensor_matrix
    shot_noise: float  # variance per unit signal at base ISO
    read_noise: float  # std of the signal-independent noise
    raw_bits: int
    tone_gamma: float  # encoding exponent (about 1/2.2)
    tone_contrast: float  # S-curve strength
    sharpen_sigma: float
    sharpen_amount: float
    chroma_denoise_sigma: float
    subsampling: str
    luma_table: tuple[int, ...]  # 64 quantization steps, natural (row-major) order
    chroma_table: tuple[int, ...]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sensor_matrix"] = [list(r) for r in self.sensor_matrix]
        d["luma_table"] = list(self.luma_table)
        d["chroma_table"] = list(self.chroma_table)
        return d


@dataclass(frozen=True)
class Device:
    """One physical device of a model: its own sensor, so its own PRNU pattern."""

    model: str
    index: int
    name: str
    prnu_strength: float  # std of the multiplicative pattern
    gain_offset: tuple[float, float, float]  # small per-sensor channel gain differences

    def to_dict(self) -> dict:
        d = asdict(self)
        d["gain_offset"] = list(self.gain_offset)
        return d


def _quant_table(rng: np.random.Generator, dc: float, corner: float) -> tuple[int, ...]:
    """A custom (non-IJG) table: steps grow from ``dc`` to about ``corner`` along a drawn
    frequency curve, with a horizontal/vertical tilt and a little firmware-style jitter."""
    power = rng.uniform(0.8, 2.2)
    tilt = rng.uniform(0.75, 1.35)  # > 1: coarser horizontal than vertical frequencies
    u = np.arange(8)[:, None].astype(float)
    v = np.arange(8)[None, :].astype(float)
    rho = np.sqrt((u / tilt) ** 2 + (v * tilt) ** 2) / np.sqrt(2 * 49)
    q = dc + (corner - dc) * np.clip(rho, 0, 1) ** power
    q = q + rng.integers(-1, 2, size=(8, 8)) * (q > 4)
    return tuple(int(x) for x in np.clip(np.round(q), 1, 255).ravel())


def _design_model(params: VirtualCamerasParams, m: int, cfa: str, algo: str) -> CameraModel:
    rng = rng_for(params.seed, TAG_MODEL, m)
    cross = rng.uniform(0.04, 0.22, size=(3, 3))
    np.fill_diagonal(cross, 0)
    sensor = np.eye(3) + cross
    sensor /= sensor.sum(axis=1, keepdims=True)
    luma_dc = rng.uniform(2.0, 6.0)
    luma = _quant_table(rng, luma_dc, rng.uniform(16.0, 56.0))
    chroma = _quant_table(rng, luma_dc + rng.uniform(0.5, 3.0), rng.uniform(20.0, 80.0))
    return CameraModel(
        name=f"vcam{m + 1:02d}",
        index=m,
        cfa=cfa,
        demosaic=algo,
        sensor_matrix=tuple(tuple(round(float(x), 6) for x in row) for row in sensor),
        saturation=round(float(rng.uniform(0.85, 1.3)), 4),
        shot_noise=round(float(rng.uniform(2e-4, 2e-3)), 6),
        read_noise=round(float(rng.uniform(1e-3, 4e-3)), 6),
        raw_bits=int(rng.choice([10, 12, 14])),
        tone_gamma=round(float(1 / rng.uniform(1.9, 2.6)), 5),
        tone_contrast=round(float(rng.uniform(0.0, 0.5)), 4),
        sharpen_sigma=round(float(rng.uniform(0.6, 1.6)), 4),
        sharpen_amount=round(float(rng.choice([0.0, rng.uniform(0.3, 1.5)])), 4),
        chroma_denoise_sigma=round(float(rng.choice([0.0, rng.uniform(0.6, 1.6)])), 4),
        subsampling=str(rng.choice(list(SUBSAMPLING))),
        luma_table=luma,
        chroma_table=chroma,
    )


def _design_device(params: VirtualCamerasParams, model: CameraModel, d: int) -> Device:
    rng = rng_for(params.seed, TAG_DEVICE, model.index, d)
    return Device(
        model=model.name,
        index=d,
        name=f"{model.name}-d{d + 1}",
        prnu_strength=round(float(rng.uniform(0.01, 0.025)), 5),
        gain_offset=tuple(round(float(x), 5) for x in 1 + rng.normal(0, 0.01, size=3)),
    )


def design_cameras(params: VirtualCamerasParams) -> list[tuple[CameraModel, list[Device]]]:
    """Every model with its devices. Each model gets its own (CFA pattern, demosaicing) pair."""
    combos = list(itertools.product(CFA_PATTERNS, DEMOSAIC))
    order = rng_for(params.seed, TAG_MODELS).permutation(len(combos))
    out = []
    seen_tables: set[tuple] = set()
    for m in range(params.models):
        cfa, algo = combos[int(order[m])]
        model = _design_model(params, m, cfa, algo)
        key = (model.luma_table, model.chroma_table)
        if key in seen_tables:  # practically impossible; keeps the "own tables" claim true
            raise AssertionError(f"{model.name}: quantization tables repeat another model's")
        seen_tables.add(key)
        devices = [_design_device(params, model, d) for d in range(params.devices_per_model)]
        out.append((model, devices))
    return out

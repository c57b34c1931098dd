"""The in-camera pipeline: exposure, sensor, CFA, noise, PRNU, demosaicing, white balance,
colour correction, tone curve, sharpening, chroma denoising and the camera's own JPEG.

``plan_shot`` draws a shot's variable settings (the ranges are shared by all models, so colour and
brightness say nothing about the camera); ``develop`` applies a camera to a scene and draws only
the sensor noise, from the generator it is given.
"""

from __future__ import annotations

import functools
import io
from dataclasses import asdict, dataclass

import cv2
import numpy as np
from PIL import Image

from ._cameras import SUBSAMPLING, TAG_NOISE, TAG_PRNU, TAG_SHOT, CameraModel, Device, rng_for
from ._demosaic import demosaic, mosaic
from ._params import VirtualCamerasParams

__all__ = ["Shot", "plan_shot", "prnu_pattern", "develop", "encode_jpeg", "SCENE_MARGIN"]

# Scenes are rendered this much larger than the sensor; each shot frames them a little differently.
SCENE_MARGIN = 8
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


@dataclass(frozen=True)
class Shot:
    """The settings of one exposure (drawn by ``plan_shot``, recorded in metadata.json)."""

    model: int
    device: int
    image: int
    scene: int
    jitter: tuple[int, int]  # framing offset inside the scene
    ev: float  # exposure bias against an 18% grey mean
    illuminant: tuple[float, float, float]  # light colour (G = 1)
    wb_error: tuple[float, float, float]  # auto white balance miss, per channel
    iso: float  # multiplies the model's base shot noise

    def to_dict(self) -> dict:
        return asdict(self)


def plan_shot(params: VirtualCamerasParams, m: int, d: int, i: int) -> Shot:
    """Draw one shot's settings; every range is the same for every camera model."""
    rng = rng_for(params.seed, TAG_SHOT, m, d, i)
    jy, jx = rng.integers(0, SCENE_MARGIN + 1, size=2)
    lo, hi = params.exposure_ev
    s = params.illuminant_spread
    r_gain, b_gain = 2.0 ** rng.uniform(-s, s, size=2)
    wb = 2.0 ** rng.normal(0.0, 0.03, size=3)
    return Shot(
        model=m,
        device=d,
        image=i,
        scene=i,
        jitter=(int(jy), int(jx)),
        ev=round(float(rng.uniform(lo, hi)), 5),
        illuminant=(round(float(r_gain), 5), 1.0, round(float(b_gain), 5)),
        wb_error=tuple(round(float(x), 5) for x in wb),
        iso=round(float(2.0 ** rng.uniform(-1.0, 1.0)), 5),
    )


@functools.lru_cache(maxsize=64)
def prnu_pattern(seed: int, model: int, device: int, size: int, strength: float) -> np.ndarray:
    """The device's photo-response non-uniformity: a fixed per-pixel gain around 1."""
    rng = rng_for(seed, TAG_PRNU, model, device)
    k = rng.standard_normal((size, size), dtype=np.float32)
    # Real PRNU is mostly white with a little low-frequency structure.
    k = 0.9 * k + 0.45 * cv2.GaussianBlur(k, (0, 0), 1.5)
    k *= strength / float(k.std())
    out = (1.0 + k).astype(np.float32)
    out.setflags(write=False)
    return out


def _tone(x: np.ndarray, gamma: float, contrast: float) -> np.ndarray:
    y = np.power(np.clip(x, 0.0, 1.0), gamma, dtype=np.float32)
    if contrast:
        y = y - contrast * np.sin(2 * np.pi * y) / (2 * np.pi)
    return y


def develop(
    scene: np.ndarray,
    camera: CameraModel,
    device: Device,
    shot: Shot,
    prnu: np.ndarray,
    noise_rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Photograph ``scene`` (linear RGB, float32, at least sensor size + jitter) with one device.

    Returns the stages: ``radiance`` (light on the sensor), ``raw`` (noisy, quantized mosaic),
    ``linear`` (demosaiced, white-balanced, colour-corrected) and ``image`` (8-bit output that
    goes to the JPEG encoder).
    """
    size = prnu.shape[0]
    jy, jx = shot.jitter
    window = scene[jy : jy + size, jx : jx + size]
    if window.shape[:2] != (size, size):
        raise ValueError(
            f"scene {scene.shape[:2]} is too small for a {size}px sensor at {shot.jitter}"
        )
    mean_lum = max(float(window.reshape(-1, 3).mean(axis=0) @ _LUMA), 1e-4)
    gain = 0.18 * 2.0**shot.ev / mean_lum
    illum = np.asarray(shot.illuminant, np.float32)
    radiance = window * (gain * illum)

    sensor = np.asarray(camera.sensor_matrix, np.float32)
    cam_rgb = (radiance @ sensor.T) * np.asarray(device.gain_offset, np.float32)
    raw = mosaic(cam_rgb, camera.cfa) * prnu
    sigma = np.sqrt(camera.shot_noise * shot.iso * np.clip(raw, 0, None) + camera.read_noise**2)
    raw = raw + sigma * noise_rng.standard_normal(raw.shape, dtype=np.float32)
    levels = float(2**camera.raw_bits - 1)
    raw = np.round(np.clip(raw, 0.0, 1.0) * levels) / levels

    rgb = demosaic(raw, camera.cfa, camera.demosaic)
    # Auto white balance: the camera's estimate of the light colour, slightly off.
    white = (illum @ sensor.T) * np.asarray(shot.wb_error, np.float32)
    rgb *= white[1] / white
    ccm = np.linalg.inv(sensor)
    ccm = (1 - camera.saturation) * np.outer(np.ones(3), _LUMA) + camera.saturation * ccm
    linear = np.clip(rgb @ ccm.T.astype(np.float32), 0.0, 1.0)

    out = _tone(linear, camera.tone_gamma, camera.tone_contrast)
    if camera.sharpen_amount:
        blurred = cv2.GaussianBlur(
            out, (0, 0), camera.sharpen_sigma, borderType=cv2.BORDER_REFLECT_101
        )
        out = out + camera.sharpen_amount * (out - blurred)
    if camera.chroma_denoise_sigma:
        ycc = cv2.cvtColor(np.clip(out, 0, 1), cv2.COLOR_RGB2YCrCb)
        for c in (1, 2):
            ycc[..., c] = cv2.GaussianBlur(
                ycc[..., c], (0, 0), camera.chroma_denoise_sigma, borderType=cv2.BORDER_REFLECT_101
            )
        out = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    image = np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
    return {"radiance": radiance, "raw": raw, "linear": linear, "image": image}


def encode_jpeg(image: np.ndarray, camera: CameraModel) -> bytes:
    """The camera's own JPEG: its custom quantization tables and chroma subsampling."""
    buf = io.BytesIO()
    Image.fromarray(image).save(
        buf,
        format="JPEG",
        qtables=[list(camera.luma_table), list(camera.chroma_table)],
        subsampling=SUBSAMPLING[camera.subsampling],
        optimize=False,
    )
    return buf.getvalue()


def noise_rng(params: VirtualCamerasParams, shot: Shot) -> np.random.Generator:
    """The generator of a shot's sensor noise."""
    return rng_for(params.seed, TAG_NOISE, shot.model, shot.device, shot.image)

"""The virtual scanner: placement and skew on the glass, optics, trilinear CCD, illumination,
fixed pattern (column gains and offsets, stepper wobble), noise, colour response and output.

``scan_page`` samples a printed sheet (float32 reflectance at ``print_dpi``) at ``scan_dpi``.
Per scan it draws the skew, the placement offset and the sensor noise, from
``np.random.default_rng([seed, TAG_SCAN])``; everything else is the model's or the device's.
"""

from __future__ import annotations

import functools
import io

import cv2
import numpy as np
from PIL import Image

from ._devices import SUBSAMPLING, TAG_SCAN, ScanDevice, ScannerModel

__all__ = ["scan_page", "column_pattern", "encode_scan", "GLASS_WIDTH_MM", "LID_REFLECTANCE"]

GLASS_WIDTH_MM = 216.0  # A4/letter flatbed: the illumination falloff spans this width
GLASS_X0_MM = 3.0  # where the sheet's left edge sits on the glass (x of the first output column)
LID_REFLECTANCE = 0.95  # what the scanner sees outside the sheet
_PATTERN_INCHES = 9  # the CCD line is this long: output columns index into it from the left


@functools.lru_cache(maxsize=64)
def column_pattern(pattern_seed: int, dpi: int, gain_std: float, offset_std: float) -> np.ndarray:
    """The device's fixed pattern at ``dpi``: (2, 3, columns) float32 = per-column, per-channel
    gains around 1 and dark offsets, for the CCD line of ``_PATTERN_INCHES`` inches."""
    rng = np.random.default_rng([pattern_seed, dpi])
    n = _PATTERN_INCHES * dpi
    gain = rng.standard_normal((3, n), dtype=np.float32)
    # Mostly per-element, a little shared across channels and neighbouring elements.
    gain = 0.8 * gain + 0.6 * cv2.GaussianBlur(gain.mean(axis=0, keepdims=True), (0, 0), 2.0)
    gain = 1.0 + gain * (gain_std / float(gain.std()))
    offset = offset_std * rng.standard_normal((3, n), dtype=np.float32)
    out = np.stack([gain, offset]).astype(np.float32)
    out.setflags(write=False)
    return out


def _geometry(shape_in, shape_out, scale, skew_deg, offset, dy=0.0) -> np.ndarray:
    """Sheet pixel -> scan pixel (3x3): rotate by the skew about the centre, scale, offset."""
    h, w = shape_in
    ho, wo = shape_out
    a = np.deg2rad(skew_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre_in = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    centre_out = np.array([(wo - 1) / 2.0 + offset[1], (ho - 1) / 2.0 + offset[0] + dy])
    m = np.eye(3)
    m[:2, :2] = rot
    m[:2, 2] = centre_out - rot @ centre_in
    return m


def _sample(sheet, scanner, scale, skew, offset, out_shape) -> tuple[np.ndarray, np.ndarray]:
    """Optics + CCD sampling: blur at the sheet grid (lens MTF and pixel aperture), then sample
    each channel on its own CCD line (R and B lines sit ``channel_shift`` rows off G)."""
    sigma = float(np.hypot(scanner.mtf_sigma / scale, 1.0 / (scale * np.sqrt(12.0))))
    blurred = cv2.GaussianBlur(sheet, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    ho, wo = out_shape
    shifts = (scanner.channel_shift[0], 0.0, scanner.channel_shift[1])
    chans = []
    for c, dy in enumerate(shifts):
        m = _geometry(sheet.shape[:2], out_shape, scale, skew, offset, dy)
        chans.append(
            cv2.warpAffine(
                np.ascontiguousarray(blurred[..., c]),
                m[:2],
                (wo, ho),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=LID_REFLECTANCE,
            )
        )
    return np.stack(chans, axis=2), _geometry(sheet.shape[:2], out_shape, scale, skew, offset)


def scan_page(
    sheet: np.ndarray,
    scanner: ScannerModel,
    device: ScanDevice,
    *,
    print_dpi: int,
    scan_dpi: int | None = None,
    seed: int,
) -> tuple[np.ndarray, dict]:
    """Scan ``sheet`` (float32 HxWx3 reflectance at ``print_dpi``) with one device.

    Returns:
        The uint8 RGB scan (the pixels before the scanner's encoder: see ``encode_scan``) and
        ``sheet_to_scan`` (3x3, sheet pixel -> scan pixel), ``skew_deg``, ``offset_px``,
        ``scan_dpi``.
    """
    scan_dpi = int(scan_dpi or scanner.dpi)
    rng = np.random.default_rng([seed, TAG_SCAN])
    skew = float(rng.uniform(-scanner.skew_max_deg, scanner.skew_max_deg))
    offset = rng.uniform(-1.5, 1.5, size=2)
    scale = scan_dpi / float(print_dpi)
    h, w = sheet.shape[:2]
    ho, wo = max(1, round(h * scale)), max(1, round(w * scale))
    signal, geometry = _sample(sheet, scanner, scale, skew, offset, (ho, wo))

    signal = signal @ np.asarray(scanner.colour_matrix, np.float32).T
    signal *= np.asarray(device.gain_offset, np.float32)
    x_mm = GLASS_X0_MM + (np.arange(wo, dtype=np.float32) + 0.5) * (25.4 / scan_dpi)
    light = 1.0 - scanner.falloff * (2.0 * x_mm / GLASS_WIDTH_MM - 1.0) ** 2
    rows = np.arange(ho, dtype=np.float32)
    wobble = 1.0 + device.row_amplitude * np.sin(
        2 * np.pi * rows / device.row_period_px + device.row_phase
    )
    pattern = column_pattern(
        device.pattern_seed, scan_dpi, device.column_gain_std, device.column_offset_std
    )
    if wo > pattern.shape[2]:
        raise ValueError(
            f"scan_page: the sheet is {w / print_dpi:.1f} in wide, wider than the "
            f"{_PATTERN_INCHES} in glass of {scanner.name}; print a narrower page or window"
        )
    gain, dark = pattern[0, :, :wo].T, pattern[1, :, :wo].T  # (wo, 3)
    signal = signal * (light[:, None] * gain)[None] * wobble[:, None, None] + dark[None]
    sigma = np.sqrt(scanner.shot_noise * np.clip(signal, 0, None) + scanner.read_noise**2)
    signal = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)

    out = np.clip((signal - scanner.black) / (scanner.white - scanner.black), 0.0, 1.0)
    out = np.power(out, scanner.gamma, dtype=np.float32)
    if scanner.sharpen_amount:
        soft = cv2.GaussianBlur(out, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT_101)
        out = out + scanner.sharpen_amount * (out - soft)
    image = np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
    info = {
        "sheet_to_scan": geometry.tolist(),
        "skew_deg": round(skew, 6),
        "offset_px": [round(float(x), 6) for x in offset],
        "scan_dpi": scan_dpi,
    }
    return image, info


def encode_scan(image: np.ndarray, scanner: ScannerModel) -> tuple[bytes, str]:
    """The scanner's file: its own JPEG tables and subsampling, or PNG. Returns (bytes, suffix)."""
    buf = io.BytesIO()
    if scanner.output == "png":
        Image.fromarray(image).save(buf, format="PNG", compress_level=1)
        return buf.getvalue(), ".png"
    Image.fromarray(image).save(
        buf,
        format="JPEG",
        qtables=[list(scanner.luma_table), list(scanner.chroma_table)],
        subsampling=SUBSAMPLING[scanner.subsampling],
        optimize=False,
    )
    return buf.getvalue(), ".jpg"

"""Printer and scanner designs: what makes each virtual printer, scanner model and device distinct.

Every value is drawn once from generators seeded by ``(seed, tag, model[, device])`` and the
records hold concrete numbers (written to metadata.json); ``print_page``/``scan_page`` only apply
them. A model's design does not depend on how many models are asked for, so growing a dataset
keeps the existing printers and scanners as they were.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ._params import VirtualScannersParams

__all__ = [
    "Printer",
    "ScannerModel",
    "ScanDevice",
    "design_printers",
    "design_scanners",
    "rng_for",
    "INKS",
    "SUBSAMPLING",
]

# Tags that keep the random streams of the different draws apart.
TAG_PRINTER, TAG_SCANNER, TAG_DEVICE, TAG_DOC, TAG_PRINT, TAG_SCAN, TAG_PATTERN = range(1, 8)

INKS = ("c", "m", "y", "k")
# Reflectance (R, G, B) of a solid layer of each toner on white paper.
_TONERS = {
    "c": (0.12, 0.58, 0.88),
    "m": (0.86, 0.18, 0.52),
    "y": (0.95, 0.88, 0.12),
    "k": (0.07, 0.07, 0.08),
}
# Screen angle of each ink relative to the black screen (the classic 30-degree separations).
_ANGLE_OFFSETS = {"c": -30.0, "m": 30.0, "y": 15.0, "k": 0.0}
# Pillow's `subsampling=` codes.
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
# ITU-T T.81 Annex K tables (natural order): scanners scale them by their own quality and tweak.
# fmt: off
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)
_IJG_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32
# fmt: on


def rng_for(seed: int, tag: int, *ids: int) -> np.random.Generator:
    """The generator for one draw: independent of every other draw and of the worker order."""
    return np.random.default_rng([seed, tag, *ids])


def _r(x: float, n: int = 5) -> float:
    return round(float(x), n)


@dataclass(frozen=True)
class Printer:
    """One virtual printer model: its halftoning, toner, dot gain, banding and paper feed."""

    name: str
    index: int
    halftone: str  # "clustered" (ordered dither, AM screen) or "error_diffusion" (FM)
    colour: bool  # False: a monochrome printer (black toner only)
    lpi: float | None  # screen frequency in lines per inch (clustered only)
    angle_deg: float | None  # black screen angle (clustered only); others offset from it
    dot_spread_um: float  # std of the toner spread around each printed dot
    dot_gain: float  # mid-tone coverage gain: ink -> 1 - (1 - ink)^(1 + gain)
    banding_period_mm: float  # toner density banding along the paper feed
    banding_amplitude: float  # relative density swing of the banding
    scale: tuple[float, float]  # paper-feed scale error (y, x)
    shear: float  # x shift per row (rad): the feed is slightly oblique
    toner: tuple[tuple[float, float, float], ...]  # reflectance of c, m, y, k

    def screen_angles(self) -> dict[str, float] | None:
        """The screen angle of each ink, degrees in [0, 90) (None for error diffusion)."""
        if self.angle_deg is None:
            return None
        return {i: _r((self.angle_deg + _ANGLE_OFFSETS[i]) % 90.0, 4) for i in INKS}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["scale"] = list(self.scale)
        d["toner"] = {i: list(t) for i, t in zip(INKS, self.toner)}
        d["screen_angles"] = self.screen_angles()
        return d


@dataclass(frozen=True)
class ScannerModel:
    """One virtual scanner model: optics, sensor, illumination, colour, resolution and output."""

    name: str
    index: int
    dpi: int
    mtf_sigma: float  # optical blur, std in scan pixels
    sharpen_amount: float  # unsharp masking in the firmware (0: none)
    read_noise: float  # std of the signal-independent noise (0..1 scale)
    shot_noise: float  # variance per unit signal
    falloff: float  # illumination drop at the glass edges (quadratic across the width)
    skew_max_deg: float  # the page lies on the glass within +- this angle
    channel_shift: tuple[float, float]  # R and B line offsets (rows) of the trilinear CCD
    colour_matrix: tuple[tuple[float, ...], ...]  # reflectance RGB -> scanner RGB
    gamma: float  # encoding exponent
    black: float  # calibrated black level (reflectance that maps to 0)
    white: float  # calibrated white level (reflectance that maps to 255)
    output: str  # "jpeg" (its own tables) or "png"
    subsampling: str
    luma_table: tuple[int, ...]  # 64 steps, natural (row-major) order
    chroma_table: tuple[int, ...]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channel_shift"] = list(self.channel_shift)
        d["colour_matrix"] = [list(r) for r in self.colour_matrix]
        d["luma_table"] = list(self.luma_table)
        d["chroma_table"] = list(self.chroma_table)
        return d


@dataclass(frozen=True)
class ScanDevice:
    """One physical scanner of a model: its own CCD line (column gains) and stepper (row wobble)."""

    model: str
    model_index: int
    index: int
    name: str
    column_gain_std: float  # PRNU-like per-column gain std (fixed pattern)
    column_offset_std: float  # per-column dark offset std (fixed pattern)
    row_period_px: float  # stepper-motor wobble period along the scan
    row_amplitude: float  # its relative gain swing
    row_phase: float
    gain_offset: tuple[float, float, float]  # per-channel sensitivity of this unit
    pattern_seed: int  # seeds the unit's column gains and offsets (``column_pattern``)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["gain_offset"] = list(self.gain_offset)
        return d


def _design_printer(seed: int, p: int) -> Printer:
    rng = rng_for(seed, TAG_PRINTER, p)
    clustered = p % 3 != 1  # every third printer diffuses errors (FM), the others screen (AM)
    colour = bool(rng.random() < 0.6)
    lpi = _r(rng.uniform(60.0, 110.0), 3)
    angle = _r(rng.uniform(5.0, 85.0), 3)
    toner = tuple(
        tuple(_r(np.clip(c + rng.normal(0, 0.02), 0.02, 0.98), 4) for c in _TONERS[i]) for i in INKS
    )
    return Printer(
        name=f"vprint{p + 1:02d}",
        index=p,
        halftone="clustered" if clustered else "error_diffusion",
        colour=colour,
        lpi=lpi if clustered else None,
        angle_deg=angle if clustered else None,
        dot_spread_um=_r(rng.uniform(15.0, 45.0), 3),
        dot_gain=_r(rng.uniform(0.05, 0.4), 4),
        banding_period_mm=_r(rng.uniform(0.8, 3.0), 4),
        banding_amplitude=_r(rng.uniform(0.01, 0.06), 4),
        scale=(_r(1 + rng.normal(0, 0.002), 6), _r(1 + rng.normal(0, 0.001), 6)),
        shear=_r(rng.normal(0, 0.0015), 6),
        toner=toner,
    )


def design_printers(params: VirtualScannersParams | None = None) -> list[Printer]:
    """The ``params.printers`` printer models of ``params.seed`` (default params if None)."""
    params = params or VirtualScannersParams()
    return [_design_printer(params.seed, p) for p in range(params.printers)]


def _table(base: tuple[int, ...], quality: float, rng: np.random.Generator) -> tuple[int, ...]:
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    q = np.floor((np.asarray(base, float) * scale + 50) / 100)
    q = q + rng.integers(-1, 2, size=64) * (q > 3)  # firmware-style tweaks: the table is its own
    return tuple(int(x) for x in np.clip(q, 1, 255))


def _design_model(params: VirtualScannersParams, s: int) -> ScannerModel:
    rng = rng_for(params.seed, TAG_SCANNER, s)
    cross = rng.uniform(0.0, 0.08, size=(3, 3))
    np.fill_diagonal(cross, 0)
    matrix = np.eye(3) + cross
    matrix /= matrix.sum(axis=1, keepdims=True)
    quality = rng.uniform(70.0, 95.0)
    output = "png" if s % 4 == 3 else "jpeg"  # every fourth model writes PNG
    return ScannerModel(
        name=f"vscan{s + 1:02d}",
        index=s,
        dpi=int(params.scan_dpis[s % len(params.scan_dpis)]),
        mtf_sigma=_r(rng.uniform(0.45, 1.0), 4),
        sharpen_amount=_r(rng.choice([0.0, rng.uniform(0.3, 1.0)]), 4),
        read_noise=_r(rng.uniform(0.002, 0.008), 6),
        shot_noise=_r(rng.uniform(2e-5, 2e-4), 7),
        falloff=_r(rng.uniform(0.02, 0.1), 4),
        skew_max_deg=_r(rng.uniform(0.2, 1.5), 3),
        channel_shift=(_r(rng.uniform(-0.4, 0.4), 4), _r(rng.uniform(-0.4, 0.4), 4)),
        colour_matrix=tuple(tuple(_r(x, 6) for x in row) for row in matrix),
        gamma=_r(1 / rng.uniform(1.8, 2.4), 5),
        black=_r(rng.uniform(0.01, 0.05), 4),
        white=_r(rng.uniform(0.98, 1.06), 4),
        output=output,
        subsampling=str(rng.choice(list(SUBSAMPLING))),
        luma_table=_table(_IJG_LUMA, quality, rng),
        chroma_table=_table(_IJG_CHROMA, quality - rng.uniform(0, 10), rng),
    )


def _design_device(params: VirtualScannersParams, model: ScannerModel, d: int) -> ScanDevice:
    rng = rng_for(params.seed, TAG_DEVICE, model.index, d)
    return ScanDevice(
        model=model.name,
        model_index=model.index,
        index=d,
        name=f"{model.name}-d{d + 1}",
        column_gain_std=_r(rng.uniform(0.006, 0.015), 5),
        column_offset_std=_r(rng.uniform(0.001, 0.004), 5),
        row_period_px=_r(rng.uniform(6.0, 40.0), 4),
        row_amplitude=_r(rng.uniform(0.002, 0.01), 5),
        row_phase=_r(rng.uniform(0, 2 * np.pi), 5),
        gain_offset=tuple(_r(x, 5) for x in 1 + rng.normal(0, 0.01, size=3)),
        pattern_seed=int(rng.integers(0, 2**32)),
    )


def design_scanners(
    params: VirtualScannersParams | None = None,
) -> list[tuple[ScannerModel, list[ScanDevice]]]:
    """Every scanner model of ``params.seed`` with its ``devices_per_scanner`` devices."""
    params = params or VirtualScannersParams()
    out = []
    for s in range(params.scanners):
        model = _design_model(params, s)
        devices = [_design_device(params, model, d) for d in range(params.devices_per_scanner)]
        out.append((model, devices))
    return out

"""Test helpers for the evaluators: a tiny manifest on disk and tiny real torch models.

The manifest has the generators' columns (issue 2 point 5) so the evaluators are tested against
the contract, independent of the engine's state.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

CLASSES = ("cam_a", "cam_b", "cam_c")


def _source_image(rng: np.random.Generator, cls: int, size: int) -> np.ndarray:
    base = rng.integers(0, 256, size=(size, size, 3)).astype(np.float64)
    tint = np.zeros(3)
    tint[cls % 3] = 60.0
    return np.clip(base * 0.6 + tint + 30, 0, 255).astype(np.uint8)


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(img: np.ndarray, q: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=q)
    return buf.getvalue()


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(float) - b.astype(float)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def make_manifest(
    out: Path,
    per_class: tuple[int, ...] = (3, 2, 1),
    size: int = 24,
    qualities: tuple[int, ...] = (90, 50, 10),
    crops: tuple[tuple[int, int], ...] = ((0, 0), (3, 5)),
    double: tuple[tuple[int, int], ...] = ((50, 90), (90, 50), (50, 50), (90, 90)),
    suite: str = "default",
    seed: int = 0,
) -> Path:
    """Write variants + ``out/manifest/part-0.parquet``; return ``out``."""
    out = Path(out)
    (out / "variants").mkdir(parents=True, exist_ok=True)
    (out / "manifest").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for cls, count in enumerate(per_class):
        for k in range(count):
            src = _source_image(rng, cls, size)
            src_bytes = _png(src)
            sid = hashlib.sha256(src_bytes).hexdigest()[:16]
            variants: list[tuple[str, str, float | None, dict, bytes, str]] = [
                ("clean", "clean", None, {}, src_bytes, "png")
            ]
            for q in qualities:
                variants.append(("jpeg", str(q), float(q), {"quality": q}, _jpeg(src, q), "jpeg"))
            for dy, dx in crops:
                crop = src[dy:, dx:]
                variants.append(
                    ("crop", f"dy={dy},dx={dx}", None, {"dy": dy, "dx": dx}, _png(crop), "png")
                )
            for q1, q2 in double:
                once = _decode(_jpeg(src, q1))
                variants.append(
                    ("double_jpeg", f"q1={q1},q2={q2}", float(q2), {"q1": q1, "q2": q2},
                     _jpeg(once, q2), "jpeg")
                )  # fmt: skip
            for axis, level, lv, params, data, fmt in variants:
                vid = hashlib.sha256(f"{sid}|{axis}|{level}".encode()).hexdigest()[:16]
                rel = f"variants/{CLASSES[cls]}/{sid}_{axis}_{level.replace(',', '_')}.{fmt[:3]}"
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / rel).write_bytes(data)
                dec = _decode(data)
                shared = src[-dec.shape[0] :, -dec.shape[1] :]
                rows.append({
                    "variant_id": vid, "source_id": sid, "source_path": f"src/{sid}.png",
                    "source_sha256": hashlib.sha256(src_bytes).hexdigest(), "dataset": "tiny",
                    "label": CLASSES[cls], "fold": k % 2, "suite": suite, "axis": axis,
                    "level": level, "level_value": lv, "axis_params": json.dumps(params),
                    "chain": json.dumps([]), "seed": 0, "path": rel,
                    "sha256": hashlib.sha256(data).hexdigest(), "format": fmt,
                    "width": dec.shape[1], "height": dec.shape[0],
                    "jpeg_quality": params.get("quality", params.get("q2")),
                    "estimated_quality": None, "quant_tables": None,
                    "quant_tables_sha256": None, "subsampling": None,
                    "jpeg_passes": 0, "prior_grid": None, "psnr": _psnr(shared, dec),
                })  # fmt: skip
    df = pd.DataFrame(rows)
    df["level_value"] = df["level_value"].astype("float64")
    df["jpeg_quality"] = df["jpeg_quality"].astype("Int64")
    df.to_parquet(out / "manifest" / "part-0.parquet", index=False)
    return out


class TinyNet(torch.nn.Module):
    """A small CNN with fixed seeded weights (deterministic, 3 classes by default)."""

    def __init__(self, n_classes: int = 3, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, n_classes)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x))
        return self.fc(h.mean(dim=(2, 3)))


class ConstantNet(torch.nn.Module):
    """Always predicts ``cls`` (logits), whatever the image."""

    def __init__(self, cls: int, n_classes: int = 3):
        super().__init__()
        self.register_buffer("logits", torch.full((n_classes,), -5.0))
        self.logits[cls] = 5.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(x.shape[0], -1) + 0 * x.mean()


TINY_CONFIG = {"input_size": [16, 16], "fit": "center_crop"}


def tiny_net_factory():
    return TinyNet(), dict(TINY_CONFIG)


def constant_factory():
    return ConstantNet(0), dict(TINY_CONFIG)

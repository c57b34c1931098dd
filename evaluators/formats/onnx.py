"""Format ``onnx``: an ONNX model run by onnxruntime (the ``onnx`` extra); its input config is
the metadata property ``input_config`` (JSON)."""

from __future__ import annotations

import json

import numpy as np
import torch
from degradebench.generators.core.provenance import library_version

from .base import Loaded, ModelError, ModelFormat

__all__ = ["FORMAT", "load", "OnnxPredict"]


class OnnxPredict:
    """A predict callable over an onnxruntime session (CUDA provider when on a CUDA device)."""

    def __init__(self, path: str):
        import onnxruntime as ort

        self._ort = ort
        self._path = path
        self._providers = ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(path, providers=self._providers)
        self._input = self.session.get_inputs()[0].name

    def to_device(self, device: torch.device) -> None:
        """Move the session to the CUDA provider (when available) or back to CPU."""
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in self._ort.get_available_providers():
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if providers != self._providers:
            self._providers = providers
            self.session = self._ort.InferenceSession(self._path, providers=providers)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        arr = x.detach().to("cpu", torch.float32).numpy()
        out = self.session.run(None, {self._input: np.ascontiguousarray(arr)})[0]
        return torch.from_numpy(np.asarray(out)).to(x.device)


def load(spec: str) -> Loaded:
    """An onnxruntime session; a clear message when onnxruntime is not installed."""
    try:
        import onnxruntime  # noqa: F401 - is it installed? (its version: library_version)
    except ImportError:
        msg = (
            f"model {spec!r} is an ONNX file but onnxruntime is not installed; "
            "install the extra: pip install 'degradebench[onnx]'"
        )
        raise ModelError(msg) from None
    try:
        predict = OnnxPredict(spec)
    except Exception as exc:
        raise ModelError(f"model {spec!r}: onnxruntime cannot load it: {exc}") from exc
    meta = predict.session.get_modelmeta().custom_metadata_map or {}
    cfg = json.loads(meta["input_config"]) if "input_config" in meta else None
    return predict, cfg, {"onnxruntime": library_version("onnxruntime")}


FORMAT = ModelFormat(load)  # named by the file's stem

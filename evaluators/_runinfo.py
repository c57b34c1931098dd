"""``run.json``: what was evaluated, how, with which libraries, and what to know about the numbers."""

from __future__ import annotations

import json
import math
import platform
import time
from typing import Any

from degradebench.generators.core.provenance import git_revision, library_version, library_versions

from ._reuse import key_sha256
from .models import Model

__all__ = ["evaluation_versions", "run_info", "jsonable", "PhaseClock", "PHASES"]

# What evaluation adds to the manifest's libraries (read by the one version reader).
EVALUATION_LIBRARIES = ("torch", "pandas", "pyarrow", "onnxruntime", "matplotlib", "scipy")


# run.json's ``timings`` (seconds), in the order they happen. The first two only when the CLI
# ran evaluate (before the call: the interpreter, imports and the model file); ``setup`` is the
# model call's time outside the runner's own loop clock (model to the device, the dataset, the
# batch plan), ``loop`` the runner's clock (workers started, every batch decoded and scored).
PHASES = ("cli_start_to_evaluate", "model_load", "read_manifest", "results_key", "setup", "loop",
          "predictions", "metrics", "write")  # fmt: skip


class PhaseClock:
    """Seconds per phase of one evaluate call: :meth:`lap` gives the time since the previous
    lap to a phase (a phase seen twice adds up); ``before``: phases the caller measured."""

    def __init__(self, before: dict[str, float] | None = None):
        self.start = self.t = time.perf_counter()
        self.times = {k: float(v) for k, v in (before or {}).items()}

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.times[phase] = self.times.get(phase, 0.0) + now - self.t
        self.t = now

    def run(self, run) -> None:
        """Split the time since the last lap (the model call) into ``loop`` (the runner's own
        clock, ``run.seconds``) and ``setup`` (the rest)."""
        took = time.perf_counter() - self.t
        loop = min(float(getattr(run, "seconds", 0.0) or 0.0), took)
        self.times["setup"] = self.times.get("setup", 0.0) + took - loop
        self.times["loop"] = self.times.get("loop", 0.0) + loop
        self.t = time.perf_counter()

    def total(self) -> float:
        """Seconds since the clock started (run.json's ``seconds_total``)."""
        return time.perf_counter() - self.start

    def done(self, phase: str) -> dict[str, float]:
        """Lap ``phase``; every phase so far in :data:`PHASES` order, rounded to 0.1 ms."""
        self.lap(phase)
        order = {p: i for i, p in enumerate(PHASES)}
        names = sorted(self.times, key=lambda p: order.get(p, len(order)))
        return {p: round(self.times[p], 4) for p in names}


def evaluation_versions() -> dict[str, str | None]:
    """The generators' library versions plus the evaluation's, the Python and the platform."""
    out: dict[str, str | None] = {**library_versions(), "python": platform.python_version(),
                                  "platform": platform.platform()}  # fmt: skip
    for name in EVALUATION_LIBRARIES:
        v = library_version(name)
        if v is not None:
            out[name] = v
    return out


def jsonable(v: Any) -> bool:
    """Whether ``v`` can go into run.json as it is (NaN cannot)."""
    try:
        json.dumps(v, default=str)
    except (TypeError, ValueError):
        return False
    return not (isinstance(v, float) and math.isnan(v))


def _pipeline(run) -> dict:
    """How the model was fed (decode, workers and why, measured rates): run.json's record."""
    pipe = {"decode": getattr(run, "decode", "cpu"), **getattr(run, "pipeline", {})}
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in pipe.items()
            if jsonable(v)}  # fmt: skip


def run_info(
    *, model: Model, classes: list[str], mi, run, n_preds: int, n_errors: int, config: dict,
    key: dict, warnings: list[str], figures: dict, pairing: list[dict], seconds: float,
) -> dict:  # fmt: skip
    """The run.json mapping (``mi``: the ManifestInput; ``run``: the RunOutput)."""
    details = {k: v for k, v in model.details.items() if jsonable(v)}
    return {
        "degradebench_version": library_version("degradebench"),
        "git_revision": git_revision(),
        "created_unix": time.time(),
        "model": {"name": model.name, "spec": model.spec, "kind": model.kind,
                  "weights_sha256": key.get("weights_sha256"),
                  "input_config": model.input_config.to_dict(), "classes": classes, **details},
        "manifest": {"path": str(mi.root), "rows": mi.total_rows, "evaluated_rows": len(mi.frame),
                     "metadata": {k: v for k, v in mi.metadata.items() if jsonable(v)}},
        "config": {**config, "resolved_device": run.device,
                   "final_forward_batch": run.final_forward_batch, "workers": run.workers},
        "throughput": {"images": int(n_preds), "seconds": run.seconds,
                       "images_per_s": run.images_per_s,
                       "pipeline": _pipeline(run)},
        "skipped": int(n_errors),
        "warnings": warnings,
        "figures": figures,
        "pairing": pairing,
        "key": key,
        "key_sha256": key_sha256(key),
        "library_versions": evaluation_versions(),
        "seconds_total": seconds,
    }  # fmt: skip

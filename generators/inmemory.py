"""Degrade images in memory: replay a manifest chain on an image, or make a suite's variants of
one image exactly as ``generate`` writes them (same bytes, same manifest record), without an
output folder. For training loops, notebooks and checks.

    from degradebench.generators.inmemory import apply_chain, variants
    data = apply_chain("photo.png", row.chain)          # bytes: the chain ends in an encoder
    for level, data, record in variants("photo.png", suite="default", source_id="abc"):
        ...

The chain is the manifest's ``chain`` column: a JSON list (or its text) of steps
``{"op": NAME, "backend": NAME, "params": {...}}`` with the optional keys ``"preset"`` (the
platform-like preset that contributed the step) and ``"skipped"`` (true for a step that did not
run because a ``skip_if_small`` rule let the incoming file through). That format is a contract.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .axes import Peer
from .config import Config, SuiteSpec, load_config
from .core.errors import ConfigError, OpError
from .datasets import SourceRef
from .decode import DecodedSource, decode_source, with_jpeg_history
from .execute import ChainRunner, base_state, make_variant
from .ops import ImageState, make_step
from .ops.splice import donor_ids
from .plan import SourceJob, plan_source

__all__ = ["apply_chain", "variants", "STEP_KEYS", "parse_chain"]

STEP_KEYS = ("op", "backend", "params", "preset", "skipped")  # the chain step contract
_LOAD_CHECKED = ("mode_out",)


def parse_chain(chain: str | Sequence[dict]) -> list[dict]:
    """The chain as a list of step mappings; every step has the contract's keys only."""
    if isinstance(chain, (str, bytes)):
        try:
            chain = json.loads(chain)
        except ValueError as exc:
            raise ConfigError(f"chain: not JSON text ({exc})") from None
    if not isinstance(chain, Sequence) or not chain:
        raise ConfigError(f"chain: must be a non-empty list of steps, got {type(chain).__name__}")
    steps = []
    for i, step in enumerate(chain):
        if not isinstance(step, dict) or "op" not in step:
            raise ConfigError(f"chain[{i}]: a step is a mapping with 'op', got {step!r:.80}")
        extra = sorted(set(step) - set(STEP_KEYS))
        if extra:
            raise ConfigError(
                f"chain[{i}]: unknown keys {extra}; a step has {', '.join(STEP_KEYS)}"
            )
        steps.append(step)
    return steps


def _as_array(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ConfigError(
            f"image: must be a uint8 HxWx3 (RGB) or HxW (gray) array, got {arr.dtype} "
            f"{arr.shape}; convert it with np.asarray(img, dtype=np.uint8)"
        )
    arr = np.ascontiguousarray(arr)
    if arr.flags.writeable:
        arr = arr.copy()
        arr.setflags(write=False)  # ops never mutate; a frozen copy keeps the caller's safe
    return arr


def _start(image: Any, load: dict | None) -> ImageState:
    """The first state: a path is decoded under the decode policy (the load step records it),
    an array is taken as is after checking it against the load step, if any."""
    if isinstance(image, (str, Path)):
        data = Path(image).expanduser().read_bytes()
        src = with_jpeg_history(decode_source(image, data=data))
        if load is not None:
            _check_load(load, src.load_step["params"], str(image))
        return base_state(src, data)
    arr = _as_array(image)
    if load is not None:
        _check_load(load, {"mode_out": "L" if arr.ndim == 2 else "RGB"}, "the array")
    return ImageState(pixels=arr, meta={"keep": ()})


def _check_load(load: dict, got: dict, what: str) -> None:
    want = load.get("params") or {}
    keys = [k for k in want if k in got and not k.startswith("source_jpeg")]
    if what == "the array":
        keys = [k for k in _LOAD_CHECKED if k in want]
    diff = [f"{k}: chain {want[k]!r}, {what} {got[k]!r}" for k in keys if want[k] != got[k]]
    if diff:
        raise ConfigError(
            f"chain[0] (load) does not describe {what}: {'; '.join(diff)}; "
            "pass the source the chain was recorded from"
        )


Donors = Mapping[str, "np.ndarray | str | Path"]


def _with_donors(state: ImageState, donors: Donors | None) -> ImageState:
    """``state`` with the splice donors in ``meta["donors"]`` (``{source_id: pixels}``): an
    array is taken as the donor's decoded pixels, a path is decoded as ``generate`` decodes
    sources."""
    if not donors:
        return state
    if not isinstance(donors, Mapping):
        raise ConfigError(
            f"donors: must be a mapping {{source_id: array or path}}, got {type(donors).__name__}"
        )
    pixels = {}
    for sid, donor in donors.items():
        try:
            if isinstance(donor, (str, Path)):
                path = Path(donor).expanduser()
                pixels[str(sid)] = decode_source(str(path), data=path.read_bytes()).pixels
            else:
                pixels[str(sid)] = _as_array(donor)
        except (ConfigError, OSError) as exc:
            raise ConfigError(f"donors[{sid!r}]: {exc}") from None
    return state.replace(meta={**state.meta, "donors": pixels})


def apply_chain(
    image: np.ndarray | str | Path, chain: str | Sequence[dict], *, donors: Donors | None = None
) -> bytes | np.ndarray:
    """Apply a chain, as the manifest stores it, to an image.

    Args:
        image: a uint8 HxWx3 (or HxW) array, or the path of an image file (decoded under the
            decode policy of ``generators.decode``).
        chain: the manifest's ``chain`` (JSON text or list of ``{op, backend, params}`` steps,
            optional ``preset`` and ``skipped``). A leading ``load`` step is honoured for a path
            (the file must decode as it records) and checked for an array (gray vs RGB).
        donors: the splice donors the chain names, ``{donor_source_id: array or path}`` (an
            array: the donor's decoded pixels; a path: decoded as ``generate`` decodes sources).

    Returns:
        The encoded bytes when the chain's final state is an encoded file (an encoder, jpeg,
        png, webp, codec..., possibly followed by steps that only change what the next encoder
        writes, like ``strip_metadata``), else the uint8 array. Never a tuple.

    Raises:
        ConfigError: a malformed chain, an unknown op or a load step that does not match.
        OpError: an op refused its input, e.g. a splice whose donor is not in ``donors``.
    """
    steps = parse_chain(chain)
    load = steps[0] if steps[0]["op"] == "load" else None
    built = [
        make_step(s, f"chain[{i}]")
        for i, s in enumerate(steps)
        if s["op"] != "load"
    ]
    if any(s["op"] == "load" for s in steps[1:]):
        raise ConfigError("chain: 'load' may only be the first step")
    start = _with_donors(_start(image, load), donors)
    if not built:
        return start.require_pixels("the chain's result")
    _, final, _ = ChainRunner(start).run(tuple(built))  # as generate runs it (skip rules too)
    return _chain_result(final)


def _chain_result(final: ImageState) -> bytes | np.ndarray:
    """What a chain made, from its final state: the encoded file when the state holds one that
    is the current image (no pixels after a lossy encoder, or pixels the file decodes to
    exactly), e.g. after ``[jpeg, strip_metadata]``; else the pixels."""
    if final.data is not None and (final.pixels is None or final.lossless_pixels):
        return final.data
    return final.require_pixels("the chain's result")


def _source(
    image: Any, source_id: str | None
) -> tuple[SourceRef, str, str, DecodedSource, ImageState]:
    if isinstance(image, (str, Path)):
        path = str(Path(image).expanduser().resolve())
        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        src = with_jpeg_history(decode_source(path, data=data))
        state = base_state(src, data)
    else:
        arr = _as_array(image)
        path, digest = "<array>", hashlib.sha256(arr.tobytes()).hexdigest()
        params = {"format": "array", "mode_out": "L" if arr.ndim == 2 else "RGB"}
        src = DecodedSource(
            pixels=arr, load_step={"op": "load", "backend": "numpy", "params": params},
            is_jpeg=False, jpeg_grid=None, exif_make=None, exif_model=None, has_metadata=False,
            width=int(arr.shape[1]), height=int(arr.shape[0]),
        )  # fmt: skip
        state = ImageState(pixels=arr, meta={"keep": ()})
    ref = SourceRef(path, "", path, Path(path).name)
    return ref, source_id or digest[:16], digest, src, state


def variants(
    image: np.ndarray | str | Path,
    *,
    suite: str | SuiteSpec,
    source_id: str | None = None,
    seed: int | None = None,
    config: str | Path | Config | None = None,
    psnr: bool = True,
    donors: Donors | None = None,
) -> Iterator[tuple[str, bytes, dict]]:
    """Yield ``(level, data, record)`` for every variant of ``suite`` of one image, as
    ``generate`` makes them: the same plan (seeded by the suite seed and ``source_id``), the
    same bytes and the same manifest record (``dataset``, ``label`` and ``fold`` are unknown
    here: None, ``""``, -1).

    Args:
        image: a path (decoded as ``generate`` decodes sources) or a uint8 HxWx3/HxW array.
        suite: a suite name of ``config`` or a ``SuiteSpec``.
        source_id: the id the variants are seeded by; default: the first 16 hex digits of the
            file's sha256 (what ``generate`` uses), or of the array's bytes.
        seed: replaces the suite's seed (None: the suite's own).
        config: datasets.yaml path or a loaded ``Config`` (None: the default config).
        psnr: compute the ``psnr`` column as ``generate`` does by default.
        donors: splice donors ``{source_id: array or path}``; they are the image's peers when
            a splice chooses its donor (labels unknown, fold -1) and deliver the donor pixels.

    Raises:
        OpError: a variant cannot be made (e.g. a splice without a donor; the message says why).
    """
    spec = suite if isinstance(suite, SuiteSpec) else _config(config).suite(suite)
    if seed is not None:
        spec = dataclasses.replace(spec, seed=int(seed))
    ref, sid, digest, src, state = _source(image, source_id)
    peers = tuple(Peer(str(d), None, -1) for d in sorted(donors or {}) if str(d) != sid)
    plans = tuple(plan_source(spec, sid, peers=peers))
    job = SourceJob(ref, sid, digest, None, spec.name, plans)
    runner = ChainRunner(_with_donors(state, donors), plans)
    for plan in plans:
        try:
            data, record = make_variant(job, plan, src, runner, psnr)
        except OpError as exc:
            if not _lacks_donor(plan.chain, donors or {}):
                raise
            raise OpError(
                f"variant {plan.axis}/{plan.level}: {exc} (in memory: pass "
                f"donors={{source_id: array or path}} to variants)"
            ) from None
        yield plan.level, data, record


def _lacks_donor(chain: Sequence, donors: Donors) -> bool:
    """True when a splice step of ``chain`` has no donor, or one ``donors`` does not hold."""
    splices = [s for s in chain if s.op == "splice"]
    return any(s.params.donor_source_id is None for s in splices) or any(
        sid not in donors for sid in donor_ids(splices)
    )


def _config(config: str | Path | Config | None) -> Config:
    return config if isinstance(config, Config) else load_config(config)

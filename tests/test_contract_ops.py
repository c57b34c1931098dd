"""Every registered op passes ``check_op`` and every axis ``check_axis`` (tests/_harness.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _harness import AXIS_SAMPLES, OP_SAMPLES, _state, check_axis, check_op
from degradebench.generators.axes import AXES
from degradebench.generators.backends import BACKENDS
from degradebench.generators.ops import OPS, ImageState, OpDef, make_step


@pytest.mark.parametrize("name", OPS.names())
def test_every_op_honours_the_contract(name: str) -> None:
    assert check_op(name) >= len(OPS.get(name).backends)


@pytest.mark.parametrize("name", AXES.names())
def test_every_axis_honours_the_contract(name: str) -> None:
    assert check_axis(name) > 0


def test_samples_name_only_registered_ops_and_axes() -> None:
    assert set(OP_SAMPLES) <= set(OPS.names()), set(OP_SAMPLES) - set(OPS.names())
    assert set(AXIS_SAMPLES) <= set(AXES.names()), set(AXIS_SAMPLES) - set(AXES.names())


def test_every_backend_of_an_op_is_a_registered_backend_object() -> None:
    for name in OPS.names():
        for backend in OPS.get(name).backends:
            assert backend in BACKENDS, (name, backend)


def _bad_op(kind: str):  # noqa: ANN202 - an OpDef that breaks one rule
    def apply(state: ImageState, p, backend: str) -> ImageState:  # noqa: ANN001
        img = state.require_pixels("bad")
        if kind == "mutates":
            img[0, 0] = img[0, 0] + 1  # writes into its input
            return state.replace(pixels=img.copy())
        if kind == "random":
            return state.replace(
                pixels=np.random.default_rng().integers(0, 255, img.shape, np.uint8)
            )
        if kind == "float":
            return state.replace(pixels=img.astype(np.float32))
        return state.replace(pixels=img[2:, 3:].copy(), region=(2, 3))  # forgets the grids

    params = make_step({"op": "gamma", "gamma": 1.0}).params
    return OpDef("bad", type(params), ("numpy",), apply), params


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("mutates", "input pixels changed"),
        ("random", "not deterministic"),
        ("float", "not uint8"),
        ("grid", "grids"),
    ],
)
def test_check_op_catches_a_broken_op(monkeypatch, kind: str, message: str) -> None:
    opdef, params = _bad_op(kind)
    monkeypatch.setitem(OPS._items, "bad", opdef)
    step = make_step({"op": "gamma", "gamma": 1.0})
    bad_step = dataclasses.replace(step, op="bad", backend="numpy")
    monkeypatch.setitem(OP_SAMPLES, "bad", [(_state, lambda b: bad_step)])
    monkeypatch.setattr("_harness._check_round_trip", lambda step, where: None)
    with pytest.raises(AssertionError, match=message):
        check_op("bad")

"""One validation path: a record checks its fields when built, from Python or from YAML, with one
error type (ParamError, both a ConfigError and an OpError); from_mapping only adds the path."""

from __future__ import annotations

from dataclasses import field

import pytest
from degradebench.generators.axes import AXES
from degradebench.generators.core.errors import ConfigError, OpError, ParamError
from degradebench.generators.core.records import from_mapping, is_record, record, spec
from degradebench.generators.ops import OPS
from degradebench.generators.ops.crop import CropParams
from degradebench.generators.ops.jpeg import JpegParams
from degradebench.generators.ops.resize import ResizeParams
from degradebench.generators.virtual_cameras import VirtualCamerasParams


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (JpegParams, {"quality": 130}, "quality: must be an integer 1..100, got 130"),
        (JpegParams, {"quality": 90, "subsampling": "4:1:1"}, "subsampling: must be one of"),
        (CropParams, {"top": -1}, "top: must be an integer >= 0, got -1"),
        (ResizeParams, {"method": "bilinear", "scale": "big"}, "scale: must be a finite number"),
        (ResizeParams, {"method": "bilinear", "mode": "shorter"}, "side: mode 'shorter' needs"),
        (VirtualCamerasParams, {"size": 32}, "size: must be an integer 64..4096, got 32"),
    ],
)
def test_python_and_yaml_give_the_same_error(cls, kwargs: dict, message: str) -> None:
    with pytest.raises(ParamError) as py:
        cls(**kwargs)
    assert str(py.value).startswith(message)
    with pytest.raises(ParamError) as yml:
        from_mapping(cls, kwargs, "suites.s.axes.a")
    assert str(yml.value) == f"suites.s.axes.a.{py.value}"
    assert isinstance(py.value, ConfigError) and isinstance(py.value, OpError)


def test_values_are_normalised_at_construction() -> None:
    p = ResizeParams(method="bilinear", mode="exact", size=[4, 5.0])
    assert p.size == (4, 5) and isinstance(p.size, tuple) and isinstance(p.size[1], int)
    assert VirtualCamerasParams(exposure_ev=[-1, 0]).exposure_ev == (-1.0, 0.0)


def test_every_registered_params_record_validates_itself() -> None:
    for registry in (OPS, AXES):
        for name in registry.names():
            assert is_record(registry.get(name).params_cls), name


def test_record_refuses_post_init_and_runs_check() -> None:
    with pytest.raises(TypeError, match="_check"):

        @record
        class Bad:
            x: int = 0

            def __post_init__(self) -> None: ...

    @record
    class Span:
        lo: int = field(default=0, metadata=spec(lo=0))
        hi: int = field(default=1, metadata=spec(lo=0, hi=10))

        def _check(self) -> None:
            if self.lo > self.hi:
                raise ValueError(f"lo: must not exceed hi ({self.hi}), got {self.lo}")

    assert Span(lo=2, hi=3).lo == 2
    with pytest.raises(ParamError, match=r"lo: must not exceed hi \(3\), got 4"):
        Span(lo=4, hi=3)
    with pytest.raises(ParamError, match="hi: must be an integer 0..10, got 11"):
        Span(hi=11)
    with pytest.raises(ParamError, match="lo: must be an integer >= 0, got -1"):
        Span(lo=-1)

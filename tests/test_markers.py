"""The one hook behind the ``slow`` and ``gpu`` markers (tests/conftest.py)."""

from __future__ import annotations

import conftest
import pytest


class _Config:
    def __init__(self, runslow: bool):
        self.runslow = runslow

    def getoption(self, name: str):
        assert name == "--runslow"
        return self.runslow


class _Item:
    def __init__(self, *markers: str):
        self.keywords = dict.fromkeys(markers, True)
        self.skips: list[str] = []

    def add_marker(self, mark) -> None:
        self.skips.append(mark.kwargs["reason"])


@pytest.mark.parametrize(
    ("runslow", "env", "skipped"),
    [(False, "", True), (True, "", False), (False, "1", False), (False, "0", True)],
)
def test_slow_runs_only_when_asked(monkeypatch, runslow, env, skipped):
    monkeypatch.setenv("DEGRADEBENCH_SLOW", env)
    slow, plain = _Item("slow"), _Item()
    conftest.pytest_collection_modifyitems(_Config(runslow), [slow, plain])
    assert bool(slow.skips) is skipped and not plain.skips
    if skipped:
        assert slow.skips == ["slow: run with --runslow or DEGRADEBENCH_SLOW=1"]


@pytest.mark.parametrize("cuda", [False, True])
def test_gpu_runs_only_with_cuda(monkeypatch, cuda):
    monkeypatch.setattr(conftest, "_cuda_available", lambda: cuda)
    monkeypatch.delenv("DEGRADEBENCH_SLOW", raising=False)
    gpu = _Item("gpu")
    conftest.pytest_collection_modifyitems(_Config(False), [gpu])
    assert gpu.skips == ([] if cuda else ["gpu: needs CUDA"])

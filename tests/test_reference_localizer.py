"""The reference localizer: camera-model inconsistency per tile, as a map and an image score."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from degradebench.evaluators.reference import DEFAULT_CONFIG as REFERENCE_CONFIG
from degradebench.evaluators.reference import load_reference
from degradebench.evaluators.reference_localizer import (
    DEFAULT_CONFIG,
    MIN_SIDE,
    ReferenceLocalizer,
    interpolation_matrix,
    load_reference_localizer,
)
from degradebench.generators.virtual_cameras import VirtualCamerasParams


@pytest.fixture(scope="module")
def localizer() -> ReferenceLocalizer:
    return load_reference_localizer()[0]


def _run(model: ReferenceLocalizer, x: torch.Tensor) -> dict[str, torch.Tensor]:
    with torch.inference_mode():
        return model(x)


@pytest.mark.parametrize("shape", [(2, 100, 130), (1, 64, 64), (1, 40, 130), (3, 97, 64)])
def test_outputs_have_the_image_size_and_lie_in_unit_range(localizer, shape):
    n, h, w = shape
    x = torch.randn(n, 3, h, w, generator=torch.Generator().manual_seed(h * w)) * 0.3
    out = _run(localizer, x)
    assert set(out) == {"score", "map"}
    assert out["score"].shape == (n,) and out["map"].shape == (n, 1, h, w)
    for v in out.values():
        assert v.dtype == torch.float32 and torch.isfinite(v).all()
        assert v.min() >= 0 and v.max() <= 1


def test_one_tile_gives_a_flat_map_and_too_small_an_image_is_refused(localizer):
    # 64x64 and 40x50 are one tile each (a side shorter than 64 px is one tile of that side).
    for h, w in ((64, 64), (40, 50)):
        out = _run(localizer, torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(1)))
        m = out["map"][0, 0]
        assert torch.all(m == m[0, 0]) and torch.isclose(out["score"][0], m[0, 0])
    with pytest.raises(ValueError, match=r"image 12x200 is smaller than 16x16"):
        _run(localizer, torch.zeros(1, 3, 12, 200))
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        _run(localizer, torch.zeros(3, 64, 64))
    assert MIN_SIDE == 16


def test_deterministic(localizer):
    x = torch.randn(2, 3, 96, 160, generator=torch.Generator().manual_seed(3))
    a, b = _run(localizer, x), _run(localizer, x.clone())
    assert torch.equal(a["map"], b["map"]) and torch.equal(a["score"], b["score"])
    # Batching does not change an image's result.
    one = _run(localizer, x[1:])
    torch.testing.assert_close(one["map"][0], a["map"][1], atol=1e-5, rtol=0)


def test_tiles_in_chunks_match_tiles_cut_by_hand(localizer, monkeypatch):
    import degradebench.evaluators.reference_localizer as mod

    x = torch.randn(2, 3, 100, 160, generator=torch.Generator().manual_seed(5)) * 0.3
    with torch.inference_mode():
        whole = localizer.tile_probs(x)  # [2, 6, 2, 4]: tiles at y 0, 32 and x 0, 32, 64, 96
        monkeypatch.setattr(mod, "CHUNK", 5)  # rows of 4 tiles: chunks of 8, 8
        chunked = localizer.tile_probs(x)
        by_hand = torch.softmax(localizer.net(x[1:, :, 32:96, 64:128]), dim=1)[0]
    assert whole.shape == (2, 6, 2, 4)
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=0)
    torch.testing.assert_close(whole[1, :, 1, 2], by_hand, atol=1e-5, rtol=0)


def test_interpolation_runs_between_tile_centres_and_holds_outside():
    like = torch.zeros(1, dtype=torch.float32)
    m = interpolation_matrix(130, 3, 64, 32, like)  # tiles at 0, 32, 64; centres 32, 64, 96
    torch.testing.assert_close(m.sum(1), torch.ones(130))
    values = torch.tensor([0.0, 1.0, 0.0])
    px = m @ values
    assert torch.all(px[:32] == 0) and torch.all(px[97:] == 0)  # before the first / after the last
    assert px[63] == pytest.approx(31.5 / 32) and px[64] == pytest.approx(31.5 / 32)
    assert px.argmax() in (63, 64)


def test_map_marks_the_inconsistent_tile():
    """A stub net: tiles with a bright centre read as class 1, others as class 0."""

    class Stub(torch.nn.Module):
        def forward(self, t):
            c = t[:, 0, 24:40, 24:40].mean(dim=(1, 2))
            return torch.stack([-40 * (c - 0.9), 40 * (c - 0.9)], dim=1)

    loc = ReferenceLocalizer(Stub(), stride=32, smooth=0, top_k=1).eval()
    x = torch.zeros(1, 3, 192, 192)
    x[:, :, 64:128, 64:128] = 1.0  # the tile at (64, 64) of 5x5; its neighbours see half of it
    out = _run(loc, x)
    m = out["map"][0, 0]
    assert m[96, 96] > 0.95 and m[10, 10] < 0.01 and m[180, 180] < 0.01 and m[40, 96] < 0.05
    assert out["score"][0] > 0.99


def test_input_config_is_the_references_normalisation():
    cfg = json.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    ref = json.loads(REFERENCE_CONFIG.read_text(encoding="utf-8"))
    assert cfg["task"] == "localization" and cfg["fit"] == "full"
    assert cfg["output"] == "probabilities"
    for key in ("channel_order", "value_range", "mean", "std"):
        assert cfg[key] == ref[key], key


def test_builtin_name_loads_the_reference_weights():
    from degradebench.evaluators.models import BUILTIN_MODELS, load_model

    assert "reference-localizer" in BUILTIN_MODELS
    model = load_model("reference-localizer")
    assert model.kind == "builtin" and model.name == "reference-localizer"
    assert model.input_config.fit == "full" and model.input_config.output == "probabilities"
    assert model.input_config.task == "localization"
    net, _ = load_reference()
    ref_state = net.state_dict()
    for name, t in model.module.net.state_dict().items():
        assert torch.equal(t, ref_state[name]), name
    out = model.predict(torch.zeros(1, 3, 80, 96))
    assert out["map"].shape == (1, 1, 80, 96)


def test_spliced_virtual_camera_lights_up_inside_the_mask(virtual_cameras, localizer):
    """On clean images a region pasted from another camera model scores above the host."""
    from degradebench.evaluators._train_reference import load_split
    from degradebench.evaluators.metrics.forensic_pixel import pixel_auc
    from degradebench.measure_localizer import make_splices

    root = virtual_cameras(VirtualCamerasParams(), jobs=2)  # shared with test_reference_model
    items, _ = load_split(root, (0,))
    picked = items[::12][:6]  # six hosts, one per camera model
    images = [i for i, _, _ in picked]
    labels = [lab for _, lab, _ in picked]
    assert len(set(labels)) == 6
    spliced = make_splices(images, labels, np.random.default_rng(0))
    x = torch.from_numpy(np.stack([s[1] for s in spliced] + images)).permute(0, 3, 1, 2)
    x = (x.float() / 255 - 0.5) / 0.25
    out = _run(localizer, x)
    maps = out["map"][:, 0].numpy()
    aucs = [pixel_auc(maps[k], s[2]) for k, s in enumerate(spliced)]
    assert np.mean(aucs) > 0.7, aucs
    assert sum(a > 0.5 for a in aucs) >= 5, aucs
    scores = out["score"].numpy()
    assert scores[:6].mean() > scores[6:].mean() + 0.3, scores  # spliced above authentic

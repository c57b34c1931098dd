"""The reference scanner model: architecture, deterministic training, loading, built-in names,
the shipped weights on held-out documents, and its tile-inconsistency localizer."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from degradebench.cli import main
from degradebench.evaluators._train_reference import load_split
from degradebench.evaluators._train_reference_scanner import (
    SCANNER_DEFAULTS,
    held_out_accuracy,
    train_reference_scanner,
)
from degradebench.evaluators.reference import DEFAULT_WEIGHTS as CAMERA_WEIGHTS
from degradebench.evaluators.reference import predict_image
from degradebench.evaluators.reference_scanner import (
    CONFIG_KEYS,
    DEFAULT_WEIGHTS,
    build_scanner_model,
    load_reference_scanner,
    load_reference_scanner_localizer,
)
from degradebench.generators.core.errors import ConfigError
from PIL import Image

FAST = {"epochs": 1, "patches_per_image": 4, "batch_size": 16, "threads": 1, "progress": False}
SCANNERS = {  # blur sigma, noise sigma, RGB gain, column-pattern amplitude, format
    "scan-a": (0.4, 1.0, (1.00, 1.00, 1.00), 0.0, "png"),
    "scan-b": (1.2, 3.0, (1.00, 0.97, 0.92), 2.0, "png"),
    "scan-c": (0.8, 2.0, (0.95, 1.00, 1.00), 1.0, "jpg"),
}


def _page(doc: int) -> np.ndarray:
    """A tiny stand-in page: paper with dark 'text lines' drawn from the document's seed."""
    rng = np.random.default_rng(doc)
    page = np.full((160, 128), 245.0)
    for top in range(12, 150, 14):
        for _ in range(rng.integers(2, 6)):
            x = int(rng.integers(4, 100))
            page[top : top + 7, x : x + int(rng.integers(6, 24))] = rng.uniform(20, 60)
    return page


def _scan(page: np.ndarray, scanner: str, seed: int) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    blur, noise, gain, cols, _ = SCANNERS[scanner]
    rng = np.random.default_rng(seed)
    img = gaussian_filter(page, blur)[..., None] * np.array(gain)
    pattern = np.random.default_rng(ord(scanner[-1])).normal(0, cols, 128)  # one per scanner
    img = img + pattern[None, :, None] + rng.normal(0, noise, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def build_stand_in(root: Path, documents: int = 10) -> Path:
    """``root/<scanner>/<doc>.png|.jpg`` and ``root/list.csv`` (path,label,group = document),
    the virtual-scanners layout, made in well under a second."""
    rows = ["path,label,group"]
    for doc in range(documents):
        page = _page(doc)
        for s, scanner in enumerate(SCANNERS):
            fmt = SCANNERS[scanner][4]
            rel = f"{scanner}/doc{doc:02d}.{fmt}"
            (root / scanner).mkdir(parents=True, exist_ok=True)
            img = Image.fromarray(_scan(page, scanner, doc * 10 + s))
            img.save(root / rel, **({"quality": 80} if fmt == "jpg" else {}))
            rows.append(f"{rel},{scanner},doc{doc:02d}")
    (root / "list.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory) -> Path:
    return build_stand_in(tmp_path_factory.mktemp("scans"))


@pytest.fixture(scope="module")
def trained(stand_in, tmp_path_factory) -> Path:
    return train_reference_scanner(stand_in, tmp_path_factory.mktemp("m"), seed=3, **FAST)


def test_architecture_sees_residuals_and_pixels():
    model = build_scanner_model(4).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 4)
    assert sum(p.numel() for p in model.parameters()) < 500_000
    assert model.features[0].in_channels == 15  # 12 residuals + RGB
    assert build_scanner_model(4, raw=False).features[0].in_channels == 12
    with pytest.raises(ValueError, match="num_classes: must be an integer >= 2, got 1"):
        build_scanner_model(1)
    with pytest.raises(ValueError, match="width: must be an integer >= 1, got 0"):
        build_scanner_model(3, width=0)


def test_same_seed_same_weights_and_the_digest_is_recorded(stand_in, trained, tmp_path):
    again = train_reference_scanner(stand_in, tmp_path / "b", seed=3, **FAST)
    other = train_reference_scanner(stand_in, tmp_path / "c", seed=4, **FAST)
    assert trained.read_bytes() == again.read_bytes()
    s1, s3 = (torch.load(w, weights_only=True) for w in (trained, other))
    assert not all(torch.equal(s1[k], s3[k]) for k in s1)
    record = json.loads(trained.with_name("reference_scanner_training.json").read_text())
    assert record["weights_sha256"] == hashlib.sha256(trained.read_bytes()).hexdigest()
    assert record["recipe"]["threads"] == 1 and record["recipe"]["folds_train"] == [1, 2, 3, 4]
    assert record["recipe"]["raw"] is True and record["classes"] == sorted(SCANNERS)


def test_trained_output_loads_and_predicts(stand_in, trained):
    model, config = load_reference_scanner(trained)
    assert tuple(config) == CONFIG_KEYS and not model.training
    assert config["classes"] == sorted(SCANNERS) and config["fit"] == "tile"
    items, _ = load_split(stand_in, (0,))
    assert items and {lab for _, lab, _ in items} == set(SCANNERS)  # a document, every scanner
    scores = predict_image(model, config, [img for img, _, _ in items])
    assert scores.shape == (len(items), 3) and np.isfinite(scores).all()
    acc, n = held_out_accuracy(trained, stand_in)
    assert n == len(items) and 0 <= acc <= 1


def test_folds_never_split_a_document(stand_in):
    train, _ = load_split(stand_in, (1, 2, 3, 4))
    held, _ = load_split(stand_in, (0,))
    docs = lambda items: {Path(key).stem for _, _, key in items}  # noqa: E731
    assert docs(held) and not docs(train) & docs(held)


def test_foreign_or_unsafe_weights_are_refused(trained, tmp_path):
    cfg = trained.with_name("reference_scanner_config.json")
    bad = tmp_path / "pickled" / "reference_scanner_weights.pt"
    bad.parent.mkdir()
    (bad.parent / cfg.name).write_bytes(cfg.read_bytes())
    torch.save({"w": torch.zeros(1), "code": pickle.loads(pickle.dumps(Path("x")))}, bad)
    with pytest.raises(ConfigError, match="refused without running it"):
        load_reference_scanner(bad)
    camera = tmp_path / "camera" / "reference_scanner_weights.pt"
    camera.parent.mkdir()
    (camera.parent / cfg.name).write_bytes(cfg.read_bytes())
    camera.write_bytes(CAMERA_WEIGHTS.read_bytes())
    with pytest.raises(ConfigError, match="does not match the scanner architecture"):
        load_reference_scanner(camera)  # 6 camera classes against a 3-scanner config
    torch.save({"features.0.weight": torch.zeros(8, 7, 3, 3)}, camera)
    with pytest.raises(ConfigError, match="first block takes 7 channels; a reference-scanner"):
        load_reference_scanner(camera)
    with pytest.raises(ConfigError, match="reference_scanner_config.json: input config not found"):
        load_reference_scanner(tmp_path / "none" / "w.pt")


def test_bad_arguments_name_the_value(stand_in, tmp_path):
    with pytest.raises(ConfigError, match="epochs: must be an integer >= 1, got 0"):
        train_reference_scanner(stand_in, tmp_path, epochs=0)
    with pytest.raises(ConfigError, match="image smaller than the 256px patch"):
        train_reference_scanner(stand_in, tmp_path, epochs=1, patch=256)


def test_cli_train_reference_task_scanner(stand_in, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["train-reference", "--task", "scanner", "--dataset-root", str(stand_in), "--out",
            str(out), "--epochs", "1", "--patches-per-image", "2", "--threads", "1", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert (out / "reference_scanner_weights.pt").is_file()
    assert not (out / "reference_weights.pt").exists()
    assert "held-out fold 0" in capsys.readouterr().err
    bad = ["train-reference", "--task", "scanner", "--dataset-root", str(tmp_path / "nope")]
    assert main(bad) == 2
    assert "leave --dataset-root out to build the virtual scanners" in capsys.readouterr().err


def test_localizer_on_trained_weights_maps_the_page(trained):
    loc, config = load_reference_scanner_localizer(trained)
    assert config["task"] == "localization" and config["fit"] == "full"
    assert config["mean"] == SCANNER_DEFAULTS["mean"] and loc.tile == 64
    x = torch.randn(1, 3, 96, 160, generator=torch.Generator().manual_seed(0)) * 0.3
    with torch.inference_mode():
        out = loc(x)
    assert out["map"].shape == (1, 1, 96, 160) and out["score"].shape == (1,)
    assert 0 <= out["map"].min() and out["map"].max() <= 1


def test_builtin_names_load_the_shipped_weights():
    from degradebench.evaluators.models import BUILTIN_MODELS, load_model

    assert {"reference-scanner", "reference-scanner-localizer"} <= set(BUILTIN_MODELS.names())
    state = torch.load(DEFAULT_WEIGHTS, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert DEFAULT_WEIGHTS.stat().st_size < 2 * 1024 * 1024
    record = json.loads(DEFAULT_WEIGHTS.with_name("reference_scanner_training.json").read_text())
    assert record["weights_sha256"] == hashlib.sha256(DEFAULT_WEIGHTS.read_bytes()).hexdigest()
    model = load_model("reference-scanner")
    assert model.kind == "builtin" and model.input_config.fit == "tile"
    assert list(model.input_config.classes) == record["classes"]
    loc = load_model("reference-scanner-localizer")
    assert loc.input_config.task == "localization"
    for name, t in loc.module.net.state_dict().items():
        assert torch.equal(t, state[name]), name


@pytest.fixture(scope="module")
def default_scans(tmp_path_factory) -> Path:
    """The default virtual-scanners build (the shipped weights' training data), seconds."""
    from degradebench.generators.virtual_scanners import (
        VirtualScannersParams,
        build_virtual_scanners,
    )

    out = tmp_path_factory.mktemp("vs") / "virtual-scanners"
    return Path(build_virtual_scanners(VirtualScannersParams(), out, jobs=2)).parent


def test_shipped_model_on_held_out_documents_of_the_default_build(default_scans):
    """The issue's bar: >= 90% clean on fold 0, whose documents training never saw."""
    _, config = load_reference_scanner()
    items, classes = load_split(default_scans, (0,))
    assert classes == config["classes"] and len(items) >= 24
    acc, n = held_out_accuracy(None, default_scans)
    assert n == len(items) and acc >= 0.9, acc


def test_shipped_localizer_lights_up_a_region_from_another_scanner(default_scans):
    from degradebench.evaluators.metrics.forensic_pixel import pixel_auc

    loc, config = load_reference_scanner_localizer()
    items, _ = load_split(default_scans, (0,))
    rng = np.random.default_rng(0)
    aucs, spliced, authentic = [], [], []
    for host, label, _ in items[::6]:
        donor = next(img for img, lab, _ in items[3::5] if lab != label)
        side = min(*host.shape[:2], *donor.shape[:2]) // 32 * 16  # about half the page
        y, x = (int(rng.integers(0, (n - side) // 16 + 1)) * 16 for n in host.shape[:2])
        fake = host.copy()
        fake[y : y + side, x : x + side] = donor[:side, :side]
        mask = np.zeros(host.shape[:2], bool)
        mask[y : y + side, x : x + side] = True
        batch = torch.from_numpy(np.stack([fake, host])).permute(0, 3, 1, 2).float() / 255
        with torch.inference_mode():
            out = loc((batch - 0.5) / 0.25)
        aucs.append(pixel_auc(out["map"][0, 0].numpy(), mask))
        spliced.append(float(out["score"][0]))
        authentic.append(float(out["score"][1]))
    assert len(aucs) >= 4 and np.mean(aucs) > 0.8, aucs
    assert np.mean(spliced) > np.mean(authentic) + 0.3, (spliced, authentic)


def test_measure_tool_forges_a_field_and_rescans_with_the_same_scanner(default_scans):
    from degradebench.measure_reference_scanner import _forge, _Rescanner

    meta = json.loads((default_scans / "metadata.json").read_text())
    rescan = _Rescanner(meta)
    items, _ = load_split(default_scans, (0,))
    for row in items:
        layout = json.loads((default_scans / row[2]).with_suffix(".json").read_text())
        forged = _forge(row[0], layout)
        if forged is not None:
            break
    assert forged is not None, "no held-out scan has a field with a digit"
    img, label, key = row
    fake, mask = forged
    assert mask.any() and np.array_equal(mask, (fake != img).any(axis=2))
    out, info = rescan(img, row, 0, 0, info=True)
    assert info["scanner"] == label and info["device"].startswith(label + "-")
    assert info["device"] != layout["device"]  # another unit of the same model
    assert abs(out.shape[0] - img.shape[0]) <= 0.05 * img.shape[0]

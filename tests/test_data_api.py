"""The training-side data API (issue 15, points 1 and 2): ``ManifestDataset`` over a generated OUT
folder (folds keep sources and groups apart, also for a dataset given by path) and ``Degrade``
(policies drawn per (seed, epoch, index) whatever the worker count; the pixels of a drawn chain
equal the decoded file ``generate`` wrote for that chain)."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import photo
from PIL import Image

README = Path(__file__).resolve().parents[1] / "README.md"
SHIPPED = Path(__file__).resolve().parents[1] / "generators" / "datasets.yaml"

SUITE = {
    "seed": 1,
    "axes": {
        "jpeg": {"qualities": [90]},
        "double_jpeg": {"q1": [70], "q2": [90], "shifts": [[0, 0]]},
        "crop": {"offsets": [[3, 5]], "save": "png"},
    },
}


def _config(tmp: Path, suites: dict, datasets: dict | None = None) -> Path:
    """The shipped config's presets and policies with our own datasets and suites."""
    raw = yaml.safe_load(SHIPPED.read_text())
    raw["datasets"] = datasets or {}
    raw["suites"] = suites
    path = tmp / "datasets.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _list_folder(root: Path, n_groups: int = 6, per_group: int = 2) -> dict[str, str]:
    """root/list.csv (path,label,group) over PNG images; returns source file name -> group."""
    root.mkdir(parents=True)
    groups, lines = {}, ["path,label,group"]
    names = ["astronaut", "coffee", "chelsea"]
    for g in range(n_groups):
        label = "cam-a" if g % 2 == 0 else "cam-b"
        for k in range(per_group):
            name = f"g{g}_{k}.png"
            arr = photo(names[(g + k) % 3], 64, 10 + 13 * g, 20 + 17 * k)
            Image.fromarray(arr).save(root / name)
            groups[name] = f"group{g}"
            lines.append(f"{name},{label},group{g}")
    (root / "list.csv").write_text("\n".join(lines) + "\n")
    return groups


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A list dataset given by path (``--dataset DIR``), generated with a small suite."""
    import degradebench as db

    tmp = tmp_path_factory.mktemp("data_api")
    groups = _list_folder(tmp / "photos")
    cfg = _config(tmp, {"small": SUITE})
    out = tmp / "out"
    db.generate(config=cfg, dataset=str(tmp / "photos"), suite="small", out=out, progress=False)
    return out, groups, cfg


def _group_of(groups: dict[str, str], provenance: dict) -> str:
    return groups[Path(provenance["source_path"]).name]


# --- ManifestDataset --------------------------------------------------------------------------


def test_folds_never_share_a_source_or_a_group(generated):
    from degradebench.data import ManifestDataset

    out, groups, _ = generated
    val = ManifestDataset(out, folds=[0])
    train = ManifestDataset(out, folds=[1, 2, 3, 4])
    assert len(val) and len(train) and len(val) + len(train) == len(ManifestDataset(out))
    assert {p["fold"] for p in val.provenance} == {0}
    assert 0 not in {p["fold"] for p in train.provenance}
    assert not {p["source_id"] for p in val.provenance} & {p["source_id"] for p in train.provenance}
    val_groups = {_group_of(groups, p) for p in val.provenance}
    train_groups = {_group_of(groups, p) for p in train.provenance}
    assert not val_groups & train_groups
    # the groups hold several sources each, so a split that ignored them would show here
    assert all(list(groups.values()).count(g) == 2 for g in val_groups)
    assert ManifestDataset(out, folds="1,2,3,4").provenance == train.provenance


def test_items_are_images_targets_and_provenance(generated):
    from degradebench.data import ManifestDataset
    from degradebench.evaluators._loader import decode_rgb

    out, _, _ = generated
    ds = ManifestDataset(out, axes=["crop", "jpeg"])
    assert ds.classes == ["cam-a", "cam-b"] and ds.kind == "classification"
    image, target, prov = ds[0]
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert np.array_equal(image, decode_rgb((out / prov["path"]).read_bytes()))
    assert target == ds.classes.index(prov["label"])
    assert {"source_id", "fold", "chain", "axis", "level", "variant_id"} <= set(prov)
    assert json.loads(prov["chain"])[0]["op"] == "load"
    assert {p["axis"] for p in ds.provenance} == {"crop", "jpeg"}
    assert ManifestDataset(out, levels=["90"]).provenance[0]["level"] == "90"
    flipped = ManifestDataset(out, axes="jpeg", transform=lambda a: a[::-1])
    assert np.array_equal(flipped[0][0], flipped.image(0)[::-1])


def test_boolean_and_numeric_targets(generated):
    from degradebench.data import ManifestDataset

    out, _, _ = generated
    dc = ManifestDataset(out, target="double_compressed")
    assert dc.classes == ["false", "true"]
    for t, p in zip(dc.targets, dc.provenance):
        assert t == int(p["axis"] == "double_jpeg")
    pq = ManifestDataset(out, target="primary_quality")
    assert pq.kind == "regression" and pq.n_null > 0
    assert {p["axis"] for p in pq.provenance} == {"jpeg", "double_jpeg"}  # clean, crop: null
    for t, p in zip(pq.targets, pq.provenance):
        assert t == {"jpeg": 90.0, "double_jpeg": 70.0}[p["axis"]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"folds": [7]}, r"ManifestDataset\(folds\): 7 is not in the manifest of .*folds there: 0, 1, 2, 3, 4"),
        ({"axes": ["jepg"]}, r"'jepg' is not in the manifest .*did you mean 'jpeg'\? axes there: clean, crop, double_jpeg, jpeg"),
        ({"axes": "jpeg", "levels": ["95"]}, r"levels\): '95' is not in the manifest .*levels there: 90$"),
        ({"target": "labl"}, r"target='labl'\): not a target column .*did you mean 'label'\?"),
        ({"folds": "0,x"}, r"ManifestDataset\(folds\): expected a comma-separated list"),
    ],
)  # fmt: skip
def test_unknown_fold_axis_level_or_target_is_named(generated, kwargs, message):
    from degradebench.data import ManifestDataset
    from degradebench.generators.core.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        ManifestDataset(generated[0], **kwargs)


def test_masks_are_all_false_without_a_region(generated):
    from degradebench.data import ManifestDataset

    ds = ManifestDataset(generated[0], axes="crop", masks=True)
    image, _, _, mask = ds[0]
    assert mask.dtype == np.bool_ and mask.shape == image.shape[:2] and not mask.any()


def test_masks_of_manipulated_variants(tmp_path):
    import degradebench as db
    from degradebench.data import ManifestDataset
    from degradebench.generators.manifest import read_mask_png

    root = tmp_path / "photos"
    for label, name in [("cam-a", "astronaut"), ("cam-b", "coffee")]:
        (root / label).mkdir(parents=True)
        Image.fromarray(photo(name, 96)).save(root / label / "0.png")
    suites = {"m": {"seed": 0, "axes": {"manipulate": {"ops": ["copy_move"], "save": "png"}}}}
    out = tmp_path / "out"
    db.generate(config=_config(tmp_path, suites), dataset=str(root), suite="m", out=out,
                progress=False)  # fmt: skip
    ds = ManifestDataset(out, axes="manipulate", masks=True, target="manipulated")
    seen = set()
    for i in range(len(ds)):
        image, target, prov, mask = ds[i]
        assert mask.shape == image.shape[:2]
        seen.add(bool(prov["manipulated"]))
        if prov["manipulated"]:
            assert mask.any() and target == 1
            assert np.array_equal(mask, read_mask_png((out / prov["mask_path"]).read_bytes()))
        else:
            assert not mask.any() and target == 0
    assert seen == {True, False}


def test_dataset_works_with_dataloader_workers(generated):
    from degradebench.data import ManifestDataset, collate

    ds = ManifestDataset(generated[0], axes=["jpeg", "double_jpeg"])
    loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, collate_fn=collate)
    ids, targets = [], []
    for images, t, provs in loader:
        assert images.dtype == torch.uint8 and images.shape[1:] == (64, 64, 3)
        ids += [p["variant_id"] for p in provs]
        targets += t.tolist()
    assert ids == [p["variant_id"] for p in ds.provenance] and targets == ds.targets
    again = pickle.loads(pickle.dumps(ds))  # what a spawned worker receives
    assert np.array_equal(again[2][0], ds[2][0]) and again[2][2] == ds[2][2]


# --- Degrade ----------------------------------------------------------------------------------

MIXED = [
    {"jpeg": {"quality": [60, 100]}},
    {"crop": {"offsets": "random"}},
    {"double_jpeg": {"q1": [60, 95], "q2": [70, 95], "shift": "random"}},
    {"resize": {"backends": ["pillow", "opencv"], "scale": [0.5, 2.0]}},
    {"social": {"presets": ["whatsapp-like", "telegram-like"], "hops": [1, 3]}},
    {"jpeg": {"quality": 75}, "crop": {"offsets": "random"}},
    "none",
]


class _Degraded(torch.utils.data.Dataset):
    """Images degraded per index (what a training set wrapping Degrade does)."""

    def __init__(self, images, degrade, epoch):
        self.images, self.degrade, self.epoch = images, degrade, epoch

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        out, chain = self.degrade(self.images[i], index=i, epoch=self.epoch)
        return out.tobytes() + repr(out.shape).encode(), json.dumps(chain, sort_keys=True)


def _run(degrade, images, workers, epoch=0):
    ds = _Degraded(images, degrade, epoch)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers)
    return list(loader)


def test_degrade_is_the_same_with_0_1_and_2_workers():
    from degradebench.data import Degrade

    images = [photo("astronaut", 64, 8 * i, 5 * i) for i in range(8)]
    degrade = Degrade(MIXED, seed=5)
    runs = [_run(degrade, images, w) for w in (0, 1, 2)]
    assert runs[0] == runs[1] == runs[2]
    ops = {s["op"] for _, chain in runs[0] for s in json.loads(chain)}
    assert len(ops) >= 3  # several templates were drawn, so the pins are not vacuous
    assert _run(Degrade(MIXED, seed=6), images, 0) != runs[0]
    assert _run(degrade, images, 0, epoch=1) != runs[0]
    assert [degrade.chain(index=i) for i in range(8)] == [json.loads(c) for _, c in runs[0]]
    assert _run(pickle.loads(pickle.dumps(degrade)), images, 0) == runs[0]  # spawn-safe too


def _suite_for(draws: dict[str, list[dict]]) -> dict:
    """A suite whose levels' chains include every drawn chain."""
    jq = sorted({c[0]["params"]["quality"] for c in draws["jpeg"]})
    dj = [c for c in draws["double_jpeg"]]
    crops = [[c[0]["params"]["top"], c[0]["params"]["left"]] for c in draws["crop"]]
    rs = draws["resize"]
    journeys = [[s["preset"] for s in c if s["op"] == "jpeg"] for c in draws["social"]]
    axes = {
        "jpeg": {"qualities": jq},
        "double_jpeg": {
            "q1": sorted({c[0]["params"]["quality"] for c in dj}),
            "q2": sorted({c[-1]["params"]["quality"] for c in dj}),
            "shifts": [list(x) for x in {(c[2]["params"]["top"], c[2]["params"]["left"]) for c in dj}],
            "include_equal": True,
        },
        "crop": {"offsets": [list(x) for x in {tuple(c) for c in crops}], "save": "png"},
    }  # fmt: skip
    for i, c in enumerate(rs):
        p = c[0]["params"]
        axes[f"resize{i}"] = {"type": "resize", "backends": [c[0]["backend"]],
                              "methods": [p["method"]], "scales": [p["scale"]]}  # fmt: skip
    for i, j in enumerate(journeys):
        axes[f"social{i}"] = {"type": "social", "mode": "sequence", "presets": j, "hops": [len(j)]}
    return {"seed": 0, "axes": axes}


def test_degrade_pixels_equal_the_decoded_file_generate_wrote(tmp_path):
    import degradebench as db
    from degradebench.data import Degrade
    from degradebench.evaluators._loader import decode_rgb

    root = tmp_path / "photos" / "cam-a"
    root.mkdir(parents=True)
    image = photo("chelsea", 80, 20, 30)
    Image.fromarray(image).save(root / "0.png")
    cfg = _config(tmp_path, {"placeholder": {"axes": {"jpeg": {"qualities": [90]}}}})
    templates = {name: [choice] for choice in MIXED[:5] for name in choice}
    degrades = {name: Degrade(policy, seed=3, config=cfg) for name, policy in templates.items()}
    results = {name: [d(image, index=i) for i in range(2)] for name, d in degrades.items()}
    draws = {name: [chain for _, chain in r] for name, r in results.items()}
    cfg = _config(tmp_path, {"drawn": _suite_for(draws)})
    out = tmp_path / "out"
    db.generate(config=cfg, dataset=str(tmp_path / "photos"), suite="drawn", out=out,
                progress=False)  # fmt: skip
    rows = [(json.loads(r["chain"])[1:], r["path"]) for _, r in db.read_manifest(out).iterrows()]
    compared = 0
    for name, pairs in results.items():
        for pixels, chain in pairs:
            # lossless chains are saved as PNG by generate: the same pixels
            match = [p for c, p in rows if c == chain or (c[:-1] == chain and c[-1]["op"] == "png")]
            assert match, f"{name}: no variant has the chain {chain}"
            assert np.array_equal(pixels, decode_rgb((out / match[0]).read_bytes())), name
            compared += 1
    assert compared == 10


# --- policies: data, validated like suites ----------------------------------------------------


def test_shipped_policies_parse_and_draw_in_range():
    from degradebench.data import Degrade
    from degradebench.generators.config import load_config

    cfg = load_config(SHIPPED)
    assert {"clean", "jpeg", "grid", "jpeg+grid", "social"} <= set(cfg.policies)
    qualities = [
        Degrade("jpeg", config=cfg).chain(index=i)[0]["params"]["quality"] for i in range(300)
    ]
    assert min(qualities) >= 60 and max(qualities) <= 100 and len(set(qualities)) > 30
    offsets = {(c[0]["params"]["top"], c[0]["params"]["left"])
               for c in (Degrade("grid", config=cfg).chain(index=i) for i in range(400))}  # fmt: skip
    assert offsets <= {(r, c) for r in range(8) for c in range(8)} and len(offsets) > 50
    both = Degrade("jpeg+grid", config=cfg).chain(index=0)
    assert [s["op"] for s in both] == ["jpeg", "decode", "crop"]  # JPEG first: the grid moves
    assert Degrade("clean", config=cfg).chain(index=0) == []


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        ({"jpeg": [{"jpeg": {"quality": [60, 130]}}]}, r"policies\.jpeg\[0\]\.jpeg\.quality\[1\]: must be an integer 1\.\.100, got 130"),
        ({"p": [{"jpg": {"quality": 90}}]}, r"policies\.p\[0\]\.jpg: unknown policy template 'jpg'; did you mean 'jpeg'\?"),
        ({"p": [{"jpeg": {"quality": [90, 60]}}]}, r"policies\.p\[0\]\.jpeg\.quality: \[lo, hi\] needs lo <= hi, got \[90, 60\]"),
        ({"p": [{"crop": {"offsets": "all"}}]}, r"policies\.p\[0\]\.crop\.offsets: must be 'random' or a list"),
        ({"p": ["none", {"weight": 0, "jpeg": {"quality": 90}}]}, r"policies\.p\[1\]\.weight: must be a number > 0"),
        ({"p": [{"social": {"presets": ["whatsap-like"]}}]}, r"policies\.p\[0\]\.social\.presets\[0\]: unknown preset 'whatsap-like'; did you mean 'whatsapp-like'\?"),
        ({"p": [{"resize": {"scale": [0.5, 2], "backends": ["skimage"], "methods": ["lanczos"]}}]}, r"policies\.p\[0\]\.resize\.methods: skimage has no method 'lanczos'"),
        ({"p": {"choices": [], "description": "x"}}, r"policies\.p\.choices: must be a non-empty list"),
        ({"p": [{"weight": 2}]}, r"policies\.p\[0\]: names no template"),
        ({"p": ["none", {"jpeg": {"quality": 90}, "none": None}]}, r"policies\.p\[1\]: 'none' is a choice on its own, got it beside jpeg; write none as its own choice, or remove it$"),
    ],
)  # fmt: skip
def test_policy_errors_name_the_yaml_path(tmp_path, policies, message):
    from degradebench.generators.config import load_config
    from degradebench.generators.core.errors import ConfigError

    raw = yaml.safe_load(SHIPPED.read_text())
    raw["policies"] = policies
    path = tmp_path / "datasets.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_degrade_errors_name_the_policy_and_the_fix():
    from degradebench.data import Degrade
    from degradebench.generators.core.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"policy 'jpg': not in the policies: map .*did you mean 'jpeg'\?"
    ):
        Degrade("jpg", config=SHIPPED)
    with pytest.raises(ConfigError, match=r"^policy\[0\]\.crop\.offsets: must be 'random'"):
        Degrade([{"crop": {"offsets": "any"}}], config=SHIPPED)
    d = Degrade("jpeg", config=SHIPPED)
    with pytest.raises(ConfigError, match=r"index must be an integer >= 0, got -1"):
        d(np.zeros((16, 16, 3), np.uint8), index=-1)
    with pytest.raises(ConfigError, match=r"must be a uint8 HxWx3 .* got float64"):
        d(np.zeros((16, 16, 3)), index=0)
    with pytest.raises(ConfigError, match=r"^Degrade: seed must be a non-negative int, got -1; "
                       r"pass e\.g\. seed=0$"):  # fmt: skip
        Degrade("jpeg", seed=-1, config=SHIPPED)
    with pytest.raises(ConfigError, match=r"list of choices, got float 3\.5; e\.g\. Degrade\("):
        Degrade(3.5, config=SHIPPED)


# --- masks and image kinds --------------------------------------------------------------------


def test_masks_follow_a_crop_and_a_resize():
    from degradebench.data import Degrade

    image = photo("astronaut", 64)
    mask = np.zeros((64, 64), bool)
    mask[10:30, 20:50] = True
    out, m, chain = Degrade([{"crop": {"offsets": [[3, 5]]}}], config=SHIPPED)(
        image, mask=mask, index=0
    )
    assert chain[0]["params"]["top"] == 3 and chain[0]["params"]["left"] == 5
    assert np.array_equal(out, image[3:, 5:]) and np.array_equal(m, mask[3:, 5:])
    half = Degrade([{"resize": {"scale": 0.5, "methods": ["bilinear"]}}], config=SHIPPED)
    out, m, _ = half(image, mask=mask, index=0)
    assert out.shape[:2] == m.shape == (32, 32) and m.sum() == mask.sum() // 4
    out, m, _ = Degrade("jpeg", config=SHIPPED)(image, mask=mask, index=0)
    assert np.array_equal(m, mask) and out.shape == image.shape  # JPEG keeps the mask


def test_pil_and_tensor_inputs_come_back_as_given():
    from degradebench.data import Degrade
    from degradebench.generators.core.errors import ConfigError

    image = photo("coffee", 64)
    d = Degrade([{"jpeg": {"quality": 70}, "crop": {"offsets": [[1, 2]]}}], config=SHIPPED)
    ref, chain = d(image, index=4)
    pil, pil_chain = d(Image.fromarray(image), index=4)
    assert isinstance(pil, Image.Image) and pil.mode == "RGB" and pil_chain == chain
    assert np.array_equal(np.asarray(pil), ref)
    t, _ = d(torch.from_numpy(image).permute(2, 0, 1), index=4)
    assert t.dtype == torch.uint8 and tuple(t.shape) == (3, *ref.shape[:2])
    assert np.array_equal(t.permute(1, 2, 0).numpy(), ref)
    gray = image[..., 1]
    g, _ = d(Image.fromarray(gray), index=4)
    assert g.mode == "L" and np.array_equal(np.asarray(g), d(gray, index=4)[0])
    g1, _ = d(torch.from_numpy(gray)[None], index=4)
    assert tuple(g1.shape) == (1, 63, 62)
    with pytest.raises(ConfigError, match=r"a tensor must be uint8, got torch.float32"):
        d(torch.zeros(3, 8, 8), index=0)
    with pytest.raises(ConfigError, match=r"CxHxW .* got shape \(8, 8, 3\); for HxWxC pass"):
        d(torch.zeros(8, 8, 3, dtype=torch.uint8), index=0)


# --- README ------------------------------------------------------------------------------------


def test_readme_training_example_runs(tmp_path, monkeypatch):
    import degradebench as db

    section = README.read_text(encoding="utf-8").split("### Train for robustness", 1)[1]
    code = re.search(r"^```python\n(.*?)^```", section, re.S | re.M).group(1)
    monkeypatch.chdir(tmp_path)
    groups = _list_folder(tmp_path / "photos")
    db.generate(dataset="photos/", suite="jpeg-ladder", out="variants", progress=False)
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(code, f"{README}:Train for robustness", "exec"), namespace)  # noqa: S102
    assert len(namespace["train"]) > 0 and len(groups) == 12
    assert isinstance(namespace["chain"], list)

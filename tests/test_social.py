"""Social-media-like chains: the chain vocabulary ops, the shipped platform-like presets, multi-hop
journeys (the ``social`` axis) and their provenance, on tiny real images and real codecs."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import jpeg_bytes, photo, png_bytes
from degradebench.generators import ConfigError, generate, read_errors, read_manifest
from degradebench.generators.axes import AXES
from degradebench.generators.config import default_config_path, parse_config
from degradebench.generators.core.errors import OpError
from degradebench.generators.decode import decode_source
from degradebench.generators.jpeginfo import estimate_quality, ijg_quant_tables, probe_jpeg
from degradebench.generators.ops import ImageState, make_step, run_chain
from degradebench.generators.ops.metadata import KINDS, read_source_metadata
from degradebench.generators.ops.passthrough import strip_metadata_bytes
from degradebench.generators.ops.skip import source_file_meta
from degradebench.generators.plan import plan_source
from PIL import Image, ImageCms

SHIPPED = yaml.safe_load(default_config_path().read_text())
PRESET_NAMES = [
    "facebook-like",
    "instagram-like",
    "twitter-like",
    "whatsapp-like",
    "telegram-like",
    "screenshot",
]
NEW_OPS = [
    "skip_if_small",
    "exif_orientation",
    "resize_max",
    "crop_to",
    "webp",
    "screenshot",
    "color",
]

# ----------------------------------------------------------------------------- fixtures


def _s15(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def adobe_like_icc() -> bytes:
    """A minimal ICC v2 RGB display profile with Adobe RGB (1998) primaries (D50-adapted) and a
    2.2 gamma, built byte by byte: the machine has no ICC files and ImageCms makes only sRGB."""

    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)

    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256))
    text = b"adobe-like\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 79
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
        (b"rTRC", curv),
        (b"gTRC", curv),
        (b"bTRC", curv),
        (b"cprt", b"text\0\0\0\0none\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (
        struct.pack(">I", offset + len(data))
        + b"none"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28  # platform, flags, manufacturer, model, attributes, intent
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + table + data


def exif_block(make: str = "Canon", model: str = "EOS 5D", orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    if orientation is not None:
        exif[0x0112] = orientation
    return exif.tobytes()


def strip(h: int, w: int) -> np.ndarray:
    """A real-photo image of h x w (the astronaut resized), for sources just over a size cap."""
    im = Image.fromarray(photo("astronaut", 256, 0, 0)).resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(im)


def save_jpeg(path: Path, arr: np.ndarray, quality: int = 92, **kw) -> bytes:
    data = jpeg_bytes(arr, quality, **kw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def config_text(root: Path, axes: dict, extra_presets: dict | None = None) -> str:
    cfg = {
        "version": 1,
        "datasets": {"t": {"kind": "folder", "root": str(root), "folds": 2}},
        "suites": {"s": {"seed": 7, "axes": axes}},
        "presets": {**SHIPPED["presets"], **(extra_presets or {})},
    }
    return yaml.safe_dump(cfg, sort_keys=False)


def run(tmp_path: Path, root: Path, axes: dict, extra: dict | None = None, name: str = "out"):
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(config_text(root, axes, extra))
    out = tmp_path / name
    summary = generate(config=cfg, dataset="t", suite="s", out=out, progress=False)
    assert read_errors(out).empty, read_errors(out).to_dict("records")
    assert summary.failed_variants == 0
    return read_manifest(out), out


def preset_cap(name: str) -> int | None:
    for step in SHIPPED["presets"][name]["chain"]:
        if step["op"] == "resize_max":
            return step["max_side"]
    return None


def preset_jpeg(name: str) -> dict | None:
    chain = SHIPPED["presets"][name]["chain"]
    return chain[-1] if chain[-1]["op"] == "jpeg" else None


def chain_steps(chain_json: str) -> list:
    """Steps rebuilt from a manifest chain (the leading 'load' record is not an op)."""
    steps = json.loads(chain_json)
    assert steps[0]["op"] == "load"
    return [make_step(s, f"chain[{i}]") for i, s in enumerate(steps[1:], 1)]


# ----------------------------------------------------------------------------- the ops


def _state(op: str) -> tuple[ImageState, dict]:
    img = photo("coffee", 96, 20, 30)
    img.setflags(write=False)
    params = {
        "skip_if_small": {"max_bytes": 10**6},
        "exif_orientation": {"mode": "apply"},
        "resize_max": {"max_side": 64, "method": "bicubic"},
        "crop_to": {"aspect": "4:5", "anchor": "top-right"},
        "webp": {"quality": 70},
        "screenshot": {"scale": 1.5, "method": "bilinear", "bars": [3, 2], "border": 2},
        "color": {"mode": "to-srgb"},
    }[op]
    meta = {"exif": exif_block(orientation=1), "icc": adobe_like_icc(), "xmp": None, "keep": ()}
    return ImageState(pixels=img, grids=((0, 0),), passes=1, meta=meta), {"op": op, **params}


@pytest.mark.parametrize("op", NEW_OPS)
def test_new_ops_are_pure_deterministic_and_round_trip(op: str) -> None:
    state, spec = _state(op)
    before = state.pixels.copy()
    step = make_step(spec, "t")
    a = run_chain(state, [step])
    b = run_chain(state, [step])
    assert np.array_equal(state.pixels, before)  # input untouched
    for x, y in ((a.pixels, b.pixels), (a.data, b.data)):
        if isinstance(x, np.ndarray):
            assert x.dtype == np.uint8 and np.array_equal(x, y)
        else:
            assert x == y
    # params survive the manifest's JSON and YAML
    again = make_step(json.loads(json.dumps(step.to_json())), "t")
    assert again == step
    assert make_step(yaml.safe_load(yaml.safe_dump(step.to_json())), "t") == step


def test_resize_max_caps_the_long_or_short_side_and_leaves_small_images_alone() -> None:
    img = photo("astronaut", 200, 0, 0)[:120]  # 120 x 200
    state = ImageState(pixels=img, grids=((0, 0),))
    out = run_chain(state, [make_step({"op": "resize_max", "max_side": 100, "method": "area"})])
    assert out.pixels.shape[:2] == (60, 100) and out.grids == () and out.region is None
    short = make_step({"op": "resize_max", "max_side": 90, "side": "short", "method": "bilinear"})
    assert run_chain(state, [short]).pixels.shape[:2] == (90, 150)
    same = run_chain(state, [make_step({"op": "resize_max", "max_side": 200, "method": "area"})])
    assert same is state  # already within the cap: untouched, grid kept
    # the same kernel as the resize op with mode longer
    ref = run_chain(
        state, [make_step({"op": "resize", "method": "area", "mode": "longer", "side": 100})]
    )
    assert np.array_equal(ref.pixels, out.pixels)
    with pytest.raises(ConfigError, match="antialias"):
        make_step({"op": "resize_max", "max_side": 9, "method": "bilinear", "antialias": True,
                   "backend": "opencv"}).params.concrete("opencv")  # fmt: skip


@pytest.mark.parametrize(
    ("params", "shape", "offset"),
    [
        ({"aspect": "1:1"}, (100, 100), (0, 30)),
        ({"aspect": "4:5"}, (100, 80), (0, 40)),
        ({"aspect": "4:5", "anchor": "right"}, (100, 80), (0, 80)),
        ({"aspect": "16:9", "anchor": "bottom-left"}, (90, 160), (10, 0)),
        ({"min_aspect": "4:5", "max_aspect": "1.91:1"}, (100, 160), (0, 0)),  # within: untouched
        ({"max_aspect": "1.2:1"}, (100, 120), (0, 20)),
        ({"size": [64, 48], "anchor": "top-left"}, (64, 48), (0, 0)),
        ({"size": [64, 48]}, (64, 48), (18, 56)),
    ],
)
def test_crop_to_windows_and_grids(params: dict, shape: tuple, offset: tuple) -> None:
    img = photo("astronaut", 160, 0, 0)[:100]  # 100 x 160
    state = ImageState(pixels=img, grids=((0, 0),), region=(0, 0))
    out = run_chain(state, [make_step({"op": "crop_to", **params})])
    top, left = offset
    assert out.pixels.shape[:2] == shape
    assert np.array_equal(out.pixels, img[top : top + shape[0], left : left + shape[1]])
    assert out.grids == (((8 - top) % 8, (8 - left) % 8),)  # crop.py's rule
    assert out.region == (top, left)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"aspect": "4:5", "size": [3, 3]}, "exactly one of"),
        ({"aspect": "4/5"}, "ratio 'W:H'"),
        ({"min_aspect": "2:1", "max_aspect": "1:1"}, "wider than"),
        ({"aspect": "1:1", "anchor": "centre"}, "did you mean .center."),
    ],
)
def test_crop_to_rejects_bad_params(params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_step({"op": "crop_to", **params}, "presets.x.chain[2]")


def test_webp_lossless_is_exact_and_lossy_is_not() -> None:
    img = photo("chelsea", 96, 10, 10)
    state = ImageState(pixels=img)
    decode = make_step({"op": "decode"})
    lossless = run_chain(state, [make_step({"op": "webp", "lossless": True})])
    assert lossless.fmt == "webp" and lossless.data[8:12] == b"WEBP"
    with Image.open(io.BytesIO(lossless.data)) as im:
        assert im.format == "WEBP" and np.array_equal(np.asarray(im.convert("RGB")), img)
    lossy = run_chain(state, [make_step({"op": "webp", "quality": 30}), decode])
    diff = np.abs(lossy.pixels.astype(int) - img).mean()
    assert lossy.pixels.shape == img.shape and 0.5 < diff < 20
    better = run_chain(state, [make_step({"op": "webp", "quality": 95}), decode])
    assert np.abs(better.pixels.astype(int) - img).mean() < diff


def test_screenshot_scale_fit_bars_and_border() -> None:
    img = photo("astronaut", 64, 0, 0)[:40]  # 40 x 64
    state = ImageState(pixels=img, grids=((0, 0),), region=(0, 0))
    shot = make_step({"op": "screenshot", "method": "bilinear", "scale": 1.5})
    out = run_chain(state, [shot])
    assert out.pixels.shape == (60, 96, 3) and out.grids == () and out.region is None
    want = np.asarray(Image.fromarray(img).resize((96, 60), Image.Resampling.BILINEAR))
    assert np.array_equal(out.pixels, want)  # Pillow's kernel, through the resize op
    fit = make_step({"op": "screenshot", "method": "bilinear", "scale": 2.0, "fit": [50, 200]})
    assert run_chain(state, [fit]).pixels.shape == (50, 80, 3)  # shrunk to fit
    framed = make_step(
        {"op": "screenshot", "method": "nearest", "scale": 1, "bars": [3, 2],
         "bar_color": [10, 20, 30], "border": 5, "border_color": [255, 0, 0]}
    )  # fmt: skip
    out = run_chain(state, [framed])
    assert out.pixels.shape == (50, 74, 3)
    assert (out.pixels[:5] == [255, 0, 0]).all() and (out.pixels[:, -5:] == [255, 0, 0]).all()
    assert (out.pixels[5:8, 5:-5] == [10, 20, 30]).all()
    assert (out.pixels[-7:-5, 5:-5] == [10, 20, 30]).all()
    assert np.array_equal(out.pixels[8:-7, 5:-5], img[3:-2])
    assert out.grids == ((5, 5),)  # no resampling at scale 1: the grid moves with the border
    gray = run_chain(ImageState(pixels=img[..., 0]), [shot])
    assert gray.pixels.shape == (60, 96, 3)  # the capture is RGB


def test_color_converts_through_the_icc_profile_or_drops_it() -> None:
    img = photo("coffee", 64, 100, 100)
    icc = adobe_like_icc()
    state = ImageState(pixels=img, meta={"icc": icc, "keep": ()})
    out = run_chain(state, [make_step({"op": "color", "mode": "to-srgb", "intent": "relative"})])
    ref = ImageCms.profileToProfile(
        Image.fromarray(img),
        ImageCms.ImageCmsProfile(io.BytesIO(icc)),
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        outputMode="RGB",
    )
    assert np.array_equal(out.pixels, np.asarray(ref)) and out.meta["icc"] is None
    assert not np.array_equal(out.pixels, img)  # a wider gamut than sRGB: values move
    dropped = run_chain(state, [make_step({"op": "color", "mode": "drop-icc"})])
    assert dropped.pixels is img and dropped.meta["icc"] is None
    plain = ImageState(pixels=img, meta={"icc": None})
    assert run_chain(plain, [make_step({"op": "color"})]) is plain  # no profile: sRGB already


def test_skip_rule_limits() -> None:
    from degradebench.generators.ops.skip import SkipIfSmallParams, fits

    p = SkipIfSmallParams(max_pixels=100 * 100, max_side=150, max_bytes=5000)
    assert fits(p, "jpeg", 100, 100, 5000)
    assert not fits(p, "png", 100, 100, 10)  # not a format that may pass
    assert not fits(p, "jpeg", 101, 100, 10)  # over max_pixels
    assert not fits(p, "jpeg", 160, 10, 10)  # over max_side
    assert not fits(p, "jpeg", 10, 10, 5001)  # over max_bytes
    with pytest.raises(ConfigError, match="at least one of max_pixels"):
        make_step({"op": "skip_if_small"}, "t")


def test_exif_orientation_apply_resets_the_tag_and_ignore_undoes_the_rotation() -> None:
    stored = photo("astronaut", 96, 0, 0)[:64]  # 64 x 96 as stored
    data = jpeg_bytes(stored, 95, exif=exif_block(orientation=6))
    src = decode_source("rot.jpg", data=data)
    assert src.pixels.shape[:2] == (96, 64)  # the loader turned it upright
    smeta = read_source_metadata(data)
    base = ImageState(
        pixels=src.pixels,
        grids=(src.jpeg_grid,),
        passes=1,
        meta={"exif": smeta["exif"], "icc": None, "xmp": None, "keep": (),
              **source_file_meta(data, src.load_step["params"], src.pixels)},
    )  # fmt: skip
    applied = run_chain(base, [make_step({"op": "exif_orientation", "mode": "apply"})])
    assert applied.pixels is src.pixels
    e = Image.Exif()
    e.load(applied.meta["exif"])
    assert e[0x0112] == 1 and e[0x010F] == "Canon"
    ignored = run_chain(base, [make_step({"op": "exif_orientation", "mode": "ignore"})])
    with Image.open(io.BytesIO(data)) as im:
        raw = np.asarray(im)  # the stored pixels, not turned
    assert np.array_equal(ignored.pixels, raw) and ignored.grids == ((0, 0),)
    assert ignored.region is None
    crop_first = [make_step({"op": "crop", "top": 1}), make_step({"op": "exif_orientation",
                                                                   "mode": "ignore"})]  # fmt: skip
    with pytest.raises(OpError, match="untouched source pixels"):
        run_chain(base, crop_first)


# ----------------------------------------------------------------------------- presets


@pytest.fixture()
def capped_run(tmp_path: Path):
    """Sources a little over the presets' caps, with EXIF (Make/Model) and an ICC profile."""
    root = tmp_path / "data"
    save_jpeg(
        root / "cam/wide.jpg", strip(64, 4112), exif=exif_block(), icc_profile=adobe_like_icc()
    )
    save_jpeg(root / "cam/tall.jpg", strip(1200, 1000), exif=exif_block("Apple", "iPhone 6"))
    keeper = {
        "keeper": {
            "source": "test",
            "note": "keeps everything, like a file transfer",
            "chain": [
                {"op": "keep_metadata"},
                {"op": "exif_orientation", "mode": "apply"},
                {"op": "jpeg", "quality": 90},
            ],
        }
    }
    axes = {
        "platforms": {"type": "social", "presets": PRESET_NAMES + ["keeper"], "hops": [1]},
        "strip_then_keep": {"type": "social", "mode": "sequence",
                            "presets": ["whatsapp-like", "keeper"], "hops": [2]},
        "keep_twice": {"type": "social", "presets": ["keeper"], "hops": [2]},
    }  # fmt: skip
    return run(tmp_path, root, axes, keeper)


def _half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def test_every_preset_respects_its_cap_format_and_quality(capped_run) -> None:
    df, out = capped_run
    plat = df[df.axis == "platforms"]
    assert len(plat) == 2 * 7
    for row in plat.itertuples():
        name = json.loads(row.axis_params)["journey"][0]
        wide = row.source_path.endswith("wide.jpg")
        h0, w0 = (64, 4112) if wide else (1200, 1000)
        data = (out / row.path).read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            assert im.size == (row.width, row.height)
            fmt = im.format
        if name == "screenshot":
            # 1.5x, shrunk to fit 960 x 1920: f = 1920 / 4112 (wide) or 960 / 1200 (tall)
            assert fmt == "PNG" and row.format == "png"
            assert (row.height, row.width) == ((30, 1920) if wide else (960, 800))
            assert row.jpeg_passes == 1 and list(row.prior_grid) == []
            continue
        assert fmt == "JPEG" and row.format == "jpeg"
        if name == "keeper":
            assert (row.height, row.width) == (h0, w0)
            continue
        if name == "twitter-like" and not wide:  # a JPEG within 4096 px and 1 MiB: kept as is,
            # its metadata stripped losslessly as the preset's strip_metadata says (issue 12.5)
            src_bytes = Path(row.source_path).read_bytes()
            assert data == strip_metadata_bytes(src_bytes, "jpeg", KINDS) != src_bytes
            assert row.jpeg_passes == 1
            assert list(row.reencode_skipped) == [True] and list(row.prior_grid) == []
            assert np.isnan(row.jpeg_quality) and row.estimated_quality == 92
            continue
        h, w, grid = h0, w0, [0, 0]
        if name == "instagram-like" and wide:  # cropped to the widest allowed ratio first
            w = _half_up(64 * 1.91)
            grid = [0, -((w0 - w) // 2) % 8]
        cap = preset_cap(name)
        if max(h, w) > cap:  # the long side becomes the cap, the other scales with it
            h, w = (_half_up(h * cap / w), cap) if w >= h else (cap, _half_up(w * cap / h))
            grid = None  # resampled: the source grid is gone
        assert (row.height, row.width) == (h, w), name
        assert max(row.height, row.width) <= cap
        enc = preset_jpeg(name)
        probe = probe_jpeg(data)
        luma, chroma = ijg_quant_tables(enc["quality"])
        assert [list(t) for t in probe.quant_tables[:2]] == [list(luma), list(chroma)]
        assert estimate_quality(probe.quant_tables) == enc["quality"] == row.jpeg_quality
        assert probe.subsampling == enc["subsampling"] == row.subsampling
        assert bool(probe.progressive) == enc["progressive"]
        assert row.jpeg_passes == 2
        assert [list(g) for g in row.prior_grid] == ([] if grid is None else [grid]), name
        assert list(row.reencode_skipped) == ([False] if name == "twitter-like" else [])
    sizes = {json.loads(r.axis_params)["journey"][0]: (r.height, r.width)
             for r in plat.itertuples() if r.source_path.endswith("wide.jpg")}  # fmt: skip
    assert sizes["instagram-like"] == (64, 122) and sizes["facebook-like"] == (32, 2048)


def test_metadata_gone_when_stripped_and_intact_when_kept(capped_run) -> None:
    df, out = capped_run
    for row in df.itertuples():
        make = "Canon" if row.source_path.endswith("wide.jpg") else "Apple"
        assert row.source_exif_make == make  # what the source claimed, whatever the output
        journey = json.loads(row.axis_params).get("journey", [])
        with Image.open(out / row.path) as im:
            exif = im.getexif()
            icc = im.info.get("icc_profile")
        kept = journey and journey[-1] == "keeper" and "whatsapp-like" not in journey
        # a file that a skip rule let through keeps its image data; its metadata follows the
        # preset's policy (twitter-like strips it: issue 12.5)
        if kept:
            assert exif[0x010F] == make and exif[0x0110] in ("EOS 5D", "iPhone 6")
            assert bool(icc) == (make == "Canon")
            assert row.metadata_survived
        else:
            # stripped, and once stripped gone for good: a later hop that keeps finds nothing
            assert len(exif) == 0 and not icc and not row.metadata_survived, row.axis
    assert df[df.axis == "strip_then_keep"].jpeg_passes.tolist() == [3, 3]


def test_every_preset_step_is_tagged_and_hops_are_decoded(capped_run) -> None:
    df, _ = capped_run
    for row in df[df.axis != "clean"].itertuples():
        steps = json.loads(row.chain)[1:]
        journey = json.loads(row.axis_params)["journey"]
        # each hop after the first starts by decoding (after its skip rule, if any), and every
        # other step of a hop names that hop's preset
        starts = [0] + [
            i - (steps[i - 1]["op"] == "skip_if_small")
            for i, s in enumerate(steps)
            if s["op"] == "decode"
        ]
        hops = [steps[a:b] for a, b in zip(starts, starts[1:] + [len(steps)])]
        assert len(hops) == len(journey)
        for hop, name in zip(hops, journey):
            assert {s.get("preset") for s in hop if s["op"] != "decode"} == {name}
            assert all("preset" not in s for s in hop if s["op"] == "decode")  # the journey's
            assert hop[-1]["op"] in ("jpeg", "png", "webp")


# ----------------------------------------------------------------------------- journeys


@pytest.fixture()
def hop_run(tmp_path: Path):
    root = tmp_path / "data"
    save_jpeg(root / "a/one.jpg", photo("astronaut", 120, 0, 100)[:, :100], 92,
              exif=exif_block(), icc_profile=adobe_like_icc())  # fmt: skip
    (root / "a/two.png").write_bytes(png_bytes(photo("chelsea", 96, 30, 90)))
    save_jpeg(root / "b/three.jpg", photo("coffee", 128, 60, 100)[:, :72], 90)
    axes = {name: {"type": "social", "presets": [name], "hops": [1, 2, 3]} for name in PRESET_NAMES}
    axes["journey"] = {"type": "social", "mode": "sequence",
                       "presets": ["whatsapp-like", "facebook-like", "screenshot"]}  # fmt: skip
    axes["random"] = {"type": "social", "mode": "random", "presets": PRESET_NAMES,
                      "hop_range": [1, 3], "journeys": 3}  # fmt: skip
    return run(tmp_path, root, axes)


def _file_state(out: Path, row) -> ImageState:
    """A received file as the next hop sees it: its bytes and what the manifest says of it."""
    return ImageState(
        pixels=None,
        data=(out / row.path).read_bytes(),
        fmt=row.format,
        grids=tuple(tuple(int(v) for v in g) for g in row.prior_grid),
        passes=int(row.jpeg_passes),
        jpeg_quality=None if np.isnan(row.jpeg_quality) else int(row.jpeg_quality),
        meta={"exif": None, "icc": None, "xmp": None, "keep": ()},
    )


def test_hop_k_is_hop_k_minus_1_through_the_preset(hop_run) -> None:
    df, out = hop_run
    checked = 0
    for (_sid, axis), g in df[df.axis.isin(PRESET_NAMES + ["journey"])].groupby(
        ["source_id", "axis"]
    ):
        g = g.set_index("level")
        for k in (2, 3):
            prev, cur = g.loc[str(k - 1)], g.loc[str(k)]
            prev_steps, cur_steps = chain_steps(prev.chain), chain_steps(cur.chain)
            assert cur_steps[: len(prev_steps)] == prev_steps  # hop k extends hop k-1's chain
            hop = cur_steps[len(prev_steps) :]
            final = run_chain(_file_state(out, prev), hop)
            assert final.data == (out / cur.path).read_bytes(), (axis, k)
            assert final.passes == cur.jpeg_passes
            assert [list(x) for x in final.grids] == [list(x) for x in cur.prior_grid]
            checked += 1
    assert checked == 3 * 7 * 2


def test_full_chain_recomputes_every_variant_from_the_source(hop_run) -> None:
    df, out = hop_run
    for row in df.itertuples():
        data = Path(row.source_path).read_bytes()
        src = decode_source(row.source_path, data=data)
        smeta = read_source_metadata(data)
        base = ImageState(
            pixels=src.pixels,
            grids=(src.jpeg_grid,) if src.jpeg_grid is not None else (),
            passes=1 if src.is_jpeg else 0,
            meta={"exif": smeta["exif"], "icc": smeta["icc"], "xmp": smeta["xmp"], "keep": (),
                  **source_file_meta(data, src.load_step["params"], src.pixels)},
        )  # fmt: skip
        final = run_chain(base, chain_steps(row.chain))
        assert final.data == (out / row.path).read_bytes(), (row.axis, row.level)


def test_jpeg_passes_prior_grid_and_skip_rule_over_hops(hop_run) -> None:
    df, out = hop_run
    for row in df[df.axis.isin(PRESET_NAMES)].itertuples():
        k = int(row.level)
        jpeg_src = row.source_path.endswith(".jpg")
        # two.png is a chelsea crop: a decompressed JPEG, recorded as JPEG history (issue 12.6)
        hist = row.source_jpeg_history
        history = json.loads(hist)["phase"] if isinstance(hist, str) else None
        src_pass = int(jpeg_src or history is not None)
        grids = [list(g) for g in row.prior_grid]
        if row.axis == "twitter-like":
            # a small JPEG passes through twitter-like untouched at every hop; the PNG source is
            # re-encoded at hop 1, and that JPEG then passes
            if jpeg_src:
                assert list(row.reencode_skipped) == [True] * k
                src_bytes = Path(row.source_path).read_bytes()  # metadata stripped (issue 12.5)
                assert (out / row.path).read_bytes() == strip_metadata_bytes(src_bytes, "jpeg", KINDS)
                assert row.jpeg_passes == 1 and grids == [] and np.isnan(row.jpeg_quality)
            else:
                assert list(row.reencode_skipped) == [False] + [True] * (k - 1)
                assert row.jpeg_passes == src_pass + 1 and row.jpeg_quality == 85
                assert grids == ([history] if history else [])
            continue
        assert list(row.reencode_skipped) == []
        if row.axis == "screenshot":
            assert row.jpeg_passes == src_pass and grids == []  # resampled at every hop
            continue
        # below the caps nothing resamples: every earlier grid survives
        first = [[0, 0]] if jpeg_src else ([history] if history else [])
        if row.axis == "instagram-like" and row.source_path.endswith("three.jpg"):
            first = [[(8 - (128 - 90) // 2) % 8, 0]]  # 128x72 cropped to 4:5 (90 rows), top 19
        assert row.jpeg_passes == src_pass + k, row.axis
        assert grids == first + [[0, 0]] * (k - 1), row.axis
    seq = df[df.axis == "journey"].set_index(["source_id", "level"])
    for sid in df.source_id.unique():
        passes = [seq.loc[(sid, str(k))].jpeg_passes for k in (1, 2, 3)]
        src_pass = passes[0] - 1
        assert passes == [src_pass + 1, src_pass + 2, src_pass + 2]  # the screenshot is PNG
        assert list(seq.loc[(sid, "3")].prior_grid) == []  # and it resampled


def test_random_journeys_are_seeded_reproducible_and_differ_across_sources(hop_run) -> None:
    df, _ = hop_run
    rnd = df[df.axis == "random"].copy()
    rnd["journey"] = [">".join(json.loads(a)["journey"]) for a in rnd.axis_params]
    per_source = rnd.groupby("source_id")["journey"].apply(lambda s: tuple(sorted(s)))
    assert (per_source.apply(len) == 3).all()
    assert per_source.nunique() == len(per_source)  # differ across sources
    for row in rnd.itertuples():
        journey = json.loads(row.axis_params)["journey"]
        # one planned level per axis (issue 12); the drawn journey names the file
        assert row.level == "random" and np.isnan(row.level_value)
        assert json.loads(row.axis_params)["hops"] == len(journey)
        assert row.path.rsplit("/", 1)[1].split(".")[0] == row.journey.replace(">", "_")
        assert 1 <= len(journey) <= 3 and set(journey) <= set(PRESET_NAMES)
    # the planner alone (no pixels) gives the same journeys, and another seed others
    axes = {"random": {"type": "social", "mode": "random", "presets": PRESET_NAMES,
                       "hop_range": [1, 3], "journeys": 3}}  # fmt: skip
    text = config_text(Path("/unused"), axes)
    same, other = parse_config(text).suite("s"), parse_config(text.replace("seed: 7", "seed: 8"))

    def planned(suite, sid):
        plans = [p for p in plan_source(suite, sid) if p.axis == "random"]
        return tuple(sorted(">".join(p.axis_params["journey"]) for p in plans))

    assert all(planned(same, sid) == levels for sid, levels in per_source.items())
    assert [planned(other.suite("s"), sid) for sid in per_source.index] != list(per_source)


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["suites"]["s"]["axes"]["x"].update(presets=["facebok-like"]),
            "suites.s.axes.x.presets[0]: unknown preset 'facebok-like'; did you mean 'facebook-like'",
        ),
        (
            lambda c: c["presets"]["p"]["chain"].pop(0),
            "presets.p.chain: state the platform's metadata policy",
        ),
        (
            lambda c: c["presets"]["p"]["chain"].append({"op": "crop_to", "aspect": "1:1"}),
            "presets.p.chain[3]: a preset must end with an encoder step",
        ),
        (
            lambda c: c["presets"]["p"]["chain"].insert(1, {"op": "skip_if_small", "max_bytes": 9}),
            "presets.p.chain[1]: skip_if_small judges the incoming file",
        ),
        (
            lambda c: c["presets"]["p"]["chain"].insert(
                0, {"op": "skip_if_small", "max_bytes": 9, "formats": ["png"]}
            ),
            "presets.p.chain[0].formats: this preset writes jpeg",
        ),
        (lambda c: c["presets"]["p"].pop("note"), "presets.p: missing required key 'note'"),
        (
            lambda c: c["presets"]["p"].update(sorce="x"),
            "presets.p.sorce: unknown key; did you mean 'source'",
        ),
        (
            lambda c: c["presets"]["p"]["chain"][1].update(max_sid=3),
            "presets.p.chain[1].max_sid: unknown key; did you mean 'max_side'",
        ),
        (
            lambda c: c["suites"]["s"]["axes"]["x"].update(mode="random", hops=[1]),
            "suites.s.axes.x.hops: not used by mode 'random'",
        ),
        (
            lambda c: c["suites"]["s"]["axes"]["x"].update(mode="sequence", hops=[1, 2]),
            "suites.s.axes.x.hops: a sequence of 1 presets has at most 1 hops, got 2",
        ),
    ],
)
def test_config_errors_name_the_yaml_path(edit, message: str) -> None:
    cfg = {
        "version": 1,
        "suites": {"s": {"axes": {"x": {"type": "social", "presets": ["p"]}}}},
        "presets": {
            "facebook-like": SHIPPED["presets"]["facebook-like"],
            "p": {
                "source": "test",
                "note": "test",
                "chain": [
                    {"op": "strip_metadata"},
                    {"op": "resize_max", "max_side": 100, "method": "bicubic"},
                    {"op": "jpeg", "quality": 80},
                ],
            },
        },
    }
    edit(cfg)
    with pytest.raises(ConfigError) as err:
        parse_config(yaml.safe_dump(cfg))
    assert message in str(err.value)


def test_shipped_presets_are_concrete_and_documented() -> None:
    from degradebench.generators import load_config

    cfg = load_config(default_config_path())
    assert sorted(cfg.presets) == sorted(PRESET_NAMES)
    for name, preset in cfg.presets.items():
        assert "approximates" in preset.note and preset.source
        for step in preset.steps:
            assert step.preset == name
            params = step.to_json()["params"]
            if step.op in ("resize_max", "screenshot"):
                assert None not in (params["antialias"], params["dtype"], params["version"])
    repeat = [a.params for a in cfg.suite("social").axes if a.type == "social"]
    repeat = [p for p in repeat if p.mode == "repeat"]
    assert sorted(p.presets[0] for p in repeat) == sorted(PRESET_NAMES)
    assert all(p.hops == (1, 2, 3) for p in repeat)
    assert "social" in AXES


def test_social_suite_runs_on_virtual_cameras(tmp_path: Path, virtual_cameras) -> None:
    from degradebench.generators.virtual_cameras import VirtualCamerasParams

    table = (
        virtual_cameras(
            VirtualCamerasParams(models=2, devices_per_model=1, images_per_device=2, size=128)
        )
        / "list.csv"
    )
    cfg = {
        "version": 1,
        "datasets": {"vc": {"kind": "list", "path": str(table)}},
        "suites": {"social": SHIPPED["suites"]["social"]},
        "presets": SHIPPED["presets"],
    }
    path = tmp_path / "vc.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    s = generate(config=path, dataset="vc", suite="social", out=tmp_path / "o", jobs=2,
                 progress=False)  # fmt: skip
    df = read_manifest(tmp_path / "o")
    assert s.failed_variants == s.failed_sources == 0 and read_errors(tmp_path / "o").empty
    assert len(df) == s.variants == 4 * 24
    assert set(df.axis) == {"clean", "journey", "random-journey", *PRESET_NAMES}
    hopped = df[(df.axis != "clean") & (df.axis != "random-journey")]
    assert set(hopped.level_value) == {1.0, 2.0, 3.0}
    drawn = df[df.axis == "random-journey"]  # one planned level, no single hop count
    assert set(drawn.level) == {"random"} and drawn.level_value.isna().all()

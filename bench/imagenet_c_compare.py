"""Our ``imagenet_c`` op against imagecorruptions 1.1.2, on the same 224 px image, per corruption
and severity: ``python bench/imagenet_c_compare.py`` prints the table.

imagecorruptions runs in its own virtual environment, ``.peers-imagecorruptions/`` (git-ignored,
built once, about 15 s with a warm pip cache), with pins under which all 15 corruptions run on
Python 3.11: numpy<2 (its ``fog`` uses ``np.float_``) and scikit-image 0.20 (the oldest with
Python 3.11 wheels; ``glass_blur`` passes ``multichannel=True``, gone since 0.19's rename, so the
peer runs it through a shim mapping it to ``channel_axis=-1``: its algorithm is untouched).

Two comparisons per (corruption, severity):

* ``replay``: our kernels fed numpy's legacy ``RandomState(seed)`` (the global generator the peer
  draws from) after ``np.random.seed(seed)`` on the peer side. Our draws are the peer's draws in
  its order and shape, so the outputs must match: PSNR between them (inf: identical bytes).
  Deterministic corruptions need no seed. impulse_noise draws from scikit-image's own unseeded
  generator and frost from the peer's photographs: no replay, statistics only.
* ``stats``: our op as the suite runs it (``default_rng(seed)``) against the peer: mean
  absolute difference of the output means and the ratio of the residual standard deviations
  (output minus input), so noise strength, blur and haze are checked without equal draws.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

VENV = Path(__file__).resolve().parent.parent / ".peers-imagecorruptions"
PEER_PINS = [
    "numpy==1.26.4",
    "scipy==1.11.4",
    "scikit-image==0.20.0",
    "opencv-python-headless==4.10.0.84",
    "setuptools<70",  # imagecorruptions imports pkg_resources
]
PEER = "imagecorruptions==1.1.2"  # installed --no-deps: its opencv-python is replaced above
SIZE = 224
SEED = 1234
# replay PSNR floors (dB): every corruption but these two is expected bit-identical (inf);
# the floor leaves room for a last-bit float difference between library versions.
REPLAY_FLOOR = 50.0
NO_REPLAY = ("impulse_noise", "frost")

_PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    import imagecorruptions
    from imagecorruptions import corrupt, get_corruption_names
    import imagecorruptions.corruptions as ic
    _gaussian = ic.gaussian
    def _shim(image, sigma=1, multichannel=None, **kw):
        if multichannel:
            kw["channel_axis"] = -1
        return _gaussian(image, sigma=sigma, **kw)
    ic.gaussian = _shim  # skimage >= 0.19 renamed multichannel=True to channel_axis=-1
    data = np.load(sys.argv[1])
    img, seed = data["image"], int(data["seed"])
    out, errors = {}, {}
    for name in get_corruption_names("common"):
        for s in range(1, 6):
            np.random.seed(seed)
            try:
                out[f"{name}/{s}"] = corrupt(img, severity=s, corruption_name=name)
            except Exception as exc:
                errors[f"{name}/{s}"] = f"{type(exc).__name__}: {exc}"
    np.savez(sys.argv[2], **{k.replace("/", "__"): v for k, v in out.items()})
    import numpy, scipy, skimage, PIL, cv2
    versions = {"numpy": numpy.__version__, "scipy": scipy.__version__,
                "scikit-image": skimage.__version__, "pillow": PIL.__version__,
                "opencv": cv2.__version__, "imagecorruptions": "1.1.2"}
    print(json.dumps({"errors": errors, "versions": versions}))
    """
)


class PeerUnavailable(RuntimeError):
    """The peer environment could not be built; the message says why."""


def _pins() -> list[str]:
    import PIL

    return [*PEER_PINS, f"pillow=={PIL.__version__}"]  # our Pillow: same JPEG bytes


def peer_python(venv: Path = VENV, timeout: float = 300.0) -> Path:
    """The venv's python with imagecorruptions installed (built once; a stamp records the pins).

    Raises:
        PeerUnavailable: venv creation or pip failed (offline, no wheel for this Python...).
    """
    from filelock import FileLock

    py = venv / "bin" / "python"
    stamp = venv / "pins.json"
    want = json.dumps([*_pins(), PEER])
    venv.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(venv) + ".lock"):
        if stamp.is_file() and stamp.read_text() == want and py.exists():
            return py
        pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--retries",
               "1", "--timeout", "20"]  # fmt: skip
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [*pip, *_pins()],
            [*pip, "--no-deps", PEER],
        ]
        for cmd in steps:
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise PeerUnavailable(f"{' '.join(cmd[:4])}...: {exc}") from None
            if r.returncode != 0:
                tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
                raise PeerUnavailable(f"{' '.join(cmd[2:5])} failed: {' | '.join(tail)}")
        stamp.write_text(want)
    return py


def peer_input_image(size: int = SIZE):  # noqa: ANN201 - numpy array
    """scikit-image's astronaut, Pillow-resized (bicubic) to ``size`` x ``size``: uint8 RGB."""
    import numpy as np
    import skimage.data
    from PIL import Image

    im = Image.fromarray(skimage.data.astronaut()).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(im)


def run_peer(py: Path, img, seed: int, work: Path) -> tuple[dict, dict]:  # noqa: ANN001
    """Every common corruption at severities 1..5 by the peer: ({'name/s': uint8}, info)."""
    import numpy as np

    work.mkdir(parents=True, exist_ok=True)
    src, dst, script = work / "in.npz", work / "out.npz", work / "peer.py"
    np.savez(src, image=img, seed=seed)
    script.write_text(_PEER_SCRIPT)
    r = subprocess.run([str(py), str(script), str(src), str(dst)], capture_output=True, text=True,
                       timeout=600)  # fmt: skip
    if r.returncode != 0:
        raise PeerUnavailable(f"imagecorruptions failed to run: {r.stderr.strip()[-400:]}")
    info = json.loads(r.stdout.strip().splitlines()[-1])
    with np.load(dst) as data:
        outputs = {k.replace("__", "/"): data[k] for k in data.files}
    return outputs, info


class _LegacyRng:
    """numpy's legacy ``RandomState`` under the Generator method names our kernels call."""

    def __init__(self, seed: int) -> None:
        import numpy as np

        self._rs = np.random.RandomState(seed)
        self.normal, self.poisson = self._rs.normal, self._rs.poisson
        self.uniform, self.random = self._rs.uniform, self._rs.random_sample

    def integers(self, low: int, high: int, size=None):  # noqa: ANN001, ANN201
        return self._rs.randint(low, high, size=size)


def psnr(a, b) -> float:  # noqa: ANN001
    """PSNR in dB of two uint8 images (inf when identical)."""
    import numpy as np

    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _ours(img, name: str, severity: int, rng) -> object:  # noqa: ANN001
    import numpy as np
    from degradebench.generators.ops.imagenet_c import corrupt_float

    return np.clip(corrupt_float(img, name, severity, rng), 0, 255).astype(np.uint8)


def compare(img, peer: dict, seed: int = SEED) -> list[dict]:  # noqa: ANN001
    """One row per (corruption, severity) the peer produced: replay PSNR and statistics."""
    import numpy as np
    from degradebench.generators.ops import OPS, ImageState, make_step
    from degradebench.generators.ops.imagenet_c import CORRUPTIONS, RANDOM_CORRUPTIONS

    rows = []
    for name in CORRUPTIONS:
        for s in range(1, 6):
            theirs = peer.get(f"{name}/{s}")
            if theirs is None:
                rows.append({"corruption": name, "severity": s, "status": "peer failed"})
                continue
            random = name in RANDOM_CORRUPTIONS
            replay = None
            if name not in NO_REPLAY:
                replay = psnr(_ours(img, name, s, _LegacyRng(seed) if random else None), theirs)
            spec = {"op": "imagenet_c", "corruption": name, "severity": s}
            step = make_step({**spec, **({"seed": seed} if random else {})})
            ours = OPS.get("imagenet_c").apply(ImageState(pixels=img), step.params, "numpy").pixels
            res_o = ours.astype(np.float64) - img
            res_t = theirs.astype(np.float64) - img
            rows.append({
                "corruption": name,
                "severity": s,
                "replay_psnr": replay,
                "op_psnr": psnr(ours, theirs),
                "mean_diff": float(abs(ours.mean() - theirs.mean())),
                "std_ratio": float(res_o.std() / max(res_t.std(), 1e-9)),
                "changed_ours": float(np.mean(ours != img)),
                "changed_peer": float(np.mean(theirs != img)),
                "status": "ok",
            })  # fmt: skip
    return rows


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return "inf" if x == float("inf") else f"{x:.1f}"


def table(rows: list[dict]) -> str:
    """The comparison as a markdown table (one row per corruption, the five severities joined)."""
    lines = [
        "| corruption | replay PSNR dB, s1..s5 | op vs peer PSNR dB, s1..s5 | |mean diff| max "
        "| residual std ratio, s1..s5 |",
        "| --- | --- | --- | --- | --- |",
    ]
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["corruption"], []).append(r)
    for name, rs in by.items():
        if any(r["status"] != "ok" for r in rs):
            lines.append(f"| {name} | peer failed | | | |")
            continue
        rep = " / ".join(_fmt(r["replay_psnr"]) for r in rs)
        ops = " / ".join(_fmt(r["op_psnr"]) for r in rs)
        md = max(r["mean_diff"] for r in rs)
        sr = " / ".join(f"{r['std_ratio']:.2f}" for r in rs)
        lines.append(f"| {name} | {rep} | {ops} | {md:.1f} | {sr} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build the peer venv if needed, compare, print the table (exit 2 when the peer is missing)."""
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    try:
        py = peer_python()
    except PeerUnavailable as exc:
        print(f"imagecorruptions environment unavailable: {exc}")
        return 2
    img = peer_input_image()
    with tempfile.TemporaryDirectory() as tmp:
        peer, info = run_peer(py, img, args.seed, Path(tmp))
    print(f"peer: {json.dumps(info['versions'])}; peer errors: {info['errors'] or 'none'}")
    print(table(compare(img, peer, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

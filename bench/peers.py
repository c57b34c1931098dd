"""Peer tools at their own job, in their own virtual environment.

imagecorruptions pulls ``opencv-python``, which would overwrite our headless ``cv2``, so peers
live in ``.bench-peers/`` (git-ignored). ``python bench/peers.py --setup`` creates it;
``python bench/run.py`` starts this file inside it as a server (``--serve``) and times its loops
interleaved with ``generate --suite imagenet-c-jpeg`` on the same folder.

The loops are what a user of each library writes for ImageNet-C's JPEG severities over a folder:

* imagecorruptions (its README): Pillow decode, ``corrupt(image,
  corruption_name='jpeg_compression', severity=s)`` for s = 1..5, save each result;
* albumentations (its README reads with OpenCV): ``ImageCompression`` at the same five qualities
  (25, 18, 15, 10, 7), save each result.

Both return decoded pixels, so a result is saved as PNG (lossless: the pixels the library made);
``save="jpeg"`` re-encodes them at the library's default quality instead (ImageNet-C's pitfall).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

VENV = Path(__file__).resolve().parent.parent / ".bench-peers"
PEERS = ["imagecorruptions==1.1.2", "albumentations==2.0.8", "pillow"]
QUALITIES = [25, 18, 15, 10, 7]  # imagecorruptions' jpeg_compression, severities 1..5


def venv_python() -> Path:
    return VENV / "bin" / "python"


def setup() -> Path:
    """Create ``.bench-peers/`` (once) and install the peers there; return its python."""
    py = venv_python()
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    ok = subprocess.run([str(py), "-c", "import imagecorruptions, albumentations"],
                        capture_output=True).returncode == 0  # fmt: skip
    if not ok:
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PEERS], check=True)
    return py


def _sources(src: Path) -> list[Path]:
    return sorted(p for p in src.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def imagecorruptions_loop(src: Path, out: Path, save: str = "png") -> int:
    import numpy as np
    from imagecorruptions import corrupt
    from PIL import Image

    n = 0
    for path in _sources(src):
        image = np.asarray(Image.open(path))
        for severity in range(5):
            corrupted = corrupt(image, corruption_name="jpeg_compression", severity=severity + 1)
            Image.fromarray(corrupted).save(out / f"{path.stem}_jpeg_s{severity + 1}.{save}")
            n += 1
    return n


def albumentations_loop(src: Path, out: Path, save: str = "png") -> int:
    import albumentations as A
    import cv2

    transforms = [
        A.ImageCompression(quality_range=(q, q), compression_type="jpeg", p=1.0) for q in QUALITIES
    ]
    ext = "jpg" if save == "jpeg" else save
    n = 0
    for path in _sources(src):
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        for q, t in zip(QUALITIES, transforms):
            result = t(image=image)["image"]
            cv2.imwrite(
                str(out / f"{path.stem}_q{q}.{ext}"), cv2.cvtColor(result, cv2.COLOR_RGB2BGR)
            )
            n += 1
    return n


LOOPS = {"imagecorruptions": imagecorruptions_loop, "albumentations": albumentations_loop}


def serve() -> None:
    """One JSON request per stdin line ``{"job", "src", "out", "save"}``; one JSON reply per line
    ``{"files", "seconds"}`` (or ``{"error"}``)."""
    for line in sys.stdin:
        req = json.loads(line)
        try:
            t = time.perf_counter()
            n = LOOPS[req["job"]](Path(req["src"]), Path(req["out"]), req.get("save", "png"))
            reply = {"files": n, "seconds": time.perf_counter() - t}
        except Exception as exc:  # noqa: BLE001 - the client raises it with the request
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


class PeerServer:
    """The client side: one long-lived peer process (imports paid once), asked per round."""

    def __init__(self, python: Path):
        env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}  # no update check (offline)
        self.proc = subprocess.Popen(
            [str(python), str(Path(__file__).resolve()), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip

    def run(self, job: str, src: Path, out: Path, save: str = "png") -> int:
        req = {"job": job, "src": str(src), "out": str(out), "save": save}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"peer server for {job!r} exited (code {self.proc.poll()}); "
                               f"run `python bench/peers.py --setup` to repair {VENV}")  # fmt: skip
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"peer {job!r} on {src}: {reply['error']}")
        return reply["files"]

    def close(self) -> None:
        """Stop the server; one that does not exit in 30 s (a peer's background thread, such as
        albumentations' update check without a network) is killed: its results are in."""
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--setup", action="store_true", help="create/refresh the peers venv and exit")
    ap.add_argument("--serve", action="store_true", help="answer loop requests on stdin (JSON)")
    args = ap.parse_args()
    if args.setup:
        print(setup())
    elif args.serve:
        serve()
    else:
        ap.print_help()


if __name__ == "__main__":
    main()

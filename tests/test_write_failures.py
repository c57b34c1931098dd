"""Write failures (disk full, permission denied) surface as one clear line naming the path, leave no
temp files, and the run resumes afterwards to the uninterrupted result.

Tests run as root, where chmod does not stop writes, so failures are injected: ``os.replace``,
``open`` in the manifest writer and ``os.makedirs`` fail for paths under OUT after a budget of
successful writes; where ``mount`` works, a real 1 MiB tmpfs fills up too."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_CONFIG
from degradebench.cli import main
from degradebench.generators import generate, read_manifest, verify
from degradebench.generators import manifest as mf
from degradebench.generators.core import files as atomic_files
from degradebench.generators.core.errors import OutputError


class FaultyDisk:
    """Fail file operations under ``root`` with ``err`` once ``budget`` writes have succeeded."""

    def __init__(self, root: Path, err: int, budget: int, ops=("replace", "open", "makedirs")):
        self.root, self.err, self.budget, self.ops = str(root), err, budget, ops
        self.writes = 0
        self.failures = 0
        self._replace, self._open, self._makedirs = os.replace, open, os.makedirs

    def _check(self, op: str, path) -> None:
        if not os.fspath(path).startswith(self.root):
            return
        if op in self.ops and self.writes >= self.budget:
            self.failures += 1
            raise OSError(self.err, os.strerror(self.err), os.fspath(path))
        if op == "replace":  # one finished file
            self.writes += 1

    def replace(self, src, dst):
        self._check("replace", dst)
        return self._replace(src, dst)

    def open(self, file, mode="r", *a, **k):
        if "w" in mode or "a" in mode:
            self._check("open", file)
        return self._open(file, mode, *a, **k)

    def makedirs(self, name, *a, **k):
        if not os.path.isdir(name):
            self._check("makedirs", name)
        return self._makedirs(name, *a, **k)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FaultyDisk:
        monkeypatch.setattr(os, "replace", self.replace)
        monkeypatch.setattr(os, "makedirs", self.makedirs)
        monkeypatch.setattr(atomic_files, "open", self.open, raising=False)  # the writer's own open()
        return self


def _temp_files(out: Path) -> list[str]:
    return [str(p) for p in out.rglob("*") if ".tmp-" in p.name]


@pytest.fixture()
def reference(tiny_config: Path, tmp_path: Path) -> pd.DataFrame:
    out = tmp_path / "ref"
    generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    return read_manifest(out)


def _argv(cfg: Path, out: Path) -> list[str]:
    # --jobs 1: the faults are injected in this process (the CLI's default is all cores)
    return ["generate", "--config", str(cfg), "--dataset", "tiny", "--suite", "small",
            "--out", str(out), "--quiet", "--jobs", "1"]  # fmt: skip


@pytest.mark.parametrize(
    ("err", "budget", "ops"),
    [
        (errno.ENOSPC, 0, ("replace", "open", "makedirs")),  # full before anything is written
        (errno.ENOSPC, 7, ("replace", "open")),  # mid-source: some variant files written
        (errno.ENOSPC, 20, ("replace",)),  # at a commit (rename) point, later sources
        (errno.EACCES, 3, ("makedirs",)),  # a variant folder cannot be created
        (errno.EROFS, 12, ("open",)),  # the file system turned read-only
    ],
)
def test_write_failure_is_one_line_and_the_run_resumes(
    err: int, budget: int, ops: tuple, tiny_config: Path, tmp_path: Path,
    reference: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
) -> None:  # fmt: skip
    out = tmp_path / "o"
    disk = FaultyDisk(out, err, budget, ops).install(monkeypatch)
    assert main(_argv(tiny_config, out)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert disk.failures >= 1 and len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("degradebench generate: error: cannot write " + str(out))
    assert os.strerror(err) in line and errno.errorcode[err] in line
    assert "run the same command again" in line and "Traceback" not in line
    assert _temp_files(out) == []
    monkeypatch.undo()  # the disk is fixed
    assert main(_argv(tiny_config, out)) == 0
    pd.testing.assert_frame_equal(read_manifest(out), reference)
    rep = verify(out)
    assert rep.ok and rep.orphans == [] and _temp_files(out) == []


def test_unwritable_output_folder_is_one_line(
    tiny_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out = tmp_path / "o"
    out.mkdir()
    real_open = os.open

    def no_lock(path, flags, *a, **k):
        if os.fspath(path) == str(out / ".lock"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", no_lock)
    assert main(_argv(tiny_config, out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot write {out / '.lock'}: Permission denied (EACCES)" in err
    # an output folder that cannot be created at all
    monkeypatch.undo()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(_argv(tiny_config, blocker / "o")) == 2
    assert "--out: cannot create" in capsys.readouterr().err


def test_library_raises_output_error_with_the_cause(
    tiny_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "o"
    FaultyDisk(out, errno.ENOSPC, 5).install(monkeypatch)
    with pytest.raises(OutputError, match=r"No space left on device \(ENOSPC\)") as info:
        generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    assert isinstance(info.value.__cause__, OSError)  # the original error, for --debug


def test_other_os_errors_in_the_cli_are_one_line(monkeypatch, capsys) -> None:
    import degradebench._cmd_verify as cmd

    def broken(args):
        raise OSError(errno.EIO, "Input/output error", "/mnt/nfs/out/manifest")

    monkeypatch.setattr(cmd, "run", broken)
    assert main(["verify", "somewhere"]) == 2
    err = capsys.readouterr().err
    assert (
        err == "degradebench verify: error: [Errno 5] Input/output error: '/mnt/nfs/out/manifest'\n"
    )
    with pytest.raises(OSError):
        main(["--debug", "verify", "somewhere"])


# --- a real full disk: a 1 MiB tmpfs, where mount is allowed ---------------------------------


@pytest.fixture()
def tiny_tmpfs(tmp_path: Path):
    mnt = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("needs root and mount(8) for a real tmpfs")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True, check=False)  # fmt: skip
    if r.returncode != 0:
        pytest.skip(f"mount tmpfs not permitted here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_disk_full_on_a_tmpfs_then_resume(
    tiny_tmpfs: Path, tmp_path: Path, tiny_tree: Path
) -> None:
    import numpy as np
    from conftest import png_bytes

    # big noisy sources so 1 MiB fills after a few variants
    for i in range(3):
        noise = np.random.default_rng(i).integers(0, 256, (256, 256, 3), dtype=np.uint8)
        (tiny_tree / "cam-a" / f"noise{i}.png").write_bytes(png_bytes(noise))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY_CONFIG.format(root=tiny_tree))
    out = tiny_tmpfs / "o"
    cmd = [sys.executable, "-m", "degradebench", *_argv(cfg, out), "--jobs", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device (ENOSPC)" in lines[0], r.stderr
    assert lines[0].startswith(f"degradebench generate: error: cannot write {out}")
    assert _temp_files(out) == []
    # the disk is "fixed": move what was made to a bigger disk and resume there
    big = tmp_path / "moved"
    shutil.copytree(out, big, symlinks=True)
    r = subprocess.run([sys.executable, "-m", "degradebench", *_argv(cfg, big)],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    ref = tmp_path / "ref"
    generate(config=cfg, dataset="tiny", suite="small", out=ref, progress=False)
    pd.testing.assert_frame_equal(read_manifest(big), read_manifest(ref))
    rep = verify(big)
    assert rep.ok and rep.orphans == []


# --- a damaged or tampered output folder: one line, never a traceback -------------------------


def test_damaged_state_and_manifest_files(tiny_config: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    assert main(_argv(tiny_config, out)) == 0
    capsys.readouterr()
    # a garbage run-state part (not ours: we write atomically) is dropped and its source redone
    state = sorted((out / ".state").rglob("*.parquet"))
    bogus = out / ".state" / "errors" / (mf.MANIFEST_DIR + "-bogus.parquet")
    bogus.parent.mkdir(parents=True, exist_ok=True)
    bogus.write_bytes(b"PAR1 not really")
    assert main(_argv(tiny_config, out)) == 0 and not bogus.exists()
    assert sorted((out / ".state").rglob("*.parquet")) == state
    capsys.readouterr()
    # a garbage manifest part: verify and generate say which file, in one line
    part = sorted((out / "manifest").glob("*.parquet"))[0]
    saved = part.read_bytes()
    part.write_bytes(saved[: len(saved) // 2])
    assert main(["verify", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"manifest part '{part}' is unreadable" in err
    part.write_bytes(saved)
    # runs.json (which suite definitions OUT holds) damaged
    runs = out / "runs.json"
    runs.write_text("{not json")
    assert main(_argv(tiny_config, out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{runs} is unreadable" in err and "Traceback" not in err


@pytest.mark.parametrize("folder", ["manifest", ".state", "variants"])
def test_own_folder_replaced_by_a_symlink_is_refused(
    folder: str, tiny_config: Path, tmp_path: Path, capsys
) -> None:
    out, elsewhere = tmp_path / "o", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / folder).symlink_to(elsewhere, target_is_directory=True)
    assert main(_argv(tiny_config, out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{out / folder} is a symlink" in err
    assert list(elsewhere.iterdir()) == []  # nothing was written through the link

"""Path and code safety: manifest paths stay inside OUT on read and write; reading manifests,
results and weights never executes code; a model entry point is imported only when named;
nothing listens on a network port unless the user starts a Dask scheduler."""

from __future__ import annotations

import ast
import hashlib
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _evalfix import TINY_CONFIG as EVAL_CONFIG
from _evalfix import TinyNet, make_manifest
from degradebench.cli import main
from degradebench.evaluators import evaluate, model_from_module, read_results
from degradebench.generators import generate, read_manifest, verify
from degradebench.generators.manifest import ManifestError, safe_join, unsafe_paths

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


# --- manifest paths ------------------------------------------------------------------------------

UNSAFE = {
    "../outside.png": "contains '..'",
    "variants/../../outside.png": "contains '..'",
    "/etc/passwd": "absolute",
    "C:/Windows/win.ini": "absolute",
    "variants\\..\\x.png": "absolute",
    "": "empty or not text",
}


@pytest.mark.parametrize("rel", list(UNSAFE))
def test_unsafe_manifest_paths_are_rejected(rel: str, tmp_path: Path) -> None:
    assert unsafe_paths(tmp_path, [rel]) == [(rel, UNSAFE[rel])]
    with pytest.raises(ManifestError, match="unsafe manifest path"):
        safe_join(tmp_path, rel)


def test_symlinks_out_of_the_folder_are_rejected(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "variants" / "a").mkdir(parents=True)
    outside.mkdir()
    (outside / "x.png").write_bytes(b"x")
    (out / "variants" / "a" / "ok.png").write_bytes(b"x")
    (out / "variants" / "linkdir").symlink_to(outside, target_is_directory=True)
    (out / "variants" / "a" / "link.png").symlink_to(outside / "x.png")
    (out / "variants" / "a" / "inner.png").symlink_to(out / "variants" / "a" / "ok.png")
    paths = ["variants/a/ok.png", "variants/linkdir/x.png", "variants/a/link.png",
             "variants/a/inner.png", "variants/a/missing.png"]  # fmt: skip
    bad = dict(unsafe_paths(out, paths))
    assert set(bad) == {"variants/linkdir/x.png", "variants/a/link.png"}
    assert bad["variants/a/link.png"] == f"a symlink to {outside / 'x.png'}"
    for rel in bad:
        with pytest.raises(ManifestError, match="resolves outside"):
            safe_join(out, rel)
    assert safe_join(out, "variants/a/inner.png") == out / "variants/a/inner.png"


def _tamper(out: Path, new_path: str, sha_of: Path | None = None) -> str:
    """Point the first manifest row at ``new_path`` (with a matching sha256 if given)."""
    part = sorted((out / "manifest").glob("*.parquet"))[0]
    t = pq.read_table(part)
    df = t.to_pandas()
    df.loc[0, "path"] = new_path
    if sha_of is not None:
        df.loc[0, "sha256"] = hashlib.sha256(sha_of.read_bytes()).hexdigest()
    pq.write_table(pa.Table.from_pandas(df, schema=t.schema, preserve_index=False), part)
    return str(df.loc[0, "variant_id"])


@pytest.fixture()
def generated(tiny_config: Path, tmp_path: Path) -> Path:
    out = tmp_path / "o"
    generate(config=tiny_config, dataset="tiny", suite="small", out=out, limit=1, progress=False)
    return out


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_verify_and_evaluate_refuse_paths_leaving_out(
    how: str, generated: Path, tmp_path: Path, capsys
) -> None:
    secret = tmp_path / "secret.png"
    shutil.copy(next((generated / "variants").rglob("*.png")), secret)  # a readable image
    if how == "dotdot":
        rel = "../secret.png"
    elif how == "absolute":
        rel = str(secret)
    else:
        (generated / "variants" / "evil").symlink_to(tmp_path, target_is_directory=True)
        rel = "variants/evil/secret.png"
    vid = _tamper(generated, rel, sha_of=secret)
    rep = verify(generated)
    assert not rep.ok and any(vid in p and ("unsafe" in p or "outside" in p) for p in rep.problems)
    assert main(["verify", str(generated)]) == 1
    capsys.readouterr()
    model = model_from_module(TinyNet(n_classes=2), name="t", input_config=EVAL_CONFIG)
    with pytest.raises(ManifestError, match="would read outside"):
        evaluate(generated, model, tmp_path / "r", device="cpu", workers=0, progress=False)
    argv = ["evaluate", "--manifest", str(generated), "--model", "_evalfix:tiny_net_factory",
            "--out", str(tmp_path / "r2"), "--device", "cpu", "--workers", "0", "--no-progress"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and repr(rel) in err and "Traceback" not in err


def test_generate_never_writes_through_a_planted_symlink(generated: Path, tmp_path: Path) -> None:
    """Variant files replaced by symlinks to files outside OUT: a rerun replaces the link itself
    (rename does not follow it) and never writes into the target."""
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    df = read_manifest(generated)
    victim = generated / df.path.iloc[0]
    victim.unlink()
    victim.symlink_to(target)
    for part in (generated / "manifest").glob("*.parquet"):
        part.unlink()  # make generate redo the source
    cfg = next(generated.parent.glob("datasets.yaml"))
    generate(config=cfg, dataset="tiny", suite="small", out=generated, limit=1, progress=False)
    assert target.read_text() == "precious" and not victim.is_symlink()
    assert verify(generated).ok


# --- reading never executes code ----------------------------------------------------------------


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_parquet_with_a_pickled_extension_type_is_not_unpickled(
    generated: Path, tmp_path: Path
) -> None:
    """CVE-2023-47248: a Parquet schema can name the 'arrow.py_extension_type' extension with a
    pickle as its metadata; readers must not unpickle it. Planted in a manifest part and a
    results file, read by every reader of ours."""
    marker = tmp_path / "PWNED"
    field = pa.field(
        "evil", pa.binary(),
        metadata={b"ARROW:extension:name": b"arrow.py_extension_type",
                  b"ARROW:extension:metadata": pickle.dumps(_Evil(marker))},
    )  # fmt: skip
    part = sorted((generated / "manifest").glob("*.parquet"))[0]
    t = pq.read_table(part)
    t = t.append_column(field, pa.array([b"x"] * len(t), pa.binary()))
    pq.write_table(t, part)
    read_manifest(generated)
    verify(generated)
    res = tmp_path / "results"
    res.mkdir()
    for name in ("predictions", "summary", "axis_summary", "curves", "errors"):
        pq.write_table(pa.table({"evil": pa.array([b"x"], pa.binary())}).cast(pa.schema([field])),
                       res / f"{name}.parquet")  # fmt: skip
    (res / "run.json").write_text("{}")
    read_results(res)
    pd.read_parquet(res / "summary.parquet")
    assert not marker.exists()


def test_malicious_weights_are_refused_not_executed(tmp_path: Path) -> None:
    from degradebench.evaluators.reference import CONFIG_NAME, DEFAULT_CONFIG, load_reference
    from degradebench.generators import ConfigError

    marker = tmp_path / "PWNED"
    weights = tmp_path / "weights.pt"
    with open(weights, "wb") as fh:
        import torch

        torch.save({"conv.weight": _Evil(marker)}, fh)
    shutil.copy(DEFAULT_CONFIG, tmp_path / CONFIG_NAME)
    with pytest.raises(ConfigError, match=rf"{weights}: not a plain state dict"):
        load_reference(weights)
    assert not marker.exists()


def _calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _project_sources() -> list[Path]:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                            "*.py"], cwd=REPO, capture_output=True, text=True,
                           check=False).stdout.split()  # fmt: skip
    files = [f for f in files if (REPO / f).is_file()]  # tracked but moved away: not a source
    if not files:  # not a git checkout
        files = [str(p.relative_to(REPO)) for d in ("bench", "generators", "evaluators")
                 for p in (REPO / d).rglob("*.py")]  # fmt: skip
    return [REPO / f for f in files if not f.startswith("tests/")]


def test_no_unsafe_deserialisation_in_the_code() -> None:
    """torch.load always with weights_only=True; no pickle/marshal/shelve/joblib.load, no unsafe
    YAML loader, no eval/exec, no np.load(allow_pickle=True) anywhere in the package."""
    found = []
    torch_loads = 0
    for path in _project_sources():
        for node, func in _calls(path):
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            kw = {k.arg: k.value for k in node.keywords}
            if func == "torch.load":
                torch_loads += 1
                wo = kw.get("weights_only")
                if not (isinstance(wo, ast.Constant) and wo.value is True):
                    found.append(f"{where}: torch.load without weights_only=True")
            elif func in ("pickle.load", "pickle.loads", "marshal.loads", "shelve.open",
                          "joblib.load", "yaml.unsafe_load", "yaml.full_load", "eval", "exec",
                          "dill.load", "cloudpickle.load", "cloudpickle.loads"):  # fmt: skip
                found.append(f"{where}: {func}")
            elif func == "yaml.load":
                loader = ast.unparse(kw.get("Loader", ast.Constant(None)))
                if loader not in ("yaml.SafeLoader", "_UniqueKeyLoader", "yaml.CSafeLoader"):
                    found.append(f"{where}: yaml.load with Loader={loader}")
            elif func == "np.load":
                ap = kw.get("allow_pickle")
                if ap is not None and not (isinstance(ap, ast.Constant) and ap.value is False):
                    found.append(f"{where}: np.load(allow_pickle=...)")
    assert found == []
    assert torch_loads >= 1  # the scan sees the reference model's loader


# --- entry points are imported only when named -----------------------------------------------------


def test_a_model_module_is_imported_only_when_named(tmp_path: Path) -> None:
    marker = tmp_path / "IMPORTED"
    pkg = tmp_path / "site"
    pkg.mkdir()
    (pkg / "sneaky_model.py").write_text(textwrap.dedent(f"""
        from pathlib import Path
        Path({str(marker)!r}).write_text("imported")
        from _evalfix import tiny_net_factory as build
    """))  # fmt: skip
    manifest = make_manifest(tmp_path / "m", per_class=(1, 1, 1), qualities=(50,), double=())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pkg), str(TESTS)])}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "degradebench", *args], env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    common = ["--manifest", str(manifest), "--device", "cpu", "--workers", "0", "--no-progress",
              "--bootstrap", "0"]  # fmt: skip
    assert cli("--help").returncode == 0
    assert cli("evaluate", "--help").returncode == 0
    assert cli("verify", str(manifest)).returncode in (0, 1)
    r = cli(
        "evaluate", *common, "--model", "_evalfix:tiny_net_factory", "--out", str(tmp_path / "a")
    )
    assert r.returncode == 0, r.stderr
    assert not marker.exists(), "a module nobody named was imported"
    r = cli("evaluate", *common, "--model", "sneaky_model:build", "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    assert marker.exists()


# --- no network listeners ---------------------------------------------------------------------------

_SPY = """
import os, socket
_log = os.environ["DEGRADEBENCH_SOCKET_LOG"]
def _note(kind, sock, addr=None):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        with open(_log, "a") as fh:
            fh.write(f"{os.getpid()} {kind} {addr}\\n")
_bind, _listen = socket.socket.bind, socket.socket.listen
def bind(self, addr):
    _note("bind", self, addr)
    return _bind(self, addr)
def listen(self, *a):
    _note("listen", self)
    return _listen(self, *a)
socket.socket.bind, socket.socket.listen = bind, listen
"""


def _watch(cmd: list[str], env: dict, timeout: float = 300) -> tuple[int, set, str]:
    """Run ``cmd``; every 20 ms list the inet sockets its process tree holds in LISTEN state
    (or bound UDP). Returns (exit code, listeners seen, stderr)."""
    import psutil

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    seen: set = set()
    deadline = time.monotonic() + timeout
    ps = psutil.Process(proc.pid)
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            tree = [ps, *ps.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in tree:
            try:
                for c in p.net_connections(kind="inet"):
                    if c.status == psutil.CONN_LISTEN or (c.type == 2 and c.laddr and not c.raddr):
                        seen.add((p.pid, c.laddr))
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        time.sleep(0.02)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, seen, err


def _spy_env(tmp_path: Path) -> tuple[dict, Path]:
    """An environment whose Python processes (workers included) log every inet bind/listen."""
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(_SPY)  # imported at start-up by every Python process
    log = tmp_path / "sockets.log"
    env = {**os.environ, "DEGRADEBENCH_SOCKET_LOG": str(log),
           "PYTHONPATH": os.pathsep.join([str(spy), str(TESTS)])}  # fmt: skip
    return env, log


def test_generate_and_evaluate_open_no_network_port(tiny_config: Path, tmp_path: Path) -> None:
    pytest.importorskip("psutil")
    env, log = _spy_env(tmp_path)
    gen = [sys.executable, "-m", "degradebench", "generate", "--config", str(tiny_config),
           "--dataset", "tiny", "--suite", "small", "--out", str(tmp_path / "o"), "--jobs", "2",
           "--quiet"]  # fmt: skip
    rc, seen, err = _watch(gen, env)
    assert rc == 0, err
    manifest = make_manifest(tmp_path / "m", per_class=(2, 2, 2))
    ev = [sys.executable, "-m", "degradebench", "evaluate", "--manifest", str(manifest),
          "--model", "_evalfix:tiny_net_factory", "--out", str(tmp_path / "r"), "--device", "cpu",
          "--workers", "2", "--batch-size", "4", "--no-progress"]  # fmt: skip
    rc2, seen2, err2 = _watch(ev, env)
    assert rc2 == 0, err2
    assert seen == set() and seen2 == set()
    assert not log.exists() or log.read_text() == ""


@pytest.mark.slow
def test_a_dask_scheduler_is_the_one_listener(tiny_config: Path, tmp_path: Path) -> None:
    """Positive control for the probe above: the user-started Dask cluster does listen."""
    pytest.importorskip("distributed")
    pytest.importorskip("psutil")
    cmd = [sys.executable, "-m", "degradebench", "generate", "--config", str(tiny_config),
           "--dataset", "tiny", "--suite", "small", "--out", str(tmp_path / "o"), "--quiet",
           "--scheduler", "local:1"]  # fmt: skip
    env, log = _spy_env(tmp_path)
    rc, seen, err = _watch(cmd, env)
    assert rc == 0, err
    assert seen and all(addr.ip == "127.0.0.1" for _, addr in seen)  # loopback only
    assert " listen " in log.read_text()  # the spy works, so its silence above means something

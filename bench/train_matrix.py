"""``train_matrix``: the train-on-X / test-on-Y matrix (issue 15) beneath one folder.

One reference model per training policy (``policies:`` in datasets.yaml) is trained on the
training folds of the virtual cameras, and each is evaluated on the ``default`` and ``social``
suites on the held-out fold; the settings are the ``train_matrix`` section of applications.yaml.

    OUT/data/                     the virtual-cameras dataset (unless ``dataset_root`` is given)
    OUT/variants/<suite>/         each suite generated once on the held-out fold
    OUT/models/<policy>/          reference_weights.pt, reference_config.json,
                                  reference_training.json and model.py (a load_model factory)
    OUT/results/<policy>/<suite>/ evaluate's results
    OUT/matrix.parquet            long format: policy, axis, level, metric, value, ci_low,
                                  ci_high, n (the clean condition once, from the first suite)
    OUT/matrix.png, matrix.svg    the heat map; OUT/matrix.json: how it was made, timings

Resumable: a policy whose reference_training.json matches (policy sha256, the whole recipe:
every key of reference_recipe.json with the run's epochs, patches per image, seed, threads and
folds; dataset digest; weights sha256) is not retrained; evaluate reuses its results by key.
Weights are bit-exact for a given ``threads`` (torch threads per training, default 1): ``jobs``
trains that many policies at once in separate processes and does not change the weights.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import degradebench as db
from degradebench.appdata import MatrixSettings, matrix_settings
from degradebench.generators.core.errors import ConfigError

from ._cmd_demo import _Steps
from ._matrix_plan import MatrixPlan, plan_matrix
from ._options import resolve_jobs

__all__ = ["train_matrix", "collect_matrix", "MODEL_FACTORY"]

MODEL_FACTORY = '''"""The reference architecture with the weights that `degradebench train-matrix`
trained under policy {policy!r} (its record: reference_training.json beside this file).

    degradebench evaluate OUT --model {path}:build --out RESULTS
"""

from pathlib import Path

from degradebench.evaluators.reference import load_reference


def build():
    return load_reference(Path(__file__).with_name("reference_weights.pt"))
'''


def _dataset(out: Path, cfg, s: MatrixSettings, plan: MatrixPlan, root, params, jobs, progress):
    """(config, dataset argument for generate, dataset root, what it is): ``root`` as given, or
    the config's virtual cameras (``plan.quick``: the small params; ``params``: more replaced)
    built beneath OUT. ``--quick`` with a root keeps that root and says so on stderr."""
    from degradebench.evaluators._recipe import DEFAULTS
    from degradebench.generators.core.records import from_mapping, to_plain
    from degradebench.generators.virtual_cameras import (
        VirtualCamerasParams,
        build_virtual_cameras,
    )

    if root is not None:
        root = Path(root).expanduser().absolute()
        if not root.is_dir():
            raise ConfigError(f"--dataset-root: folder not found: {str(root)!r}; pass a "
                              "folder-per-class tree or a folder holding list.csv or "
                              "list.parquet")  # fmt: skip
        if plan.quick:
            note = (f"--quick with --dataset-root: the quick dataset is not built, {root} is "
                    f"used as given; only the short recipe applies ({plan.epochs} epochs, "
                    f"{plan.patches_per_image} patches per image)")  # fmt: skip
            print(note, file=sys.stderr, flush=True)
        return cfg, str(root), root, {"root": str(root)}
    spec = cfg.dataset(s.dataset)
    where = f"applications.yaml: train_matrix.dataset {s.dataset!r}"
    if spec.kind != "virtual-cameras":
        raise ConfigError(f"{where}: must be a virtual-cameras dataset, got kind {spec.kind!r}")
    if (spec.folds, spec.fold_seed) != (DEFAULTS["folds"], 0):
        raise ConfigError(
            f"{spec.yaml_path}: train-matrix needs folds: {DEFAULTS['folds']} and fold_seed: 0 "
            f"(the trainer's split), got {spec.folds} and {spec.fold_seed}; edit the dataset"
        )  # fmt: skip
    raw = {**to_plain(spec.params), **(s.quick.dataset if plan.quick else {}), **(params or {})}
    vc = from_mapping(VirtualCamerasParams, raw, "train_matrix.quick.dataset")
    data_root = out / "data"
    spec = dataclasses.replace(spec, params=vc, root=str(data_root))
    cfg = dataclasses.replace(cfg, datasets={**cfg.datasets, s.dataset: spec})
    build_virtual_cameras(vc, data_root, jobs=jobs, progress=progress)
    return cfg, s.dataset, data_root, {"name": s.dataset, "root": str(data_root),
                                       "params": to_plain(vc)}  # fmt: skip


def _train_key(policy, plan: MatrixPlan, digest: str) -> dict:
    """What decides whether a trained model can be reused: the policy, the whole recipe (every
    key of reference_recipe.json, epochs, patches per image, seed, threads, folds), the data."""
    return {"policy_sha256": policy.sha256, "recipe": plan.recipe, "dataset_digest": digest}


def _recorded_key(model_dir: Path) -> dict | None:
    """The key a finished training recorded (None: not trained, or its weights changed)."""
    import hashlib

    from degradebench.evaluators._train_reference import TRAINING_NAME, WEIGHTS_NAME

    try:
        rec = json.loads((model_dir / TRAINING_NAME).read_text(encoding="utf-8"))
        weights = (model_dir / WEIGHTS_NAME).read_bytes()
    except (OSError, ValueError):
        return None
    sha = hashlib.sha256(weights).hexdigest()
    if not isinstance(rec, dict) or rec.get("weights_sha256") != sha:
        return None
    return {"policy_sha256": (rec.get("policy") or {}).get("sha256"),
            "recipe": rec.get("recipe"), "dataset_digest": rec.get("dataset_digest")}  # fmt: skip


def _train_one(root: Path, model_dir: Path, degrade, plan: MatrixPlan, policy: str = "") -> dict:
    """Train one policy's model into ``model_dir`` (a process of its own when jobs > 1)."""
    from degradebench.evaluators._train_reference import TRAINING_NAME, train_reference

    (model_dir / TRAINING_NAME).unlink(missing_ok=True)  # an old record must not look finished
    start = time.perf_counter()
    r = plan.recipe
    train_reference(
        root, model_dir, epochs=r["epochs"], seed=plan.seed, folds_train=plan.folds_train,
        threads=plan.threads, progress=False, patches_per_image=r["patches_per_image"],
        patch=r["patch"], batch_size=r["batch_size"], lr=r["lr"], degrade=degrade,
    )  # fmt: skip
    rec = json.loads((model_dir / TRAINING_NAME).read_text(encoding="utf-8"))
    return {"policy": policy, "seconds": time.perf_counter() - start,
            "accuracy": rec["train_patch_accuracy_last_epoch"]}  # fmt: skip


def _train_all(out: Path, root: Path, cfg, plan: MatrixPlan, jobs: int, step) -> dict[str, dict]:
    """Train the policies not trained yet (``jobs`` at a time); one step line per policy."""
    from degradebench.data import Degrade
    from degradebench.evaluators._train_reference import _dataset_digest, load_split

    items, _ = load_split(root, plan.folds_train)
    digest = _dataset_digest(items)
    del items
    todo, info = [], {}
    for name in plan.policies:
        degrade = Degrade(cfg.policy(name), seed=plan.seed)
        model_dir = out / "models" / _safe(name)
        _write_factory(model_dir, name)
        if _recorded_key(model_dir) == _train_key(degrade.policy, plan, digest):
            step(f"policy {name!r}: trained already ({model_dir}), not retrained")
            info[name] = {"reused": True}
        else:
            todo.append((name, model_dir, degrade))
    if not todo:
        return info
    n = min(jobs, len(todo))
    print(f"training {len(todo)} policies, {n} at a time, {plan.threads} torch thread(s) each "
          f"({plan.epochs} epochs, {plan.patches_per_image} patches per image)",
          file=sys.stderr, flush=True)  # fmt: skip

    def done(name: str, model_dir: Path, r: dict) -> None:
        info[name] = {"reused": False, **r}
        step(f"trained policy {name!r} in {r['seconds']:.0f} s into {model_dir} (last-epoch "
             f"patch accuracy {r['accuracy']:.3f})")  # fmt: skip

    if n == 1:
        for name, model_dir, degrade in todo:
            done(name, model_dir, _train_one(root, model_dir, degrade, plan, name))
        return info
    from joblib import Parallel, delayed  # loky: fresh processes, no fork of torch's threads

    tasks = (delayed(_train_one)(root, d, g, plan, name) for name, d, g in todo)
    with warnings.catch_warnings():  # loky restarts a worker that grew by a training's memory
        warnings.filterwarnings("ignore", "A worker stopped while some jobs", UserWarning)
        for r in Parallel(n_jobs=n, backend="loky", return_as="generator_unordered")(tasks):
            done(r["policy"], out / "models" / _safe(r["policy"]), r)
    return info


def _safe(name: str) -> str:
    """A policy name as a folder name (``jpeg+grid`` stays; anything odd becomes ``_``)."""
    return "".join(ch if ch.isalnum() or ch in "-_+." else "_" for ch in name)


def _write_factory(model_dir: Path, policy: str) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / "model.py"
    body = MODEL_FACTORY.format(policy=policy, path=f"models/{_safe(policy)}/model.py")
    if not path.is_file() or path.read_text(encoding="utf-8") != body:
        path.write_text(body, encoding="utf-8")


def _evaluate(out: Path, plan: MatrixPlan, device: str, progress: bool, step) -> None:
    for name in plan.policies:
        model_dir = out / "models" / _safe(name)
        model = db.load_model(f"{model_dir / 'model.py'}:build", name=f"reference-{name}")
        step(f"evaluating policy {name!r} on {', '.join(plan.suites)} (fold {plan.fold})")
        for suite in plan.suites:
            db.evaluate(  # reuses the results there when their key matches (it says so)
                out / "variants" / suite, model, out / "results" / _safe(name) / suite,
                device=device, folds=[plan.fold], progress=progress, channels_last=True,
                name=model.name,
            )  # fmt: skip


def _condition_order(cfg, suites: Sequence[str]) -> list[tuple[str, str]]:
    """(axis, level) in the suites' planned order (config order), each once."""
    from degradebench.generators.plan import plan_source

    order: list[tuple[str, str]] = []
    for suite in suites:
        try:
            plans = plan_source(cfg.suite(suite), "order")
        except ConfigError:  # an axis that needs real sources (splices): summary order
            continue
        order += [(p.axis, p.level) for p in plans]
    return list(dict.fromkeys(order))


def _read_summary(out: Path, policy: str, suite: str):
    """OUT/results/<policy>/<suite>/summary.parquet, or a ConfigError naming it and the fix."""
    import pandas as pd

    folder = out / "results" / _safe(policy)
    path = folder / suite / "summary.parquet"
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        what = "not found" if isinstance(exc, FileNotFoundError) else f"unreadable ({exc})"
        raise ConfigError(
            f"{path}: {what}: the evaluation of policy {policy!r} on suite {suite!r} did not "
            f"finish; rerun degradebench train-matrix --out {out} (it redoes what is missing), "
            f"or delete {folder} first if it fails again"
        ) from None


def collect_matrix(out: Path, policies: Sequence[str], suites: Sequence[str],
                   metrics: Sequence[str], order: Sequence[tuple[str, str]] = ()):  # fmt: skip
    """matrix.parquet's frame from OUT/results: per policy, each (axis, level) once (the
    first suite that has it: the clean condition comes from the first suite), ``metrics``."""
    import pandas as pd
    from degradebench.evaluators.report.matrix import MATRIX_COLUMNS

    rank = {c: i for i, c in enumerate(order)}
    parts = []
    for name in policies:
        seen: set[tuple[str, str]] = set()
        for k, suite in enumerate(suites):
            s = _read_summary(out, name, suite)
            s = s[s["metric"].isin(metrics)].copy()
            keys = list(zip(s["axis"].astype(str), s["level"].astype(str)))
            s = s[[key not in seen for key in keys]]
            seen |= set(keys)
            s["policy"] = name
            s["_rank"] = [rank.get(key, len(rank)) for key in zip(s["axis"], s["level"])]
            s["_suite"], s["_metric"] = k, s["metric"].map(list(metrics).index)
            parts.append(s)
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.sort_values(["_suite", "_rank", "axis", "level", "_metric"], kind="stable")
    frame["_policy"] = frame["policy"].map(list(policies).index)
    frame = frame.sort_values("_policy", kind="stable")[MATRIX_COLUMNS].reset_index(drop=True)
    frame["n"] = pd.to_numeric(frame["n"]).fillna(0).astype("int64")
    for col in ("policy", "axis", "level", "metric"):
        frame[col] = frame[col].astype(str)
    return frame


def _write_matrix(out: Path, cfg, plan: MatrixPlan, s: MatrixSettings, record: dict) -> dict:
    from degradebench.evaluators.report.figures import save_figure
    from degradebench.evaluators.report.matrix import MATRIX_FILE, MATRIX_RUN, draw_matrix
    from degradebench.evaluators.results import write_parquet
    from degradebench.generators.core.files import atomic_write_bytes

    frame = collect_matrix(out, plan.policies, plan.suites, s.metrics,
                           _condition_order(cfg, plan.suites))  # fmt: skip
    write_parquet(frame, out / MATRIX_FILE)
    files = save_figure(draw_matrix(frame, source=out / MATRIX_FILE), out / "matrix", pdf=False)
    atomic_write_bytes(out / MATRIX_RUN, (json.dumps(record, indent=1) + "\n").encode())
    return {"frame": frame, "parquet": out / MATRIX_FILE, **files}


def train_matrix(
    out: str | Path,
    *,
    policies: Sequence[str] | str | None = None,
    quick: bool = False,
    dataset_root: str | Path | None = None,
    config: str | Path | None = None,
    jobs: int | None = None,
    threads: int = 1,
    device: str = "auto",
    progress: bool = True,
    epochs: int | None = None,
    patches_per_image: int | None = None,
    suites: Sequence[str] | None = None,
    dataset_params: Mapping | None = None,
    recipe: Mapping | None = None,
) -> dict:
    """Train, evaluate and tabulate the matrix beneath ``out`` (resumable; module docstring).

    Args:
        policies: names from the config's ``policies:`` (default: the settings' five).
        quick: the settings' small dataset and short recipe (CI-sized).
        dataset_root: train and evaluate on this folder (list.csv, list.parquet or
            folder-per-class); with ``quick``, only the short recipe applies (stderr says so).
        jobs: processes for building, generating and training (policies trained at once).
        threads: torch threads per training (the weights depend on it; default 1).
        epochs, patches_per_image, suites, dataset_params: override the settings (tests).
        recipe: override the training recipe's ``patch``, ``batch_size`` or ``lr`` (tests);
            any change of the recipe (these, or reference_recipe.json) retrains.

    Returns: paths (``matrix``, ``png``, ``svg``, ``json``), the frame and the timings.
    """
    s = matrix_settings()
    out = Path(out).expanduser().absolute()
    jobs = resolve_jobs(jobs)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs: must be a positive integer or -1, got {jobs!r}; "
                          "e.g. --jobs 2, or -1 for every core")  # fmt: skip
    cfg_path = config or Path(str(resources.files("degradebench.generators") / "datasets.yaml"))
    cfg = db.load_config(cfg_path)
    plan = plan_matrix(s, cfg, policies, suites, quick, epochs, patches_per_image, threads, recipe)
    step = _Steps(2 + len(plan.suites) + 2 * len(plan.policies))
    times: dict[str, float] = {}
    t0 = t = step(f"dataset ({'quick' if quick else 'full'}) beneath {out}")
    cfg, dataset, root, data_info = _dataset(out, cfg, s, plan, dataset_root, dataset_params,
                                             jobs, progress)  # fmt: skip
    times["dataset"] = time.perf_counter() - t
    t = time.perf_counter()
    for suite in plan.suites:
        step(f"generating the {suite!r} suite on held-out fold {plan.fold}")
        db.generate(config=cfg, dataset=dataset, suite=suite, out=out / "variants" / suite,
                    jobs=jobs, folds=[plan.fold], progress=progress)  # fmt: skip
    times["generate"] = time.perf_counter() - t
    t = time.perf_counter()
    trained = _train_all(out, root, cfg, plan, jobs, step)
    times["train"] = time.perf_counter() - t
    t = time.perf_counter()
    _evaluate(out, plan, device, progress, step)
    times["evaluate"] = time.perf_counter() - t
    t = step(f"writing {out / 'matrix.parquet'} and the heat map")
    record = {"policies": list(plan.policies), "suites": list(plan.suites), "fold": plan.fold,
              "quick": quick, "dataset": data_info, "metrics": list(s.metrics),
              "recipe": {**plan.recipe, "jobs": jobs},
              "summary": [dataclasses.asdict(g) for g in s.summary],
              "models": _models_record(out, plan, trained), "seconds": times}  # fmt: skip
    files = _write_matrix(out, cfg, plan, s, record)
    times["matrix"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    return {"out": out, "matrix": files["parquet"], "png": files["png"], "svg": files["svg"],
            "json": out / "matrix.json", "frame": files["frame"], "times": times,
            "trained": [n for n, v in trained.items() if not v["reused"]],
            "summary": [dataclasses.asdict(g) for g in s.summary]}  # fmt: skip


def _models_record(out: Path, plan: MatrixPlan, trained: dict) -> dict:
    """Per policy: its sha256, the weights' sha256, training seconds, chains applied."""
    from degradebench.evaluators._train_reference import TRAINING_NAME

    models = {}
    for name in plan.policies:
        path = out / "models" / _safe(name) / TRAINING_NAME
        rec = json.loads(path.read_text(encoding="utf-8"))
        pol = rec.get("policy") or {}
        models[name] = {
            "policy_sha256": pol.get("sha256"), "weights_sha256": rec["weights_sha256"],
            "train_seconds": rec["seconds"], "degrade_seconds": pol.get("degrade_seconds"),
            "train_patch_accuracy_last_epoch": rec["train_patch_accuracy_last_epoch"],
            "chains": pol.get("chains"),
            "retrained": not trained.get(name, {}).get("reused", False),
        }  # fmt: skip
    return models

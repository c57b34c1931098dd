"""Generation on a real Dask cluster (2 worker processes on loopback) equals a single-process run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from degradebench.generators import generate, read_manifest, verify

pytest.importorskip("distributed")


def test_local_cluster_matches_single_process(tiny_config: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    single = tmp_path / "single"
    generate(config=tiny_config, dataset="tiny", suite="small", out=single, progress=False)
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        dist = tmp_path / "dask"
        s = generate(
            config=tiny_config,
            dataset="tiny",
            suite="small",
            out=dist,
            progress=False,
            scheduler=cluster.scheduler_address,
        )
        assert s.variants == 54
        workers = cluster.scheduler_info["workers"]
        assert len(workers) == 2
    a, b = read_manifest(single), read_manifest(dist)
    pd.testing.assert_frame_equal(a.drop(columns=["source_path"]), b.drop(columns=["source_path"]))
    assert verify(dist).ok


def test_local_n_shorthand_and_bad_address(tiny_config: Path, tmp_path: Path) -> None:
    from degradebench.generators import ConfigError

    s = generate(
        config=tiny_config,
        dataset="tiny",
        suite="small",
        out=tmp_path / "o",
        limit=1,
        progress=False,
        scheduler="local:2",
    )
    assert s.variants == 18
    with pytest.raises(ConfigError, match="expected tcp://host:port or local:N"):
        generate(
            config=tiny_config,
            dataset="tiny",
            suite="small",
            out=tmp_path / "p",
            progress=False,
            scheduler="http://nope",
        )

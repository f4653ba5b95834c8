"""Mining many repositories: serially, in processes and on a Dask LocalCluster give one identical table;
git bundles are cloned once into the cache and never written into.

Unit: a mined table (bytes of its Parquet and CSV serialisations); repositories are scripted in the test.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from studykit import cli
from studykit.contract.errors import InputError
from studykit.studies.code_survival.bundles import clone_bundles, head_time
from studykit.studies.code_survival.parallel import mine_many, repository_names

sys.path.insert(0, str(Path(__file__).parent))
from cs_gitutil import Repo  # noqa: E402

AGENT = ("Claude", "noreply@anthropic.com")


def _repo(path: Path, seed: int) -> Path:
    r = Repo(path)
    for i in range(6):
        who = AGENT if (i + seed) % 3 == 0 else ("Hana Human", "hana@example.org")
        r.lines(f"src/f{i % 2}.py", *[f"x{j} = {i * j + seed}" for j in range(4 + i)])
        r.commit(f"c{i}", f"change {i}" if i % 2 else f"fix bug {i}", day=i + seed, author=who)
    return r.path


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    root = tmp_path_factory.mktemp("repos")
    paths = [_repo(root / "alpha", 1), _repo(root / "beta", 2), _repo(root / "nested" / "alpha", 3)]
    return [str(p) for p in paths]


def _digest(df) -> str:
    return hashlib.sha256(df.to_csv(index=False, lineterminator="\n", float_format="%.10g").encode()).hexdigest()


def test_names_are_fixed_before_mining_and_unique(repos):
    assert repository_names(repos) == ["alpha", "beta", "alpha-2"]


def test_serial_processes_and_dask_give_the_same_table(repos):
    serial = mine_many(repos)
    assert len(serial) > 0 and list(serial["repo"].unique()) == ["alpha", "beta", "alpha-2"]
    assert _digest(mine_many(repos, jobs=2)) == _digest(serial)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        assert _digest(mine_many(repos, dask=client)) == _digest(serial)
    assert len(serial.attrs["mining_report"]) == 3


def test_mine_cli_jobs_writes_the_same_file(repos, tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert cli.main(["mine", *repos, "--out", str(a), "--no-progress"]) == 0
    assert cli.main(["mine", *repos, "--out", str(b), "--jobs", "2"]) == 0
    import pandas as pd

    assert _digest(pd.read_parquet(a)) == _digest(pd.read_parquet(b))


def test_bundles_are_cloned_once_and_left_untouched(repos, tmp_path):
    bundle = tmp_path / "alpha.bundle"
    import subprocess

    subprocess.run(["git", "-C", repos[0], "bundle", "create", str(bundle), "--all"], check=True,
                   capture_output=True)
    before = bundle.read_bytes()
    (clone,) = clone_bundles([bundle], tmp_path / "cache")
    assert clone.name == "alpha" and (clone / ".git").is_dir()
    stamp = (clone / ".git" / "HEAD").stat().st_mtime_ns
    assert clone_bundles([bundle], tmp_path / "cache") == [clone]
    assert (clone / ".git" / "HEAD").stat().st_mtime_ns == stamp
    assert bundle.read_bytes() == before
    assert head_time(clone).endswith("Z")
    assert _digest(mine_many([clone])) == _digest(mine_many([repos[0]]))
    with pytest.raises(InputError, match="bundle not found"):
        clone_bundles([tmp_path / "missing.bundle"], tmp_path / "cache")


def test_bundles_cloned_in_threads_equal_serial_clones(repos, tmp_path):
    import subprocess

    bundles = []
    for r, name in zip(repos[:2], ("alpha", "beta")):
        bundles.append(tmp_path / f"{name}.bundle")
        subprocess.run(["git", "-C", r, "bundle", "create", str(bundles[-1]), "--all"], check=True,
                       capture_output=True)
    threaded = clone_bundles(bundles + bundles[:1], tmp_path / "t", jobs=2)  # a repeated bundle: one clone
    serial = clone_bundles(bundles, tmp_path / "s")
    assert [p.name for p in threaded] == ["alpha", "beta", "alpha"] and threaded[0] == threaded[2]
    assert _digest(mine_many(threaded[:2])) == _digest(mine_many(serial))
    with pytest.raises(InputError, match="missing.bundle: bundle not found"):
        clone_bundles([*bundles, tmp_path / "missing.bundle"], tmp_path / "t2", jobs=2)
    assert not (tmp_path / "t2").exists()  # refused before any clone started

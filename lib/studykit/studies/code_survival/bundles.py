"""Git bundles as inputs: cloned once into the cache, never written into.

A git bundle (``git bundle create``) is one file holding a repository's
history; the real-data profiles ``agent_repos`` and ``agent_repos_all`` read the bundles of public
repositories with agent commits from ``../shared/data/code_survival/``.
:func:`clone_bundles` clones each bundle into
``.cache/code_survival/bundles/<sha256 of the bundle, 16 hex>/<name>/`` (name:
the bundle's file name without ``.bundle``) the first time, through a
temporary folder renamed into place, and reuses the clone afterwards; the
bundle itself is only read. A clone is checked out at the bundle's HEAD, so
mining it gives the same table on every run. Every git call goes through
:mod:`studykit.files.gitsafe` (a bundle carries no configuration, but the clone and the later reads use the same
hardened command line as any repository).
"""
from __future__ import annotations

from pathlib import Path

from studykit.contract.errors import InputError
from studykit.files.fileio import sha256_file
from studykit.files.gitsafe import git_argv, hardened_env, run

SOURCE_HINT = ("the bundles of agent_repos (anthropics/claude-code-action, MIT; simonw/sqlite-utils, Apache-2.0) "
               "and agent_repos_all (those two and ten filtered histories of MIT/Apache-2.0 repositories; "
               "../shared/data/code_survival/README.md) are read from ../shared/data/code_survival/ beside the "
               "project; pass other bundles or repositories with --set bundles=[...] or --set repos=[...]")


def _git(*args: str, cwd: Path | None = None, config: tuple[str, ...] = ()) -> str:
    return run(git_argv(*args, cwd_repo=cwd, config=config), env=hardened_env()).stdout.decode("utf-8", "replace")


def clone_bundle(bundle: str | Path, cache: Path) -> Path:
    """The cached clone of one bundle (made on first use); see the module docstring."""
    from studykit.files.folders import building_dir

    bundle = Path(bundle)
    if not bundle.is_file():
        raise InputError(f"{bundle}: bundle not found ({SOURCE_HINT})")
    name = bundle.name.removesuffix(".bundle") or "repo"
    folder = cache / sha256_file(bundle)[:16]
    if (folder / name / ".git").is_dir():
        return folder / name
    cache.mkdir(parents=True, exist_ok=True)
    with building_dir(folder) as tmp:
        try:
            # a bundle is read through the "file" transport, the only one allowed here
            _git("clone", "--quiet", "--no-hardlinks", "-c", "advice.detachedHead=false", str(bundle),
                 str(tmp / name), config=("protocol.file.allow=always",))
        except InputError as exc:
            raise InputError(f"{bundle}: not a readable git bundle ({exc})") from None
    return folder / name


def clone_bundles(bundles: list[str | Path], cache: Path | None = None, jobs: int = 1) -> list[Path]:
    """Clone every bundle into the cache (see the module docstring), ``jobs`` clones at a time (each is one git
    process; the first error is raised); the clones' paths, in the order of ``bundles``."""
    from studykit.files.paths import cache_dir

    cache = cache or (cache_dir() / "code_survival" / "bundles")
    if jobs <= 1 or len(bundles) <= 1:
        return [clone_bundle(b, cache) for b in bundles]
    for b in bundles:  # a missing bundle is reported before any clone starts
        if not Path(b).is_file():
            raise InputError(f"{b}: bundle not found ({SOURCE_HINT})")
    from concurrent.futures import ThreadPoolExecutor

    cache.mkdir(parents=True, exist_ok=True)
    from studykit.files.fileio import sha256_file as digest

    # bundles with the same content share one clone folder: each is cloned once, by one thread
    first: dict[str, str | Path] = {}
    keys = []
    for b in bundles:
        keys.append(digest(Path(b)) + "/" + Path(b).name)
        first.setdefault(keys[-1], b)
    if len({k.split("/")[0] for k in first}) < len(first):  # same content under two names: one folder, serially
        return [clone_bundle(b, cache) for b in bundles]
    with ThreadPoolExecutor(max_workers=min(jobs, len(first))) as pool:
        done = dict(zip(first, pool.map(lambda b: clone_bundle(b, cache), first.values())))
    return [done[k] for k in keys]


def head_time(repo: str | Path) -> str:
    """ISO 8601 committer time of ``HEAD`` in UTC (``2026-08-22T14:45:56Z``)."""
    out = _git("log", "-1", "--format=%ct", "HEAD", cwd=Path(repo)).strip()
    import datetime as dt

    return dt.datetime.fromtimestamp(int(out), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

"""Running git on repositories studykit did not make: the one hardened way every call goes.

A repository given to studykit (``studykit mine REPO``, ``--set repos=[...]``, the cache key of a repository
input) is data, and its ``.git/config`` is always read by git: it cannot be switched off, and it (or a file it
pulls in with ``include.path`` / ``includeIf``) can name programs that git runs during ordinary read commands.
Every git call in studykit therefore goes through :func:`git_argv` / :func:`hardened_env` (or a
:class:`RepoView`, which uses them), which apply these rules:

1. **Command-valued keys are pinned on the command line** (``-c`` wins over every configuration file, the
   repository's own included): :data:`SAFE_CONFIG`, i.e. ``core.fsmonitor`` (run when the index is read),
   ``core.hooksPath=/dev/null`` (no hook of ``.git/hooks`` or elsewhere runs, e.g. ``post-index-change``),
   ``core.pager``/``pager.<cmd>`` (``--no-pager`` as well), ``diff.external``, ``core.attributesFile``
   (``/dev/null``), ``core.editor``, ``sequence.editor``, ``core.sshCommand``, ``core.gitProxy``,
   ``core.askPass``, ``credential.helper``, ``core.alternateRefsCommand``, ``gpg.program`` and its ssh/x509
   forms with ``log.showSignature=false``, ``protocol.allow=never`` (no transport, so no ``ext::`` command,
   ``remote.*.uploadpack`` or proxy runs).
2. **Diff drivers**: diff-producing subcommands (:data:`DIFF_SUBCOMMANDS`) get ``--no-ext-diff
   --no-textconv``, so neither ``diff.<driver>.command`` nor ``diff.<driver>.textconv`` runs; ``blame`` gets
   ``--no-textconv``.
3. **Filter drivers** (``filter.<driver>.clean/smudge/process``; the driver name is free, so no fixed ``-c``
   list can name it): a :class:`RepoView` lists the drivers the repository's configuration defines (``git
   config --get-regexp``, which reads configuration and runs nothing) and pins each one's ``clean``,
   ``smudge`` and ``process`` to empty (git then applies no filter) and ``required`` to false.
4. **Only object commands.** The miner reads a repository through a :class:`RepoView`: ``GIT_DIR`` is the
   repository's git folder, the work tree a private temporary folder holding only ``HEAD``'s
   ``.gitattributes`` files (so attributes such as ``-diff`` or ``binary`` are those committed at ``HEAD``,
   whatever the user's checkout holds) and the index a temporary file. No call reads or writes the user's
   working tree or index (no ``git status``): the cache key of a repository is its ``HEAD`` commit, its
   shallow list and ``info/attributes`` (:func:`repo_fingerprint`).
5. **Environment**: the caller's ``GIT_*`` variables are dropped (``GIT_DIR``, ``GIT_EXTERNAL_DIFF``,
   ``GIT_SSH``, ``GIT_CONFIG_PARAMETERS``...); ``GIT_CONFIG_NOSYSTEM=1``, ``GIT_CONFIG_GLOBAL=/dev/null``,
   ``GIT_ATTR_NOSYSTEM=1``, ``GIT_NO_REPLACE_OBJECTS=1`` (``refs/replace`` cannot rewrite history),
   ``GIT_TERMINAL_PROMPT=0``, ``GIT_OPTIONAL_LOCKS=0``, ``GIT_PAGER=PAGER=cat``, ``LC_ALL=C``,
   ``GIT_LITERAL_PATHSPECS=1`` (a path from the data such as ``:(exclude)x`` stays a path).
6. **safe.directory** (a repository owned by another user, which git refuses): the repository the user named
   is trusted for this call only, by ``-c safe.directory=<that exact path>`` during discovery (a folder
   *inside* someone else's repository is still refused: discovery would stop at the parent, which is not
   named). This is safe because rules 1-5 apply to every call: git's ownership check exists to stop such a
   repository's configuration from running programs, which the rules above already prevent; mining a
   shared, read-only checkout (another user's, or root's) is an ordinary research set-up.

The tests build a repository whose configuration sets every key above (and ``.git/hooks``, ``include.path``,
``info/attributes``, filter and diff drivers) to a command that creates a marker file, owned by another
user, and check that no marker appears after ``studykit mine``, ``studykit run code_survival --set
repos=[...]``, the cache key and the blame cross-check.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

from studykit.contract.errors import InputError

#: ``-c`` overrides applied to every call (rule 1 of the module docstring).
SAFE_CONFIG: tuple[str, ...] = (
    "core.fsmonitor=false", "core.hooksPath=/dev/null", "core.pager=cat", "diff.external=",
    "core.attributesFile=/dev/null", "core.editor=false", "sequence.editor=false", "core.sshCommand=false",
    "core.gitProxy=", "core.askPass=", "credential.helper=", "core.alternateRefsCommand=", "gpg.program=false",
    "gpg.ssh.program=false", "gpg.x509.program=false", "log.showSignature=false", "protocol.allow=never",
    "core.untrackedCache=false", "submodule.recurse=false",
)
#: Global options of every call.
GLOBAL_OPTIONS: tuple[str, ...] = ("--no-pager", "--no-replace-objects")
#: Subcommands that can produce diffs: they get ``--no-ext-diff --no-textconv``.
DIFF_SUBCOMMANDS = frozenset({"log", "show", "diff", "diff-tree", "diff-index", "diff-files", "whatchanged",
                              "format-patch"})
_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_ATTR_NOSYSTEM": "1",
        "GIT_NO_REPLACE_OBJECTS": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0",
        "GIT_PAGER": "cat", "PAGER": "cat", "LC_ALL": "C", "GIT_LITERAL_PATHSPECS": "1"}

__all__ = ["SAFE_CONFIG", "DIFF_SUBCOMMANDS", "hardened_env", "git_argv", "run", "discover", "Discovered",
           "RepoView", "repo_fingerprint"]


def hardened_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without ``GIT_*`` variables, plus the fixed ones of rule 5."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k not in ("PAGER", "SSH_ASKPASS")}
    env.update(_ENV)
    if extra:
        env.update(extra)
    return env


def _subcommand_options(args: Sequence[str]) -> list[str]:
    if not args:
        return []
    if args[0] in DIFF_SUBCOMMANDS:
        return ["--no-ext-diff", "--no-textconv"]
    if args[0] == "blame":
        return ["--no-textconv"]
    return []


def git_argv(*args: str, config: Iterable[str] = (), cwd_repo: str | os.PathLike | None = None) -> list[str]:
    """``git`` argv with the hardened global options (rules 1-2) and extra ``-c`` ``config`` entries.

    ``cwd_repo`` adds ``-C <path>`` (discovery from that folder); otherwise the repository comes from the
    environment (a :class:`RepoView`) or there is none (``clone``).
    """
    argv = ["git", *GLOBAL_OPTIONS]
    for item in (*SAFE_CONFIG, *config):
        argv += ["-c", item]
    if cwd_repo is not None:
        argv += ["-C", str(cwd_repo)]
    if args:
        argv += [args[0], *_subcommand_options(args), *args[1:]]
    return argv


def _last_line(stderr: bytes, code: int) -> str:
    lines = [ln for ln in stderr.decode("utf-8", "replace").strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"exit {code}"


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None,
        input: bytes | None = None, check: bool = True, what: str = "") -> subprocess.CompletedProcess:
    """Run a hardened argv; with ``check`` a failure is a one-line InputError (``what: git <cmd> failed: ...``)."""
    try:
        res = subprocess.run(argv, input=input, capture_output=True, env=env or hardened_env(), cwd=cwd)
    except FileNotFoundError:  # pragma: no cover - git missing
        raise InputError("git is not installed or not on PATH") from None
    if check and res.returncode != 0:
        sub = next((a for a in argv[1:] if not a.startswith("-") and "=" not in a), "?")
        raise InputError(f"{what + ': ' if what else ''}git {sub} failed: {_last_line(res.stderr, res.returncode)}")
    return res


@dataclass(frozen=True)
class Discovered:
    """Where a repository's parts are: ``top`` is None for a bare repository."""

    path: Path
    bare: bool
    top: Path | None
    git_dir: Path


def discover(path: str | os.PathLike) -> Discovered:
    """Locate the repository at ``path`` (rule 6: ``safe.directory`` for exactly this path).

    Raises InputError (one line) when ``path`` is missing, not a folder or not a git repository, or is a
    folder *inside* a repository (naming the repository to pass instead).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"repository not found: {p}")
    if not p.is_dir():
        raise InputError(f"not a git repository (not a folder): {p}")
    safe = f"safe.directory={p.resolve()}"

    def ask(*args: str) -> list[str] | None:
        res = run(git_argv("rev-parse", *args, config=(safe,), cwd_repo=p), check=False)
        if res.returncode != 0:
            return None
        return res.stdout.decode("utf-8", "surrogateescape").splitlines()

    lines = ask("--is-bare-repository", "--absolute-git-dir")  # --show-toplevel fails in a bare repository
    if not lines or len(lines) < 2:
        raise InputError(f"not a git repository: {p}")
    bare = lines[0] == "true"
    git_dir = Path(lines[1])
    top = None
    if bare:
        if git_dir.resolve() != p.resolve():
            raise InputError(f"not a git repository: {p} (it is inside the repository {git_dir}; pass that path)")
    else:
        shown = ask("--show-toplevel")
        if not shown:  # the .git folder of a working tree
            raise InputError(f"not a git repository: {p} (a git folder of a working tree; pass the working tree)")
        top = Path(shown[0]).resolve()
        if top != p.resolve():
            raise InputError(f"not a git repository: {p} (it is inside the repository {top}; pass that path)")
    return Discovered(p, bare, top, git_dir)


def _safe_relpath(raw: bytes) -> PurePosixPath | None:
    """A tree path usable under the view's folder, or None (absolute, ``..``, ``.git`` parts, NUL)."""
    try:
        s = raw.decode("utf-8", "surrogateescape")
    except UnicodeDecodeError:  # pragma: no cover - surrogateescape never fails
        return None
    parts = s.split("/")
    if not parts or any(x in ("", ".", "..") or x.lower() == ".git" or "\\" in x for x in parts):
        return None
    return PurePosixPath(*parts)


class RepoView:
    """Read-only access to a repository's objects (rule 4); use as a context manager.

    ``argv(*args)`` builds a hardened command for the repository; ``env`` and ``cwd`` go with it (the
    commands must run in ``cwd``, the view's folder, for git to read the attributes placed there).
    """

    def __init__(self, found: Discovered):
        self.found = found
        self._tmp: Path | None = None
        self.env: dict[str, str] = {}
        self.config: tuple[str, ...] = ()

    # -- set-up -----------------------------------------------------------------------------------
    def __enter__(self) -> "RepoView":
        self._tmp = Path(tempfile.mkdtemp(prefix="studykit-git-"))
        work = self._tmp / "tree"
        work.mkdir()
        self.env = hardened_env({"GIT_DIR": str(self.found.git_dir), "GIT_WORK_TREE": str(work),
                                 "GIT_INDEX_FILE": str(self._tmp / "index"),
                                 "GIT_CEILING_DIRECTORIES": str(self._tmp)})
        try:
            self.config = tuple(self._filter_overrides())
            self._place_attributes(work)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @property
    def cwd(self) -> Path:
        assert self._tmp is not None, "RepoView used outside its with-block"
        return self._tmp / "tree"

    def _filter_overrides(self) -> list[str]:
        res = run(git_argv("config", "--null", "--name-only", "--get-regexp", r"^filter\."), env=self.env,
                  cwd=self._tmp, check=False)
        names: list[str] = []
        for key in res.stdout.decode("utf-8", "surrogateescape").split("\x00"):
            key = key.strip()
            if key.count(".") >= 2:
                drv = key[len("filter."):key.rindex(".")]
                if drv not in names:
                    names.append(drv)
        out = []
        for drv in names:
            out += [f"filter.{drv}.clean=", f"filter.{drv}.smudge=", f"filter.{drv}.process=",
                    f"filter.{drv}.required=false"]
        return out

    def _place_attributes(self, work: Path) -> None:
        """Copy HEAD's ``.gitattributes`` blobs (regular files only) into the view's work tree."""
        res = run(self.argv("ls-tree", "-r", "-z", "HEAD"), env=self.env, cwd=self.cwd, check=False)
        if res.returncode != 0:  # no HEAD (empty repository): nothing to place; the caller reports it
            return
        wanted: list[tuple[str, PurePosixPath]] = []
        for ent in res.stdout.split(b"\x00"):
            if not ent or b"\t" not in ent:
                continue
            meta, path = ent.split(b"\t", 1)
            mode, kind, oid = meta.split()
            if kind != b"blob" or mode not in (b"100644", b"100755"):
                continue
            if path != b".gitattributes" and not path.endswith(b"/.gitattributes"):
                continue
            rel = _safe_relpath(path)
            if rel is not None:
                wanted.append((oid.decode(), rel))
        if not wanted:
            return
        batch = run(self.argv("cat-file", "--batch"), env=self.env, cwd=self.cwd,
                    input=b"".join(f"{oid}\n".encode() for oid, _ in wanted)).stdout
        pos = 0
        for _oid, rel in wanted:
            nl = batch.index(b"\n", pos)
            header = batch[pos:nl].split()
            if len(header) != 3:  # "<oid> missing" (a partial clone): no content follows
                pos = nl + 1
                continue
            size = int(header[2])
            blob = batch[nl + 1:nl + 1 + size]
            pos = nl + 1 + size + 1
            target = work.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)

    # -- use ----------------------------------------------------------------------------------------
    def argv(self, *args: str, config: Iterable[str] = ()) -> list[str]:
        """Hardened argv for this repository (rules 1-3; run it with :attr:`env` in :attr:`cwd`)."""
        return git_argv(*args, config=(*self.config, *config))

    def run(self, *args: str, input: bytes | None = None, check: bool = True, config: Iterable[str] = ()
            ) -> bytes:
        """stdout of a read-only command; a one-line InputError naming the repository on failure."""
        return run(self.argv(*args, config=config), env=self.env, cwd=self.cwd, input=input, check=check,
                   what=str(self.found.path)).stdout

    def popen(self, *args: str, stdin: bool = False, config: Iterable[str] = ()) -> subprocess.Popen:
        """Start a read-only command with piped stdout/stderr (and stdin when ``stdin``)."""
        return subprocess.Popen(self.argv(*args, config=config), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, env=self.env, cwd=self.cwd)


def open_view(path: str | os.PathLike) -> RepoView:
    """``RepoView(discover(path))``: use as ``with open_view(path) as view: ...``."""
    return RepoView(discover(path))


def repo_fingerprint(path: str | os.PathLike) -> str:
    """A repository's identity for caching: its ``HEAD`` commit, shallow list and ``info/attributes``.

    What the miner reads is a function of these alone (rule 4), so uncommitted changes in the working tree
    do not change the key (they do not change the mined table). Never runs ``git status``. A path that is
    not a readable repository gives ``"no-head"`` in place of the commit (the run then fails with the
    miner's one-line error).
    """
    import hashlib

    try:
        found = discover(path)
        res = run(git_argv("rev-parse", "--verify", "--quiet", "HEAD^{commit}"),
                  env=hardened_env({"GIT_DIR": str(found.git_dir)}), cwd=found.git_dir, check=False)
        head = res.stdout.decode().strip() or "no-head"
        extra = b""
        for name in ("shallow", "info/attributes"):
            f = found.git_dir / name
            extra += name.encode() + b"\0" + (f.read_bytes() if f.is_file() else b"") + b"\0"
    except (InputError, OSError):
        head, extra = "no-head", b""
    return hashlib.sha256(head.encode() + b"\n" + extra).hexdigest()

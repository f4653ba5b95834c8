"""Seeded simulator of small real git repositories with human and agent commits.

The repositories are written with one ``git fast-import`` stream each (fixed
author and committer dates, fixed content), so their commit hashes are
identical on every run. Each history has

- human commits by a few developers and dependency-bot bumps of an excluded
  lock file;
- agent pull requests: a branch from ``main`` with 1-3 commits carrying one
  agent's public signature (author account, ``Co-authored-by`` trailer or
  "Generated with" footer), sometimes a concurrent human commit on ``main``,
  then a ``--no-ff`` merge commit by a human;
- edits that add functions, change and delete lines, create files, rename
  files, update a binary asset and a vendored file.

Which lines a commit changes is drawn with weight 1 for human-written lines
and ``agent_weight`` (default 0.84) for agent-written lines, so agent lines
are modified less often, the direction the paper reports. The exact planted
hazard ratio is known only for the line-events simulator
(:mod:`~studykit.studies.code_survival.simulate`); these repositories exist to
exercise the real miner end to end.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studykit.files.gitsafe import hardened_env

HUMANS = (("Ana Souza", "ana.souza@example.org"), ("Bram de Vries", "bram@example.org"),
          ("Chen Wei", "chen.wei@example.org"), ("Dana Okafor", "dana.okafor@example.org"))
AGENTS = {
    "copilot": {"author": ("Copilot", "198982749+Copilot@users.noreply.github.com"),
                "committer": ("GitHub", "noreply@github.com"), "trailer": None, "footer": None},
    "claude": {"author": None, "committer": None, "trailer": "Co-authored-by: Claude <noreply@anthropic.com>",
               "footer": "\U0001f916 Generated with [Claude Code](https://claude.com/claude-code)"},
    "devin": {"author": ("devin-ai-integration[bot]",
                         "158243242+devin-ai-integration[bot]@users.noreply.github.com"),
              "committer": None, "trailer": None, "footer": None},
    "cursor": {"author": ("Cursor Agent", "cursoragent@cursor.com"), "committer": None, "trailer": None,
               "footer": None},
    "codex": {"author": None, "committer": None,
              "trailer": "Co-authored-by: chatgpt-codex-connector[bot] <199175422+chatgpt-codex-connector[bot]"
                         "@users.noreply.github.com>", "footer": None},
    "jules": {"author": ("google-labs-jules[bot]", "161369871+google-labs-jules[bot]@users.noreply.github.com"),
              "committer": None, "trailer": None, "footer": None},
}
BOT = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")

NOUNS = ("config", "parser", "cache", "session", "token", "record", "report", "buffer", "index", "client",
         "request", "payload", "schema", "metric", "window", "queue", "route", "header", "batch", "limit")
VERBS = ("load", "parse", "build", "fetch", "render", "merge", "split", "check", "update", "normalize",
         "encode", "decode", "validate", "flush", "resolve", "collect")
MESSAGES = {
    "corrective": ("Fix off-by-one in {v}_{n}", "Fix crash when {n} is empty", "Handle None {n} to avoid error",
                   "Bug: {v}_{n} returned wrong value", "Fix failing test for {n}"),
    "adaptive": ("Update {n} handling for new API", "Migrate {v}_{n} to async client",
                 "Add support for {n} limits", "Upgrade {n} format to v2", "Add {v}_{n} helper"),
    "perfective": ("Refactor {v}_{n}", "Clean up {n} module", "Rename {n} variables for clarity",
                   "Simplify {v}_{n} logic", "Improve docs of {n}"),
    "other": ("Tweak {n}", "WIP {n}", "Sync {n} with main", "{v} {n}"),
}
INTENT_P_HUMAN = (0.23, 0.30, 0.30, 0.17)
INTENT_P_AGENT = (0.263, 0.32, 0.28, 0.137)


@dataclass(frozen=True)
class RepoSimConfig:
    n_commits: int = 150
    agent_share: float = 0.35
    agent_weight: float = 0.84
    agents: tuple[str, ...] = ("copilot", "claude", "devin", "cursor", "codex", "jules")
    start: int = 1704067200  # 2024-01-01T00:00:00Z
    mean_gap_hours: float = 60.0
    initial_files: int = 3
    initial_functions: int = 2


class _Gen:
    def __init__(self, rng: np.random.Generator, cfg: RepoSimConfig, repo_index: int):
        self.rng = rng
        self.cfg = cfg
        self.t = cfg.start + repo_index * 3600
        self.mark = 0
        self.chunks: list[bytes] = []
        self.pr = 0
        self.counter = 0

    # ---- content -------------------------------------------------------------------
    def word(self, pool):
        return pool[int(self.rng.integers(len(pool)))]

    def code_line(self, ext: str) -> str:
        r = self.rng.random()
        n, v = self.word(NOUNS), self.word(VERBS)
        k = int(self.rng.integers(1, 99))
        self.counter += 1
        if ext == ".md":
            return f"The {n} {v}s {k} items; see `{v}_{n}` ({self.counter})."
        if ext == ".js":
            forms = (f"  const {n}{k} = {v}({n}, {k});", f"  if (!{n}) return {k};",
                     f"  // {v} the {n} before use ({self.counter})", f"  {n}.{v}({k});",
                     f"  let {v}ed = {n}.length + {k};")
        else:
            forms = (f"    {n}_{k} = {v}_{n}({n}, {k})", f"    if {n} is None:", f"        return {k}",
                     f"    # {v} the {n} first ({self.counter})", f"    result.append({n}_{k})",
                     f"    {v}ed = len({n}) + {k}", "", f"    log.debug('{v} %s', {n})")
        return forms[int(r * len(forms))]

    def function(self, ext: str) -> list[str]:
        n, v = self.word(NOUNS), self.word(VERBS)
        body = [self.code_line(ext) for _ in range(int(self.rng.integers(2, 8)))]
        if ext == ".js":
            return [f"function {v}_{n}_{self.counter}({n}) {{", *body, "}", ""]
        if ext == ".md":
            return [f"## {v} {n}", "", *body, ""]
        return [f"def {v}_{n}_{self.counter}({n}):", *body, "    return result", ""]

    def message(self, intent: str) -> str:
        tpl = self.word(MESSAGES[intent])
        return tpl.format(n=self.word(NOUNS), v=self.word(VERBS))

    # ---- fast-import ------------------------------------------------------------------
    @staticmethod
    def data(b: bytes) -> bytes:
        return b"data %d\n" % len(b) + b + b"\n"

    def commit(self, author, committer, msg: str, parent: int | None, changes: list[bytes],
               merge: int | None = None) -> int:
        self.mark += 1
        self.t += int(self.rng.exponential(self.cfg.mean_gap_hours * 3600)) + 60
        committer = committer or author
        out = [b"commit refs/heads/main\n", b"mark :%d\n" % self.mark,
               f"author {author[0]} <{author[1]}> {self.t} +0000\n".encode(),
               f"committer {committer[0]} <{committer[1]}> {self.t} +0000\n".encode(),
               self.data(msg.encode())]
        if parent is not None:
            out.append(b"from :%d\n" % parent)
        if merge is not None:
            out.append(b"merge :%d\n" % merge)
        out.extend(changes)
        self.chunks.append(b"".join(out))
        return self.mark


class _Tree:
    """Files of one branch: path -> list of (text, by_agent)."""

    def __init__(self, files=None):
        self.files: dict[str, list[tuple[str, bool]]] = dict(files or {})

    def copy(self) -> "_Tree":
        return _Tree({k: list(v) for k, v in self.files.items()})


def _blob_change(path: str, lines: list[tuple[str, bool]]) -> bytes:
    content = "".join(t + "\n" for t, _ in lines).encode()
    return f"M 100644 inline {path}\n".encode() + _Gen.data(content)


def _edit(g: _Gen, tree: _Tree, by_agent: bool, avoid: set[str] | None = None) -> tuple[list[bytes], set[str]]:
    """One realistic edit of ``tree``; returns fast-import change commands and touched paths."""
    rng, cfg = g.rng, g.cfg
    code = [p for p in tree.files if p.endswith((".py", ".js", ".md")) and not p.startswith("vendor/")
            and (not avoid or p not in avoid)]
    r = rng.random()
    changes: list[bytes] = []
    touched: set[str] = set()
    if not code or r < 0.12:
        ext = (".py", ".py", ".js", ".md")[int(rng.integers(4))]
        folder = "docs" if ext == ".md" else "src"
        path = f"{folder}/{g.word(NOUNS)}_{g.word(VERBS)}_{g.counter}{ext}"
        lines = [(t, by_agent) for _ in range(int(rng.integers(1, 4))) for t in g.function(ext)]
        tree.files[path] = lines
        return [_blob_change(path, lines)], {path}
    if r < 0.16 and len(code) > 2:
        old = code[int(rng.integers(len(code)))]
        stem, ext = old.rsplit(".", 1)
        new = f"{stem.rsplit('/', 1)[0]}/{g.word(NOUNS)}_{g.counter}.{ext}"
        g.counter += 1
        tree.files[new] = tree.files.pop(old)
        changes.append(f"R {old} {new}\n".encode())
        lines = tree.files[new]
        if lines and rng.random() < 0.5:
            i = int(rng.integers(len(lines)))
            lines[i] = (g.code_line("." + ext), by_agent)
            changes.append(_blob_change(new, lines))
        return changes, {old, new}
    # modify 1-2 files: change, delete and add lines, choosing lines by authorship weight
    # sorted: iterating a set of strings follows the per-process hash seed, which would make the history
    # depend on PYTHONHASHSEED
    for path in sorted(set(code[int(rng.integers(len(code)))] for _ in range(int(rng.integers(1, 3))))):
        lines = tree.files[path]
        ext = "." + path.rsplit(".", 1)[1]
        if lines:
            w = np.array([cfg.agent_weight if a else 1.0 for _, a in lines])
            k = min(len(lines), int(rng.integers(1, 5)))
            idx = sorted(rng.choice(len(lines), size=k, replace=False, p=w / w.sum()).tolist(), reverse=True)
            for i in idx:
                u = rng.random()
                if u < 0.55:
                    lines[i] = (g.code_line(ext), by_agent)
                elif u < 0.8:
                    del lines[i]
                else:
                    lines[i:i + 1] = [(g.code_line(ext), by_agent), (g.code_line(ext), by_agent)]
        if rng.random() < 0.5 or not lines:
            pos = int(rng.integers(len(lines) + 1))
            lines[pos:pos] = [(t, by_agent) for t in g.function(ext)]
        changes.append(_blob_change(path, lines))
        touched.add(path)
    return changes, touched


def _sign(g: _Gen, agent: str | None, intent: str):
    human = HUMANS[int(g.rng.integers(len(HUMANS)))]
    msg = g.message(intent)
    if agent is None:
        return human, None, msg
    sig = AGENTS[agent]
    author = sig["author"] or human
    committer = sig["committer"]
    extra = []
    if sig["footer"]:
        extra.append(sig["footer"])
    if sig["trailer"]:
        extra.append(sig["trailer"])
    elif sig["author"]:
        extra.append(f"Co-authored-by: {human[0]} <{human[1]}>")
    return author, committer, msg + "\n\n" + "\n\n".join(extra)


def build_stream(seed: int, repo_index: int, cfg: RepoSimConfig) -> bytes:
    """The fast-import stream of one simulated repository."""
    rng = np.random.default_rng([seed, repo_index])
    g = _Gen(rng, cfg, repo_index)
    main = _Tree()
    # initial commit: a small project with a binary asset, a lock file and a vendored file
    for k in range(cfg.initial_files):
        ext = (".py", ".js", ".py")[k % 3]
        main.files[f"src/{g.word(NOUNS)}_{k}{ext}"] = [(t, False) for _f in range(cfg.initial_functions)
                                                       for t in g.function(ext)]
    main.files["docs/README.md"] = [(t, False) for t in ["# Project", ""] + g.function(".md")]
    main.files["package-lock.json"] = [(t, False) for t in ['{', '  "lockfileVersion": 3,', '  "x": "1.0.0"', '}']]
    main.files["vendor/lib.js"] = [(t, False) for t in g.function(".js")]
    init = [_blob_change(p, ls) for p, ls in sorted(main.files.items())]
    png = bytes(rng.integers(0, 256, 64, dtype=np.uint8))
    init.append(b"M 100644 inline assets/logo.png\n" + _Gen.data(b"\x89PNG\r\n\x1a\n\x00" + png))
    tip = g.commit(HUMANS[0], None, "Initial commit", None, init)
    done = 1
    while done < cfg.n_commits:
        u = rng.random()
        if u < cfg.agent_share and cfg.n_commits - done >= 3:
            agent = cfg.agents[int(rng.integers(len(cfg.agents)))]
            g.pr += 1
            branch = main.copy()
            side = tip
            touched: set[str] = set()
            for _ in range(int(rng.integers(1, 4))):
                intent = ("corrective", "adaptive", "perfective", "other")[int(rng.choice(4, p=INTENT_P_AGENT))]
                ch, t = _edit(g, branch, True)
                touched |= t
                a, c, msg = _sign(g, agent, intent)
                side = g.commit(a, c, msg, side, ch)
                done += 1
            if rng.random() < 0.4:  # concurrent human work on main, on other files
                ch, _t = _edit(g, main, False, avoid=touched | {p for p in branch.files if p not in main.files})
                a, c, msg = _sign(g, None, "adaptive")
                tip = g.commit(a, c, msg, tip, ch)
                done += 1
            # merge: take the branch's version of every path it touched
            merged = main.copy()
            for p in sorted(touched):  # sorted: the files' order decides later random choices
                if p in branch.files:
                    merged.files[p] = list(branch.files[p])
                else:
                    merged.files.pop(p, None)
            changes = [(b"D %s\n" % p.encode()) if p not in merged.files else _blob_change(p, merged.files[p])
                       for p in sorted(touched)]
            merger = HUMANS[int(rng.integers(len(HUMANS)))]
            tip = g.commit(merger, ("GitHub", "noreply@github.com"),
                           f"Merge pull request #{g.pr} from acme/{agent}/task-{g.pr}\n\n{g.message('adaptive')}",
                           tip, changes, merge=side)
            main = merged
            done += 1
            continue
        if u < cfg.agent_share + 0.05:
            lock = main.files["package-lock.json"]
            lock[2] = (f'  "x": "1.{done}.0"', False)
            tip = g.commit(BOT, None, f"Bump x from 1.{done - 1}.0 to 1.{done}.0", tip,
                           [_blob_change("package-lock.json", lock)])
        elif u < cfg.agent_share + 0.07:
            png = bytes(rng.integers(0, 256, 64, dtype=np.uint8))
            tip = g.commit(HUMANS[1], None, "Update logo", tip,
                           [b"M 100644 inline assets/logo.png\n" + _Gen.data(b"\x89PNG\r\n\x1a\n\x00" + png)])
        else:
            intent = ("corrective", "adaptive", "perfective", "other")[int(rng.choice(4, p=INTENT_P_HUMAN))]
            ch, _t = _edit(g, main, False)
            a, c, msg = _sign(g, None, intent)
            tip = g.commit(a, c, msg, tip, ch)
        done += 1
    g.chunks.append(b"reset refs/heads/main\nfrom :%d\n\n" % tip)
    return b"".join(g.chunks)


def write_repo(path: Path, stream: bytes, checkout: bool = True) -> Path:
    """Create a git repository at ``path`` from a fast-import stream (branch ``main``)."""
    path.mkdir(parents=True, exist_ok=True)
    env = hardened_env()  # our own repository; the hardened environment keeps user settings out of it
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet", "--done"], input=stream + b"done\n",
                   check=True, env=env, capture_output=True)
    if checkout:
        subprocess.run(["git", "-C", str(path), "-c", "core.autocrlf=false", "reset", "-q", "--hard", "main"],
                       check=True, env=env)
    return path


def write_sim_repos(out_dir: Path, n_repos: int = 4, n_commits: int = 150, seed: int = 0,
                    agent_share: float = 0.35, agent_weight: float = 0.84) -> list[Path]:
    """Write ``n_repos`` simulated repositories ``repo_01`` ... under ``out_dir``; return their paths."""
    cfg = RepoSimConfig(n_commits=n_commits, agent_share=agent_share, agent_weight=agent_weight)
    out = []
    for i in range(n_repos):
        out.append(write_repo(Path(out_dir) / f"repo_{i + 1:02d}", build_stream(seed, i, cfg)))
    return out


__all__ = ["RepoSimConfig", "build_stream", "write_repo", "write_sim_repos", "AGENTS", "HUMANS"]

"""Scripted git repositories for the code_survival tests (no global git config is read)."""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

BASE = 1_700_000_000  # 2023-11-14T22:13:20Z
DAY = 86_400


def git_env(when: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
    return env


class Repo:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.shas: dict[str, str] = {}

    def git(self, *args: str, when: int | None = None, author=("Hana Human", "hana@example.org"),
            committer=None, input: bytes | None = None) -> str:
        committer = committer or author
        cmd = ["git", "-c", f"user.name={committer[0]}", "-c", f"user.email={committer[1]}",
               "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", "-C", str(self.path), *args]
        env = git_env(when)
        env.update({"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
                    "GIT_COMMITTER_NAME": committer[0], "GIT_COMMITTER_EMAIL": committer[1]})
        res = subprocess.run(cmd, env=env, capture_output=True, input=input)
        if res.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {res.stderr.decode()}")
        return res.stdout.decode("utf-8", "replace").strip()

    def write(self, rel: str, content: str | bytes) -> None:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)

    def lines(self, rel: str, *lines: str) -> None:
        self.write(rel, "".join(x + "\n" for x in lines))

    def commit(self, label: str, msg: str, day: float, author=("Hana Human", "hana@example.org"),
               committer=None) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", msg, when=BASE + int(day * DAY), author=author,
                 committer=committer)
        sha = self.git("rev-parse", "HEAD")
        self.shas[label] = sha
        return sha

    def merge(self, label: str, branch: str, msg: str, day: float, ok_conflict: bool = False) -> None:
        try:
            self.git("merge", "-q", "--no-ff", "--no-edit", "-m", msg, branch, when=BASE + int(day * DAY))
        except RuntimeError:
            if not ok_conflict:
                raise
        self.shas[label] = self.git("rev-parse", "HEAD") if not ok_conflict else ""

    def fingerprint(self) -> str:
        """Hash of the working tree status, the index file and every ref (to prove mining is read-only)."""
        h = hashlib.sha256()
        h.update(self.git("status", "--porcelain", "--untracked-files=all").encode())
        gd = self.path / ".git"
        for p in sorted([gd / "index", gd / "HEAD", *gd.joinpath("refs").rglob("*")]):
            if p.is_file():
                h.update(str(p.relative_to(gd)).encode() + p.read_bytes())
        h.update(str(sorted(str(p.relative_to(gd)) for p in gd.rglob("*"))).encode())
        return h.hexdigest()

"""Every shell command quoted in workshop/ works as written in a fresh shell.

A learner copies the commands of the lesson pages into a new terminal: a shell with no environment activated,
whose PATH is what ``studykit lab`` gives JupyterLab's terminal (this installation's ``bin`` first; the PATH
itself is checked by ``test_studykit_lab_puts_this_installation_first_on_the_path``), HOME a fresh folder (so
``~/studykit-workshop`` is new) and nothing else from the test's environment (``env -i``). Each quoted line
(continuation lines joined) runs there with ``bash --noprofile --norc``: the README's two commands from the
project folder, every episode's and the own-data page's from the workspace. A command must exit 0.

Runs are the ordinary cached runs: ``STUDYKIT_OUTPUTS`` is the only variable added, pointing the runs at
the session's shared run folders (``study_run``), so a command the suite already ran is served from the cache
and a workshop profile executes once per session. The own-data command writes its own ``--out outputs/mine``.

Not run here, each for its reason (listed in :data:`NOT_RUN`, and the test fails when a quoted command is
neither run nor listed): the setup pages' ``git clone <the project's address>`` (a placeholder), ``make setup``
(what ``make test`` itself ran before the tests), ``studykit doctor`` (its checks and timing have their own tests
in test_workshop.py) and ``studykit lab`` (a server that runs until stopped; its PATH is tested).

Unit: one quoted shell command of workshop/**/*.md, in a fresh shell.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from studykit.files import paths
ROOT = paths.project_root()
BIN = Path(sys.executable).parent

#: quoted commands not run here, by a pattern of their text, with the reason (module docstring)
NOT_RUN = {
    r"^git clone ": "a placeholder address",
    r"^make setup\b": "make test ran it before the tests",
    r"studykit doctor$": "doctor has its own tests (test_workshop.py)",
    r"studykit lab\b": "a server until stopped; its PATH is tested in test_workshop.py",
}


def quoted_commands() -> list[tuple[str, str]]:
    """(page, command) for every line of every bash block of workshop/**/*.md (comments dropped,
    continuation lines joined), in page order."""
    out = []
    for page in sorted((ROOT / "workshop").rglob("*.md")):
        if "templates" in page.relative_to(ROOT / "workshop").parts:
            continue
        for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip()
                if line and not line.startswith("#"):
                    out.append((page.relative_to(ROOT).as_posix(), line))
    return out


def _fresh_shell(command: str, cwd: Path, home: Path, outputs: Path | None) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin", "LANG": "C.UTF-8"}
    if outputs is not None:
        env["STUDYKIT_OUTPUTS"] = str(outputs)
    return subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in env.items()), "bash", "--noprofile", "--norc",
                           "-c", command], cwd=cwd, capture_output=True, text=True, timeout=1200)


def _skipped(command: str) -> str | None:
    return next((why for pattern, why in NOT_RUN.items() if re.search(pattern, command)), None)


def test_the_pages_quote_the_commands_this_test_knows():
    """Unit: the list of quoted commands. Each is run below or listed with a reason; the episodes quote runs."""
    commands = quoted_commands()
    assert any(p.startswith("workshop/episodes/") and "studykit run" in c for p, c in commands)
    assert any(c.startswith(".venv/bin/studykit workshop init") for _, c in commands)
    for pattern in NOT_RUN:  # a reason for a command no page quotes any more is stale
        assert any(re.search(pattern, c) for _, c in commands), f"NOT_RUN lists {pattern}, which no page quotes"


def test_every_quoted_command_works_in_a_fresh_shell(tmp_path, shared_runs_root):
    home = tmp_path / "home"
    home.mkdir()
    outputs = shared_runs_root
    workspace = home / "studykit-workshop"
    ran = []
    for page, command in quoted_commands():
        why = _skipped(command)
        if why:
            continue
        if page == "workshop/README.md" or page.startswith("workshop/setup/"):
            cwd, out = ROOT, None  # the setup commands run in the project folder
        else:
            assert workspace.is_dir(), f"{page}: `{command}` needs the workspace of workshop/README.md"
            cwd, out = workspace, outputs if command.startswith("studykit run") and "--out" not in command else None
        if command.startswith("cd "):
            target = Path(command[3:].strip().replace("~", str(home)))
            assert target.is_dir(), f"{page}: `{command}`: no such folder"
            continue
        if command.startswith(".venv/bin/") and (ROOT / ".venv" / "bin").resolve() != BIN.resolve():
            command = f"{BIN}/{command[len('.venv/bin/'):]}"  # this installation lives elsewhere (VENV=...)
        proc = _fresh_shell(command, cwd, home, out)
        assert proc.returncode == 0, f"{page}: `{command}` failed in a fresh shell:\n{proc.stderr[-1500:]}"
        ran.append(command)
    assert (workspace / "outputs" / "mine" / "results.json").is_file()  # own-data.md's --out outputs/mine
    assert len(ran) >= 10, ran

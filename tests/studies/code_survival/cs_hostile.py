"""A repository whose configuration would run a marker command for every command-valued git key.

Each key (and every hook name, in ``.git/hooks`` and in a ``core.hooksPath`` folder) runs a command that
creates its own file in ``marker``; a test passes when ``marker`` stays empty. The history holds a merge
(so the miner's ``diff-tree --stdin`` runs), an agent commit, a commit with a ``gpgsig`` header (so that
``log.showSignature`` would call ``gpg.program``) and ``.gitattributes`` naming filter, diff and merge
drivers for every file.
"""
from __future__ import annotations

import os
from pathlib import Path

from cs_gitutil import BASE, DAY, Repo

HOOKS = ("applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
         "prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout", "post-merge", "pre-push",
         "pre-receive", "update", "proc-receive", "post-receive", "post-update", "reference-transaction",
         "push-to-checkout", "pre-auto-gc", "post-rewrite", "sendemail-validate", "fsmonitor-watchman",
         "p4-changelist", "p4-prepare-changelist", "p4-post-changelist", "p4-pre-submit", "post-index-change")
COPILOT = ("Copilot", "198982749+Copilot@users.noreply.github.com")
SIGNED = b"""gpgsig -----BEGIN PGP SIGNATURE-----
 
 iQEzBAABCAAdFiEEAAAAAAAAAAAAAAAAAAAAAAAAAAAFAmV0AAAACgkQAAAAAAAAAAA=
 =AAAA
 -----END PGP SIGNATURE-----
"""


def build_hostile(root: Path, marker: Path) -> Repo:
    """The repository at ``root`` (see the module docstring); its marker commands write into ``marker``."""
    marker.mkdir(parents=True, exist_ok=True)
    side = root.parent / f"{root.name}-outside"  # scripts, hooks and included files live beside the repository
    side.mkdir(parents=True, exist_ok=True)
    r = Repo(root)
    r.lines(".gitattributes", "* diff=evil filter=evil merge=evil")
    r.lines("src/app.py", "def f():", "    return 1", "", "def g():", "    return 2")
    r.commit("c1", "Initial import", 0)
    r.git("checkout", "-q", "-b", "copilot/feature")
    r.lines("src/extra.py", "def h():", "    return 3")
    r.commit("a1", "Add h", 1, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.lines("src/app.py", "def f():", "    return 10", "", "def g():", "    return 2")
    r.commit("h1", "Fix f", 2)
    r.merge("m1", "copilot/feature", "Merge pull request #1", 3)
    # a commit carrying a (fake) signature header
    r.lines("src/app.py", "def f():", "    return 10", "", "def g():", "    return 20")
    r.git("add", "-A")
    tree = r.git("write-tree")
    head = r.git("rev-parse", "HEAD")
    stamp = BASE + 4 * DAY
    body = (f"tree {tree}\nparent {head}\nauthor Hana Human <hana@example.org> {stamp} +0000\n"
            f"committer Hana Human <hana@example.org> {stamp} +0000\n").encode() + SIGNED + b"\nFix g\n"
    sha = r.git("hash-object", "-t", "commit", "-w", "--stdin", input=body)
    r.git("update-ref", "refs/heads/main", sha)
    r.git("reset", "-q", "--hard", sha)

    def sh(name: str) -> str:
        return f"touch {marker}/{name}; false"

    def script(name: str) -> str:
        p = side / f"bin-{name}"
        p.write_text(f"#!/bin/sh\ntouch {marker}/{name}\nexit 1\n")
        p.chmod(0o755)
        return str(p)

    hooks = side / "hooks"
    hooks.mkdir(exist_ok=True)
    for h in HOOKS:
        for d, tag in ((hooks, "hookspath"), (root / ".git" / "hooks", "hooks")):
            p = d / h
            p.write_text(f"#!/bin/sh\ntouch {marker}/{tag}-{h}\n")
            p.chmod(0o755)
    (side / "include.cfg").write_text(f"[core]\n\tpager = {sh('include-pager')}\n[diff]\n\texternal = "
                                      f"{script('include-diff-external')}\n[filter \"inc\"]\n\tclean = "
                                      f"{sh('filter-inc-clean')}\n\tprocess = {script('filter-inc-process')}\n")
    (side / "attributes").write_text("* diff=evil2 filter=evil2\n")
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "attributes").write_text("* diff=evil3 filter=evil3 filter=inc\n")
    cfg = {
        "core.hooksPath": str(hooks), "core.pager": sh("core-pager"), "pager.log": sh("pager-log"),
        "pager.diff-tree": sh("pager-diff-tree"), "pager.blame": sh("pager-blame"),
        "pager.status": sh("pager-status"), "pager.rev-list": sh("pager-rev-list"),
        "diff.external": script("diff-external"), "core.attributesFile": str(side / "attributes"),
        "include.path": str(side / "include.cfg"),
        "core.sshCommand": sh("core-sshCommand"), "core.gitProxy": script("core-gitProxy"),
        "core.askPass": script("core-askPass"), "credential.helper": "!" + sh("credential-helper"),
        "core.editor": sh("core-editor"), "sequence.editor": sh("sequence-editor"),
        "core.alternateRefsCommand": sh("core-alternateRefsCommand"),
        "uploadpack.packObjectsHook": sh("packObjectsHook"),
        "gpg.program": script("gpg-program"), "gpg.ssh.program": script("gpg-ssh-program"),
        "gpg.x509.program": script("gpg-x509-program"), "log.showSignature": "true",
        "remote.origin.url": f"ext::sh -c touch% {marker}/ext-remote", "remote.origin.fetch": "+refs/*:refs/*",
        "remote.origin.uploadpack": sh("remote-uploadpack"), "web.browser": "evil",
        "browser.evil.cmd": sh("browser"), "interactive.diffFilter": sh("interactive-diffFilter"),
        "alias.status": "!" + sh("alias-status"), "alias.mine": "!" + sh("alias-mine"),
        "core.fsmonitor": sh("core-fsmonitor"),
    }
    for drv in ("evil", "evil2", "evil3"):
        cfg[f"diff.{drv}.command"] = script(f"diff-{drv}-command")
        cfg[f"diff.{drv}.textconv"] = script(f"diff-{drv}-textconv")
        cfg[f"filter.{drv}.clean"] = sh(f"filter-{drv}-clean")
        cfg[f"filter.{drv}.smudge"] = sh(f"filter-{drv}-smudge")
        cfg[f"filter.{drv}.process"] = script(f"filter-{drv}-process")
        cfg[f"filter.{drv}.required"] = "true"
        cfg[f"merge.{drv}.driver"] = sh(f"merge-{drv}-driver")
    for k, v in cfg.items():
        r.git("config", k, v)
    # a stat change makes the index "racy", so that an index refresh would run the clean filters
    os.utime(root / "src" / "app.py", (BASE, BASE))
    return r


def give_away(root: Path) -> bool:
    """Make another user own the repository (``nobody``), when running as root; True when done."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    import pwd

    uid = pwd.getpwnam("nobody").pw_uid
    for dirpath, dirnames, filenames in os.walk(root):
        for n in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, n), uid, -1)
    os.lchown(root, uid, -1)
    return True

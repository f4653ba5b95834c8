"""Configurable rules of the miner: who is an agent, what a change intends, which paths to skip.

Agent rules
-----------
A commit is *agent-authored* when one of an ordered list of rules matches; the
first matching rule names the agent. A rule is ``{"agent": NAME, "field": F,
"pattern": REGEX}`` with ``F`` one of

``author``     ``"Name <email>"`` of the commit author,
``committer``  ``"Name <email>"`` of the committer,
``trailer``    each trailer line of the message, as ``"Key: value"``
               (``Co-authored-by: Claude <noreply@anthropic.com>``),
``message``    the whole commit message.

A rule may carry ``repos: [NAME, ...]`` (repository names as in the ``repo``
column: a folder's name, a bundle's file name without ``.bundle``): it then
applies to those repositories only (a marker one project uses, such as
``roomote``, or a rule that would be wrong elsewhere). The list replaces the
defaults as a whole; a study reads it from the ``agent_rules`` parameter or a
rules file (YAML or JSON, a list of such mappings, read with safe loaders
only; :func:`load_agent_rules`), and ``studykit mine --agent-rules FILE``
reads the same file.

Patterns are Python regular expressions searched case-insensitively. The
defaults (:data:`DEFAULT_AGENT_RULES`) encode the public signatures the agents
leave in git histories as of 2025-2026 (bot accounts, noreply addresses,
``Co-authored-by`` trailers and "Generated with" footers). Everything that
matches no rule is *human* (including dependency bots such as dependabot,
which are flagged separately by :func:`is_bot`).

Intent rules
------------
The commit that ends a unit is classified from its message (trailers
removed) by an ordered list ``{"intent": NAME, "pattern": REGEX}``; the first
rule whose pattern is found wins, else ``other``. The defaults follow the
keyword classification of Mockus & Votta (2000) as used by Levin & Yehudai
(2017): *corrective* (fix, bug, error, crash, ...), *adaptive* (update,
upgrade, migrate, deprecat, compat, port, new features: add, feat,
implement, support), *perfective* (refactor, clean, rename, improve,
simplify, docs, style, ...). Corrective is checked first, so "fix typo in
docs" is corrective.

Exclusion globs
---------------
Paths are matched with gitignore-like globs (:func:`compile_globs`): ``*``
and ``?`` stay within a path segment, ``**`` spans segments, and a pattern
without ``/`` matches the file name in any folder.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from studykit.contract.errors import ParamError

AGENT_FIELDS = ("author", "committer", "trailer", "message")
INTENTS = ("corrective", "adaptive", "perfective", "other")


@dataclass(frozen=True)
class AgentRule:
    agent: str
    field: str
    pattern: str
    repos: tuple[str, ...] = ()  # empty: every repository

    def applies_to(self, repo: str | None) -> bool:
        return not self.repos or repo is None or repo in self.repos


@dataclass(frozen=True)
class IntentRule:
    intent: str
    pattern: str


def _r(agent: str, field: str, pattern: str) -> dict[str, str]:
    return {"agent": agent, "field": field, "pattern": pattern}


#: Ordered default agent rules (first match wins).
DEFAULT_AGENT_RULES: tuple[dict[str, str], ...] = (
    # Claude Code: author/co-author "Claude <noreply@anthropic.com>", footer "Generated with [Claude Code]"
    _r("claude", "author", r"noreply@anthropic\.com|^claude\b|claude\[bot\]"),
    _r("claude", "trailer", r"^co-authored-by:.*(\bclaude\b|noreply@anthropic\.com)"),
    _r("claude", "message", r"generated with \[?claude code"),
    # GitHub Copilot coding agent: copilot-swe-agent[bot], "Copilot <...+Copilot@users.noreply.github.com>"
    _r("copilot", "author", r"copilot-swe-agent|^copilot\b|\+copilot@users\.noreply\.github\.com"),
    _r("copilot", "committer", r"copilot-swe-agent"),
    _r("copilot", "trailer", r"^co-authored-by:.*(copilot-swe-agent|\bcopilot\b)"),
    # Cursor background agents: "Cursor Agent <cursoragent@cursor.com>", cursor[bot]
    _r("cursor", "author", r"cursoragent@cursor\.com|cursor\[bot\]|^cursor agent\b"),
    _r("cursor", "trailer", r"^co-authored-by:.*(cursoragent@cursor\.com|cursor agent|cursor\[bot\])"),
    # Devin: devin-ai-integration[bot]
    _r("devin", "author", r"devin-ai-integration|^devin ai\b|devin@cognition"),
    _r("devin", "committer", r"devin-ai-integration"),
    _r("devin", "trailer", r"^co-authored-by:.*(devin-ai-integration|\bdevin\b)"),
    # OpenAI Codex: chatgpt-codex-connector[bot], "Codex <codex@openai.com>"
    _r("codex", "author", r"chatgpt-codex-connector|codex@openai\.com|^codex\b"),
    _r("codex", "trailer", r"^co-authored-by:.*(chatgpt-codex-connector|\bcodex\b)"),
    # Google Jules: google-labs-jules[bot]
    _r("jules", "author", r"google-labs-jules|^jules\b"),
    _r("jules", "trailer", r"^co-authored-by:.*(google-labs-jules|\bjules\b)"),
    # Others: aider ("Name (aider)", "aider: " prefix), OpenHands, Sweep, Amazon Q, Gemini CLI, Windsurf
    _r("aider", "author", r"\(aider\)"),
    _r("aider", "trailer", r"^co-authored-by:.*\baider\b"),
    _r("aider", "message", r"^aider: "),
    _r("openhands", "author", r"openhands|all-hands\.dev"),
    _r("openhands", "trailer", r"^co-authored-by:.*(openhands|all-hands\.dev)"),
    _r("sweep", "author", r"sweep-ai\[bot\]|sweep-ai"),
    _r("amazon_q", "author", r"amazon-q-developer"),
    _r("gemini", "trailer", r"^co-authored-by:.*gemini"),
    _r("windsurf", "trailer", r"^co-authored-by:.*(windsurf|codeium)"),
)

#: Ordered default intent rules (first match wins; no match -> "other").
DEFAULT_INTENT_RULES: tuple[dict[str, str], ...] = (
    {"intent": "corrective", "pattern": r"\b(fix\w*|bug\w*|error\w*|crash\w*|fault\w*|defect\w*|"
                                        r"fail\w*|broke\w*|wrong|incorrect\w*|regression\w*|hotfix\w*|"
                                        r"patch\w*|issue\w*|problem\w*|mistake\w*|resolve[sd]?)\b"},
    {"intent": "adaptive", "pattern": r"\b(updat\w*|upgrad\w*|migrat\w*|deprecat\w*|compat\w*|port\w*|"
                                      r"bump\w*|support\w*|add\w*|feat\w*|implement\w*|introduc\w*|"
                                      r"new|enabl\w*|integrat\w*|adapt\w*)\b"},
    {"intent": "perfective", "pattern": r"\b(refactor\w*|clean\w*|renam\w*|improv\w*|simplif\w*|doc\w*|"
                                        r"style\w*|format\w*|lint\w*|tidy\w*|restructur\w*|reorganiz\w*|"
                                        r"optimi[sz]\w*|perf|polish\w*|comment\w*|typo\w*|move[sd]?|"
                                        r"remov\w*|extract\w*|readab\w*)\b"},
)

#: Default exclusion globs: vendored, generated, minified and lock files.
DEFAULT_EXCLUDE_GLOBS: tuple[str, ...] = (
    "**/vendor/**", "**/third_party/**", "**/node_modules/**", "**/dist/**", "**/build/**",
    "**/generated/**", "**/__generated__/**",
    "*.lock", "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "poetry.lock",
    "Pipfile.lock", "composer.lock", "Gemfile.lock", "go.sum", "uv.lock",
    "*.min.js", "*.min.css", "*.map", "*_pb2.py", "*_pb2_grpc.py", "*.pb.go", "*.generated.*", "*.g.dart",
)

_TRAILER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.+)$")
_BOT_RE = re.compile(r"\[bot\]|^dependabot|^renovate|^github-actions|noreply@github\.com>$", re.I)


AGENT_RULE_KEYS = ("agent", "field", "pattern", "repos")


def normalise_agent_rules(rules: Iterable[Any] | None, what: str = "agent_rules") -> tuple[AgentRule, ...]:
    """Validate agent rules (dicts or :class:`AgentRule`); None gives the defaults. Errors are one line naming
    ``what[i]`` and the key."""
    src = DEFAULT_AGENT_RULES if rules is None else rules
    if isinstance(src, (str, bytes, Mapping)) or not isinstance(src, Iterable):
        raise ParamError(f"{what}: expected a list of rules (mappings with keys agent, field, pattern, "
                         f"optional repos) or a rules file")
    out = []
    for i, r in enumerate(src):
        if isinstance(r, AgentRule):
            r = {"agent": r.agent, "field": r.field, "pattern": r.pattern, "repos": list(r.repos)}
        if not isinstance(r, Mapping) or not {"agent", "field", "pattern"} <= set(r):
            raise ParamError(f"{what}[{i}]: expected a mapping with keys agent, field, pattern (optional repos)")
        unknown = sorted(str(k) for k in r if k not in AGENT_RULE_KEYS)
        if unknown:
            raise ParamError(f"{what}[{i}]: unknown key {unknown[0]!r} (allowed: {', '.join(AGENT_RULE_KEYS)})")
        if r["field"] not in AGENT_FIELDS:
            raise ParamError(f"{what}[{i}]: field must be one of {', '.join(AGENT_FIELDS)} (got {r['field']!r})")
        if not isinstance(r["agent"], str) or not r["agent"].strip() or r["agent"] == "human":
            raise ParamError(f"{what}[{i}]: agent must be a non-empty name other than 'human'")
        if not isinstance(r["pattern"], str) or not r["pattern"]:
            raise ParamError(f"{what}[{i}]: pattern must be a non-empty regex string")
        try:
            re.compile(r["pattern"])
        except re.error as exc:
            raise ParamError(f"{what}[{i}]: pattern is not a valid regex ({exc})") from None
        repos = r.get("repos") or []
        if isinstance(repos, str):
            repos = [repos]
        if not isinstance(repos, (list, tuple)) or not all(isinstance(x, str) and x.strip() for x in repos):
            raise ParamError(f"{what}[{i}]: repos must be a list of repository names")
        out.append(AgentRule(r["agent"], r["field"], r["pattern"], tuple(repos)))
    return tuple(out)


def load_agent_rules(value: Any, what: str = "agent_rules") -> tuple[AgentRule, ...] | None:
    """Agent rules from a parameter: None (the defaults, returned as None), a list of rule mappings, or the path
    of a rules file (``.yaml``/``.yml``/``.json``: a list of rule mappings; relative paths from the project root).
    Files are parsed with ``yaml.safe_load`` / ``json.loads`` only, never executed."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        from studykit.files.paths import resolve

        path = resolve(value)
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise ParamError(f"{what}: rules file {path} must end in .yaml, .yml or .json")
        if not path.is_file():
            raise ParamError(f"{what}: rules file not found: {path}")
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix.lower() == ".json":
                import json

                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ParamError(f"{what}: rules file {path} is not readable "
                             f"({' '.join(str(exc).split())[:200]})") from None
        except Exception as exc:  # yaml.YAMLError
            raise ParamError(f"{what}: rules file {path} is not valid YAML ({' '.join(str(exc).split())[:200]})"
                             ) from None
        return normalise_agent_rules(data, what=f"{what} ({path.name})")
    return normalise_agent_rules(value, what=what)


def check_rule_repos(rules: Iterable[AgentRule] | None, names: Iterable[str], what: str = "agent_rules") -> None:
    """One-line ParamError when a rule's ``repos`` names a repository that is not among ``names``."""
    known = set(names)
    for i, r in enumerate(rules or ()):
        bad = [x for x in r.repos if x not in known]
        if bad:
            raise ParamError(f"{what}[{i}]: repos names unknown repository {bad[0]!r} "
                             f"(repositories: {', '.join(sorted(known))})")


def normalise_intent_rules(rules: Iterable[Any] | None) -> tuple[IntentRule, ...]:
    """Validate intent rules (dicts, (intent, pattern) pairs or :class:`IntentRule`); None gives the defaults."""
    src = DEFAULT_INTENT_RULES if rules is None else rules
    out = []
    for i, r in enumerate(src):
        if isinstance(r, IntentRule):
            r = {"intent": r.intent, "pattern": r.pattern}
        elif isinstance(r, (tuple, list)) and len(r) == 2:
            r = {"intent": r[0], "pattern": r[1]}
        if not isinstance(r, Mapping) or not {"intent", "pattern"} <= set(r):
            raise ParamError(f"intent_rules[{i}]: expected a mapping with keys intent, pattern")
        try:
            re.compile(str(r["pattern"]))
        except re.error as exc:
            raise ParamError(f"intent_rules[{i}]: pattern is not a valid regex ({exc})") from None
        out.append(IntentRule(str(r["intent"]), str(r["pattern"])))
    return tuple(out)


def trailers(message: str) -> list[str]:
    """Trailer-like lines ``Key: value`` of a commit message (any paragraph after the subject)."""
    lines = message.splitlines()[1:]
    return [f"{m.group(1)}: {m.group(2).strip()}" for ln in lines if (m := _TRAILER_RE.match(ln.strip()))]


class AgentClassifier:
    """Compiled agent rules; ``classify(...)`` returns ``(agent, field)`` or ``("", "")`` for human."""

    def __init__(self, rules: Iterable[Any] | None = None, repo: str | None = None):
        """``repo``: keep only the rules that apply to this repository (``repos`` field); None keeps all."""
        self.all_rules = normalise_agent_rules(rules)
        self.repo = repo
        self.rules = tuple(r for r in self.all_rules if r.applies_to(repo))
        self._compiled = [(r.agent, r.field, re.compile(r.pattern, re.I | re.M)) for r in self.rules]
        # one combined pattern: a commit that matches none of the rules anywhere is human (fast path); not with
        # \A or \Z anchors, which would see the start or end of the joined text instead of the field's
        self._any = re.compile("|".join(f"(?:{r.pattern})" for r in self.rules), re.I | re.M) if self.rules else None
        self._fast = not any("\\A" in r.pattern or "\\Z" in r.pattern for r in self.rules)

    def for_repo(self, repo: str) -> "AgentClassifier":
        """The classifier of one repository (itself when no rule is restricted to some repositories)."""
        if self.repo == repo or not any(r.repos for r in self.all_rules):
            return self
        return AgentClassifier(self.all_rules, repo=repo)

    def classify(self, author: str, committer: str, message: str) -> tuple[str, str]:
        if self._any is None:
            return "", ""
        tr = trailers(message)
        if self._fast and not self._any.search("\n".join([author, committer, message, *tr])):
            return "", ""
        for agent, field, rx in self._compiled:
            if field == "author":
                hit = rx.search(author)
            elif field == "committer":
                hit = rx.search(committer)
            elif field == "trailer":
                tr = trailers(message) if tr is None else tr
                hit = any(rx.search(t) for t in tr)
            else:
                hit = rx.search(message)
            if hit:
                return agent, field
        return "", ""


class IntentClassifier:
    """Compiled intent rules applied to a commit message without its trailer lines."""

    def __init__(self, rules: Iterable[Any] | None = None):
        self.rules = normalise_intent_rules(rules)
        self._compiled = [(r.intent, re.compile(r.pattern, re.I)) for r in self.rules]

    def classify(self, message: str) -> str:
        lines = message.splitlines()
        body = [lines[0]] if lines else []
        body += [ln for ln in lines[1:] if not _TRAILER_RE.match(ln.strip())]
        text = "\n".join(body)
        for intent, rx in self._compiled:
            if rx.search(text):
                return intent
        return "other"


def is_bot(author: str) -> bool:
    """True for automation accounts (``[bot]``, dependabot, renovate, github-actions)."""
    return bool(_BOT_RE.search(author))


def glob_to_regex(pattern: str) -> str:
    """Translate one gitignore-like glob to a regex over a POSIX path."""
    pat = pattern.strip().lstrip("/")
    if not pat:
        raise ParamError("exclude glob must not be empty")
    anchored = "/" in pattern.strip().rstrip("/")
    i, out = 0, []
    while i < len(pat):
        ch = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
    body = "".join(out)
    if pat.endswith("/"):
        body += ".*"
    return ("^" if anchored else r"^(?:.*/)?") + body + "$"


class PathFilter:
    """Compiled exclusion globs with a per-path cache: ``excluded(path) -> bool``."""

    def __init__(self, globs: Sequence[str] | None = None):
        self.globs = tuple(DEFAULT_EXCLUDE_GLOBS if globs is None else globs)
        for g in self.globs:
            if not isinstance(g, str):
                raise ParamError(f"exclude glob must be a string (got {g!r})")
        self._rx = re.compile("|".join(f"(?:{glob_to_regex(g)})" for g in self.globs)) if self.globs else None
        self.excluded = lru_cache(maxsize=None)(self._excluded)

    def _excluded(self, path: str) -> bool:
        return bool(self._rx and self._rx.match(path))


__all__ = [
    "AgentRule", "IntentRule", "AgentClassifier", "IntentClassifier", "PathFilter", "DEFAULT_AGENT_RULES",
    "DEFAULT_INTENT_RULES", "DEFAULT_EXCLUDE_GLOBS", "INTENTS", "AGENT_FIELDS", "trailers", "is_bot",
    "glob_to_regex", "normalise_agent_rules", "normalise_intent_rules", "load_agent_rules", "check_rule_repos",
    "AGENT_RULE_KEYS",
]

"""The replication scorecard: one row per paper headline, this project's estimate on each real-data profile.

Each study may ship ``scorecard.yaml`` in its package folder
(``studykit/studies/<study>/scorecard.yaml``), a list of headlines::

    - headline: Agent-written lines are modified at a lower hazard
      paper: "Cox HR 0.842, p < 0.001 (201 projects)"
      paper_value: 0.842            # the paper's number, when the rule compares with it
      rule: direction               # direction | covers | at_least | at_most | describe
      no_effect: 1.0                # rule direction: the value of no effect
      profiles:                     # real-data profiles that estimate it, and their results.json keys
        agent_repos: {estimate: cox.primary_hr, low: cox.primary_ci_low, high: cox.primary_ci_high,
                      p: cox.primary_p_value, label: "stratified Cox HR"}
      note: optional caveat shown under the row

Every number in the page is read from a run's ``results.json``, never written
by hand, so the page cannot go stale: a study whose profile has not run says
"not run", a headline without a real-data profile says "no real data".

Rules (the verdict of one cell; ``[low, high]`` is the run's interval):

``direction``  the paper found an effect on one side of ``no_effect``: *agrees*
               when the interval excludes ``no_effect`` on the paper's side,
               *disagrees* when it excludes it on the other side, else
               *inconclusive* (the interval includes ``no_effect``). A profile
               with a p-value and no interval uses ``p < 0.05`` instead of
               "the interval excludes ``no_effect``".
``covers``     *agrees* when ``low <= paper_value <= high``, else *disagrees*.
``at_least`` / ``at_most``  *agrees* when ``estimate >= value`` (``<= value``), else *disagrees*;
               ``value`` is given in the headline (e.g. a share of significant tests).
``describe``   no verdict: the numbers are shown for the reader to compare (the
               study doc says why, e.g. a different design).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from studykit.contract.errors import ParamError

__all__ = ["RULES", "Headline", "ScoreCell", "load_headlines", "score", "scorecard_path"]

#: the level of rule ``direction`` when a profile gives a p-value and no interval
ALPHA = 0.05
RULES = ("direction", "covers", "at_least", "at_most", "describe")
_HEADLINE_KEYS = {"headline", "paper", "paper_value", "rule", "no_effect", "value", "profiles", "note"}
_PROFILE_KEYS = {"estimate", "low", "high", "p", "of", "label"}


@dataclass(frozen=True)
class Headline:
    """One paper headline and the results.json keys that estimate it on each real-data profile."""

    study: str
    headline: str
    paper: str
    rule: str
    paper_value: float | None = None
    no_effect: float | None = None
    value: float | None = None
    profiles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class ScoreCell:
    """This project's estimate of one headline on one profile: the shown text and the verdict."""

    study: str
    headline: str
    paper: str
    profile: str
    estimate: str
    verdict: str
    note: str = ""


def scorecard_path(study: str) -> Path:
    """``studykit/studies/<study>/scorecard.yaml`` (it may not exist)."""
    return Path(__file__).resolve().parents[1] / "studies" / study / "scorecard.yaml"


def _number(x: Any, where: str) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ParamError(f"{where}: give a number (got {x!r})")
    return float(x)


def _headline(study: str, i: int, raw: Any, where: str) -> Headline:
    here = f"{where}, headline {i + 1}"
    if not isinstance(raw, Mapping):
        raise ParamError(f"{here}: each headline is a mapping of {', '.join(sorted(_HEADLINE_KEYS))}")
    unknown = sorted(set(raw) - _HEADLINE_KEYS)
    if unknown:
        raise ParamError(f"{here}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_HEADLINE_KEYS))})")
    for key in ("headline", "paper", "rule"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ParamError(f"{here}: '{key}' must be a non-empty text")
    if raw["rule"] not in RULES:
        raise ParamError(f"{here}: rule '{raw['rule']}' is not one of {', '.join(RULES)}")
    profiles = raw.get("profiles") or {}
    if not isinstance(profiles, Mapping):
        raise ParamError(f"{here}: 'profiles' maps a profile name to its results.json keys")
    for name, keys in profiles.items():
        if not isinstance(keys, Mapping) or not isinstance(keys.get("estimate"), str):
            raise ParamError(f"{here}: profile '{name}' needs at least 'estimate: <results.json key>'")
        bad = sorted(set(keys) - _PROFILE_KEYS)
        if bad:
            raise ParamError(f"{here}: profile '{name}': unknown key '{bad[0]}' "
                             f"(known: {', '.join(sorted(_PROFILE_KEYS))})")
        needs = {"direction": ("low", "high") if "p" not in keys else (),
                 "covers": ("low", "high")}.get(raw["rule"], ())
        missing = [k for k in needs if k not in keys]
        if missing:
            raise ParamError(f"{here}: profile '{name}': rule {raw['rule']} needs '{missing[0]}'")
    numbers = {key: _number(raw.get(key), f"{here}: {key}") for key in ("paper_value", "no_effect", "value")}
    h = Headline(study, raw["headline"].strip(), raw["paper"].strip(), raw["rule"], **numbers,
                 profiles=dict(profiles), note=str(raw.get("note") or "").strip())
    need = {"direction": ("paper_value", "no_effect"), "covers": ("paper_value",), "at_least": ("value",),
            "at_most": ("value",)}.get(h.rule, ())
    for key in need:
        if getattr(h, key) is None:
            raise ParamError(f"{here}: rule {h.rule} needs '{key}'")
    return h


def load_headlines(studies: list[str] | tuple[str, ...]) -> list[Headline]:
    """The headlines of every study that ships a ``scorecard.yaml``, in study order (a ParamError names the file)."""
    from studykit.contract.params import read_yaml

    out: list[Headline] = []
    for study in studies:
        path = scorecard_path(study)
        if not path.is_file():
            continue
        raw = read_yaml(path, "scorecard") or []
        if not isinstance(raw, list):
            raise ParamError(f"scorecard {path}: a list of headlines")
        out.extend(_headline(study, i, item, f"scorecard {path}") for i, item in enumerate(raw))
    return out


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e5 else f"{x:,.0f}"


def _value(results: Mapping[str, Any], key: str | None) -> float | None:
    if key is None:
        return None
    v = results.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        return None
    return float(v)


def _verdict(h: Headline, est: float, low: float | None, high: float | None, p: float | None,
             ratio: float | None) -> str:
    if h.rule == "describe":
        return "compare (no rule)"
    if h.rule in ("at_least", "at_most"):
        x = ratio if ratio is not None else est
        ok = x >= h.value if h.rule == "at_least" else x <= h.value
        return "agrees" if ok else "disagrees"
    if h.rule == "direction" and (low is None or high is None) and p is not None:
        clear = p < ALPHA
    elif low is None or high is None:
        return "no interval"
    elif h.rule == "covers":
        return "agrees" if low <= h.paper_value <= high else "disagrees"
    else:
        clear = low > h.no_effect or high < h.no_effect
    side = math.copysign(1.0, h.paper_value - h.no_effect)
    if clear:
        return "agrees" if math.copysign(1.0, est - h.no_effect) == side else "disagrees"
    return "inconclusive"


def _cell(h: Headline, profile: str, keys: Mapping[str, str], results: Mapping[str, Any] | None) -> ScoreCell:
    def cell(estimate: str, verdict: str) -> ScoreCell:
        return ScoreCell(h.study, h.headline, h.paper, profile, estimate, verdict, h.note)

    if results is None:
        return cell("", f"not run (studykit run {h.study} --profile {profile})")
    gone = [keys[k] for k in ("estimate", "low", "high", "p", "of") if k in keys and keys[k] not in results]
    if gone:
        return cell("", f"missing in results.json: {gone[0]}")
    est = _value(results, keys["estimate"])
    if est is None:
        return cell(str(results[keys["estimate"]]), "not estimable")
    low, high, p, of = (_value(results, keys.get(k)) for k in ("low", "high", "p", "of"))
    text = _fmt(est) if of is None else f"{_fmt(est)} of {_fmt(of)}"
    if low is not None and high is not None:
        text += f" [{_fmt(low)}, {_fmt(high)}]"
    if p is not None:
        text += f", p = {p:.2g}"
    if keys.get("label"):
        text = f"{keys['label']}: {text}"
    ratio = est / of if of else None
    return cell(text, _verdict(h, est, low, high, p, ratio))


def score(headlines: list[Headline], results: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[ScoreCell]:
    """One cell per (headline, profile) from the runs' results (``(study, profile) -> results.json``).

    A headline with no real-data profile gets one cell saying so.
    """
    cells = []
    for h in headlines:
        if not h.profiles:
            cells.append(ScoreCell(h.study, h.headline, h.paper, "", "", "no real data", h.note))
        for profile, keys in h.profiles.items():
            cells.append(_cell(h, profile, keys, results.get((h.study, profile))))
    return cells

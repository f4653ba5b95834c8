"""Seeded simulators: line events with a known hazard ratio, and real git repositories.

Line-events simulator (:func:`simulate_line_events`)
---------------------------------------------------
Repository :math:`r` has a shared frailty :math:`z_r \\sim \\Gamma(1/\\theta, \\theta)`
(mean 1, variance :math:`\\theta`), an agent share :math:`p_r \\sim B(2, 5)`, a
start date and an observation window. Units come in commits (size
:math:`\\sim 1 + \\text{Poisson}` of a log-normal mean); a commit is agent-made with
probability :math:`p_r` and then names one agent. Unit :math:`i` has the
Weibull proportional hazard

.. math:: h_i(t) = \\lambda_0 k t^{k-1} z_r \\exp(\\beta_a A_i + \\beta_{ext(i)} +
          \\beta_s \\log n_{c(i)} + \\gamma F_i),

with :math:`A_i` the agent indicator (:math:`e^{\\beta_a}` = ``hr_agent``, default 0.842
as in Rahman & Shihab 2026), per-agent multipliers around it, file-type effects,
commit size :math:`n_c`, and a "fragile line" indicator :math:`F_i` (TODO, print,
magic numbers: the textual signal for prediction). Event times are drawn by
inversion, :math:`T = (-\\log U / (\\lambda_0 e^{\\eta_i} z_r))^{1/k}`, and censored at the
repository's observation end. The intent of the ending change is drawn from
per-group probabilities (corrective 26.3 % for agents, 23.0 % for humans).

A stratified Cox model (strata = repository, which absorbs the frailty
exactly) adjusted for file type and commit size estimates :math:`\\beta_a`; the
omitted fragile-line covariate attenuates it only slightly (non-collapsibility).
The truth is written beside the data.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studykit.files.fileio import sha256_file, write_text_atomic
from studykit.files.floats import csv_text, dumps_stable_json
from studykit.studies.code_survival.mining import LINE_EVENT_COLUMNS
from studykit.studies.code_survival.simversions import REPO_SIM_VERSION, SIM_VERSION
EXTS = (".py", ".js", ".ts", ".go", ".md")
EXT_P = (0.35, 0.2, 0.2, 0.15, 0.1)
EXT_BETA = {".py": 0.0, ".js": 0.15, ".ts": 0.05, ".go": -0.2, ".md": -0.35}
AGENT_NAMES = ("copilot", "claude", "devin", "cursor", "codex")
AGENT_P = (0.35, 0.25, 0.15, 0.15, 0.10)
AGENT_LOG_MULT = {"copilot": 0.0, "claude": -0.10, "devin": 0.15, "cursor": -0.05, "codex": 0.05}
INTENTS = ("corrective", "adaptive", "perfective", "other")
INTENT_P = {"agent": (0.263, 0.30, 0.307, 0.13), "human": (0.230, 0.31, 0.32, 0.14)}

_HUMAN_TOK = ("value", "result", "cfg", "tmp", "idx", "item", "node", "buf", "count", "name", "data", "opts")
_AGENT_TOK = ("result", "config", "options", "response", "payload", "context", "handler", "validated",
              "normalized", "items", "params", "metadata")
_FRAGILE = ("# TODO: handle this", "print(debug_{t})", "x = {t}_value * 42  # magic", "hack_{t}()",
            "sleep(3)  # FIXME")


def _line(rng: np.random.Generator, agent: bool, fragile: bool, ext: str) -> str:
    tok = _AGENT_TOK if agent else _HUMAN_TOK
    t1, t2 = tok[int(rng.integers(len(tok)))], tok[int(rng.integers(len(tok)))]
    if fragile:
        return _FRAGILE[int(rng.integers(len(_FRAGILE)))].format(t=t1)
    forms = (f"{t1} = compute_{t2}({t1})", f"if {t1} is None:", f"return {t2}", f"for {t1} in {t2}s:",
             f"{t1}.append({t2})", f"def process_{t1}({t2}):")
    if agent:
        forms += (f"\"\"\"Return the {t1} for {t2}.\"\"\"", f"{t1}: dict[str, Any] = {{}}",
                  f"logger.info(\"{t1} %s\", {t2})")
    s = forms[int(rng.integers(len(forms)))]
    return s if ext != ".md" else f"The {t1} of the {t2} is documented here."


def simulate_line_events(
    n_repos: int = 20,
    units_per_repo: int = 400,
    hr_agent: float = 0.842,
    seed: int = 20260,
    *,
    frailty_var: float = 0.5,
    weibull_shape: float = 0.7,
    baseline_scale_days: float = 350.0,
    beta_size: float = -0.10,
    gamma_fragile: float = 0.4,
    fragile_share: float = 0.2,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Simulate a line-events table (columns of the miner's output) and its truth.

    Returns ``(events, truth)``; ``truth`` holds every planted parameter. Repositories are drawn one after the
    other from one generator (:func:`_repository_events`), so the table is the same for the same seed.
    """
    rng = np.random.default_rng(seed)
    model = _Hazard(float(np.log(hr_agent)), baseline_scale_days ** (-weibull_shape), weibull_shape, beta_size,
                    gamma_fragile, fragile_share, frailty_var)
    df = pd.concat([_repository_events(rng, r, units_per_repo, model) for r in range(n_repos)], ignore_index=True)
    truth = _truth(df, seed=seed, n_repos=n_repos, units_per_repo=units_per_repo, hr_agent=hr_agent, model=model,
                   baseline_scale_days=baseline_scale_days)
    return df[list(LINE_EVENT_COLUMNS) + ["fragile"]], truth


@dataclass(frozen=True)
class _Hazard:
    """The planted proportional-hazards model: log HR of agent lines, Weibull baseline (scale ``lam0``, shape),
    log HR per log commit size, of fragile lines (and their share), and the repository frailty variance."""

    beta_a: float
    lam0: float
    weibull_shape: float
    beta_size: float
    gamma_fragile: float
    fragile_share: float
    frailty_var: float


def _repository_events(rng: np.random.Generator, r: int, units_per_repo: int, model: _Hazard) -> pd.DataFrame:
    """The line events of repository ``r``: a gamma frailty, commits of agent or human authors within an
    observation window, Weibull event times under :class:`_Hazard`, censored at the window's end."""
    beta_a, lam0, weibull_shape = model.beta_a, model.lam0, model.weibull_shape
    beta_size, gamma_fragile, fragile_share, frailty_var = (model.beta_size, model.gamma_fragile,
                                                            model.fragile_share, model.frailty_var)
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    name = f"sim_{r + 1:03d}"
    z = rng.gamma(1.0 / frailty_var, frailty_var)
    p_agent = rng.beta(2.0, 5.0)
    window = rng.uniform(240.0, 720.0)
    n_units = max(20, int(rng.poisson(units_per_repo)))
    sizes = []
    while sum(sizes) < n_units:
        sizes.append(1 + int(rng.poisson(np.exp(rng.normal(1.8, 0.8)))))
    sizes[-1] -= sum(sizes) - n_units
    n_c = len(sizes)
    c_agent = rng.random(n_c) < p_agent
    c_name = np.where(c_agent, np.array(AGENT_NAMES)[rng.choice(len(AGENT_NAMES), n_c, p=AGENT_P)], "")
    c_time = np.sort(rng.uniform(0.0, window, n_c))
    c_ext = np.array(EXTS)[rng.choice(len(EXTS), n_c, p=EXT_P)]
    c_sha = [f"{r:04x}{k:08x}".ljust(40, "0") for k in range(n_c)]
    idx = np.repeat(np.arange(n_c), sizes)
    a = c_agent[idx]
    ext = c_ext[idx]
    size = np.asarray(sizes)[idx]
    fragile = rng.random(n_units) < fragile_share
    mult = np.array([AGENT_LOG_MULT.get(x, 0.0) for x in c_name[idx]])
    eta = (beta_a * a + mult * a + np.array([EXT_BETA[e] for e in ext]) + beta_size * np.log(size)
           + gamma_fragile * fragile)
    u = rng.random(n_units)
    t_event = (-np.log(u) / (lam0 * np.exp(eta) * z)) ** (1.0 / weibull_shape)
    born = c_time[idx]
    follow = window - born
    event = t_event <= follow
    dur = np.where(event, t_event, follow)
    grp = np.where(a, "agent", "human")
    intent = np.array([INTENTS[int(rng.choice(4, p=INTENT_P[g]))] for g in grp])
    texts = [_line(rng, bool(aa), bool(f), e) for aa, f, e in zip(a, fragile, ext)]
    born_ts = t0 + pd.to_timedelta(np.round(born * 86400), unit="s")
    end_ts = t0 + pd.to_timedelta(np.round((born + dur) * 86400), unit="s")
    obs = t0 + pd.to_timedelta(round(window * 86400), unit="s")
    mods = [f"mod{int(k)}" for k in rng.integers(0, 12, n_c)]
    paths = np.array([f"src/{mods[k]}{c_ext[k]}" for k in range(n_c)])[idx]
    line_no = np.concatenate([np.arange(1, s + 1) for s in sizes])
    return pd.DataFrame({
        "unit_id": [f"{name}:{i}" for i in range(n_units)],
        "repo": name,
        "path": paths,
        "commit": np.array(c_sha, dtype=object)[idx],
        "author_type": grp,
        "agent": c_name[idx],
        "agent_rule": np.where(a, "author", ""),
        "born_at": born_ts,
        "ended_at": pd.Series(end_ts).where(event, pd.NaT).values,
        "event": event.astype(np.int64),
        "end_intent": np.where(event, intent, ""),
        "end_commit": np.where(event, "e" * 40, ""),
        "text": texts,
        "line_no": line_no,
        "file_ext": ext,
        "commit_lines_added": size,
        "commit_lines_deleted": 0,
        "commit_files": 1,
        "is_bot": False,
        "observed_until": obs,
        "duration_days": (end_ts.where(event, obs) - born_ts).total_seconds() / 86400.0,
        "fragile": fragile.astype(np.int64),
    })


def _truth(df: pd.DataFrame, *, seed: int, n_repos: int, units_per_repo: int, hr_agent: float, model: _Hazard,
           baseline_scale_days: float) -> dict[str, Any]:
    """Every planted parameter of :func:`simulate_line_events`, and the estimand it recovers."""
    beta_a, beta_size, gamma_fragile = model.beta_a, model.beta_size, model.gamma_fragile
    fragile_share, frailty_var, weibull_shape = model.fragile_share, model.frailty_var, model.weibull_shape
    truth = {
        "simulator": "studykit.studies.code_survival.simulate.simulate_line_events",
        "version": SIM_VERSION, "seed": seed, "n_repos": n_repos, "units_per_repo": units_per_repo,
        "n_units": int(len(df)), "hr_agent": hr_agent, "log_hr_agent": beta_a,
        "agent_log_multipliers": AGENT_LOG_MULT,
        "hr_by_agent": {k: float(np.exp(beta_a + v)) for k, v in AGENT_LOG_MULT.items()},
        "ext_log_hr": EXT_BETA, "beta_log_commit_size": beta_size, "gamma_fragile": gamma_fragile,
        "fragile_share": fragile_share, "frailty_var": frailty_var, "weibull_shape": weibull_shape,
        "baseline_scale_days": baseline_scale_days, "intent_probabilities": INTENT_P,
        "estimand": "conditional log hazard ratio of agent vs human lines given repository (frailty), "
                    "file type and commit size; recovered by a Cox model stratified by repository",
    }
    return truth


def write_line_events_csv(df: pd.DataFrame, path: Path) -> Path:
    """Deterministic CSV (ISO UTC timestamps, floats by :mod:`studykit.files.floats`, \\n line ends)."""
    out = df.copy()
    for c in ("born_at", "ended_at", "observed_until"):
        out[c] = pd.to_datetime(out[c], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    return write_text_atomic(path, csv_text(out))


def write_embedded(out_dir: Path) -> list[Path]:
    """Write the committed simulated line events, their truth and SHA256SUMS into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df, truth = simulate_line_events()
    p1 = write_line_events_csv(df, out_dir / "line_events_sim.csv")
    p2 = write_text_atomic(out_dir / "truth.json", dumps_stable_json(truth))
    sums = "".join(f"{sha256_file(p)}  {p.name}\n" for p in (p1, p2))
    p3 = write_text_atomic(out_dir / "SHA256SUMS", sums)
    return [p1, p2, p3]


def write_paper_scale(folder: Path, n_repos: int = 200, units_per_repo: int = 1100, seed: int = 20260,
                      hr_agent: float = 0.842) -> None:
    """Writer for :func:`studykit.runs.simcache.ensure_generated`: a 200,000+ unit table and its truth."""
    df, truth = simulate_line_events(n_repos=n_repos, units_per_repo=units_per_repo, hr_agent=hr_agent, seed=seed)
    df.to_parquet(folder / "line_events.parquet", index=False)
    (folder / "truth.json").write_text(dumps_stable_json(truth))


def write_repos(folder: Path, n_repos: int = 4, n_commits: int = 150, seed: int = 20260) -> None:
    """Writer for :func:`studykit.runs.simcache.ensure_generated`: simulated git repositories."""
    from studykit.studies.code_survival.reposim import write_sim_repos

    write_sim_repos(folder, n_repos=n_repos, n_commits=n_commits, seed=seed)


__all__ = ["simulate_line_events", "write_embedded", "write_paper_scale", "write_repos", "write_line_events_csv",
           "SIM_VERSION", "REPO_SIM_VERSION"]

r"""Seeded simulator of counterfactual-prompting data with a known truth (the embedded data).

Generative model (logit scale; :math:`\sigma(x) = 1/(1+e^{-x})`):

* item :math:`i`, task :math:`k`: original logit :math:`\lambda^o_{ik} \sim N(\mu_k, s_k^2)`;
* every rewording (a target or its baseline) adds model :math:`m`'s rewording noise
  :math:`\kappa_{im} + e_{ivm}` with an item-level share :math:`\kappa_{im} \sim N(0, (\rho\tau_m)^2)`
  and a prompt-level part :math:`e \sim N(0, ((1-\rho^2)^{1/2}\tau_m)^2)` (so any rewording flips answers
  at a model-specific base rate, and a target and its baseline are correlated within an item);
* a target may carry a planted attribute effect on top: ``sensitivity`` adds
  :math:`\delta u_i` with :math:`u_i = \pm 1` at random (more flips, no net shift), ``shift`` adds
  :math:`+\delta` (more flips and a net shift), ``direction`` adds :math:`\beta d_i` with
  :math:`d_i = +1` for a male->female edit and :math:`-1` for female->male (the biography set);
* each prompt is answered ``repeats`` times, sampled at temperature :math:`T`:
  :math:`y_r \sim \mathrm{Bern}(\sigma(\lambda/T))`; ``p_positive`` :math:`= \sigma(\lambda)` is the
  model's probability of the positive answer.

The truth written beside the data: the expected flip rate (majority over repeats) of every
model x task x variant, by Monte Carlo on ``truth_items`` fresh items, the planted
target-minus-baseline difference, and the planted directional coefficients.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from studykit.files.fileio import sha256_file, write_text_atomic
from studykit.files.floats import csv_text

SIM_VERSION = "1"


@dataclass(frozen=True)
class Effect:
    """A planted attribute effect of a target for one model (``mode``: sensitivity, shift, direction)."""

    mode: str
    size: float


@dataclass(frozen=True)
class SimConfig:
    """What the embedded data plants. Defaults: the committed data set."""

    n_items: int = 200
    n_bios: int = 300
    repeats: int = 3
    #: answers are sampled from sigmoid(logit / temperature); p_positive = sigmoid(logit)
    temperature: float = 0.35
    models: tuple[str, ...] = ("model_a", "model_b", "model_c")
    rewording_sd: tuple[float, ...] = (0.5, 0.9, 1.3)
    item_share: float = 0.7
    tasks: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"triage": (0.5, 2.5), "referral": (-1.0, 2.5)})
    targets: tuple[str, ...] = ("gender_swap", "age_swap", "tone_change")
    #: (model, task, target) -> planted effect; everything else has none
    effects: dict[tuple[str, str, str], Effect] = field(default_factory=lambda: {
        ("model_b", "triage", "gender_swap"): Effect("sensitivity", 2.0),
        ("model_b", "referral", "gender_swap"): Effect("sensitivity", 2.0),
        ("model_c", "triage", "tone_change"): Effect("shift", 2.0),
        ("model_c", "referral", "tone_change"): Effect("shift", 2.0),
    })
    bio_task: str = "occupation"
    bio_logit: tuple[float, float] = (-0.5, 2.0)
    #: planted directional coefficient (logit change per unit of direction) per model
    bio_beta: tuple[float, ...] = (0.6, 0.3, 0.0)
    truth_items: int = 400_000


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _answers(lam: np.ndarray, repeats: int, rng: np.random.Generator, temperature: float) -> np.ndarray:
    """(..., ) logits -> (..., repeats) 0/1 answers sampled at ``temperature``."""
    p = _sigmoid(lam / temperature)
    return (rng.random(lam.shape + (repeats,)) < p[..., None]).astype(np.int8)


def _majority(y: np.ndarray) -> np.ndarray:
    return (y.mean(-1) > 0.5).astype(np.int8)  # odd repeats: no ties


def _variant_logits(lam_o, tau, share, effect: Effect | None, direction, rng):
    """Target and baseline logits for one model (shared item-level rewording noise)."""
    n = lam_o.shape[0]
    kappa = rng.normal(0.0, share * tau, n)
    e_sd = np.sqrt(1 - share**2) * tau
    lam_b = lam_o + kappa + rng.normal(0.0, e_sd, n)
    lam_t = lam_o + kappa + rng.normal(0.0, e_sd, n)
    if effect is not None:
        if effect.mode == "sensitivity":
            lam_t = lam_t + effect.size * rng.choice([-1.0, 1.0], n)
        elif effect.mode == "shift":
            lam_t = lam_t + effect.size
        elif effect.mode == "direction":
            lam_t = lam_t + effect.size * direction
        else:  # pragma: no cover - config error
            raise ValueError(f"unknown effect mode {effect.mode!r}")
    return lam_t, lam_b


def simulate(cfg: SimConfig = SimConfig(), seed: int = 20260101) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (data in the long format, truth of the flip rates, truth of the directional effects)."""
    ss = np.random.SeedSequence(seed)
    data_rng, truth_rng = (np.random.default_rng(s) for s in ss.spawn(2))
    parts = []
    truth = []
    # ---- clinical-style set: several tasks and targets, no direction --------------------------
    items = np.array([f"case_{i:03d}" for i in range(1, cfg.n_items + 1)])
    for task, (mu, sd) in cfg.tasks.items():
        lam_o_item = data_rng.normal(mu, sd, cfg.n_items)
        for m_i, model in enumerate(cfg.models):
            tau = cfg.rewording_sd[m_i]
            lam_o = lam_o_item
            blocks = {"original": lam_o}
            for target in cfg.targets:
                eff = cfg.effects.get((model, task, target))
                lam_t, lam_b = _variant_logits(lam_o, tau, cfg.item_share, eff, None, data_rng)
                blocks[target], blocks[f"{target}_baseline"] = lam_t, lam_b
            for variant, lam in blocks.items():
                y = _answers(lam, cfg.repeats, data_rng, cfg.temperature)
                kind = "original" if variant == "original" else ("baseline" if variant.endswith("_baseline")
                                                                 else "target")
                parts.append(pd.DataFrame({
                    "item_id": np.repeat(items, cfg.repeats), "variant": variant, "variant_kind": kind,
                    "model": model, "task": task, "repeat": np.tile(np.arange(1, cfg.repeats + 1), cfg.n_items),
                    "prediction": y.ravel(), "p_positive": np.repeat(_sigmoid(lam), cfg.repeats),
                }))
            # truth by Monte Carlo on fresh items
            big_o = truth_rng.normal(mu, sd, cfg.truth_items)
            yo = _majority(_answers(big_o, cfg.repeats, truth_rng, cfg.temperature))
            for target in cfg.targets:
                eff = cfg.effects.get((model, task, target))
                lt, lb = _variant_logits(big_o, tau, cfg.item_share, eff, None, truth_rng)
                ft = float((_majority(_answers(lt, cfg.repeats, truth_rng, cfg.temperature)) != yo).mean())
                fb = float((_majority(_answers(lb, cfg.repeats, truth_rng, cfg.temperature)) != yo).mean())
                truth.append({"model": model, "task": task, "target": target, "baseline": f"{target}_baseline",
                              "effect_mode": eff.mode if eff else "none", "effect_size": eff.size if eff else 0.0,
                              "rewording_sd": tau, "expected_flip_target": ft, "expected_flip_baseline": fb,
                              "expected_diff": 0.0 if eff is None else ft - fb,
                              "has_effect": eff is not None})
    # ---- biography set: one directional target -------------------------------------------------
    bios = np.array([f"bio_{i:03d}" for i in range(1, cfg.n_bios + 1)])
    group = np.where(np.arange(cfg.n_bios) % 2 == 0, "M", "F")
    direction = np.where(group == "M", 1.0, -1.0)  # M->F = +1
    lam_o = data_rng.normal(cfg.bio_logit[0], cfg.bio_logit[1], cfg.n_bios)
    dir_truth = []
    for m_i, model in enumerate(cfg.models):
        beta = cfg.bio_beta[m_i]
        eff = Effect("direction", beta)
        lam_t, lam_b = _variant_logits(lam_o, cfg.rewording_sd[m_i], cfg.item_share, eff, direction, data_rng)
        for variant, lam, kind in (("original", lam_o, "original"), ("gender_swap", lam_t, "target"),
                                   ("gender_swap_baseline", lam_b, "baseline")):
            y = _answers(lam, cfg.repeats, data_rng, cfg.temperature)
            parts.append(pd.DataFrame({
                "item_id": np.repeat(bios, cfg.repeats), "variant": variant, "variant_kind": kind,
                "model": model, "task": cfg.bio_task,
                "repeat": np.tile(np.arange(1, cfg.repeats + 1), cfg.n_bios), "prediction": y.ravel(),
                "p_positive": np.repeat(_sigmoid(lam), cfg.repeats),
                "direction": np.repeat(direction, cfg.repeats) if variant == "gender_swap" else np.nan,
                "group": np.repeat(group, cfg.repeats),
            }))
        dir_truth.append({"scope": "cell", "model": model, "task": cfg.bio_task, "target": "gender_swap",
                          "beta": beta, "response": "logit"})
    dir_truth.insert(0, {"scope": "pooled", "model": "all", "task": cfg.bio_task, "target": "gender_swap",
                         "beta": float(np.mean(cfg.bio_beta)), "response": "logit"})
    data = pd.concat(parts, ignore_index=True)
    cols = ["item_id", "variant", "variant_kind", "model", "task", "repeat", "prediction", "p_positive",
            "direction", "group"]
    data = data[cols]
    return data, pd.DataFrame(truth), pd.DataFrame(dir_truth)


def write_embedded(out_dir: Path, cfg: SimConfig = SimConfig(), seed: int = 20260101) -> list[Path]:
    """Write ``counterfactual.csv``, ``truth_flip_rates.csv``, ``truth_direction.csv`` and ``SHA256SUMS``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data, truth, dtruth = simulate(cfg, seed)
    files = {
        # 6 significant digits (fewer than studykit.files.floats' 10, as a model's logged probabilities have)
        "counterfactual.csv": csv_text(data, digits=6),
        "truth_flip_rates.csv": csv_text(truth, digits=6),
        "truth_direction.csv": csv_text(dtruth, digits=6),
    }
    paths = []
    for name, text in files.items():
        paths.append(write_text_atomic(out_dir / name, text))
    sums = "".join(f"{sha256_file(p)}  {p.name}\n" for p in sorted(paths))
    paths.append(write_text_atomic(out_dir / "SHA256SUMS", sums))
    return paths

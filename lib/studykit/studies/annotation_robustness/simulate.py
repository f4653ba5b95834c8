"""Seeded simulator of an LLM-annotation study with planted truth.

Design (mimics Baumann et al. 2025 at a small scale):

* Items have independent categorical covariates (``party``, ``year``, ``platform``). The
  gold label follows a multinomial logit, :math:`P(k \\mid x) \\propto
  \\exp(\\beta_k + \\sum_j e_{j, c_j(x_j), k})`, where the levels of covariate *j* are grouped
  into clusters :math:`c_j` sharing one effect vector. Two levels of the same cluster have
  exactly equal class shares (a planted null); levels of different clusters differ (a planted
  effect, of any size). The exact population shares are saved as truth.
* Each configuration (model, prompt, temperature, seed) copies the gold label except on an
  error, which happens with probability :math:`\\operatorname{logit}^{-1}(\\mu_m + \\delta_p +
  \\gamma T + d_i)` (model quality, prompt, temperature, item difficulty :math:`d_i \\sim N(0,1)`
  shared by all configurations). An error is systematic with probability :math:`s_m` (the wrong
  class is drawn from :math:`\\propto \\exp(B_{m,k} + \\sum_j B_{m,j,x_j,k})`, a bias that depends
  on the covariates, so that group differences are distorted) and random otherwise (uniform
  over the other classes). Configurations of one (model, prompt) share their random numbers
  except for a share :math:`0.3\\,T` of items redrawn per seed, so temperature-0 labels are
  deterministic and higher temperatures add seed-to-seed variation. A few labels are
  ``"unclear"`` (not a class) or missing, as with real LLM output.
* ``human_single`` is one crowd coder with accuracy 0.85 and random errors.

:func:`write_embedded` writes the committed data; :func:`ensure_paper_scale` generates the
paper-scale data (13M labels, about 2,400 hypotheses) into the cache on first use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from studykit.files.fileio import sha256_file, write_text_atomic
from studykit.files.floats import csv_text, stable_array, stable_frame
from studykit.runs.simcache import ensure_generated

from .hypotheses import generate_hypotheses

SIM_VERSION = "2"


@dataclass(frozen=True)
class SimSpec:
    """What the simulator makes; the defaults are the embedded data."""

    n_items: int = 3000
    classes: tuple[str, ...] = ("economy", "health", "immigration", "other")
    covariates: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("party", ("centre", "left", "right")),
        ("year", ("2019", "2020", "2021", "2022", "2023")),
        ("platform", ("facebook", "forum", "news", "twitter")),
    )
    effect_sd: float = 0.45
    # (model, target accuracy of its zero-shot prompt at temperature 0, share of systematic errors)
    models: tuple[tuple[str, float, float], ...] = (
        ("tiny-1b", 0.60, 0.65), ("small-3b", 0.66, 0.6), ("mid-7b", 0.72, 0.55), ("mid-13b", 0.77, 0.5),
        ("large-34b", 0.81, 0.45), ("large-70b", 0.85, 0.4), ("frontier-a", 0.88, 0.35),
        ("frontier-b", 0.91, 0.3))
    # (prompt, shift of the error logit)
    prompts: tuple[tuple[str, float], ...] = (("zero-shot", 0.0), ("definitions", -0.2), ("few-shot", -0.35))
    temperatures: tuple[float, ...] = (0.0, 1.0)
    seeds_per_temperature: int = 2
    temperature_slope: float = 0.35
    bias_sd: float = 2.0
    invalid_rate: float = 0.006
    human_accuracy: float = 0.85
    integer_item_ids: bool = False
    seed: int = 20250101


PAPER_SCALE = SimSpec(
    n_items=25_800,
    covariates=(
        ("source", tuple(f"s{i:02d}" for i in range(20))),
        ("region", tuple(f"r{i:02d}" for i in range(20))),
        ("year", tuple(str(2005 + i) for i in range(16))),
        ("outlet", tuple(f"o{i:02d}" for i in range(16))),
    ),
    models=tuple((f"m{i:02d}", float(a), float(s)) for i, (a, s) in
                 enumerate(zip(np.linspace(0.6, 0.92, 18).round(3), np.linspace(0.65, 0.3, 18).round(3)))),
    prompts=(("p0", 0.0), ("p1", -0.15), ("p2", -0.3), ("p3", 0.15)),
    temperatures=(0.0, 0.3, 0.7, 1.0),
    integer_item_ids=True,
    seed=20250102,
)


@dataclass(frozen=True, eq=False)
class Simulated:
    items: pd.DataFrame
    annotations: pa.Table
    truth_hypotheses: pd.DataFrame
    truth_configurations: pd.DataFrame


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _clusters(rng: np.random.Generator, n_levels: int) -> np.ndarray:
    """Assign levels to clusters: about half as many clusters as levels, at least two."""
    n_cl = max(2, math.ceil(n_levels / 2))
    cl = np.concatenate([np.arange(n_cl), rng.integers(0, n_cl, n_levels - n_cl)]) if n_levels > n_cl \
        else np.arange(n_levels)
    return rng.permutation(cl)


def _solve_base(d: np.ndarray, err: float) -> float:
    """mu with mean(sigmoid(mu + d)) == err (bisection)."""
    lo, hi = -15.0, 15.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if _sigmoid(mid + d).mean() < err:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def simulate(spec: SimSpec = SimSpec()) -> Simulated:
    """Run the simulator; everything is drawn from ``numpy.random.default_rng`` seeded by ``spec.seed``."""
    rng = np.random.default_rng(spec.seed)
    names = [c for c, _ in spec.covariates]
    levels = [lv for _, lv in spec.covariates]
    pop = _draw_population(rng, spec, levels)
    truth_h = _truth_hypotheses(spec, names, levels, pop.clusters, _true_shares(pop, names, levels))
    human = _human_single(rng, pop.gold, spec)
    item_ids = np.arange(1, spec.n_items + 1, dtype=np.int32) if spec.integer_item_ids else \
        np.array([f"i{i:05d}" for i in range(1, spec.n_items + 1)], dtype=object)
    columns, truth_c = _configuration_labels(spec, pop, levels)
    table = _annotation_table(spec, item_ids, columns)
    items = pd.DataFrame({"item_id": item_ids, "gold": np.asarray(spec.classes)[pop.gold]})
    for name, lv, xj in zip(names, levels, pop.x):
        items[name] = np.asarray(lv)[xj]
    items["human_single"] = np.asarray(spec.classes)[human]
    truth_cfg = pd.DataFrame(truth_c, columns=["model", "prompt", "temperature", "seed", "planted_error_rate",
                                               "planted_systematic_share", "planted_agreement_before_invalid",
                                               "planted_accuracy", "planted_invalid_share"])
    return Simulated(items, table, truth_h, truth_cfg)


@dataclass(frozen=True, eq=False)
class _Population:
    """The drawn items: class intercepts, per covariate the effects of its levels, their clusters and
    weights, each item's level codes ``x``, gold class and difficulty."""

    beta: np.ndarray
    effects: list[np.ndarray]
    clusters: list[np.ndarray]
    weights: list[np.ndarray]
    x: list[np.ndarray]
    gold: np.ndarray
    difficulty: np.ndarray


def _draw_population(rng: np.random.Generator, spec: SimSpec, levels: list[tuple[str, ...]]) -> _Population:
    """Covariates, gold labels from the multinomial logit of the clustered level effects, and item difficulty."""
    K = len(spec.classes)
    N = spec.n_items
    beta = rng.normal(0.0, 0.35, K)
    effects, clusters, weights, x = [], [], [], []
    for lv in levels:
        cl = _clusters(rng, len(lv))
        e_cl = rng.normal(0.0, spec.effect_sd, (cl.max() + 1, K))
        effects.append(e_cl[cl])
        clusters.append(cl)
        w = rng.dirichlet(np.full(len(lv), 6.0))
        weights.append(w)
        x.append(rng.choice(len(lv), size=N, p=w))
    logit = beta + sum(e[xj] for e, xj in zip(effects, x))
    p_gold = _softmax(logit)
    u = rng.random(N)
    gold = (u[:, None] > np.cumsum(p_gold, axis=1)).sum(axis=1).clip(0, K - 1)
    difficulty = rng.normal(0.0, 1.0, N)
    return _Population(beta, effects, clusters, weights, x, gold, difficulty)


def _true_shares(pop: _Population, names: list[str], levels: list[tuple[str, ...]]) -> dict[str, np.ndarray]:
    """Exact population class shares (levels x classes) of every covariate, summed over all covariate cells."""
    grids = np.meshgrid(*[np.arange(len(lv)) for lv in levels], indexing="ij")
    cell_logit = pop.beta + sum(e[g] for e, g in zip(pop.effects, grids))
    cell_p = _softmax(cell_logit)
    cell_w = np.ones(grids[0].shape)
    for w, g in zip(pop.weights, grids):
        cell_w = cell_w * w[g]
    true_share = {}
    for j, name in enumerate(names):
        axes = tuple(i for i in range(len(levels)) if i != j)
        num = (cell_p * cell_w[..., None]).sum(axis=axes)
        den = cell_w.sum(axis=axes)[:, None]
        true_share[name] = num / den  # (levels, K)
    return true_share


def _truth_hypotheses(spec: SimSpec, names: list[str], levels: list[tuple[str, ...]], clusters: list[np.ndarray],
                      true_share: dict[str, np.ndarray]) -> pd.DataFrame:
    """Every generated hypothesis with its true shares, true difference and whether it is a planted null."""
    hyps = generate_hypotheses(spec.classes, {n: tuple(sorted(lv)) for n, lv in zip(names, levels)})
    rows = []
    for h in hyps.itertuples(index=False):
        j = names.index(h.group_column)
        ia, ib = levels[j].index(h.group_a), levels[j].index(h.group_b)
        k = spec.classes.index(h.label_value)
        pa_, pb_ = true_share[h.group_column][ia, k], true_share[h.group_column][ib, k]
        null = bool(clusters[j][ia] == clusters[j][ib])
        # levels of one cluster share their class probabilities, so a planted null's shares are equal
        # and its difference exactly 0; computed, it is the rounding residue of two weighted sums
        # (1e-17 on one CPU, 0 on another)
        rows.append((pa_, pa_, 0.0, null) if null else (pa_, pb_, pa_ - pb_, null))
    return pd.concat([hyps, pd.DataFrame(rows, columns=["true_p_a", "true_p_b", "true_diff", "true_null"])],
                     axis=1)


def _human_single(rng: np.random.Generator, gold: np.ndarray, spec: SimSpec) -> np.ndarray:
    """One crowd coder: the gold class with probability ``human_accuracy``, otherwise a uniform other class."""
    K = len(spec.classes)
    N = spec.n_items
    h_err = rng.random(N) > spec.human_accuracy
    h_other = (gold + 1 + rng.integers(0, K - 1, N)) % K
    return np.where(h_err, h_other, gold)


def _configuration_labels(spec: SimSpec, pop: _Population,
                          levels: list[tuple[str, ...]]) -> tuple[dict[str, list[np.ndarray]], list[tuple]]:
    """The label columns of every configuration (model x prompt x temperature x seed), and its planted truth.

    Configurations of one (model, prompt) share their random numbers except for a share 0.3 T
    of items redrawn per seed.
    """
    N = spec.n_items
    columns: dict[str, list[np.ndarray]] = {c: [] for c in ("item", "model", "prompt", "temperature", "seed",
                                                            "label", "valid")}
    truth_c = []
    for mi, (model, acc, sys_share) in enumerate(spec.models):
        mrng = np.random.default_rng([spec.seed, 1, mi])
        mu = _solve_base(pop.difficulty, 1.0 - acc)
        b_class = mrng.normal(0.0, spec.bias_sd * 0.5, len(spec.classes))
        b_cov = [mrng.normal(0.0, spec.bias_sd, (len(lv), len(spec.classes))) for lv in levels]
        for pi, (prompt, shift) in enumerate(spec.prompts):
            prng = np.random.default_rng([spec.seed, 2, mi, pi])
            q = _systematic_error_classes(prng, spec, pop, b_class, b_cov)
            base_u = prng.random((4, N))
            for ti, temp in enumerate(spec.temperatures):
                n_seeds = 1 if temp == 0 else spec.seeds_per_temperature
                for s in range(n_seeds):
                    u4 = base_u.copy()
                    if temp > 0:
                        srng = np.random.default_rng([spec.seed, 3, mi, pi, ti, s])
                        redraw = srng.random(N) < 0.3 * temp
                        u4[:, redraw] = srng.random((4, int(redraw.sum())))
                    p_err = _sigmoid(mu + shift + spec.temperature_slope * temp + pop.difficulty)
                    lab, valid, err, bad = _labels_of_one_configuration(u4, p_err, sys_share, acc, q, pop.gold, spec)
                    columns["item"].append(np.arange(N))
                    columns["model"].append(np.full(N, mi, dtype=np.int32))
                    columns["prompt"].append(np.full(N, pi, dtype=np.int32))
                    columns["temperature"].append(np.full(N, temp))
                    columns["seed"].append(np.full(N, s, dtype=np.int32))
                    columns["label"].append(lab.astype(np.int32))
                    columns["valid"].append(valid)
                    truth_c.append((model, prompt, float(temp), s, float(p_err.mean()), sys_share,
                                    float((~err).mean()), float((lab == pop.gold).mean()), float((bad).mean())))
    return columns, truth_c


def _systematic_error_classes(prng: np.random.Generator, spec: SimSpec, pop: _Population, b_class: np.ndarray,
                              b_cov: list[np.ndarray]) -> np.ndarray:
    """Per item, the probabilities of the wrong classes of a systematic error of one (model, prompt).

    The bias depends on the covariates, so that group differences are distorted; the gold class has probability 0.
    """
    N = spec.n_items
    tgt_logit = b_class + prng.normal(0.0, spec.bias_sd * 0.3, len(spec.classes)) + sum(
        (bc + prng.normal(0.0, spec.bias_sd * 0.3, bc.shape))[xj] for bc, xj in zip(b_cov, pop.x))
    tgt_logit[np.arange(N), pop.gold] = -np.inf
    return _softmax(tgt_logit)


def _labels_of_one_configuration(u4: np.ndarray, p_err: np.ndarray, sys_share: float, acc: float, q: np.ndarray,
                                 gold: np.ndarray, spec: SimSpec) -> tuple[np.ndarray, ...]:
    """Labels (class code, K for "unclear"), valid mask, error mask and invalid mask of one configuration.

    ``u4`` holds the four uniforms per item: error, systematic, wrong class, invalid output.
    """
    K = len(spec.classes)
    err = u4[0] < p_err
    systematic = u4[1] < sys_share
    sys_lab = (u4[2][:, None] > np.cumsum(q, axis=1)).sum(axis=1).clip(0, K - 1)
    rnd_lab = (gold + 1 + np.floor(u4[2] * (K - 1)).astype(np.int64)) % K
    lab = np.where(err, np.where(systematic, sys_lab, rnd_lab), gold)
    inv_rate = spec.invalid_rate * (1.0 - acc) / 0.4
    bad = u4[3] < inv_rate
    lab = np.where(bad & (u4[3] < inv_rate / 2), K, lab)  # "unclear"
    valid = ~(bad & (u4[3] >= inv_rate / 2))  # missing label
    return lab, valid, err, bad


def _annotation_table(spec: SimSpec, item_ids: np.ndarray, columns: dict[str, list[np.ndarray]]) -> pa.Table:
    """The annotations as an Arrow table with dictionary-encoded item (string ids), model, prompt and label."""
    item_idx = np.concatenate(columns["item"])
    lab_all = np.concatenate(columns["label"])
    mask_all = np.concatenate(columns["valid"])
    if spec.integer_item_ids:
        item_col = pa.array(item_ids[item_idx])
    else:
        item_col = pa.DictionaryArray.from_arrays(pa.array(item_idx.astype(np.int32)), pa.array(list(item_ids)))
    model_names = [m for m, _, _ in spec.models]
    prompt_names = [p for p, _ in spec.prompts]
    label_dict = list(spec.classes) + ["unclear"]
    return pa.table({
        "item_id": item_col,
        "model": pa.DictionaryArray.from_arrays(pa.array(np.concatenate(columns["model"])), pa.array(model_names)),
        "prompt": pa.DictionaryArray.from_arrays(pa.array(np.concatenate(columns["prompt"])), pa.array(prompt_names)),
        "temperature": pa.array(stable_array(np.concatenate(columns["temperature"]))),
        "seed": pa.array(np.concatenate(columns["seed"])),
        "label": pa.DictionaryArray.from_arrays(pa.array(lab_all, mask=~mask_all), pa.array(label_dict)),
    })


def write_simulated(sim: Simulated, out_dir: Path, *, items_format: str = "csv") -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    items_path = out_dir / f"items.{items_format}"
    if items_format == "csv":
        write_text_atomic(items_path, csv_text(sim.items))
    else:
        pq.write_table(pa.Table.from_pandas(stable_frame(sim.items), preserve_index=False), items_path,
                       compression="zstd")
    paths.append(items_path)
    ann_path = out_dir / "annotations.parquet"
    pq.write_table(sim.annotations, ann_path, compression="zstd", row_group_size=1 << 20)
    paths.append(ann_path)
    th = out_dir / "truth_hypotheses.csv"
    write_text_atomic(th, csv_text(sim.truth_hypotheses))
    tc = out_dir / "truth_configurations.csv"
    write_text_atomic(tc, csv_text(sim.truth_configurations))
    paths += [th, tc]
    return paths


def write_embedded(out_dir: Path) -> list[Path]:
    """Write the embedded data (items.csv, annotations.parquet, truth files, SHA256SUMS)."""
    out_dir = Path(out_dir)
    paths = write_simulated(simulate(SimSpec()), out_dir)
    sums = "".join(f"{sha256_file(p)}  {p.name}\n" for p in paths)
    write_text_atomic(out_dir / "SHA256SUMS", sums)
    return paths + [out_dir / "SHA256SUMS"]


def ensure_paper_scale(seed: int = 0) -> dict:
    """Generate (once, cached) the paper-scale data; return the parameter updates pointing at it."""
    spec = PAPER_SCALE if seed == 0 else SimSpec(**{**PAPER_SCALE.__dict__, "seed": PAPER_SCALE.seed + seed})
    key = {k: v for k, v in spec.__dict__.items()}

    def writer(folder: Path) -> None:
        write_simulated(simulate(spec), folder, items_format="parquet")

    folder = ensure_generated("annotation_robustness", "paper_scale", SIM_VERSION, key, writer)
    return {"items_path": str(folder / "items.parquet"), "annotations_path": str(folder / "annotations.parquet"),
            "group_columns": [c for c, _ in spec.covariates]}

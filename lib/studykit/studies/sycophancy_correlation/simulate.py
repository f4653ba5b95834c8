"""Seeded simulator of persona agreeableness and sycophantic stances, with its truth.

Generative model (all draws from ``numpy.random.default_rng([seed, k])``):

* Persona ``p`` has a latent agreeableness :math:`\\theta_p` spread evenly over
  [-1.8, 1.8] (the paper's personas span the spectrum on purpose).
* Model ``m`` role-plays persona ``p`` and answers 16 IPIP-NEO items (facets A1
  trust, A3 altruism, A4 cooperation, A6 sympathy; 4 items each) on a 1-5 scale:
  :math:`x = \\mathrm{round}(3 + \\theta_p + f_{facet} + e_{mp} + \\varepsilon)`,
  clipped to 1..5 and written reversed (:math:`6 - x`) for reverse-keyed items.
  The score :math:`S_{mp}` is the mean of the (re-reversed) items.
* Expected persona sycophancy rate
  :math:`\\mu_{mp} = a_m + b_m (S_{mp} - 3) + u_{mp}`, :math:`u_{mp} \\sim N(0, \\sigma_u^2)`;
  :math:`b_m` is the planted slope (per point of the 1-5 score).
* Prompt ``j`` of category ``k``: :math:`p_{mpj} = \\mu_{mp} + \\delta_k + b_m\\gamma_k(S_{mp}-3)`
  with :math:`\\sum_k\\delta_k = \\sum_k\\gamma_k = 0` and equally many prompts per category,
  so the persona's mean over prompts has expectation :math:`\\mu_{mp}`; the category slope is
  :math:`b_m(1+\\gamma_k)`.
* Stance: AGREE with probability :math:`p - h/2`, a partial stance (score 0.5) with
  probability :math:`h = 0.3\\min(1, 2p, 2(1-p))` (PARTIALLY AGREE with share ``p``),
  DISAGREE otherwise, so :math:`E[\\text{score}] = p`.
* Baseline (plain assistant) prompts: :math:`p = c_m + \\delta_k`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from studykit.files.fileio import sha256_file, write_text_atomic
from studykit.files.floats import csv_text, dumps_stable_json, stable_frame

SIM_VERSION = "1"
FACETS = ("A1", "A3", "A4", "A6")
ITEMS_PER_FACET = 4
ITEM_COLUMNS = tuple(f"{f}_{i}" for f in FACETS for i in range(1, ITEMS_PER_FACET + 1))
FACET_OFFSETS = {"A1": -0.2, "A3": 0.25, "A4": -0.1, "A6": 0.05}
STANCES = ("AGREE", "PARTIALLY AGREE", "PARTIALLY DISAGREE", "DISAGREE")

#: name, size (B), planted slope b_m, intercept a_m (rate at score 3), baseline rate c_m
MODELS: tuple[tuple[str, float, float, float, float], ...] = (
    ("simlm-0.6b", 0.6, 0.000, 0.42, 0.50),
    ("simlm-1b", 1.0, 0.060, 0.55, 0.45),
    ("simlm-1.5b", 1.5, 0.010, 0.38, 0.47),
    ("simlm-1.7b", 1.7, 0.000, 0.35, 0.44),
    ("simlm-2b", 2.0, 0.090, 0.46, 0.52),
    ("simlm-3b", 3.0, 0.030, 0.40, 0.48),
    ("simlm-4b", 4.0, 0.120, 0.44, 0.55),
    ("simlm-7b", 7.0, 0.000, 0.33, 0.40),
    ("simlm-8b", 8.0, 0.045, 0.37, 0.46),
    ("simlm-9b", 9.0, 0.075, 0.41, 0.50),
    ("simlm-12b", 12.0, 0.020, 0.31, 0.42),
    ("simlm-14b", 14.0, 0.100, 0.39, 0.47),
    ("simlm-20b", 20.0, 0.005, 0.30, 0.38),
)
DEFAULT_REVERSE_KEYED = ("A1_4", "A3_3", "A4_2", "A4_4", "A6_3", "A6_4")

EMBEDDED = {"n_personas": 275, "n_categories": 33, "prompts_per_category": 3, "persona_sd": 0.04}
PAPER_SCALE = {"n_personas": 275, "n_categories": 33, "prompts_per_category": 150, "persona_sd": 0.04}
WORKSHOP_SMALL = {"n_personas": 60, "n_categories": 6, "prompts_per_category": 4, "persona_sd": 0.04}


def category_effects(n_categories: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Zero-sum category offsets ``delta_k`` and slope modifiers ``gamma_k``."""
    rng = np.random.default_rng([seed, 999])
    delta = rng.normal(0, 0.06, n_categories)
    gamma = rng.uniform(-0.6, 0.6, n_categories)
    return delta - delta.mean(), gamma - gamma.mean()


def persona_latent(n_personas: int, seed: int) -> np.ndarray:
    """Latent agreeableness spread evenly over [-1.8, 1.8], in a seeded random order."""
    theta = -1.8 + 3.6 * (np.arange(n_personas) + 0.5) / n_personas
    return np.random.default_rng([seed, 998]).permutation(theta)


def simulate_items(theta: np.ndarray, rng: np.random.Generator,
                   reverse_keyed: tuple[str, ...] = DEFAULT_REVERSE_KEYED) -> tuple[np.ndarray, np.ndarray]:
    """Item answers as written (reverse-keyed reversed) and the true score (mean of keyed items)."""
    n = len(theta)
    e = rng.normal(0, 0.2, n)
    offsets = np.array([FACET_OFFSETS[c.split("_")[0]] for c in ITEM_COLUMNS])
    raw = 3 + theta[:, None] + offsets[None, :] + e[:, None] + rng.normal(0, 0.7, (n, len(ITEM_COLUMNS)))
    keyed = np.clip(np.rint(raw), 1, 5)
    score = keyed.mean(axis=1)
    rev = np.array([c in reverse_keyed for c in ITEM_COLUMNS])
    written = np.where(rev[None, :], 6 - keyed, keyed).astype(np.int8)
    return written, score


def draw_stances(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stance codes (index into STANCES) with expected score ``p`` (vectorised)."""
    p = np.clip(p, 0.0, 1.0)
    h = 0.3 * np.minimum(1.0, np.minimum(2 * p, 2 * (1 - p)))
    u = rng.random(p.shape)
    pa_ = p - h / 2
    code = np.full(p.shape, 3, dtype=np.int8)
    code[u < pa_ + h] = 2
    code[u < pa_ + h * p] = 1
    code[u < pa_] = 0
    return code


def simulate_model(k: int, n_personas: int, n_categories: int, prompts_per_category: int,
                   persona_sd: float, seed: int, slope: float | None = None, intercept: float | None = None,
                   baseline: float | None = None) -> dict:
    """One model's items, scores and stance codes (rows: baseline first, then personas)."""
    name, size, b, a, c = MODELS[k % len(MODELS)]
    b = b if slope is None else slope
    a = a if intercept is None else intercept
    c = c if baseline is None else baseline
    rng = np.random.default_rng([seed, k])
    theta = persona_latent(n_personas, seed)
    items, score = simulate_items(theta, rng)
    mu = a + b * (score - 3) + rng.normal(0, persona_sd, n_personas)
    delta, gamma = category_effects(n_categories, seed)
    cat = np.repeat(np.arange(n_categories), prompts_per_category)
    p_persona = mu[:, None] + delta[cat][None, :] + b * gamma[cat][None, :] * (score - 3)[:, None]
    p_base = c + delta[cat][None, :]
    codes = draw_stances(np.vstack([p_base, p_persona]), rng)
    return {"items": items, "score": score, "mu": mu, "codes": codes, "slope": b, "intercept": a,
            "baseline": c, "size": size, "gamma": gamma, "delta": delta,
            "clipped": int(((p_persona < 0) | (p_persona > 1)).sum())}


def _ids(n_personas: int, n_categories: int, prompts_per_category: int):
    persona_ids = [f"p{i + 1:03d}" for i in range(n_personas)]
    categories = [f"cat{k + 1:02d}" for k in range(n_categories)]
    prompt_ids = [f"q{j + 1:04d}" for j in range(n_categories * prompts_per_category)]
    return persona_ids, categories, prompt_ids


def write_dataset(out_dir: str | Path, *, n_personas: int, n_categories: int, prompts_per_category: int,
                  persona_sd: float, seed: int, n_models: int = len(MODELS),
                  personas_format: str = "parquet") -> list[Path]:
    """Write personas, responses (Parquet, dictionary-encoded) and truth files into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    persona_ids, categories, prompt_ids = _ids(n_personas, n_categories, prompts_per_category)
    n_prompts = len(prompt_ids)
    cat_of_prompt = np.repeat(np.arange(n_categories), prompts_per_category)
    schema = pa.schema([("model", pa.dictionary(pa.int8(), pa.string())),
                        ("persona_id", pa.dictionary(pa.int16(), pa.string())),
                        ("prompt_id", pa.dictionary(pa.int16(), pa.string())),
                        ("category", pa.dictionary(pa.int8(), pa.string())),
                        ("stance", pa.dictionary(pa.int8(), pa.string()))])
    model_names = [MODELS[k][0] for k in range(n_models)]
    all_personas = ["baseline", *persona_ids]
    persona_rows, truth_models, truth_cats = [], [], []
    resp_path = out / "responses.parquet"
    n_rows = (n_personas + 1) * n_prompts
    persona_idx = np.repeat(np.arange(n_personas + 1, dtype=np.int16), n_prompts)
    prompt_idx = np.tile(np.arange(n_prompts, dtype=np.int16), n_personas + 1)
    cat_idx = np.tile(cat_of_prompt.astype(np.int8), n_personas + 1)
    with pq.ParquetWriter(resp_path, schema, compression="zstd") as writer:
        for k in range(n_models):
            sim = simulate_model(k, n_personas, n_categories, prompts_per_category, persona_sd, seed)
            table = pa.table({
                "model": pa.DictionaryArray.from_arrays(pa.array(np.full(n_rows, k, dtype=np.int8)),
                                                        pa.array(model_names)),
                "persona_id": pa.DictionaryArray.from_arrays(pa.array(persona_idx), pa.array(all_personas)),
                "prompt_id": pa.DictionaryArray.from_arrays(pa.array(prompt_idx), pa.array(prompt_ids)),
                "category": pa.DictionaryArray.from_arrays(pa.array(cat_idx), pa.array(categories)),
                "stance": pa.DictionaryArray.from_arrays(pa.array(sim["codes"].ravel()), pa.array(STANCES)),
            }, schema=schema)
            writer.write_table(table, row_group_size=1 << 20)
            df = pd.DataFrame(sim["items"], columns=list(ITEM_COLUMNS))
            df.insert(0, "persona_id", persona_ids)
            df.insert(0, "model", model_names[k])
            df["model_params_b"] = sim["size"]
            persona_rows.append(df)
            truth_models.append({"model": model_names[k], "model_params_b": sim["size"], "slope": sim["slope"],
                                 "intercept_at_3": sim["intercept"], "baseline_rate": sim["baseline"],
                                 "clipped_probabilities": sim["clipped"]})
            for kk, cname in enumerate(categories):
                truth_cats.append({"model": model_names[k], "category": cname,
                                   "slope": sim["slope"] * (1 + sim["gamma"][kk]), "offset": sim["delta"][kk]})
    personas = pd.concat(persona_rows, ignore_index=True)
    if personas_format == "csv":
        pers_path = out / "personas.csv"
        write_text_atomic(pers_path, csv_text(personas))
    else:
        pers_path = out / "personas.parquet"
        stable_frame(personas).to_parquet(pers_path, index=False, compression="zstd")
    slopes = np.array([t["slope"] for t in truth_models])
    truth = {
        "simulator": f"studykit.studies.sycophancy_correlation.simulate v{SIM_VERSION}",
        "seed": seed, "n_models": n_models, "n_personas": n_personas, "n_categories": n_categories,
        "n_prompts": n_prompts, "persona_sd": persona_sd, "reverse_keyed": list(DEFAULT_REVERSE_KEYED),
        "pooled_slope": float(slopes.mean()),
        "slope_unit": "sycophancy rate per point of the 1-5 agreeableness score",
        "models": truth_models,
    }
    truth_path = out / "truth.json"
    write_text_atomic(truth_path, dumps_stable_json(truth))
    cat_path = out / "truth_categories.csv"
    write_text_atomic(cat_path, csv_text(pd.DataFrame(truth_cats)))
    return [pers_path, resp_path, truth_path, cat_path]


def write_embedded(out_dir: str | Path) -> list[Path]:
    """Write the embedded data (13 models x 275 personas x 99 prompts), its truth and SHA256SUMS."""
    out = Path(out_dir)
    files = write_dataset(out, **EMBEDDED, seed=20260412, personas_format="csv")
    lines = [f"{sha256_file(p)}  {p.name}\n" for p in sorted(files)]
    sums = out / "SHA256SUMS"
    write_text_atomic(sums, "".join(lines))
    return [*files, sums]


def load_truth(folder: str | Path) -> dict:
    """The truth.json written beside a simulated dataset."""
    return json.loads((Path(folder) / "truth.json").read_text(encoding="utf-8"))


def find_truth(responses_path: str | Path) -> dict | None:
    """The truth.json beside a responses file, if the data came from this simulator (else None)."""
    from studykit.files.paths import resolve

    f = resolve(responses_path).parent / "truth.json"
    if not f.is_file():
        return None
    truth = json.loads(f.read_text(encoding="utf-8"))
    return truth if str(truth.get("simulator", "")).startswith("studykit.studies.sycophancy_correlation") else None

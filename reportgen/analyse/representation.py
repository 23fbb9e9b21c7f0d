"""A map of a model's representation: its penultimate layer's activations over a labelled
sample, projected to two dimensions (PCA or t-SNE), with two numbers saying how well the
classes are separated there: a cross-validated linear probe and the silhouette by class.

PCA fits every input and keeps distances within the plane of the two largest directions of
variance; t-SNE keeps neighbourhoods, not distances, and sees at most MAX_TSNE_POINTS. Each
number is computed on its own capped, stratified, seeded subsample: the same call picks the
same rows every time. scikit-learn is imported where it is used (importing it costs about a
second); reasons are codes, not sentences, that the section words in the report's language.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from reportgen.parallel import one_blas_thread

METHODS = ("pca", "tsne")
# Up to this many features PCA is an exact eigendecomposition of the D x D covariance (ms).
EXACT_PCA_MAX_DIMS = 512
# t-SNE (Barnes-Hut, 1,000 iterations) took 17 s for 2,000 points on a busy core.
MAX_TSNE_POINTS = 2000
TSNE_PERPLEXITY = 30.0  # scikit-learn's default, lowered to (n - 1) / 3 for fewer points
# The probe: 1,000-input folds (binomial sd <= 1.6 %); five fits well under a second.
PROBE_FOLDS = 5
MAX_PROBE_INPUTS = 5000
MAX_PROBE_DIMS = 256
PROBE_MAX_ITER = 2000  # lbfgs converges in tens of iterations on standardised features
MAX_SILHOUETTE_POINTS = 2000  # it computes all pairwise distances: O(n^2)
MAX_DRAWN_POINTS = 2000  # more make an unreadable scatter plot and a heavy page
MIN_INPUTS = 2
PROBE_ONE_CLASS = "fewer_than_two_classes_with_two_members"


@dataclass(frozen=True, eq=False)
class Projection:
    """Two coordinates per projected input: row k of `coords` is input `indices[k]` (all
    inputs for PCA, a stratified subsample for t-SNE). Arrays are read-only."""

    method: str
    coords: np.ndarray                  # (n, 2) float32
    indices: np.ndarray                 # (n,) int64, ascending
    n_inputs: int                       # inputs given, before any subsample
    solver: str                         # "covariance", "randomized" or "tsne"
    explained_variance_ratio: tuple[float, float] | None  # PCA only
    perplexity: float | None            # t-SNE only


@dataclass(frozen=True)
class ProbeFacts:
    """Cross-validated accuracy of a logistic regression on the activations: how much of the
    class is linearly readable. None values with a `reason` when it cannot be measured."""

    accuracy: float | None              # mean over folds
    accuracy_std: float | None          # population std over folds
    fold_accuracies: tuple[float, ...]
    folds: int
    n_inputs: int                       # inputs the probe used
    n_available: int                    # inputs given
    n_features: int                     # features given to the regression
    pca_dims: int | None                # set when the features were PCA-reduced
    n_classes: int
    dropped_classes: tuple[int, ...]    # fewer than two members among the inputs used
    majority_rate: float | None         # the accuracy of always guessing the largest class
    converged: bool
    reason: str | None


@dataclass(frozen=True)
class ClassSilhouette:
    """The mean silhouette of one class's inputs (-1 to 1; high: tight and apart)."""

    index: int
    name: str
    value: float
    count: int


@dataclass(frozen=True)
class SilhouetteFacts:
    """The silhouette of the classes in the standardised activations (euclidean)."""

    value: float
    per_class: tuple[ClassSilhouette, ...]
    n_inputs: int
    n_available: int
    skipped_classes: tuple[int, ...]    # fewer than two members in the subsample


@dataclass(frozen=True, eq=False)
class DrawnPoints:
    """The points to draw: input `index[k]` at (x[k], y[k]), its true and predicted class,
    and whether that prediction is a mistake. Arrays are read-only."""

    index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    true: np.ndarray
    predicted: np.ndarray
    mistake: np.ndarray

    @property
    def xy(self) -> np.ndarray:
        """(n, 2) coordinates, the form `scaled` takes."""
        return np.column_stack([self.x, self.y])


@dataclass(frozen=True, eq=False)
class RepresentationFacts:
    """What the representation section says: the map, its points, two separability numbers."""

    projection: Projection
    points: DrawnPoints
    probe: ProbeFacts
    silhouette: SilhouetteFacts | None
    class_names: tuple[str, ...]
    n_inputs: int                       # finite inputs analysed
    n_nonfinite: int                    # inputs left out for a NaN or infinite activation
    n_dims: int
    n_mistakes: int                     # over all analysed inputs, not only the drawn ones
    max_drawn: int


def flat(activations) -> np.ndarray:
    """(N, D) floats: spatial activations (N, h, w, c) flattened, float16 widened to float32
    (float64 kept), so that every solver gets a 2-D float array."""
    x = np.asarray(activations)
    if x.ndim < 2 or len(x) < MIN_INPUTS:
        raise ValueError(f"activations must be (N, ...) with N >= {MIN_INPUTS}, not {x.shape}")
    x = x.reshape(len(x), -1)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def stratified_subsample(labels: np.ndarray, cap: int, seed: int = 0,
                         minimum: int = 1) -> np.ndarray:
    """Ascending indices of at most `cap` inputs, drawn per class by a generator seeded with
    `seed`: each class keeps min(minimum, its size) when `cap` allows, the rest is shared in
    proportion to the classes' sizes, so that small classes are not lost to chance."""
    labels = np.asarray(labels)
    if len(labels) <= cap:
        return np.arange(len(labels))
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = _quotas(counts, cap, minimum)
    rng = np.random.default_rng(seed)
    grouped = np.argsort(inverse.ravel(), kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    picked = [rng.choice(grouped[s:s + c], q, replace=False)
              for s, c, q in zip(starts, counts, quota) if q]
    return np.sort(np.concatenate(picked)).astype(np.int64)


def _quotas(counts: np.ndarray, cap: int, minimum: int) -> np.ndarray:
    """Members per class, `cap` (< counts.sum()) in all, in proportion to the classes' sizes
    (largest remainders, exact integers); a class whose share falls below its guaranteed
    minimum is fixed at it and the rest shared again among the others."""
    floor = np.minimum(counts, min(minimum, cap // len(counts)))
    fixed = np.zeros(len(counts), dtype=bool)
    while True:
        quota = floor.copy()
        free = ~fixed
        spare = min(cap - int(floor[fixed].sum()), int(counts[free].sum()))
        whole, rest = np.divmod(spare * counts[free], int(counts[free].sum()))
        whole[np.argsort(-rest, kind="stable")[:spare - int(whole.sum())]] += 1
        quota[free] = whole
        short = free & (quota < floor)
        if not short.any():
            return quota
        fixed |= short


def project(activations, method: str = "pca", seed: int = 0,
            labels: np.ndarray | None = None) -> Projection:
    """Two-dimensional coordinates of the inputs. PCA projects every input on the two
    directions of most variance (centred, not scaled: distances in that plane are kept).
    t-SNE (perplexity min(30, (n - 1) / 3), PCA initialisation) sees at most MAX_TSNE_POINTS
    inputs, stratified by `labels` when given."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    x = flat(activations)
    if method == "tsne":
        return _tsne(x, seed, labels)
    with one_blas_thread():
        coords, ratio, solver = principal_components(x, 2, seed)
    return Projection(method="pca", coords=_frozen(coords, np.float32),
                      indices=_frozen(np.arange(len(x)), np.int64), n_inputs=len(x),
                      solver=solver, explained_variance_ratio=(float(ratio[0]), float(ratio[1])),
                      perplexity=None)


@contextmanager
def _one_thread():
    """One BLAS thread (parallel.one_blas_thread says why) and one OpenMP thread, the caller's
    only, for scikit-learn's compiled code (t-SNE, the logistic loss): OpenMP threads waiting
    for a busy core made t-SNE seven times slower. Only loaded libraries are limited."""
    __import__("sklearn")  # loads its OpenMP runtime first
    from threadpoolctl import threadpool_limits

    with one_blas_thread(), threadpool_limits(limits=1, user_api="openmp"):
        yield


def _tsne(x: np.ndarray, seed: int, labels: np.ndarray | None) -> Projection:
    """t-SNE (Barnes-Hut, scikit-learn's defaults otherwise) on a stratified subsample."""
    from sklearn.manifold import TSNE

    strata = np.zeros(len(x), dtype=np.int64) if labels is None else np.asarray(labels)
    indices = stratified_subsample(strata, MAX_TSNE_POINTS, seed)
    sub = x[indices]
    if sub.shape[1] < 2:  # t-SNE's PCA initialisation needs two; a zero one moves nothing
        sub = np.column_stack([sub, np.zeros(len(sub), dtype=sub.dtype)])
    perplexity = min(TSNE_PERPLEXITY, (len(sub) - 1) / 3)
    with _one_thread():
        coords = TSNE(n_components=2, init="pca", random_state=seed,
                      perplexity=perplexity).fit_transform(sub)
    return Projection(method="tsne", coords=_frozen(coords, np.float32),
                      indices=_frozen(indices, np.int64), n_inputs=len(x), solver="tsne",
                      explained_variance_ratio=None, perplexity=float(perplexity))


def principal_components(x: np.ndarray, k: int, seed: int = 0):
    """(coords (N, k) float32, explained variance ratios (k,), solver name): the projection on
    the k largest principal directions, each signed so that its largest loading is positive
    (the same map whichever solver). Components beyond min(N, D) are zeros."""
    n, d = x.shape
    kept = min(k, n, d)
    if d <= EXACT_PCA_MAX_DIMS:
        centred = x.astype(np.float64) - x.mean(axis=0, dtype=np.float64)
        values, vectors = np.linalg.eigh(centred.T @ centred)
        top = np.argsort(values, kind="stable")[::-1][:kept]
        vectors = vectors[:, top] * _signs(vectors[:, top].T)
        total = float(np.clip(values, 0, None).sum())
        ratio = np.clip(values[top], 0, None) / total if total > 0 else np.zeros(kept)
        coords, solver = centred @ vectors, "covariance"
    else:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=kept, svd_solver="randomized", random_state=seed)
        coords = pca.fit_transform(x) * _signs(pca.components_)
        ratio, solver = pca.explained_variance_ratio_, "randomized"
    padded = np.pad(np.asarray(coords, dtype=np.float32), ((0, 0), (0, k - kept)))
    return padded, np.pad(np.asarray(ratio, dtype=np.float64), (0, k - kept)), solver


def _signs(components: np.ndarray) -> np.ndarray:
    """+1 or -1 per component (row), making its largest-magnitude loading positive."""
    largest = components[np.arange(len(components)), np.argmax(np.abs(components), axis=1)]
    return np.where(largest < 0, -1.0, 1.0)


def linear_probe(activations, labels: np.ndarray, folds: int = PROBE_FOLDS,
                 seed: int = 0) -> ProbeFacts:
    """Accuracy of a logistic regression (standardised features, L2) under stratified, shuffled,
    seeded K-fold cross-validation, on at most MAX_PROBE_INPUTS inputs (stratified), PCA-reduced
    first to MAX_PROBE_DIMS when wider (unsupervised: no label leaks between folds). Folds drop
    to the smallest class's size; classes with one member are left out."""
    x, labels = flat(activations), np.asarray(labels).ravel()
    chosen = stratified_subsample(labels, MAX_PROBE_INPUTS, seed, minimum=folds)
    chosen, _, kept, dropped = _without_lone_classes(labels, chosen)
    folds = int(min(folds, kept.min())) if len(kept) else 0
    facts = ProbeFacts(accuracy=None, accuracy_std=None, fold_accuracies=(), folds=folds,
                       n_inputs=len(chosen), n_available=len(x), n_features=x.shape[1],
                       pca_dims=None, n_classes=len(kept), dropped_classes=dropped,
                       majority_rate=None, converged=False, reason=PROBE_ONE_CLASS)
    if len(kept) < 2:
        return replace(facts, folds=0)
    with _one_thread():
        features = x[chosen]
        if features.shape[1] > MAX_PROBE_DIMS:
            dims = min(MAX_PROBE_DIMS, len(features))
            features = principal_components(features, dims, seed)[0]
            facts = replace(facts, pca_dims=dims, n_features=dims)
        scores, converged = _cross_validate(features, labels[chosen], folds, seed)
    return replace(facts, accuracy=float(scores.mean()), accuracy_std=float(scores.std()),
                   fold_accuracies=tuple(float(s) for s in scores), converged=converged,
                   majority_rate=float(kept.max() / kept.sum()), reason=None)


def _cross_validate(x: np.ndarray, y: np.ndarray, folds: int, seed: int):
    """(test accuracies per fold, whether every fit converged); scikit-learn's convergence
    warning is kept out of the run's output and told by the flag instead."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=PROBE_MAX_ITER))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = cross_validate(model, x, y, cv=StratifiedKFold(folds, shuffle=True,
                                                                random_state=seed),
                                scoring="accuracy", return_estimator=True)
    converged = all(int(np.max(m[-1].n_iter_)) < PROBE_MAX_ITER for m in result["estimator"])
    return np.asarray(result["test_score"], dtype=np.float64), converged


def _without_lone_classes(labels: np.ndarray, chosen: np.ndarray):
    """(chosen without classes of one member there, the others, their sizes, those left out):
    a lone member has no fold to be tested in and no neighbour of its own class."""
    classes, counts = np.unique(labels[chosen], return_counts=True)
    kept = counts >= 2
    left_out = tuple(int(c) for c in np.setdiff1d(np.unique(labels), classes[kept]))
    return chosen[np.isin(labels[chosen], classes[kept])], classes[kept], counts[kept], left_out


def silhouette(activations, labels: np.ndarray, seed: int = 0,
               class_names: tuple[str, ...] | None = None) -> SilhouetteFacts | None:
    """The euclidean silhouette by class of the standardised activations (no unit's scale may
    dominate the distances) on at most MAX_SILHOUETTE_POINTS inputs (stratified); its mean is
    sklearn's silhouette_score. Classes of one member skipped; None below two classes."""
    x, labels = flat(activations), np.asarray(labels).ravel()
    chosen = stratified_subsample(labels, MAX_SILHOUETTE_POINTS, seed, minimum=2)
    chosen, classes, _, skipped = _without_lone_classes(labels, chosen)
    if len(classes) < 2:
        return None
    from sklearn.metrics import silhouette_samples

    with _one_thread():
        z = x[chosen].astype(np.float64)
        z -= z.mean(axis=0)
        spread = z.std(axis=0)
        z /= np.where(spread > 0, spread, 1.0)
        values = silhouette_samples(z, labels[chosen], metric="euclidean")
    y = labels[chosen]
    names = tuple(class_names or ())
    per_class = tuple(ClassSilhouette(index=int(c), name=str(names[c] if c < len(names) else c),
                                      value=float(values[y == c].mean()),
                                      count=int(np.sum(y == c))) for c in classes)
    return SilhouetteFacts(value=float(values.mean()), per_class=per_class,
                           n_inputs=len(chosen), n_available=len(x), skipped_classes=skipped)


def representation_facts(activations, labels, predicted, class_names, method: str = "pca",
                         seed: int = 0) -> RepresentationFacts:
    """The map, the probe and the silhouette of a labelled sample's activations. Inputs with
    a NaN or infinite activation are left out (and counted); at most MAX_DRAWN_POINTS points,
    stratified by true class, are kept for drawing, each mistake among them marked. Indices
    in the result are rows of the inputs given."""
    x, names = flat(activations), tuple(str(name) for name in class_names)
    labels = _classes(labels, len(x), len(names), "labels")
    predicted = _classes(predicted, len(x), len(names), "predicted")
    rows = np.flatnonzero(np.isfinite(x).all(axis=1))
    n_nonfinite = len(x) - len(rows)
    if n_nonfinite:
        x, labels, predicted = x[rows], labels[rows], predicted[rows]
    projection = project(x, method, seed, labels=labels)
    at = stratified_subsample(labels[projection.indices], MAX_DRAWN_POINTS, seed)
    local = projection.indices[at]
    points = DrawnPoints(index=_frozen(rows[local], np.int64),
                         x=_frozen(projection.coords[at, 0], np.float32),
                         y=_frozen(projection.coords[at, 1], np.float32),
                         true=_frozen(labels[local], np.int64),
                         predicted=_frozen(predicted[local], np.int64),
                         mistake=_frozen(labels[local] != predicted[local], bool))
    return RepresentationFacts(
        projection=replace(projection, indices=_frozen(rows[projection.indices], np.int64)),
        points=points, probe=linear_probe(x, labels, seed=seed),
        silhouette=silhouette(x, labels, seed, names), class_names=names, n_inputs=len(x),
        n_nonfinite=n_nonfinite, n_dims=int(x.shape[1]),
        n_mistakes=int(np.sum(labels != predicted)), max_drawn=MAX_DRAWN_POINTS)


def scaled(points: np.ndarray, width: float, height: float, margin: float) -> np.ndarray:
    """(n, 2) float64 positions in a width x height box, `margin` free on every side, one scale
    for both axes (a circle stays round), centred; y is flipped (SVG's y grows downwards) so
    that up stays up. Points that coincide on an axis sit at the box's centre on it."""
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    inner = np.array([width - 2 * margin, height - 2 * margin], dtype=np.float64)
    if np.any(inner <= 0):
        raise ValueError(f"margin {margin} leaves no room in a {width} x {height} box")
    if len(xy) == 0:
        return xy
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = high - low
    scale = min((inner[a] / span[a] for a in (0, 1) if span[a] > 0), default=0.0)
    offset = margin + (inner - scale * span) / 2
    out = offset + (xy - low) * scale
    out[:, 1] = offset[1] + (high[1] - xy[:, 1]) * scale
    return out


def _classes(values, n: int, n_classes: int, what: str) -> np.ndarray:
    """Class indices as int64, checked against the inputs' number and the class names."""
    array = np.asarray(values).ravel()
    if len(array) != n:
        raise ValueError(f"{what} has {len(array)} entries for {n} inputs")
    if len(array) and (array.min() < 0 or array.max() >= n_classes):
        raise ValueError(f"{what} must be class indices in 0..{n_classes - 1}")
    return array.astype(np.int64)


def _frozen(values, dtype) -> np.ndarray:
    """A read-only copy (or view) of values as dtype: facts are not edited after the fact."""
    array = np.array(values, dtype=dtype)
    array.setflags(write=False)
    return array

"""The representation map on samples whose geometry is known by construction: separable
blobs, random labels, points on a plane; its caps, stratification, determinism and marks."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the representation map uses scikit-learn")

from reportgen.analyse import representation as rep  # noqa: E402
from reportgen.analyse.representation import (PROBE_ONE_CLASS, flat, linear_probe,  # noqa: E402
                                              project, representation_facts, scaled,
                                              silhouette, stratified_subsample)


def blobs(n_per_class=100, n_classes=4, dims=50, spread=20.0, seed=0):
    """n_classes Gaussian blobs (unit variance) whose centres lie ~spread * sqrt(2 dims)
    apart: separable by construction."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dims)) * spread
    labels = np.repeat(np.arange(n_classes), n_per_class)
    points = centres[labels] + rng.normal(size=(len(labels), dims))
    return points.astype(np.float32), labels


def distances(points):
    """The pairwise euclidean distance matrix, in float64."""
    points = np.asarray(points, dtype=np.float64)
    return np.sqrt(np.maximum(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1), 0))


def test_separable_blobs_are_read_by_the_probe_and_have_a_high_silhouette():
    x, labels = blobs()
    probe = linear_probe(x, labels)
    assert probe.accuracy == 1.0 and probe.accuracy_std == 0.0
    assert (probe.folds, probe.n_inputs, probe.n_classes, probe.reason) == (5, 400, 4, None)
    assert probe.majority_rate == 0.25 and probe.converged and probe.pca_dims is None
    facts = silhouette(x, labels, class_names=("a", "b", "c", "d"))
    assert facts.value > 0.5
    assert [c.name for c in facts.per_class] == ["a", "b", "c", "d"]
    assert all(c.value > 0.5 and c.count == 100 for c in facts.per_class)


def test_random_labels_give_chance_accuracy_and_a_silhouette_near_zero():
    x, labels = blobs()
    shuffled = np.random.default_rng(1).permutation(labels)
    assert linear_probe(x, shuffled).accuracy < 0.45
    assert abs(silhouette(x, shuffled).value) < 0.1


def test_the_silhouette_is_sklearns_on_the_standardised_activations():
    metrics = pytest.importorskip("sklearn.metrics")
    x, labels = blobs(n_per_class=30, n_classes=3, dims=8, spread=1.0)
    x[:, 0] *= 1000  # one unit's scale would dominate unstandardised distances
    z = (x - x.mean(0)) / x.std(0)
    expected = metrics.silhouette_score(z.astype(np.float64), labels, metric="euclidean")
    facts = silhouette(x, labels)
    assert facts.value == pytest.approx(expected, abs=1e-6)
    samples = metrics.silhouette_samples(z.astype(np.float64), labels)
    for c in facts.per_class:
        assert c.value == pytest.approx(samples[labels == c.index].mean(), abs=1e-6)


def test_the_silhouette_skips_lone_classes_and_needs_two_classes():
    x, labels = blobs(n_per_class=20, n_classes=3)
    labels[0] = 7  # a class of one member
    facts = silhouette(x, labels)
    assert facts.skipped_classes == (7,) and facts.n_inputs == 59
    assert [c.index for c in facts.per_class] == [0, 1, 2]
    assert silhouette(x, np.zeros(len(x), dtype=int)) is None
    assert silhouette(x, np.r_[np.zeros(len(x) - 1, dtype=int), 1]) is None


def test_silhouette_subsample_is_capped_and_stratified(monkeypatch):
    monkeypatch.setattr(rep, "MAX_SILHOUETTE_POINTS", 50)
    x, labels = blobs(n_per_class=100, n_classes=4)
    labels[:3] = 9  # a small class keeps its members
    facts = silhouette(x, labels)
    assert facts.n_inputs == 50 and facts.n_available == 400
    assert {c.index for c in facts.per_class} == {0, 1, 2, 3, 9}


@pytest.mark.parametrize("dims", [50, rep.EXACT_PCA_MAX_DIMS + 88])
def test_pca_keeps_the_distances_of_points_on_a_plane(dims):
    rng = np.random.default_rng(3)
    plane = rng.normal(size=(200, 2)) * [5.0, 2.0]
    basis, _ = np.linalg.qr(rng.normal(size=(dims, 2)))  # orthonormal columns
    x = (plane @ basis.T + rng.normal(size=dims) * 10).astype(np.float32)
    projection = project(x, "pca")
    assert projection.coords.shape == (200, 2) and projection.coords.dtype == np.float32
    assert projection.solver == ("covariance" if dims <= rep.EXACT_PCA_MAX_DIMS
                                 else "randomized")
    assert np.allclose(distances(projection.coords), distances(plane), rtol=1e-4, atol=1e-3)
    first, second = projection.explained_variance_ratio
    assert first > second and first + second == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(projection.indices, np.arange(200))


def test_projections_are_deterministic():
    x, labels = blobs(n_per_class=75, n_classes=4, dims=20, spread=3.0)
    for method in ("pca", "tsne"):
        a, b = project(x, method, seed=5, labels=labels), project(x, method, seed=5,
                                                                  labels=labels)
        assert a.coords.shape == (300, 2)
        assert np.array_equal(a.coords, b.coords) and np.array_equal(a.indices, b.indices)
    assert not project(x).coords.flags.writeable


def test_tsne_sees_a_capped_stratified_subsample(monkeypatch):
    monkeypatch.setattr(rep, "MAX_TSNE_POINTS", 120)
    x, labels = blobs(n_per_class=100, n_classes=5, dims=10)
    labels[:2] = 8  # two members of a rare class
    projection = project(x, "tsne", labels=labels)
    assert projection.coords.shape == (120, 2) and len(projection.indices) == 120
    assert np.array_equal(projection.indices, np.unique(projection.indices))
    assert set(labels[projection.indices]) == set(labels)
    assert projection.perplexity == 30.0 and projection.n_inputs == 500
    small = project(x[:40], "tsne")
    assert small.perplexity == pytest.approx(13.0) and len(small.indices) == 40


def test_stratified_subsample_shares_the_cap_by_class_size():
    labels = np.r_[np.zeros(900, dtype=int), np.ones(90, dtype=int), np.full(10, 2)]
    chosen = stratified_subsample(labels, 100, seed=4)
    assert len(chosen) == 100 and np.all(np.diff(chosen) > 0)
    assert np.bincount(labels[chosen]).tolist() == [90, 9, 1]
    assert np.array_equal(chosen, stratified_subsample(labels, 100, seed=4))
    assert np.bincount(labels[stratified_subsample(labels, 100, minimum=5)]).tolist()[2] == 5
    lone = np.r_[np.zeros(50, dtype=int), [1, 2, 3]]
    assert set(lone[stratified_subsample(lone, 4)]) == {0, 1, 2, 3}
    assert np.array_equal(stratified_subsample(labels[:30], 100), np.arange(30))


def test_the_probe_reduces_folds_to_the_smallest_class_and_needs_two_classes():
    x, labels = blobs(n_per_class=40, n_classes=3)
    labels[:37] = 0
    labels[37:40] = 9  # three members: three folds
    labels[40] = 5  # one member: left out
    probe = linear_probe(x, labels)
    assert probe.folds == 3 and probe.dropped_classes == (5,) and probe.n_inputs == 119
    assert len(probe.fold_accuracies) == 3
    alone = linear_probe(x, np.r_[np.zeros(len(x) - 1, dtype=int), 1])
    assert alone.accuracy is None and alone.reason == PROBE_ONE_CLASS and alone.folds == 0


def test_the_probe_caps_its_inputs_and_reduces_wide_features(monkeypatch):
    monkeypatch.setattr(rep, "MAX_PROBE_INPUTS", 200)
    monkeypatch.setattr(rep, "MAX_PROBE_DIMS", 16)
    x, labels = blobs(n_per_class=100, n_classes=4, dims=40)
    probe = linear_probe(x, labels)
    assert probe.n_inputs == 200 and probe.n_available == 400
    assert probe.pca_dims == 16 and probe.n_features == 16 and probe.accuracy == 1.0


def test_mistakes_are_marked_exactly_where_the_prediction_is_wrong(monkeypatch):
    monkeypatch.setattr(rep, "MAX_DRAWN_POINTS", 150)
    x, labels = blobs(n_per_class=60, n_classes=5, dims=12)
    rng = np.random.default_rng(7)
    predicted = np.where(rng.random(len(labels)) < 0.3, rng.integers(0, 5, len(labels)),
                         labels)
    facts = representation_facts(x, labels, predicted, ["a", "b", "c", "d", "e"])
    points = facts.points
    assert len(points.index) == 150 and facts.max_drawn == 150
    assert set(points.true) == set(range(5))
    assert np.array_equal(points.true, labels[points.index])
    assert np.array_equal(points.predicted, predicted[points.index])
    assert np.array_equal(points.mistake, labels[points.index] != predicted[points.index])
    assert facts.n_mistakes == int(np.sum(labels != predicted))
    assert np.array_equal(points.xy, facts.projection.coords[points.index])
    assert facts.probe.accuracy is not None and facts.silhouette.value > 0.5


def test_nonfinite_inputs_are_left_out_and_indices_stay_the_callers():
    x, labels = blobs(n_per_class=30, n_classes=3, dims=6)
    x[4, 2], x[50, 0] = np.nan, np.inf
    facts = representation_facts(x, labels, labels, ["a", "b", "c"], method="tsne")
    assert facts.n_nonfinite == 2 and facts.n_inputs == 88 and facts.n_mistakes == 0
    assert 4 not in facts.points.index and 50 not in facts.points.index
    assert len(facts.points.index) == 88 and not facts.points.mistake.any()
    assert facts.projection.method == "tsne"


def test_spatial_activations_are_flattened_and_bad_labels_refused():
    x = np.random.default_rng(0).normal(size=(30, 3, 3, 4)).astype(np.float16)
    assert flat(x).shape == (30, 36) and flat(x).dtype == np.float32
    labels = np.arange(30) % 3
    facts = representation_facts(x, labels, labels, ["a", "b", "c"])
    assert facts.n_dims == 36 and facts.projection.coords.shape == (30, 2)
    with pytest.raises(ValueError):
        representation_facts(x, labels, labels, ["a", "b"])
    with pytest.raises(ValueError):
        representation_facts(x, labels[:-1], labels, ["a", "b", "c"])
    with pytest.raises(ValueError):
        project(x, "umap")


def test_scaled_fills_the_box_with_one_scale_and_up_stays_up():
    points = np.array([[0.0, 0.0], [4.0, 1.0], [2.0, 2.0]])
    out = scaled(points, 200, 100, 10)
    assert out.dtype == np.float64 and out.shape == (3, 2)
    # y spans 2 in 80 px, x spans 4: 40 px a unit for both, centred across 200 px
    assert np.allclose(out, [[20.0, 90.0], [180.0, 50.0], [100.0, 10.0]])
    assert np.allclose(distances(out), 40 * distances(points))
    assert np.allclose(scaled([[1.0, 1.0], [1.0, 1.0]], 50, 30, 5), [[25, 15], [25, 15]])
    assert scaled(np.zeros((0, 2)), 50, 30, 5).shape == (0, 2)
    with pytest.raises(ValueError):
        scaled(points, 10, 10, 5)

import logging
import math
import warnings

import numpy as np
import pytest

from reportgen.analyse import spectral
from reportgen.analyse.power_law import fit_power_law
from reportgen.analyse.spectral import (MIN_EIGENVALUES, gram_eigenvalues, mp_softrank,
                                        pooled_eigenvalues, spectral_facts, spectral_matrices)


def csn_reference(evals):
    """Clauset, Shalizi & Newman (SIAM Review 51, 2009, sec. 3) as weightwatcher loops over it.

    Every value but the largest is tried as xmin; alpha = 1 + n / Σ ln(x/xmin); D against
    the empirical CDF i/n; the smallest D wins (the first on a tie). Written independently
    of reportgen's vectorised search, which must give the same answer.
    """
    x = np.sort(np.asarray(evals, dtype=np.float64))
    best = None
    for i in range(len(x) - 1):
        tail = x[i:]
        spread = np.sum(np.log(tail / tail[0]))
        if spread <= 0:
            continue
        alpha = 1 + len(tail) / spread
        d = np.max(np.abs(1 - (tail / tail[0]) ** (1 - alpha) - np.arange(len(tail)) / len(tail)))
        if best is None or d < best[0]:
            best = (d, alpha, tail[0])
    return best


def pareto(alpha, xmin, n, rng):
    """n draws from the continuous power law with density ∝ x^-alpha above xmin (inverse CDF)."""
    return xmin * (1 - rng.random(n)) ** (-1 / (alpha - 1))


def mp_spectrum(rows, cols, rng):
    """Squared singular values of a Gaussian rows×cols matrix: a Marchenko–Pastur spectrum."""
    return np.sort(np.linalg.svd(rng.standard_normal((rows, cols)) / np.sqrt(rows),
                                 compute_uv=False) ** 2)


# Eigenvalues


@pytest.mark.parametrize("shape", [(50, 20), (20, 50), (33, 33)])
def test_eigenvalues_are_squared_singular_values(shape):
    w = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    expected = np.sort(np.linalg.svd(w.astype(np.float64), compute_uv=False) ** 2)
    got = gram_eigenvalues(w)
    assert got.dtype == np.float64 and len(got) == min(shape)
    np.testing.assert_allclose(np.sort(got), expected, rtol=1e-10, atol=1e-12 * expected[-1])


def test_gram_blocks_add_up_to_the_whole(monkeypatch):
    w = np.random.default_rng(1).normal(size=(300, 40))
    monkeypatch.setattr(spectral, "GRAM_BLOCK", 40 * 7)  # 7 rows a block, the last one short
    np.testing.assert_allclose(np.sort(gram_eigenvalues(w)),
                               np.sort(np.linalg.svd(w, compute_uv=False) ** 2), rtol=1e-10)


def test_pooled_eigenvalues_are_every_matrix_sorted():
    rng = np.random.default_rng(2)
    mats = [rng.normal(size=(6, 4)), rng.normal(size=(6, 4))]
    expected = np.sort(np.concatenate([np.linalg.svd(m, compute_uv=False) ** 2 for m in mats]))
    np.testing.assert_allclose(pooled_eigenvalues(mats), expected, rtol=1e-10)


def test_spectral_norm_and_stable_rank_of_a_diagonal_matrix():
    # W = diag(1..12) under three zero rows: WᵀW = diag(1, 4, ..., 144).
    w = np.vstack([np.diag(np.arange(1.0, 13.0)), np.zeros((3, 12))])
    facts = spectral_facts("Dense", "kernel", w)
    assert facts.reason is None and facts.n_eigenvalues == 12
    assert facts.spectral_norm == pytest.approx(144.0, rel=1e-12)
    assert facts.stable_rank == pytest.approx(650 / 144, rel=1e-12)  # Σk² = 12·13·25/6 = 650
    assert facts.alpha_hat == pytest.approx(facts.alpha * math.log10(144), rel=1e-12)


# Which matrices a weight gives


def _kernel_of_known_slices(spatial, cin, cout, transposed=False):
    """A kernel whose slice at each kernel position p is p+1 times a fixed Cin×Cout matrix."""
    base = np.arange(cin * cout, dtype=np.float64).reshape(cin, cout) - cin * cout / 2
    slices = [(p + 1) * base for p in range(int(np.prod(spatial)))]
    stored = [s.T for s in slices] if transposed else slices
    return np.stack(stored).reshape(tuple(spatial) + stored[0].shape), slices


@pytest.mark.parametrize("class_name, spatial, transposed", [
    ("Conv1D", (3,), False), ("Conv2D", (3, 2), False), ("Conv3D", (2, 2, 2), False),
    ("Conv2DTranspose", (3, 3), True), ("Conv1DTranspose", (2,), True),
    ("SeparableConv2D", (1, 1), False)])
def test_convolutions_give_one_cin_by_cout_matrix_per_kernel_position(class_name, spatial,
                                                                      transposed):
    kernel, slices = _kernel_of_known_slices(spatial, cin=4, cout=6, transposed=transposed)
    name = "pointwise_kernel" if class_name.startswith("Separable") else "kernel"
    got = spectral_matrices(class_name, name, kernel)
    assert len(got) == len(slices)
    for matrix, expected in zip(got, slices):
        np.testing.assert_array_equal(matrix, expected)


def test_conv_spectrum_pools_the_slices():
    kernel, slices = _kernel_of_known_slices((3, 3), cin=5, cout=4)
    facts = spectral_facts("Conv2D", "kernel", kernel)
    expected = np.concatenate([np.linalg.svd(s, compute_uv=False) ** 2 for s in slices])
    assert (facts.n_matrices, facts.matrix_shape, facts.n_eigenvalues) == (9, (5, 4), 36)
    assert facts.spectral_norm == pytest.approx(expected.max(), rel=1e-10)
    assert facts.stable_rank == pytest.approx(expected.sum() / expected.max(), rel=1e-10)


@pytest.mark.parametrize("class_name, weight_name, shape", [
    ("Dense", "kernel", (7, 5)), ("Embedding", "embeddings", (50, 8)),
    ("LSTM", "lstm_cell/kernel", (8, 16)), ("GRU", "gru_cell/recurrent_kernel", (4, 12)),
    ("SimpleRNN", "simple_rnn_cell/kernel:0", (3, 4)),
    ("Bidirectional", "forward_lstm/lstm_cell/recurrent_kernel", (4, 16))])
def test_whole_matrices_are_taken_as_they_are(class_name, weight_name, shape):
    w = np.ones(shape)
    got = spectral_matrices(class_name, weight_name, w)
    assert len(got) == 1 and got[0] is w


@pytest.mark.parametrize("class_name, weight_name, shape, words", [
    ("Dense", "bias", (5,), "no spectrum: a vector"),
    ("BatchNormalization", "gamma", (5,), "no spectrum: a vector"),
    ("DepthwiseConv2D", "kernel", (3, 3, 8, 1), "no spectrum: a depthwise kernel"),
    ("SeparableConv2D", "depthwise_kernel", (3, 3, 8, 1), "no spectrum: a depthwise kernel"),
    ("PReLU", "alpha", (4, 4, 3), "no spectrum: PReLU alpha"),
    ("EinsumDense", "kernel", (8, 2, 4), "no spectrum: EinsumDense kernel")])
def test_weights_without_a_channel_mixing_matrix_say_so(class_name, weight_name, shape, words):
    reason = spectral_matrices(class_name, weight_name, np.ones(shape))
    assert isinstance(reason, str) and reason.startswith(words)
    facts = spectral_facts(class_name, weight_name, np.ones(shape))
    assert facts.reason == reason and facts.n_matrices == 0 and facts.alpha is None


# n/a reasons


def test_fewer_than_ten_eigenvalues_is_not_applicable():
    facts = spectral_facts("Dense", "kernel", np.random.default_rng(3).normal(size=(100, 9)))
    assert facts.reason == f"n/a: fewer than {MIN_EIGENVALUES} eigenvalues"
    assert (facts.n_matrices, facts.matrix_shape) == (1, (100, 9))
    assert facts.spectral_norm is None and facts.alpha is None and facts.histogram is None


def test_a_zero_kernel_has_no_eigenvalues_to_fit():
    facts = spectral_facts("Dense", "kernel", np.zeros((30, 20), np.float32))
    assert facts.reason == "n/a: fewer than 10 eigenvalues above 1e-05"
    assert (facts.n_eigenvalues, facts.n_near_zero) == (20, 20)


@pytest.mark.parametrize("w", [3 * np.eye(16), 3 * np.eye(16, 40)])
def test_equal_eigenvalues_have_no_power_law_tail(w):
    facts = spectral_facts("Dense", "kernel", w)
    assert facts.reason == "n/a: the eigenvalues are all equal, no power-law tail"
    assert facts.spectral_norm == 9.0 and facts.stable_rank == pytest.approx(16.0)
    assert facts.alpha is None and facts.tail_line is None


def test_an_orthogonal_float32_kernel_is_flat_not_a_steep_power_law():
    # Keras initialises recurrent kernels orthogonal: every eigenvalue 1, up to float32 rounding.
    q, _ = np.linalg.qr(np.random.default_rng(17).normal(size=(64, 64)))
    facts = spectral_facts("LSTM", "recurrent_kernel", q.astype(np.float32))
    assert facts.reason == "n/a: the eigenvalues are all equal, no power-law tail"
    assert facts.spectral_norm == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_give_a_reason_not_a_crash(bad):
    w = np.random.default_rng(4).normal(size=(3, 3, 8, 16)).astype(np.float32)
    w[1, 2, 3, 4] = bad
    facts = spectral_facts("Conv2D", "kernel", w)
    assert facts.reason == "n/a: the weights contain NaN or Inf"
    assert facts.n_matrices == 9 and facts.spectral_norm is None


class LazyMatrix:
    """A matrix read on demand, like an h5py dataset, that counts its reads."""

    def __init__(self, values):
        self.values, self.reads = values, 0
        self.shape = values.shape

    def __getitem__(self, index):
        self.reads += 1
        return self.values[index]


def test_size_cap_skips_a_matrix_without_reading_it():
    lazy = LazyMatrix(np.random.default_rng(5).normal(size=(40, 30)))
    facts = spectral_facts("Dense", "kernel", lazy, max_dim=29)
    assert facts.reason == "n/a: 40×30 matrix, smaller side above --spectral-max-dim 29"
    assert lazy.reads == 0 and facts.matrix_shape == (40, 30)


def test_size_cap_is_on_the_smaller_side_and_none_means_no_cap():
    w = np.random.default_rng(6).normal(size=(40, 30))
    assert spectral_facts("Dense", "kernel", w, max_dim=30).reason is None
    assert spectral_facts("Dense", "kernel", w, max_dim=None).reason is None
    lazy = LazyMatrix(w)
    facts = spectral_facts("Dense", "kernel", lazy, max_dim=30)
    assert lazy.reads >= 1
    assert facts.spectral_norm == pytest.approx(np.linalg.svd(w, compute_uv=False)[0] ** 2)


# The power-law fit


def test_alpha_of_pareto_samples_is_recovered():
    # The MLE's standard error is (alpha-1)/sqrt(n) = 0.02 here; xmin search widens it a bit.
    rng = np.random.default_rng(7)
    for alpha in (2.0, 2.5, 4.0):
        fit = fit_power_law(np.sort(pareto(alpha, 0.5, 5000, rng)))
        assert fit.alpha == pytest.approx(alpha, abs=0.1)
        assert fit.xmin == pytest.approx(0.5, rel=0.2)


def test_xmin_is_found_where_the_power_law_starts():
    # A uniform body below 1, a power law with alpha 3 above it (one point in five).
    rng = np.random.default_rng(8)
    x = np.sort(np.concatenate([rng.uniform(0.05, 1.0, 8000), pareto(3.0, 1.0, 2000, rng)]))
    fit = fit_power_law(x)
    assert fit.alpha == pytest.approx(3.0, abs=0.15)
    assert 0.8 < fit.xmin < 1.6
    assert fit.n_tail == np.count_nonzero(x >= fit.xmin)


@pytest.mark.parametrize("case", range(12))
def test_fit_equals_a_direct_port_of_the_published_method(case):
    rng = np.random.default_rng(100 + case)
    n = int(rng.integers(10, 600))
    spectra = [mp_spectrum(n + n // 3, n, rng),
               np.concatenate([rng.gamma(3, 0.3, n), pareto(2.5, 2.0, n // 8 + 1, rng)]),
               np.round(pareto(2.0, 1.0, n, rng), 1),  # ties
               rng.lognormal(0, 1, n)]
    x = np.sort(spectra[case % 4])
    d, alpha, xmin = csn_reference(x)
    fit = fit_power_law(x)
    assert fit.xmin == xmin
    assert fit.alpha == pytest.approx(alpha, rel=1e-9)
    assert fit.ks_distance == pytest.approx(d, abs=1e-12)


def test_fit_is_fast_on_large_spectra():
    x = np.sort(np.concatenate([np.random.default_rng(9).gamma(4, 0.25, 23750),
                                pareto(2.0, 2.0, 1250, np.random.default_rng(10))]))
    # 25,000 eigenvalues: about 0.01 s (once asserted < 1 s here; benchmarks/time_limits.py
    # measures it); the published method's direct port, 1.5 s, finds the same fit.
    fit = fit_power_law(x)
    d, alpha, xmin = csn_reference(x)
    assert fit.xmin == xmin
    assert fit.alpha == pytest.approx(alpha, rel=1e-9)
    assert fit.ks_distance == pytest.approx(d, abs=1e-12)


def test_fit_agrees_with_the_powerlaw_package():
    powerlaw = pytest.importorskip("powerlaw", reason="the powerlaw package is a test extra")
    rng = np.random.default_rng(11)
    for x in (np.concatenate([rng.gamma(3, 0.3, 300), pareto(2.2, 2.0, 40, rng)]),
              mp_spectrum(300, 200, rng)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # powerlaw warns freely while it searches
            # powerlaw 2 accepts only alpha below 3 unless told; CSN and weightwatcher do not cap.
            reference = powerlaw.Fit(np.sort(x), verbose=False,
                                     parameter_ranges={"alpha": [1, None]})
        fit = fit_power_law(np.sort(x))
        assert fit.xmin == reference.xmin
        assert fit.alpha == pytest.approx(reference.alpha, rel=1e-9)
        assert fit.ks_distance == pytest.approx(reference.D, abs=1e-12)


# What a plot draws


def test_histogram_counts_every_positive_eigenvalue_in_log_spaced_bins():
    w = np.random.default_rng(12).normal(size=(400, 120))
    facts = spectral_facts("Dense", "kernel", w)
    evals = np.linalg.svd(w, compute_uv=False) ** 2
    edges = np.array(facts.histogram.edges)
    assert len(edges) == 41 and sum(facts.histogram.counts) == 120
    assert edges[0] == pytest.approx(evals.min()) and edges[-1] == pytest.approx(evals.max())
    np.testing.assert_allclose(np.diff(np.log(edges)), np.log(edges[-1] / edges[0]) / 40)
    # The end edges are the smallest and largest eigenvalue, which svd and eigvalsh give
    # a few ulps apart: clip so that both ends count in numpy's histogram too.
    assert facts.histogram.counts == tuple(np.histogram(np.clip(evals, edges[0], edges[-1]),
                                                        edges)[0])


def test_tail_line_carries_the_tail_share_of_the_density():
    # Above xmin the line is the fitted density times the tail's share of the eigenvalues:
    # integrated from xmin to infinity it gives n_tail / n.
    rng = np.random.default_rng(13)
    w = rng.standard_t(3, size=(600, 200))  # heavy-tailed entries: a heavy-tailed spectrum
    facts = spectral_facts("Dense", "kernel", w)
    (x0, y0), (x1, y1) = facts.tail_line
    assert (x0, x1) == (facts.xmin, facts.spectral_norm)
    n_histogram = facts.n_eigenvalues - facts.n_near_zero
    assert y0 * x0 / (facts.alpha - 1) == pytest.approx(facts.n_tail / n_histogram)
    assert math.log(y1 / y0) / math.log(x1 / x0) == pytest.approx(-facts.alpha)


# Marchenko–Pastur soft rank


def test_soft_rank_of_a_random_matrix_is_about_one():
    # Without structure the largest eigenvalue sits at the MP bulk edge.
    for rows, cols in ((1200, 300), (400, 400)):
        evals = mp_spectrum(rows, cols, np.random.default_rng(14))
        assert mp_softrank(evals, rows / cols) == pytest.approx(1.0, abs=0.1)


def test_soft_rank_of_a_spiked_matrix_is_the_bulk_edge_over_the_spike():
    rng = np.random.default_rng(15)
    rows, cols = 1200, 300
    w = rng.standard_normal((rows, cols)) / np.sqrt(rows)
    w += 6 * np.outer(rng.standard_normal(rows), rng.standard_normal(cols)) / np.sqrt(rows * cols)
    evals = np.sort(np.linalg.svd(w, compute_uv=False) ** 2)
    # MP: the bulk's mean eigenvalue is sigma², its edge sigma² (1 + 1/sqrt(Q))².
    edge = evals[:-1].mean() * (1 + math.sqrt(cols / rows)) ** 2
    assert mp_softrank(evals, rows / cols) == pytest.approx(edge / evals[-1], rel=0.1)


def test_soft_rank_equals_weightwatchers_formula_with_its_own_libraries():
    # RMT_Util.py fit_density_with_range and resid_mp, with scikit-learn and scipy as ww uses them.
    neighbors = pytest.importorskip("sklearn.neighbors", reason="scikit-learn is a test extra")
    optimize = pytest.importorskip("scipy.optimize", reason="scipy is a test extra")
    rng = np.random.default_rng(16)
    for rows, cols in ((240, 80), (100, 100)):
        w = rng.standard_t(4, size=(rows, cols))
        evals = np.sort(np.linalg.svd(w, compute_uv=False) ** 2)
        q = rows / cols
        scaled = evals * len(evals) / evals.sum()
        sample = np.sqrt(scaled) if q == 1 else scaled
        kde = neighbors.KernelDensity(kernel="linear", bandwidth=0.1).fit(sample[:, None])
        x = np.linspace(0, sample.max() + 0.5, 1000)
        y = np.exp(kde.score_samples(x[:, None]))
        x, y = x[y > 0.01], y[y > 0.01]

        def resid(p):
            s = p[0] if np.ndim(p) else p
            with np.errstate(all="ignore"):
                if q == 1:
                    law = np.nan_to_num(1 / (np.pi * s * s) * np.sqrt(4 - x ** 2))
                    return np.sum((law - y) ** 2)
                b, a = (s * (1 + np.sqrt(1 / q))) ** 2, (s * (1 - np.sqrt(1 / q))) ** 2
                if b < x[np.argmax(y)] or b > x.max() or a > x[np.argmax(y)]:
                    return 1000.0 ** 2 * len(x)
                law = np.nan_to_num(1 / (2 * np.pi * s * s * x / q) * np.sqrt((b - x) * (x - a)))
                return np.sum((law - y) ** 2)

        s0 = np.sqrt(scaled.max() / (1 + 1 / np.sqrt(q)) ** 2)
        sigma = optimize.brute(resid, (slice(0.05 * s0, 2.0 * s0, 0.01 * s0),))[0]
        expected = (sigma * (1 + 1 / np.sqrt(q))) ** 2 / scaled.max()
        assert mp_softrank(evals, q) == pytest.approx(expected, rel=1e-6)


# Peer check: weightwatcher itself (a test extra)

# ww 0.7.7 fits spectra of fewer than 20 eigenvalues by another, experimental method
# (WW_powerlaw.py SMALL_N_CUTOFF); below that the numbers are not meant to agree.
WW_SMALL_N = 20


# weightwatcher 0.7.7 trips a deprecation warning of pandas 3; not ours to fix.
WW_WARNINGS = pytest.mark.filterwarnings("ignore:Passing a dict to DataFrame.from_records")


@pytest.fixture(scope="module")
def weightwatcher():
    """The weightwatcher module, imported without leaving its logging set-up behind."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with warnings.catch_warnings():  # it sets warnings to "ignore" when imported
        module = pytest.importorskip("weightwatcher", reason="weightwatcher is a test extra")
    root.handlers[:] = handlers  # it calls logging.basicConfig(level=INFO) when imported
    root.setLevel(level)
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    return module


def trained_dense_net(keras):
    """A small Dense network, trained for a few epochs on reportgen's demo shapes."""
    from reportgen.demo import shapes_dataset

    images, labels = shapes_dataset(n_per_class=50)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(256, activation="relu", name="fc1"),
                              keras.layers.Dense(128, activation="relu", name="fc2"),
                              keras.layers.Dense(8, activation="softmax", name="out")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=5, batch_size=32, verbose=0)
    return model


def trained_book_cnn(keras):
    """The textbook's CNN, trained briefly on the demo shapes."""
    from reportgen.demo import shapes_dataset
    from reportgen.demo import book_cnn

    images, labels = shapes_dataset(n_per_class=50)
    model = book_cnn(8)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=2, batch_size=32, verbose=0)
    return model


def random_conv_net(keras):
    """Convolutions of several kernel sizes with their initial (random) weights."""
    return keras.Sequential([
        keras.Input((32, 32, 3)), keras.layers.Conv2D(32, 3, name="c1"),
        keras.layers.Conv2D(64, 3, name="c2"), keras.layers.Conv2D(64, 5, name="c3"),
        keras.layers.Conv2D(64, 1, name="c4"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, name="d")])


@WW_WARNINGS
@pytest.mark.parametrize("build", [trained_dense_net, trained_book_cnn, random_conv_net])
def test_numbers_equal_weightwatchers(weightwatcher, build):
    import keras

    keras.utils.set_random_seed(0)
    model = build(keras)
    details = weightwatcher.WeightWatcher(model=model).analyze()
    compared = 0
    for _, row in details.iterrows():
        layer = model.get_layer(row["name"])
        facts = spectral_facts(type(layer).__name__, "kernel", layer.kernel.numpy())
        if facts.reason or facts.n_eigenvalues - facts.n_near_zero < WW_SMALL_N:
            continue
        # ww scales Conv2D kernels by sqrt(1/2) (conv2d_norm): their eigenvalues by 1/2.
        scale = 0.5 if type(layer).__name__ == "Conv2D" else 1.0
        assert facts.alpha == pytest.approx(row["alpha"], rel=1e-9)
        assert facts.ks_distance == pytest.approx(row["D"], abs=1e-9)
        assert facts.xmin * scale == pytest.approx(row["xmin"], rel=1e-9)
        assert facts.spectral_norm * scale == pytest.approx(row["spectral_norm"], rel=1e-9)
        assert facts.stable_rank == pytest.approx(row["stable_rank"], rel=1e-9)
        compared += 1
    assert compared >= 2


@WW_WARNINGS
def test_soft_rank_equals_weightwatchers(weightwatcher):
    import keras

    keras.utils.set_random_seed(0)
    model = random_conv_net(keras)
    names = ["c2", "c4"]  # 32×64 slices (the MP law) and a 64×64 one (ww's quarter circle)
    details = weightwatcher.WeightWatcher(model=model).analyze(layers=names, mp_fit=True)
    assert sorted(details["name"]) == names
    for _, row in details.iterrows():
        layer = model.get_layer(row["name"])
        facts = spectral_facts("Conv2D", "kernel", layer.kernel.numpy())
        assert facts.mp_softrank == pytest.approx(row["mp_softrank"], rel=1e-9)

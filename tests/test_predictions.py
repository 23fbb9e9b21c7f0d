import numpy as np
import pytest

from reportgen.analyse.predictions import output_kind, predict


def test_softmax_gives_the_top_classes_in_order_and_named():
    read = predict("probs", "softmax", np.array([0.1, 0.6, 0.05, 0.25]), ["a", "b", "c"])
    assert read.kind == "softmax" and read.threshold is None and read.values == ()
    assert [(p.class_index, p.label) for p in read.top][:3] == [(1, "b"), (3, "class 3"), (0, "a")]
    assert read.top[0].probability == pytest.approx(0.6)


def test_a_single_sigmoid_unit_is_the_probability_of_the_positive_class():
    read = predict("out", "sigmoid", np.array([0.83]), ["negative review", "positive review"])
    assert read.kind == "sigmoid" and read.threshold == 0.5
    assert [(p.class_index, p.label) for p in read.top] == [(1, "positive review"),
                                                             (0, "negative review")]
    assert read.top[0].probability == pytest.approx(0.83)
    assert read.top[1].probability == pytest.approx(0.17)
    low = predict("out", "sigmoid", np.array([0.2]), [])
    assert low.top[0].label == "negative" and low.top[0].probability == pytest.approx(0.8)


def test_several_sigmoid_units_are_independent_labels():
    read = predict("tags", "sigmoid", np.array([0.9, 0.2, 0.7]), ["cat", "dog", "outdoor"])
    assert read.kind == "multi-label sigmoid"
    assert read.above_threshold == ("cat", "outdoor")
    assert [p.label for p in read.top] == ["cat", "outdoor", "dog"]


def test_a_linear_output_is_read_as_values():
    values = np.arange(14, dtype=np.float32) * 0.5
    read = predict("price", "linear", values, [])
    assert read.kind == "regression" and read.top == ()
    assert read.values == tuple(float(v) for v in values[:10]) and read.n_values == 14


def test_without_an_activation_the_values_decide():
    assert output_kind("", np.array([0.2, 0.8])) == "softmax"
    assert output_kind("", np.array([0.2, 0.9])) == "regression"
    assert output_kind("", np.array([1.5])) == "regression"

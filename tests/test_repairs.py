"""The repair rules, each against the Keras error it answers (configs written by hand as
Keras 2 wrote them; the end-to-end tests in test_real_checkpoints.py and test_robustness.py
build whole files)."""

import copy

from reportgen.load.repairs import RULES, merged, repair_for


def keras2_rnn_config():
    return {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Bidirectional", "config": {
            "name": "bi",
            "layer": {"class_name": "LSTM", "config": {"name": "fwd", "time_major": False}},
            "backward_layer": {"class_name": "LSTM", "config": {"name": "bwd", "time_major": False}}}},
        {"class_name": "GRU", "config": {"name": "gru", "time_major": False, "units": 3}},
    ]}}


def test_a_rule_answers_only_its_own_error_and_touches_only_that_class():
    config = keras2_rnn_config()
    repair = repair_for(config, "Unrecognized keyword arguments passed to LSTM: "
                                "{'time_major': False}")
    assert repair.rule == "recurrent-time-major" and repair.layers == ("fwd", "bwd")
    assert repair.change == "dropped time_major from LSTM"
    layers = config["config"]["layers"]
    assert "time_major" not in layers[0]["config"]["layer"]["config"]
    assert layers[1]["config"]["time_major"] is False  # GRU waits for its own refusal


def test_merged_repairs_give_one_line_per_rule():
    config = keras2_rnn_config()
    first = repair_for(config, "Unrecognized keyword arguments passed to LSTM: {'time_major': False}")
    second = repair_for(config, "Unrecognized keyword arguments passed to GRU: {'time_major': False}")
    [repair] = merged([first, second])
    assert repair.layers == ("fwd", "bwd", "gru") and "LSTM" in repair.error and "GRU" in repair.error


def test_no_rule_for_an_error_it_does_not_know():
    config = keras2_rnn_config()
    before = copy.deepcopy(config)
    assert repair_for(config, "Could not locate class 'Ghost'") is None
    assert repair_for(config, "Unrecognized keyword arguments passed to LSTM: {'go_fast': 1}") is None
    assert config == before


def test_a_value_that_would_change_the_model_is_never_dropped():
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "LSTM", "config": {"name": "l", "time_major": True}}]}}
    assert repair_for(config, "Unrecognized keyword arguments passed to LSTM: "
                              "{'time_major': True}") is None
    assert config["config"]["layers"][0]["config"]["time_major"] is True


def test_initializer_dtype_from_keras_2_0_is_dropped_for_the_layers_that_hold_it():
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d", "kernel_initializer": {
            "class_name": "GlorotUniform", "config": {"seed": None, "dtype": "float32"}},
            "bias_initializer": {"class_name": "Zeros", "config": {"dtype": "float32"}}}}]}}
    repair = repair_for(config, "GlorotUniform.__init__() got an unexpected keyword "
                                "argument 'dtype'")
    assert repair.rule == "object-dtype" and repair.layers == ("d",)
    settings = config["config"]["layers"][0]["config"]
    assert settings["kernel_initializer"]["config"] == {"seed": None}
    zeros = repair_for(config, "Zeros() takes no arguments")
    assert zeros.change == "dropped dtype from Zeros" and settings["bias_initializer"]["config"] == {}


def test_every_rule_explains_itself():
    assert all(rule.why and rule.classes and rule.droppable for rule in RULES)
    assert len({rule.name for rule in RULES}) == len(RULES)

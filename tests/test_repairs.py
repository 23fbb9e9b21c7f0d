from reportgen.load.repairs import RULES, repair_config


def test_recurrent_time_major_is_dropped_everywhere_it_hides():
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Bidirectional", "config": {
            "name": "bi",
            "layer": {"class_name": "LSTM", "config": {"name": "fwd", "time_major": False}},
            "backward_layer": {"class_name": "LSTM", "config": {"name": "bwd", "time_major": False}}}},
        {"class_name": "GRU", "config": {"name": "gru", "time_major": False, "units": 3}},
    ]}}
    repairs = repair_config(config)
    assert repairs == [
        "LSTM fwd: dropped time_major=False (Keras 3 recurrent layers are always batch-major)",
        "LSTM bwd: dropped time_major=False (Keras 3 recurrent layers are always batch-major)",
        "GRU gru: dropped time_major=False (Keras 3 recurrent layers are always batch-major)",
    ]
    assert "time_major" not in str(config) and config["config"]["layers"][1]["config"]["units"] == 3


def test_batch_norm_and_depthwise_keys():
    config = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [3], "fused": None}},
        {"class_name": "DepthwiseConv2D", "config": {"name": "dw", "groups": 1}},
    ]}}
    repairs = repair_config(config)
    assert len(repairs) == 3
    assert config["config"]["layers"][0]["config"] == {"name": "bn", "axis": 3}
    assert config["config"]["layers"][1]["config"] == {"name": "dw"}


def test_current_configs_are_left_alone():
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": -1}},
        {"class_name": "Dense", "config": {"name": "d", "groups": 2, "time_major": True}},
    ]}}
    before = str(config)
    assert repair_config(config) == [] and str(config) == before


def test_every_rule_explains_itself():
    assert all(rule.why and rule.classes for rule in RULES)

"""What a file saved by Keras 1 or 2 meant that this Keras loads without complaint but
computes differently: said in the report, since its outputs are not the ones the model gave
when it was saved."""

from __future__ import annotations

from typing import Any

from reportgen.i18n import Message, msg
from reportgen.load.repair_base import config_objects

ACTIVATION_KEYS = ("activation", "recurrent_activation")


def changed_meanings(config: Any, saved_by: str) -> list[Message]:
    """Notes for the layers whose computation changed meaning since the Keras that saved
    the file: hard_sigmoid was clip(0.2·x + 0.5, 0, 1) up to Keras 2 (the default recurrent
    activation of Keras 2.0-2.2 LSTMs and GRUs) and is clip(x/6 + 0.5, 0, 1) in Keras 3."""
    if not saved_by or saved_by.split(".", 1)[0] not in ("1", "2"):
        return []
    layers = [owner for node, owner in config_objects(config)
              if any(node["config"].get(key) == "hard_sigmoid" for key in ACTIVATION_KEYS)]
    if not layers:
        return []
    return [msg("{layers} use hard_sigmoid, which Keras {version} computed as "
                "clip(0.2·x + 0.5, 0, 1) and this Keras computes as clip(x/6 + 0.5, 0, 1): "
                "their outputs here are not the ones the saved model gave.",
                layers=", ".join(dict.fromkeys(layers)), version=saved_by)]

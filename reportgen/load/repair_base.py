"""What every config repair is made of: the refusal Keras gave, the repair applied, a
structural rule, and the walk over a config's objects (load/repairs.py has the rule table)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Refusal:
    """What Keras said it could not take: a class and the offending arguments."""

    class_name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Repair:
    """A rule applied to a config: the Keras error it fixed and the layers it changed."""

    rule: str
    error: str
    change: str
    layers: tuple[str, ...]
    why: str


UNRECOGNISED = re.compile(r"Unrecognized keyword arguments passed to (\w+): (\{.*\})")
UNEXPECTED = re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")
NO_ARGUMENTS = re.compile(r"\b(\w+)\(\) takes no arguments")


def unrecognised_arguments(error: str) -> Refusal | None:
    """`Unrecognized keyword arguments passed to LSTM: {'time_major': False}`."""
    found = UNRECOGNISED.search(error)
    if not found:
        return None
    try:
        arguments = ast.literal_eval(found.group(2))
    except (ValueError, SyntaxError):
        return None
    return Refusal(found.group(1), tuple(sorted(arguments))) if isinstance(arguments, dict) \
        else None


def unexpected_argument(error: str) -> Refusal | None:
    """`GlorotUniform.__init__() got an unexpected keyword argument 'dtype'`, or for a class
    that takes none, `Zeros() takes no arguments` (then every argument the rule may drop)."""
    found = UNEXPECTED.search(error)
    if found:
        return Refusal(found.group(1), (found.group(2),))
    found = NO_ARGUMENTS.search(error)
    return Refusal(found.group(1), ()) if found else None


@dataclass(frozen=True)
class StructuralRule:
    """A repair that reshapes a config rather than dropping arguments: its name, why it is
    safe, and `fix(config, error)` -> (change, layers touched) or None."""

    name: str
    why: str
    fix: Callable[[Any, str], tuple[str, list[str]] | None]

    def apply(self, config: Any, error: str) -> Repair | None:
        done = self.fix(config, error)
        return None if not done or not done[1] else \
            Repair(self.name, error, done[0], tuple(dict.fromkeys(done[1])), self.why)


def config_objects(tree: Any, owner: str = ""):
    """Every {"class_name": ..., "config": {...}} dict in a config tree, outermost first, with
    the name of the layer it belongs to (its own name for a layer; an initializer inside a
    layer belongs to that layer)."""
    if isinstance(tree, dict):
        if isinstance(tree.get("class_name"), str) and isinstance(tree.get("config"), dict):
            name = tree["config"].get("name")
            owner = name if isinstance(name, str) else owner
            yield tree, owner or tree["class_name"]
        for value in tree.values():
            yield from config_objects(value, owner)
    elif isinstance(tree, list):
        for value in tree:
            yield from config_objects(value, owner)

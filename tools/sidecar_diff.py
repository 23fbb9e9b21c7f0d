"""Two JSON sidecars compared key by key: every key path of the first (the approved one)
must hold an equal value in the second (numbers within a relative tolerance; `alert_kinds`
matched by name). Keys only the second has are extensions, listed apart.

    python3 tools/sidecar_diff.py BEFORE.json AFTER.json [--ignore generated_at ...]

tests/test_gold.py holds the book model's sidecar to its approved file with the same rules.
"""

from __future__ import annotations

import json
import math
import sys

RELATIVE = 1e-4
ABSOLUTE = 1e-6
# Lists of records whose order is not part of the contract: matched by this key.
KEYED = {"alert_kinds": "name"}


def differences(before, after, path: str = "", ignore: tuple[str, ...] = ()
                ) -> tuple[list[str], list[str]]:
    """(what differs, what `after` adds), as key paths."""
    if path.split(".")[-1] in ignore:
        return [], []
    if isinstance(before, dict) and isinstance(after, dict):
        return _dicts(before, after, path, ignore)
    if isinstance(before, list) and isinstance(after, list):
        key = KEYED.get(path.split(".")[-1])
        if key is not None:
            return _dicts({item[key]: item for item in before},
                          {item[key]: item for item in after}, path, ignore)
        if len(before) != len(after):
            return [f"{path}: {len(before)} items, now {len(after)}"], []
        found: tuple[list[str], list[str]] = ([], [])
        for k, (a, b) in enumerate(zip(before, after)):
            diff, extra = differences(a, b, f"{path}[{k}]", ignore)
            found[0].extend(diff)
            found[1].extend(extra)
        return found
    return ([] if same(before, after) else [f"{path}: {before!r} -> {after!r}"]), []


def _dicts(before: dict, after: dict, path: str, ignore) -> tuple[list[str], list[str]]:
    diff, extra = [], [f"{path}.{key}".lstrip(".") for key in after if key not in before]
    for key, value in before.items():
        where = f"{path}.{key}".lstrip(".")
        if key not in after:
            diff.append(f"{where}: missing")
            continue
        more, added = differences(value, after[key], where, ignore)
        diff += more
        extra += added
    return diff, extra


def same(a, b) -> bool:
    """Equal, numbers within the tolerance (bools and strings exactly)."""
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, numbers)
                                                          and isinstance(b, numbers)):
        return a == b
    return math.isclose(a, b, rel_tol=RELATIVE, abs_tol=ABSOLUTE)


def main(argv: list[str]) -> int:
    ignore = tuple(argv[argv.index("--ignore") + 1:]) if "--ignore" in argv else ()
    before, after = (json.loads(open(name, encoding="utf-8").read()) for name in argv[:2])
    diff, extra = differences(before, after, ignore=ignore)
    for line in diff:
        print("differs:", line)
    for line in sorted(set(extra)):
        print("added:  ", line)
    print(f"{len(diff)} differences, {len(set(extra))} added keys")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The environment every benchmarked process runs in."""

from __future__ import annotations

import os
from pathlib import Path

# Users' installs keep compiled bytecode; a machine that sets PYTHONDONTWRITEBYTECODE would
# otherwise charge every benchmarked run ~0.1 s for compiling reportgen's ~115 modules. The
# cache lives outside the repository, which benchmarks never write into.
PYCACHE = Path.home() / ".cache" / "reportgen-bench" / "pycache"
REPO = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """Every benchmarked process imports reportgen from this checkout, whichever one an
    editable install points to."""
    given = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(REPO)]
    path = os.pathsep.join([str(REPO), *given])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPYCACHEPREFIX": str(PYCACHE),
           "PYTHONPATH": path, **extra}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env

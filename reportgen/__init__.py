"""reportgen: a self-contained HTML audit of what a Keras model's layers learned.

The Python API: `reportgen.report(model_or_path, ...)` returns a `Report` (show it in a
notebook, `.save(path)` it); `reportgen.write(model_or_path, output, ...)` is what the
command line runs; `reportgen.keras.ReportCallback` writes reports as a model trains.
"""

import importlib

from reportgen.version import __version__
__all__ = ["Report", "report", "write", "keras", "__version__"]
API = ("Report", "report", "write")


def __getattr__(name: str):
    """The API on first use: `import reportgen` stays light (no numpy, no Keras), so that the
    command line can say which package is missing before anything heavy is imported."""
    if name in API:
        return getattr(importlib.import_module("reportgen.api"), name)
    if name == "keras":
        return importlib.import_module("reportgen.keras")
    raise AttributeError(f"module 'reportgen' has no attribute {name!r}")

"""Errors that end a run with a one-line message instead of a traceback."""


class ReportInputError(Exception):
    """The user's input (a file, an option) cannot be used: exit code 2."""

    exit_code = 2


class WeightsUnreadable(ReportInputError):
    """A model file's weights cannot be laid out (missing, not HDF5, no known layout); its
    config may still give an architecture-only report."""


def one_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, or its class name, with control
    characters from untrusted names made visible (they must not drive the terminal)."""
    from reportgen.page.formatting import visible

    for line in str(exc).splitlines():
        if line.strip():
            return visible(line.strip())
    return type(exc).__name__

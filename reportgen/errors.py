"""Errors that end a run with a one-line message instead of a traceback."""


class ReportInputError(Exception):
    """The user's input (a file, an option) cannot be used: exit code 2."""

    exit_code = 2


def one_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, or its class name."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__

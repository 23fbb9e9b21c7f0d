"""Errors that end a run with a one-line message instead of a traceback."""


class ReportInputError(Exception):
    """The user's input (a file, an option) cannot be used: exit code 2."""

    exit_code = 2


class InputMismatch(ReportInputError):
    """A readable --input that does not fit the model (its shape, channels or token ids):
    the model is still reported, with the reason in place of activations."""


class WeightsUnreadable(ReportInputError):
    """A model file's weights cannot be laid out (missing, not HDF5, no known layout); its
    config may still give an architecture-only report."""


def one_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, or its class name, with control
    characters from untrusted names made visible (they must not drive the terminal).

    A one-line Message (reportgen's own errors) stays one, its values made visible, so that
    it can still be shown in the report's language (`reportgen.i18n.localised`)."""
    from reportgen.i18n import Message
    from reportgen.text import visible

    message = exc.args[0] if len(exc.args) == 1 else None
    if isinstance(message, Message) and message.strip() and "\n" not in message.strip():
        return message.with_values(visible)
    for line in str(exc).splitlines():
        if line.strip():
            return visible(line.strip())
    return type(exc).__name__


def message_of(exc: BaseException) -> str:
    """An exception's whole message: its Message when it carries one (so that it can be shown
    in the report's language), else its text."""
    from reportgen.i18n import Message

    message = exc.args[0] if len(exc.args) == 1 else None
    return message if isinstance(message, Message) else str(exc)


def without_path(exc: BaseException) -> str:
    """An error's message without the file it names: the `problem` of a "{path}: {problem}"
    Message, else the text after the first ': '."""
    message = message_of(exc)
    if getattr(message, "msgid", "") == "{path}: {problem}":
        return message.values["problem"]
    return str(message).split(": ", 1)[-1]

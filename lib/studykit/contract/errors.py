"""Exceptions whose message is one line a user can act on.

The CLI prints ``str(exc)`` of any :class:`StudykitError` on one line and
exits with :attr:`StudykitError.exit_code`; library code raises them for bad
parameters (:class:`ParamError`) and bad raw data (:class:`InputError`) so
that no bad input reaches a library call that would fail deep inside.
"""


class StudykitError(Exception):
    """Base class: a problem the user can fix, described in one line."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class ParamError(StudykitError, ValueError):
    """A parameter is unknown, of the wrong type, out of range, or names a missing file."""

    exit_code = 2


class InputError(StudykitError, ValueError):
    """Raw data does not match the study's schema (missing column, bad values, ...)."""

    exit_code = 2


class NotebookError(StudykitError):
    """A notebook cell raised; the message names the notebook, cell and exception."""

    exit_code = 1

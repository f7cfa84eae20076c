"""Whether an error is a Ctrl-C that passed through libraries: shared by the entry point and the command."""

from __future__ import annotations

#: The exit code of a command stopped by Ctrl-C (SIGINT), as shells give it.
INTERRUPTED = 130


def caused_by_interrupt(exc: BaseException | None) -> bool:
    """Whether ``exc`` is, or was raised while handling, a KeyboardInterrupt."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False

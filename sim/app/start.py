"""The ``klad`` command's entry point: everything heavy is imported inside it, so Ctrl-C is handled from the start.

A Ctrl-C (SIGINT) while the libraries load, while a model runs, or while a
compiled rule is being called (where it can surface as another exception
raised while handling it) ends the command with exit code 130 and one line,
never a traceback.
"""

from __future__ import annotations

import sys

INTERRUPTED = 130


def caused_by_interrupt(exc: BaseException | None) -> bool:
    """Whether ``exc`` is, or was raised while handling, a KeyboardInterrupt."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def main(argv: list[str] | None = None) -> int:
    """Run ``klad`` with ``argv`` (default the command line); return its exit code."""
    try:
        from sim.app.cli import main as klad

        return klad(argv)
    except BaseException as exc:
        if not caused_by_interrupt(exc):
            raise
        print("klad: interrupted; finished files were written whole, nothing else", file=sys.stderr)
        return INTERRUPTED

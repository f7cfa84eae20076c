"""The ``klad`` command's entry point: everything heavy is imported inside it, so Ctrl-C is handled from the start.

A Ctrl-C (SIGINT) while the libraries load, while a model runs, or while a
compiled rule is being called (where it can surface as another exception
raised while handling it) ends the command with exit code 130 and one line,
never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from sim.app.interrupts import INTERRUPTED, caused_by_interrupt

__all__ = ["INTERRUPTED", "caused_by_interrupt", "load_klad", "main"]


def load_klad() -> Callable[[list[str] | None], int]:
    """Import the command with Ctrl-C held back until the libraries have loaded, then honoured.

    An interrupt that lands inside a library's compiled import code can be
    swallowed there and come out as an unrelated ImportError (NumPy's
    "Importing the numpy C-extensions failed" when it hit ``PyCapsule_Import``),
    so while the imports run a Ctrl-C only sets a flag; once they are done the
    flag raises the KeyboardInterrupt the user asked for.
    """
    import signal

    seen: list[int] = []
    held = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if held:
        signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        from sim.app.cli import main as klad
    finally:
        if held:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    if seen:
        raise KeyboardInterrupt
    return klad


def main(argv: list[str] | None = None) -> int:
    """Run ``klad`` with ``argv`` (default the command line); return its exit code."""
    try:
        return load_klad()(argv)
    except BaseException as exc:
        if not caused_by_interrupt(exc):
            raise
        print("klad: interrupted; finished files were written whole, nothing else", file=sys.stderr)
        return INTERRUPTED

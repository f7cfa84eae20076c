"""Every command the documentation shows is one the CLI accepts as written (its parser; what each does is tested
with the command).

Each line that starts with ``klad `` in a ```sh, ```bash or ```console block of README.md or docs/*.md
(not the reports under docs/results/) is parsed by klad's own argument parser; each ``make X`` names a
target of the Makefile; docs/reference.md describes every subcommand and every option the parser has.
Placeholders such as ``EXP.toml`` or ``S.toml`` are fine: the parser opens no file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from sim.app.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: A fenced block of shell commands: its language and its body.
BLOCK = re.compile(r"^```(sh|bash|console|shell)[^\n]*\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)
#: ``make ...`` in an inline code span of the prose.
INLINE_MAKE = re.compile(r"`(make(?: [^`]*)?)`")


def shell_lines(text: str) -> list[str]:
    """The command lines of the text's shell blocks: continuation lines joined, a console's ``$ `` removed."""
    lines = []
    for lang, body in BLOCK.findall(text):
        body = body.replace("\\\n", " ")
        for line in body.splitlines():
            line = line.strip()
            if lang == "console":
                if not line.startswith("$ "):
                    continue  # output, not a command
                line = line[2:]
            if line:
                lines.append(line)
    return lines


def commands(prefix: str) -> list[tuple[str, str]]:
    """``(page, line)`` for each line of a shell block that starts with ``prefix`` and a space."""
    found = [(p.relative_to(ROOT).as_posix(), line) for p in PAGES for line in shell_lines(p.read_text("utf-8"))]
    return [(page, line) for page, line in found if line.startswith(prefix + " ") or line == prefix]


def parse(words: list[str]) -> str | None:
    """None if ``klad WORDS`` parses, else the parser's complaint."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(words)
    except SystemExit as exc:
        if exc.code not in (0, None):  # --help and --version exit with 0
            return err.getvalue().strip() or f"exit {exc.code}"
    return None


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, flags=re.MULTILINE)}


def make_goals(command: str) -> list[str]:
    """The goals of a ``make`` command: its words that are neither options nor ``VAR=value``."""
    words = shlex.split(command, comments=True)[1:]
    return [w for w in words if not w.startswith("-") and "=" not in w]


KLAD = commands("klad")


def test_the_docs_show_klad_commands():
    pages = {page for page, _ in KLAD}
    assert len(KLAD) >= 30 and {"README.md", "docs/reference.md", "docs/hypotheses.md"} <= pages, pages


@pytest.mark.parametrize(
    ("page", "line"), KLAD, ids=[f"{p}: {shlex.join(shlex.split(c, comments=True))}" for p, c in KLAD]
)
def test_every_klad_command_shown_parses(page, line):
    words = shlex.split(line, comments=True)
    assert words[0] == "klad"
    problem = parse(words[1:])
    assert problem is None, f"{page}: `{line}` is refused: {problem}"


def test_a_wrong_command_is_caught():
    assert parse(["run"]) is not None  # no scenario
    assert parse(["sweep", "EXP.toml", "--again"]) is not None  # no such option
    assert parse(["hypotheses", "--quick", "--setting", "maybe"]) is not None
    assert parse(["run", "S.toml", "--record", "shops,purchases,couriers"]) is None
    assert shell_lines("```sh\nklad run S.toml \\\n  --reps 2   # two\n```\n") == [
        "klad run S.toml    --reps 2   # two"
    ]
    assert shell_lines("```console\n$ klad params\nname kind\n```\n") == ["klad params"]


def test_every_make_target_shown_is_in_the_makefile():
    targets = make_targets()
    assert {"run", "test", "test-fast", "lint", "bench", "site", "lock", "clean", "venv"} <= targets
    shown = [(page, line) for page, line in commands("make")]
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        prose = BLOCK.sub("", path.read_text(encoding="utf-8"))
        shown += [(page, m.group(1)) for m in INLINE_MAKE.finditer(prose.replace("\n", " "))]
    assert len(shown) >= 10
    unknown = [(page, line) for page, line in shown for goal in make_goals(line) if goal not in targets]
    assert not unknown, f"make targets that the Makefile does not have: {unknown}"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("name", list(_subcommands()))
def test_the_reference_describes_every_subcommand_and_option(name):
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    heading = f"\n## klad {name}\n"
    assert heading in text, f"docs/reference.md has no section {heading.strip()}"
    section = text[text.index(heading) :].split("\n## ")[1]
    options = {o for a in _subcommands()[name]._actions for o in a.option_strings} - {"-h", "--help"}
    shared = {"--workers", "--scheduler", "--quiet"}  # described once, above the sections
    missing = sorted(o for o in options - shared if f"`{o}`" not in section)
    assert not missing, f"docs/reference.md, klad {name}: options not described: {missing}"
    assert f"[`klad {name}`](#klad-{name})" in text, f"the table of commands has no row for klad {name}"
